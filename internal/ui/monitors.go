package ui

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"canhgac/internal/httpd"
	"canhgac/internal/model"
	"canhgac/internal/storage"
	"canhgac/internal/webmon"
)

type monitorUI struct {
	*handler
	svc *webmon.Service
}

// RegisterMonitors adds website monitoring's pages.
func RegisterMonitors(s *httpd.Server, svc *webmon.Service) {
	h := &monitorUI{handler: &handler{store: s.Store, auth: s.Auth, pages: parsePages()}, svc: svc}
	r := s.Router
	r.Private("GET /monitors", h.can(model.ActionRead, model.ResourceAsset, h.list))
	r.Private("POST /monitors", h.can(model.ActionWrite, model.ResourceAsset, h.create))
	r.Private("POST /monitors/import", h.can(model.ActionWrite, model.ResourceAsset, h.importCSV), httpd.MaxBody(importMaxBytes))
	r.Private("GET /monitors/{id}", h.can(model.ActionRead, model.ResourceAsset, h.detail))
	r.Private("POST /monitors/{id}", h.can(model.ActionWrite, model.ResourceAsset, h.update))
	r.Private("POST /monitors/{id}/delete", h.can(model.ActionWrite, model.ResourceAsset, h.delete))
	r.Private("POST /monitors/{id}/baseline/reset", h.can(model.ActionWrite, model.ResourceAsset, h.resetBaseline))
	r.Private("GET /monitors/{id}/snapshots/{sid}", h.can(model.ActionRead, model.ResourceAsset, h.snapshot))
	r.Private("GET /monitors/{id}/snapshots/{sid}/screenshot.png", h.can(model.ActionRead, model.ResourceAsset, h.screenshot))
	r.Private("GET /monitors/{id}/snapshots/{sid}/page.txt", h.can(model.ActionRead, model.ResourceAsset, h.snapshotHTML))
}

type monitorsData struct {
	Items    []webmon.Monitor
	Agencies []agencyOption
	Names    map[int64]string
	Form     webmon.Monitor
	Up, Down int
	Import   *storage.ImportResult
	Partial  bool
}

func (h *monitorUI) view(r *http.Request, form webmon.Monitor) (*view, error) {
	v := h.newView(r, "monitors.title", "monitors")
	ms, err := h.svc.List(r.Context(), scope(r))
	if err != nil {
		return nil, err
	}
	agencies, err := h.agencyOptions(r)
	if err != nil {
		return nil, err
	}
	d := monitorsData{Items: ms, Agencies: agencies, Names: map[int64]string{}, Form: form}
	for _, a := range agencies {
		d.Names[a.ID] = a.Label
	}
	for _, m := range ms {
		switch m.State {
		case webmon.Up:
			d.Up++
		case webmon.Down:
			d.Down++
		}
	}
	v.Data = d
	return v, nil
}

func (h *monitorUI) list(w http.ResponseWriter, r *http.Request) {
	v, err := h.view(r, webmon.Monitor{IntervalSeconds: webmon.DefaultInterval})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, http.StatusOK, "monitors", v)
}

func (h *monitorUI) create(w http.ResponseWriter, r *http.Request) {
	m := webmon.Monitor{AgencyID: formID(r, "agency_id"), Name: r.PostFormValue("name"), URL: r.PostFormValue("url"),
		IntervalSeconds: formInt(r, "interval_seconds"), MustContain: r.PostFormValue("must_contain"), MustNotContain: r.PostFormValue("must_not_contain"),
		TimeoutSeconds: formInt(r, "timeout_seconds"), ExpectedStatus: formInt(r, "expected_status"), PageBudget: formInt(r, "page_budget"),
		RenderJS: r.PostFormValue("render_js") == "true"}
	if err := h.svc.Create(r.Context(), httpd.Actor(r), &m); err != nil {
		v, verr := h.view(r, m)
		if verr != nil || !formError(v, err) {
			h.fail(w, r, err)
			return
		}
		h.render(w, http.StatusBadRequest, "monitors", v)
		return
	}
	redirect(w, r, "/monitors", "saved")
}

type monitorData struct {
	M         webmon.Monitor
	History   []webmon.Day
	Agency    string
	Snapshots []webmon.Snapshot
	Form      webmon.Monitor
}

func (h *monitorUI) detailView(r *http.Request, form *webmon.Monitor) (*view, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	m, err := h.svc.Get(r.Context(), scope(r), id)
	if err != nil {
		return nil, err
	}
	hist, err := h.svc.History(r.Context(), id, 30)
	if err != nil {
		return nil, err
	}
	snaps, err := h.svc.Snapshots(r.Context(), scope(r), id, 50)
	if err != nil {
		return nil, err
	}
	d := monitorData{M: m, History: hist, Snapshots: snaps, Form: m}
	if form != nil {
		d.Form = *form
	}
	if a, err := h.store.GetAgency(r.Context(), scope(r), m.AgencyID); err == nil {
		d.Agency = a.Name
	}
	v := h.newView(r, "monitors.title", "monitors")
	v.Data = d
	return v, nil
}

func (h *monitorUI) detail(w http.ResponseWriter, r *http.Request) {
	v, err := h.detailView(r, nil)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, http.StatusOK, "monitor", v)
}

// update saves the edit form on a monitor's page.
func (h *monitorUI) update(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	str := func(k string) *string { v := r.PostFormValue(k); return &v }
	num := func(k string) *int { v := formInt(r, k); return &v }
	flag := func(k string) *bool { v := r.PostFormValue(k) == "true"; return &v }
	p := webmon.Patch{Name: str("name"), URL: str("url"), IntervalSeconds: num("interval_seconds"), TimeoutSeconds: num("timeout_seconds"),
		ExpectedStatus: num("expected_status"), MustContain: str("must_contain"), MustNotContain: str("must_not_contain"),
		PageBudget: num("page_budget"), RenderJS: flag("render_js"), Enabled: flag("enabled")}
	m, err := h.svc.Update(r.Context(), httpd.Actor(r), id, p)
	if err != nil {
		v, verr := h.detailView(r, &m)
		if verr != nil || !formError(v, err) {
			h.fail(w, r, err)
			return
		}
		h.render(w, http.StatusBadRequest, "monitor", v)
		return
	}
	redirect(w, r, fmt.Sprintf("/monitors/%d", id), "saved")
}

// resetBaseline accepts the page as it is now as the new normal.
func (h *monitorUI) resetBaseline(w http.ResponseWriter, r *http.Request) {
	id, _ := pathID(r)
	h.byID(w, r, h.svc.ResetBaseline, fmt.Sprintf("/monitors/%d", id), "baseline_reset")
}

func snapshotIDs(r *http.Request) (int64, int64, error) {
	id, err := pathID(r)
	if err != nil {
		return 0, 0, err
	}
	sid, err := strconv.ParseInt(r.PathValue("sid"), 10, 64)
	if err != nil || sid <= 0 {
		return 0, 0, fmt.Errorf("snapshot %q: %w", r.PathValue("sid"), model.ErrNotFound)
	}
	return id, sid, nil
}

type snapshotData struct {
	M    webmon.Monitor
	Diff webmon.Diff
}

// snapshot shows a judged page beside its baseline, with added links,
// hidden blocks and scripts highlighted.
func (h *monitorUI) snapshot(w http.ResponseWriter, r *http.Request) {
	id, sid, err := snapshotIDs(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	m, err := h.svc.Get(r.Context(), scope(r), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d, err := h.svc.Diff(r.Context(), scope(r), id, sid)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := h.newView(r, "monitors.title", "monitors")
	v.Data = snapshotData{M: m, Diff: d}
	h.render(w, http.StatusOK, "snapshot", v)
}

func (h *monitorUI) screenshot(w http.ResponseWriter, r *http.Request) { h.evidence(w, r, true) }

func (h *monitorUI) snapshotHTML(w http.ResponseWriter, r *http.Request) { h.evidence(w, r, false) }

// evidence serves a snapshot's screenshot, or its HTML as plain text: a
// defaced page must never run in the operator's browser.
func (h *monitorUI) evidence(w http.ResponseWriter, r *http.Request, png bool) {
	id, sid, err := snapshotIDs(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	data, ctype, err := h.svc.SnapshotFile(r.Context(), scope(r), id, sid, png)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(data)
}

func (h *monitorUI) delete(w http.ResponseWriter, r *http.Request) {
	h.byID(w, r, h.svc.Delete, "/monitors", "deleted")
}

// importCSV creates monitors from an uploaded CSV file; without the
// partial option one bad row means none is created. Every bad row is
// listed with its line.
func (h *monitorUI) importCSV(w http.ResponseWriter, r *http.Request) {
	v, err := h.view(r, webmon.Monitor{IntervalSeconds: webmon.DefaultInterval})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := v.Data.(monitorsData)
	d.Partial = r.FormValue("partial") == "true"
	v.Data = d
	f, ok := h.uploadedFile(w, r, v, "monitors")
	if !ok {
		return
	}
	defer f.Close()
	refs, err := h.store.AgencyRefs(r.Context(), scope(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rows, err := webmon.ParseImport(f, refs)
	if errors.Is(err, webmon.ErrImportFile) {
		v.Error = v.T("import.bad_file") + " " + err.Error()
		h.render(w, http.StatusBadRequest, "monitors", v)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	res, err := h.svc.Import(r.Context(), httpd.Actor(r), rows, d.Partial)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	// Show the list as it is now, with the report.
	if v, err = h.view(r, webmon.Monitor{IntervalSeconds: webmon.DefaultInterval}); err != nil {
		h.fail(w, r, err)
		return
	}
	d2 := v.Data.(monitorsData)
	d2.Import, d2.Partial = &res, d.Partial
	v.Data = d2
	status := http.StatusOK
	if len(res.Errors) > 0 && res.Imported == 0 {
		status = http.StatusUnprocessableEntity
	}
	h.render(w, status, "monitors", v)
}

// percent formats a 0..1 share as a percentage with two decimals.
func percent(f float64) string { return fmt.Sprintf("%.2f%%", f*100) }
