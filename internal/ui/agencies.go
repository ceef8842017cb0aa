package ui

import (
	"net/http"
	"strings"

	"canhgac/internal/httpd"
	"canhgac/internal/model"
	"canhgac/internal/storage"
)

type agencyListData struct {
	Items []model.Agency
	Kinds []model.AgencyKind
	Pager pager
}

func (h *handler) agencyList(w http.ResponseWriter, r *http.Request) {
	v := h.newView(r, "agencies.title", "agencies")
	page, offset := pageOffset(r)
	kind := model.AgencyKind(r.URL.Query().Get("kind"))
	if !validKind(kind, model.AgencyKinds) {
		kind = ""
	}
	p, err := h.store.ListAgencies(r.Context(), scope(r), storage.AgencyFilter{
		Kind: kind, Query: r.URL.Query().Get("q"), Limit: pageSize, Offset: offset})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v.Data = agencyListData{Items: p.Items, Kinds: model.AgencyKinds, Pager: newPager(p.Total, page)}
	h.render(w, http.StatusOK, "agencies", v)
}

func validKind[T comparable](k T, kinds []T) bool {
	for _, x := range kinds {
		if k == x {
			return true
		}
	}
	return false
}

type agencyFormData struct {
	Agency  model.Agency
	Kinds   []model.AgencyKind
	Parents []agencyOption
	Assets  int
}

func (h *handler) agencyForm(w http.ResponseWriter, r *http.Request, status int, v *view, a model.Agency) {
	parents, err := h.agencyOptions(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := agencyFormData{Agency: a, Kinds: model.AgencyKinds}
	for _, p := range parents {
		if a.ID == 0 || p.ID != a.ID {
			d.Parents = append(d.Parents, p)
		}
	}
	if a.ID != 0 {
		if p, err := h.store.ListAssets(r.Context(), scope(r), storage.AssetFilter{AgencyID: a.ID, Limit: 1}); err == nil {
			d.Assets = p.Total
		}
	}
	v.Data = d
	h.render(w, status, "agency_form", v)
}

func (h *handler) agencyNew(w http.ResponseWriter, r *http.Request) {
	a := model.Agency{Kind: model.AgencyUnit}
	if id := formID(r, "parent"); id > 0 {
		a.ParentID = &id
	}
	h.agencyForm(w, r, http.StatusOK, h.newView(r, "agencies.new", "agencies"), a)
}

func agencyFromForm(r *http.Request, a *model.Agency) {
	a.Name = r.PostFormValue("name")
	a.Code = strings.TrimSpace(r.PostFormValue("code"))
	a.Kind = model.AgencyKind(r.PostFormValue("kind"))
	if id := formID(r, "parent_id"); id > 0 {
		a.ParentID = &id
	} else {
		a.ParentID = nil
	}
}

func (h *handler) agencyCreate(w http.ResponseWriter, r *http.Request) {
	var a model.Agency
	agencyFromForm(r, &a)
	if err := h.store.CreateAgency(r.Context(), httpd.Actor(r), &a); err != nil {
		v := h.newView(r, "agencies.new", "agencies")
		if !formError(v, err) {
			h.fail(w, r, err)
			return
		}
		h.agencyForm(w, r, http.StatusBadRequest, v, a)
		return
	}
	redirect(w, r, "/agencies", "agency_created")
}

func (h *handler) agencyEdit(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	a, err := h.store.GetAgency(r.Context(), scope(r), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.agencyForm(w, r, http.StatusOK, h.newView(r, "agencies.edit", "agencies"), a)
}

func (h *handler) agencyUpdate(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	a, err := h.store.GetAgency(r.Context(), scope(r), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	agencyFromForm(r, &a)
	if err := h.store.UpdateAgency(r.Context(), httpd.Actor(r), &a); err != nil {
		v := h.newView(r, "agencies.edit", "agencies")
		if !formError(v, err) {
			h.fail(w, r, err)
			return
		}
		h.agencyForm(w, r, http.StatusBadRequest, v, a)
		return
	}
	redirect(w, r, "/agencies", "saved")
}

func (h *handler) agencyDelete(w http.ResponseWriter, r *http.Request) {
	h.byID(w, r, h.store.DeleteAgency, "/agencies", "deleted")
}
