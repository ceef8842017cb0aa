package api

import (
	"net/http"
	"time"

	"canhgac/internal/httpd"
	"canhgac/internal/model"
	"canhgac/internal/storage"
)

func (h *handler) listAudit(w http.ResponseWriter, r *http.Request) {
	q := query{r: r}
	f := storage.AuditFilter{ResourceType: q.str("resource_type"), ResourceID: q.id("resource_id"), ActorName: q.str("actor"),
		Action: q.str("action"), Since: timeParam(&q, "since"), Until: timeParam(&q, "until"), Limit: q.int("limit"), Offset: q.int("offset")}
	if q.err != nil {
		writeErr(w, r, q.err)
		return
	}
	p, err := h.store.ListAudit(r.Context(), scope(r), f)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, p)
}

func timeParam(q *query, name string) time.Time {
	v := q.str(name)
	if v == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		q.fail(model.Invalid(name, "must be an RFC 3339 time such as 2026-01-28T00:00:00+07:00"))
	}
	return t
}
