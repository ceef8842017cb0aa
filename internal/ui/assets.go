package ui

import (
	"errors"
	"mime/multipart"
	"net/http"
	"strings"

	"canhgac/internal/assetcsv"
	"canhgac/internal/httpd"
	"canhgac/internal/model"
	"canhgac/internal/storage"
)

type assetListData struct {
	Items    []model.Asset
	Kinds    []model.AssetKind
	Agencies []agencyOption
	Levels   []int
	Pager    pager
}

// assetList shows the assets in scope, filtered by text (diacritics folded),
// agency subtree, kind, security level and tag. htmx requests for the
// results table get only the table.
func (h *handler) assetList(w http.ResponseWriter, r *http.Request) {
	v := h.newView(r, "assets.title", "assets")
	page, offset := pageOffset(r)
	q := r.URL.Query()
	f := storage.AssetFilter{AgencyID: formID(r, "agency"), Kind: model.AssetKind(q.Get("kind")), Level: formInt(r, "level"),
		Tag: strings.TrimSpace(q.Get("tag")), Query: q.Get("q"), Limit: pageSize, Offset: offset}
	if !validKind(f.Kind, model.AssetKinds) {
		f.Kind = ""
	}
	if f.Level < 1 || f.Level > 5 {
		f.Level = 0
	}
	p, err := h.store.ListAssets(r.Context(), scope(r), f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	agencies, err := h.agencyOptions(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v.Data = assetListData{Items: p.Items, Kinds: model.AssetKinds, Agencies: agencies, Levels: []int{1, 2, 3, 4, 5}, Pager: newPager(p.Total, page)}
	h.render(w, http.StatusOK, "assets", v)
}

type assetFormData struct {
	Asset    model.Asset
	Tags     string
	Kinds    []model.AssetKind
	Agencies []agencyOption
	Levels   []int
}

func (h *handler) assetForm(w http.ResponseWriter, r *http.Request, status int, v *view, a model.Asset) {
	agencies, err := h.agencyOptions(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v.Data = assetFormData{Asset: a, Tags: strings.Join(a.Tags, ", "), Kinds: model.AssetKinds, Agencies: agencies, Levels: []int{1, 2, 3, 4, 5}}
	h.render(w, status, "asset_form", v)
}

func (h *handler) assetNew(w http.ResponseWriter, r *http.Request) {
	a := model.Asset{Kind: model.AssetWebsite, SecurityLevel: 1, AgencyID: formID(r, "agency")}
	if a.AgencyID == 0 && httpd.Principal(r).User.AgencyID != nil {
		a.AgencyID = *httpd.Principal(r).User.AgencyID
	}
	h.assetForm(w, r, http.StatusOK, h.newView(r, "assets.new", "assets"), a)
}

func assetFromForm(r *http.Request, a *model.Asset) {
	a.AgencyID = formID(r, "agency_id")
	a.Kind = model.AssetKind(r.PostFormValue("kind"))
	a.Name = r.PostFormValue("name")
	a.Address = r.PostFormValue("address")
	a.SecurityLevel = formInt(r, "security_level")
	a.Tags = nil
	for _, t := range strings.FieldsFunc(r.PostFormValue("tags"), func(c rune) bool { return c == ',' || c == ' ' }) {
		a.Tags = append(a.Tags, t)
	}
	a.ContactName = r.PostFormValue("contact_name")
	a.ContactEmail = r.PostFormValue("contact_email")
	a.ContactPhone = r.PostFormValue("contact_phone")
	a.Description = r.PostFormValue("description")
}

func (h *handler) assetCreate(w http.ResponseWriter, r *http.Request) {
	var a model.Asset
	assetFromForm(r, &a)
	if err := h.store.CreateAsset(r.Context(), httpd.Actor(r), &a); err != nil {
		h.assetFormError(w, r, "assets.new", a, err)
		return
	}
	redirect(w, r, "/assets", "asset_created")
}

// assetFormError re-renders the form with the problem shown. An agency
// outside the caller's scope reads as a bad choice, not as a hidden page.
func (h *handler) assetFormError(w http.ResponseWriter, r *http.Request, title string, a model.Asset, err error) {
	v := h.newView(r, title, "assets")
	if errors.Is(err, model.ErrNotFound) && a.ID == 0 || errors.Is(err, model.ErrForbidden) {
		err = model.Invalid("agency_id", "is not an agency you manage")
	}
	if !formError(v, err) {
		h.fail(w, r, err)
		return
	}
	h.assetForm(w, r, http.StatusBadRequest, v, a)
}

func (h *handler) assetEdit(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	a, err := h.store.GetAsset(r.Context(), scope(r), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.assetForm(w, r, http.StatusOK, h.newView(r, "assets.edit", "assets"), a)
}

func (h *handler) assetUpdate(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	a, err := h.store.GetAsset(r.Context(), scope(r), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	assetFromForm(r, &a)
	if err := h.store.UpdateAsset(r.Context(), httpd.Actor(r), &a); err != nil {
		h.assetFormError(w, r, "assets.edit", a, err)
		return
	}
	redirect(w, r, "/assets", "saved")
}

func (h *handler) assetDelete(w http.ResponseWriter, r *http.Request) {
	h.byID(w, r, h.store.DeleteAsset, "/assets", "deleted")
}

type importData struct {
	Result  *storage.ImportResult
	Partial bool
	MaxRows int
}

func (h *handler) importPage(w http.ResponseWriter, r *http.Request) {
	v := h.newView(r, "import.title", "assets")
	v.Data = importData{MaxRows: assetcsv.MaxRows}
	h.render(w, http.StatusOK, "import", v)
}

// uploadedFile opens the form's "file" part, or renders page with why it
// cannot: too large (413) or missing (400).
func (h *handler) uploadedFile(w http.ResponseWriter, r *http.Request, v *view, page string) (multipart.File, bool) {
	f, _, err := r.FormFile("file")
	if err == nil {
		return f, true
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		v.Error = v.T("error.too_large")
		h.render(w, http.StatusRequestEntityTooLarge, page, v)
		return nil, false
	}
	v.Error = v.T("import.no_file")
	h.render(w, http.StatusBadRequest, page, v)
	return nil, false
}

// importSubmit imports an uploaded CSV. Without the partial option one bad
// row means nothing is imported; every bad row is listed with its line.
func (h *handler) importSubmit(w http.ResponseWriter, r *http.Request) {
	v := h.newView(r, "import.title", "assets")
	d := importData{MaxRows: assetcsv.MaxRows, Partial: r.FormValue("partial") == "true"}
	v.Data = d
	f, ok := h.uploadedFile(w, r, v, "import")
	if !ok {
		return
	}
	defer f.Close()
	refs, err := h.store.AgencyRefs(r.Context(), scope(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rows, err := assetcsv.Parse(f, refs)
	if errors.Is(err, assetcsv.ErrFile) {
		v.Error = v.T("import.bad_file") + " " + err.Error()
		h.render(w, http.StatusBadRequest, "import", v)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	res, err := h.store.ImportAssets(r.Context(), httpd.Actor(r), rows, d.Partial)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d.Result = &res
	v.Data = d
	status := http.StatusOK
	if len(res.Errors) > 0 && res.Imported == 0 {
		status = http.StatusUnprocessableEntity
	}
	h.render(w, status, "import", v)
}
