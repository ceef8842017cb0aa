package api

import (
	"errors"
	"fmt"
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
	r.Private("PATCH /api/v1/monitors/{id}", h.can(model.ActionWrite, model.ResourceAsset, h.update))
	r.Private("DELETE /api/v1/monitors/{id}", h.can(model.ActionWrite, model.ResourceAsset, h.delete))
	r.Private("POST /api/v1/monitors/{id}/deep", h.can(model.ActionWrite, model.ResourceAsset, h.deep))
	r.Private("GET /api/v1/monitors/{id}/snapshots", h.can(model.ActionRead, model.ResourceAsset, h.snapshots))
	r.Private("GET /api/v1/monitors/{id}/snapshots/{sid}", h.can(model.ActionRead, model.ResourceAsset, h.snapshot))
	r.Private("GET /api/v1/monitors/{id}/snapshots/{sid}/html", h.can(model.ActionRead, model.ResourceAsset, h.snapshotHTML))
	r.Private("GET /api/v1/monitors/{id}/snapshots/{sid}/screenshot", h.can(model.ActionRead, model.ResourceAsset, h.snapshotPNG))
	r.Private("GET /api/v1/monitors/{id}/history", h.can(model.ActionRead, model.ResourceAsset, h.history))
	r.Private("POST /api/v1/monitors/{id}/baseline/reset", h.can(model.ActionWrite, model.ResourceAsset, h.resetBaseline))
	r.Private("POST /api/v1/monitors/import", h.can(model.ActionWrite, model.ResourceAsset, h.importCSV), httpd.MaxBody(ImportMaxBytes))
	r.Private("GET /api/v1/monitors/import/template", h.can(model.ActionRead, model.ResourceAsset, h.template))
	r.Private("GET /api/v1/monitors/import/template.yaml", h.can(model.ActionRead, model.ResourceAsset, h.templateYAML))
}

// importCSV creates monitors from a CSV or YAML file (the request body or
// the "file" part of a multipart form); ?partial=true keeps the good rows when some
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
	rows, err := webmon.ParseImport(body, refs)
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

func (h *monitorHandler) templateYAML(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="canhgac-monitors.yaml"`)
	io.WriteString(w, webmon.YAMLTemplate)
}

func (h *monitorHandler) update(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	var p webmon.Patch
	if err := httpd.DecodeJSON(r, &p); err != nil {
		writeErr(w, r, err)
		return
	}
	m, err := h.svc.Update(r.Context(), httpd.Actor(r), id, p)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, m)
}

// deep runs a monitor's deep checks now (DNS, cloaking probe, sub-pages,
// 404 page) and answers with what they found.
func (h *monitorHandler) deep(w http.ResponseWriter, r *http.Request) {
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
	httpd.WriteJSON(w, http.StatusOK, h.svc.Deep(r.Context(), m))
}

func (h *monitorHandler) snapshots(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	items, err := h.svc.Snapshots(r.Context(), scope(r), id, 100)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, map[string]any{"items": items})
}

func (h *monitorHandler) snapshotIDs(r *http.Request) (int64, int64, error) {
	id, err := pathID(r, "id")
	if err != nil {
		return 0, 0, err
	}
	sid, err := pathID(r, "sid")
	return id, sid, err
}

// snapshot answers a snapshot compared with the baseline: added links,
// hidden blocks and scripts.
func (h *monitorHandler) snapshot(w http.ResponseWriter, r *http.Request) {
	id, sid, err := h.snapshotIDs(r)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	d, err := h.svc.Diff(r.Context(), scope(r), id, sid)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, d)
}

// snapshotHTML serves the page as captured, as an attachment in plain
// text: evidence of a defacement must never run in the operator's browser.
func (h *monitorHandler) snapshotHTML(w http.ResponseWriter, r *http.Request) {
	h.evidence(w, r, false)
}

func (h *monitorHandler) snapshotPNG(w http.ResponseWriter, r *http.Request) {
	h.evidence(w, r, true)
}

func (h *monitorHandler) evidence(w http.ResponseWriter, r *http.Request, png bool) {
	id, sid, err := h.snapshotIDs(r)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	data, ctype, err := h.svc.SnapshotFile(r.Context(), scope(r), id, sid, png)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	name := fmt.Sprintf("snapshot-%d.html.txt", sid)
	if png {
		name = fmt.Sprintf("snapshot-%d.png", sid)
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	w.Write(data)
}
