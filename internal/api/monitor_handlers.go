package api

import (
	"errors"
	"io"
	"net/http"

	"canhgac/internal/httpd"
	"canhgac/internal/model"
	"canhgac/internal/webmon"
)

type monitorHandler struct {
	*handler
	svc *webmon.Service
}

// RegisterMonitors adds website monitoring's routes.
func RegisterMonitors(s *httpd.Server, svc *webmon.Service) {
	h := &monitorHandler{handler: &handler{store: s.Store, auth: s.Auth}, svc: svc}
	r := s.Router
	r.Private("GET /api/v1/monitors", h.can(model.ActionRead, model.ResourceAsset, h.list))
	r.Private("POST /api/v1/monitors", h.can(model.ActionWrite, model.ResourceAsset, h.create))
	r.Private("GET /api/v1/monitors/{id}", h.can(model.ActionRead, model.ResourceAsset, h.get))
	r.Private("DELETE /api/v1/monitors/{id}", h.can(model.ActionWrite, model.ResourceAsset, h.delete))
	r.Private("GET /api/v1/monitors/{id}/history", h.can(model.ActionRead, model.ResourceAsset, h.history))
	r.Private("POST /api/v1/monitors/{id}/baseline/reset", h.can(model.ActionWrite, model.ResourceAsset, h.resetBaseline))
	r.Private("POST /api/v1/monitors/import", h.can(model.ActionWrite, model.ResourceAsset, h.importCSV), httpd.MaxBody(ImportMaxBytes))
	r.Private("GET /api/v1/monitors/import/template", h.can(model.ActionRead, model.ResourceAsset, h.template))
}

// importCSV creates monitors from a CSV file (text/csv body or the "file"
// part of a multipart form); ?partial=true keeps the good rows when some
// are bad. Every bad row is reported with its line.
func (h *monitorHandler) importCSV(w http.ResponseWriter, r *http.Request) {
	body, partial, err := csvUpload(r)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	defer body.Close()
	refs, err := h.store.AgencyRefs(r.Context(), scope(r))
	if err != nil {
		writeErr(w, r, err)
		return
	}
	rows, err := webmon.ParseCSV(body, refs)
	if errors.Is(err, webmon.ErrImportFile) {
		writeErr(w, r, model.Invalid("file", "%s", err.Error()))
		return
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	res, err := h.svc.Import(r.Context(), httpd.Actor(r), rows, partial)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	status := http.StatusOK
	if len(res.Errors) > 0 && res.Imported == 0 {
		status = http.StatusUnprocessableEntity
	}
	httpd.WriteJSON(w, status, res)
}

func (h *monitorHandler) template(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="canhgac-monitors.csv"`)
	io.WriteString(w, webmon.ImportTemplate())
}

func (h *monitorHandler) list(w http.ResponseWriter, r *http.Request) {
	ms, err := h.svc.List(r.Context(), scope(r))
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, map[string]any{"items": ms})
}

type monitorInput struct {
	AgencyID        int64  `json:"agency_id"`
	AssetID         *int64 `json:"asset_id"`
	Name            string `json:"name"`
	URL             string `json:"url"`
	IntervalSeconds int    `json:"interval_seconds"`
	TimeoutSeconds  int    `json:"timeout_seconds"`
	ExpectedStatus  int    `json:"expected_status"`
	MustContain     string `json:"must_contain"`
	MustNotContain  string `json:"must_not_contain"`
	PageBudget      int    `json:"page_budget"`
	RenderJS        bool   `json:"render_js"`
	AllowPrivate    bool   `json:"allow_private"`
}

func (h *monitorHandler) create(w http.ResponseWriter, r *http.Request) {
	var in monitorInput
	if err := httpd.DecodeJSON(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	m := webmon.Monitor{AgencyID: in.AgencyID, AssetID: in.AssetID, Name: in.Name, URL: in.URL, IntervalSeconds: in.IntervalSeconds,
		TimeoutSeconds: in.TimeoutSeconds, ExpectedStatus: in.ExpectedStatus, MustContain: in.MustContain, MustNotContain: in.MustNotContain,
		PageBudget: in.PageBudget, RenderJS: in.RenderJS, AllowPrivate: in.AllowPrivate}
	if err := h.svc.Create(r.Context(), httpd.Actor(r), &m); err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusCreated, m)
}

func (h *monitorHandler) get(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	m, err := h.svc.Get(r.Context(), scope(r), id)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, m)
}

func (h *monitorHandler) delete(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if err := h.svc.Delete(r.Context(), httpd.Actor(r), id); err != nil {
		writeErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *monitorHandler) history(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if _, err := h.svc.Get(r.Context(), scope(r), id); err != nil {
		writeErr(w, r, err)
		return
	}
	q := query{r: r}
	days := q.int("days")
	if q.err != nil {
		writeErr(w, r, q.err)
		return
	}
	if days <= 0 || days > 366 {
		days = 30
	}
	hist, err := h.svc.History(r.Context(), id, days)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, map[string]any{"items": hist})
}

// resetBaseline accepts the page as it is now: the baseline is learned
// again from the next fetches.
func (h *monitorHandler) resetBaseline(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if err := h.svc.ResetBaseline(r.Context(), httpd.Actor(r), id); err != nil {
		writeErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
