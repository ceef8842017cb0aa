package api

import (
	"net/http"

	"canhgac/internal/httpd"
	"canhgac/internal/model"
	"canhgac/internal/storage"
)

// agencyInput is the writable part of an agency; PATCH applies only the
// fields present.
type agencyInput struct {
	ParentID **int64           `json:"parent_id"`
	Name     *string           `json:"name"`
	Code     *string           `json:"code"`
	Kind     *model.AgencyKind `json:"kind"`
}

func (in *agencyInput) apply(a *model.Agency) {
	if in.ParentID != nil {
		a.ParentID = *in.ParentID
	}
	setIf(&a.Name, in.Name)
	setIf(&a.Code, in.Code)
	setIf(&a.Kind, in.Kind)
}

func (h *handler) listAgencies(w http.ResponseWriter, r *http.Request) {
	q := query{r: r}
	f := storage.AgencyFilter{Under: q.id("under"), Kind: enum(&q, "kind", model.AgencyKinds), Query: q.str("q"),
		Limit: q.int("limit"), Offset: q.int("offset")}
	if q.err != nil {
		writeErr(w, r, q.err)
		return
	}
	p, err := h.store.ListAgencies(r.Context(), scope(r), f)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, p)
}

func (h *handler) getAgency(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	a, err := h.store.GetAgency(r.Context(), scope(r), id)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, a)
}

func (h *handler) createAgency(w http.ResponseWriter, r *http.Request) {
	var in agencyInput
	if err := httpd.DecodeJSON(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	var a model.Agency
	in.apply(&a)
	if err := h.store.CreateAgency(r.Context(), httpd.Actor(r), &a); err != nil {
		writeErr(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/agencies/"+idString(a.ID))
	httpd.WriteJSON(w, http.StatusCreated, a)
}

func (h *handler) updateAgency(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	a, err := h.store.GetAgency(r.Context(), scope(r), id)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	var in agencyInput
	if err := httpd.DecodeJSON(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	in.apply(&a)
	if err := h.store.UpdateAgency(r.Context(), httpd.Actor(r), &a); err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, a)
}

func (h *handler) deleteAgency(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if err := h.store.DeleteAgency(r.Context(), httpd.Actor(r), id); err != nil {
		writeErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
