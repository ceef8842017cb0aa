package api

import (
	"errors"
	"io"
	"mime"
	"net/http"

	"canhgac/internal/assetcsv"
	"canhgac/internal/httpd"
	"canhgac/internal/model"
	"canhgac/internal/storage"
)

// assetInput is the writable part of an asset; PATCH applies only the fields present.
type assetInput struct {
	AgencyID      *int64           `json:"agency_id"`
	Kind          *model.AssetKind `json:"kind"`
	Name          *string          `json:"name"`
	Address       *string          `json:"address"`
	SecurityLevel *int             `json:"security_level"`
	Tags          *[]string        `json:"tags"`
	ContactName   *string          `json:"contact_name"`
	ContactEmail  *string          `json:"contact_email"`
	ContactPhone  *string          `json:"contact_phone"`
	Description   *string          `json:"description"`
}

func (in *assetInput) apply(a *model.Asset) {
	setIf(&a.AgencyID, in.AgencyID)
	setIf(&a.Kind, in.Kind)
	setIf(&a.Name, in.Name)
	setIf(&a.Address, in.Address)
	setIf(&a.SecurityLevel, in.SecurityLevel)
	setIf(&a.Tags, in.Tags)
	setIf(&a.ContactName, in.ContactName)
	setIf(&a.ContactEmail, in.ContactEmail)
	setIf(&a.ContactPhone, in.ContactPhone)
	setIf(&a.Description, in.Description)
}

func (h *handler) listAssets(w http.ResponseWriter, r *http.Request) {
	q := query{r: r}
	f := storage.AssetFilter{AgencyID: q.id("agency_id"), Kind: enum(&q, "kind", model.AssetKinds), Level: q.int("security_level"),
		Tag: q.str("tag"), Query: q.str("q"), Limit: q.int("limit"), Offset: q.int("offset")}
	if f.Level > 5 {
		q.fail(model.Invalid("security_level", "must be 1 to 5"))
	}
	if q.err != nil {
		writeErr(w, r, q.err)
		return
	}
	p, err := h.store.ListAssets(r.Context(), scope(r), f)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, p)
}

func (h *handler) getAsset(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	a, err := h.store.GetAsset(r.Context(), scope(r), id)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, a)
}

func (h *handler) createAsset(w http.ResponseWriter, r *http.Request) {
	var in assetInput
	if err := httpd.DecodeJSON(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	var a model.Asset
	in.apply(&a)
	if err := h.store.CreateAsset(r.Context(), httpd.Actor(r), &a); err != nil {
		writeErr(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/assets/"+idString(a.ID))
	httpd.WriteJSON(w, http.StatusCreated, a)
}

func (h *handler) updateAsset(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	a, err := h.store.GetAsset(r.Context(), scope(r), id)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	var in assetInput
	if err := httpd.DecodeJSON(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	in.apply(&a)
	if err := h.store.UpdateAsset(r.Context(), httpd.Actor(r), &a); err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, a)
}

func (h *handler) deleteAsset(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if err := h.store.DeleteAsset(r.Context(), httpd.Actor(r), id); err != nil {
		writeErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// importAssets takes a CSV file as the body (text/csv) or as the "file" part
// of a multipart form. ?partial=true imports the good rows despite bad ones;
// otherwise one bad row means nothing is imported. Every bad row is reported.
func (h *handler) importAssets(w http.ResponseWriter, r *http.Request) {
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
	rows, err := assetcsv.Parse(body, refs)
	if errors.Is(err, assetcsv.ErrFile) {
		writeErr(w, r, model.Invalid("file", "%s", err.Error()))
		return
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	res, err := h.store.ImportAssets(r.Context(), httpd.Actor(r), rows, partial)
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

// csvUpload returns the CSV file a request carries, as the body (text/csv)
// or as the "file" part of a multipart form, and whether the caller asked
// for a partial import (?partial=true or a "partial" form field).
func csvUpload(r *http.Request) (io.ReadCloser, bool, error) {
	partial := r.URL.Query().Get("partial") == "true"
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch mt {
	case "text/csv", "text/plain", "application/octet-stream", "application/yaml", "application/x-yaml", "text/yaml", "":
		return r.Body, partial, nil
	case "multipart/form-data":
		f, _, err := r.FormFile("file")
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, false, err
			}
			return nil, false, model.Invalid("file", "a multipart part named \"file\" is required")
		}
		return f, partial || r.FormValue("partial") == "true", nil
	}
	return nil, false, model.Invalid("Content-Type", "must be text/csv, application/yaml or multipart/form-data")
}

func (h *handler) importTemplate(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="canhgac-assets.csv"`)
	io.WriteString(w, assetcsv.Template())
}
