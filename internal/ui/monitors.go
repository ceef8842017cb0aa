package ui

import (
	"errors"
	"fmt"
	"net/http"

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
	r.Private("POST /monitors/{id}/delete", h.can(model.ActionWrite, model.ResourceAsset, h.delete))
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
		IntervalSeconds: formInt(r, "interval_seconds"), MustContain: r.PostFormValue("must_contain"), MustNotContain: r.PostFormValue("must_not_contain")}
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
	M       webmon.Monitor
	History []webmon.Day
	Agency  string
}

func (h *monitorUI) detail(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	m, err := h.svc.Get(r.Context(), scope(r), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	hist, err := h.svc.History(r.Context(), id, 30)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := monitorData{M: m, History: hist}
	if a, err := h.store.GetAgency(r.Context(), scope(r), m.AgencyID); err == nil {
		d.Agency = a.Name
	}
	v := h.newView(r, "monitors.title", "monitors")
	v.Data = d
	h.render(w, http.StatusOK, "monitor", v)
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
	rows, err := webmon.ParseCSV(f, refs)
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
