package ui

import (
	"errors"
	"net/http"
	"time"

	"canhgac/internal/auth"
	"canhgac/internal/httpd"
	"canhgac/internal/model"
	"canhgac/internal/storage"
)

type userListData struct {
	Items    []model.User
	Roles    []model.Role
	Agencies map[int64]string
	Pager    pager
}

func (h *handler) agencyNames(r *http.Request) (map[int64]string, error) {
	opts, err := h.agencyOptions(r)
	names := map[int64]string{}
	for _, o := range opts {
		names[o.ID] = o.Label
	}
	return names, err
}

func (h *handler) userList(w http.ResponseWriter, r *http.Request) {
	v := h.newView(r, "users.title", "users")
	page, offset := pageOffset(r)
	role := model.Role(r.URL.Query().Get("role"))
	if !role.Valid() {
		role = ""
	}
	p, err := h.store.ListUsers(r.Context(), scope(r), storage.UserFilter{Role: role, Limit: pageSize, Offset: offset})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	names, err := h.agencyNames(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v.Data = userListData{Items: p.Items, Roles: model.Roles, Agencies: names, Pager: newPager(p.Total, page)}
	h.render(w, http.StatusOK, "users", v)
}

type userFormData struct {
	U         model.User
	Roles     []model.Role
	Agencies  []agencyOption
	Languages []string
	// Password is a generated password to show once, after create or reset.
	Password string
}

func (h *handler) userForm(w http.ResponseWriter, r *http.Request, status int, v *view, u model.User, password string) {
	agencies, err := h.agencyOptions(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v.Data = userFormData{U: u, Roles: model.Roles, Agencies: agencies, Languages: model.Languages, Password: password}
	h.render(w, status, "user_form", v)
}

func (h *handler) userNew(w http.ResponseWriter, r *http.Request) {
	h.userForm(w, r, http.StatusOK, h.newView(r, "users.new", "users"), model.User{Role: model.RoleOfficer, Language: "vi"}, "")
}

func userFromForm(r *http.Request, u *model.User) {
	if u.ID == 0 {
		u.Username = r.PostFormValue("username")
	}
	u.DisplayName = r.PostFormValue("display_name")
	u.Email = r.PostFormValue("email")
	u.Role = model.Role(r.PostFormValue("role"))
	u.Language = r.PostFormValue("language")
	if id := formID(r, "agency_id"); id > 0 {
		u.AgencyID = &id
	} else {
		u.AgencyID = nil
	}
	u.Disabled = r.PostFormValue("disabled") == "true"
}

// userCreate makes an account with a generated password, shown once; the
// user must change it at first login.
func (h *handler) userCreate(w http.ResponseWriter, r *http.Request) {
	u := model.User{MustChangePassword: true}
	userFromForm(r, &u)
	pw := auth.RandomPassword()
	err := u.Validate()
	if err == nil {
		u.PasswordHash, err = auth.HashPassword(pw)
	}
	if err == nil {
		err = h.store.CreateUser(r.Context(), httpd.Actor(r), &u)
	}
	if err != nil {
		v := h.newView(r, "users.new", "users")
		if errors.Is(err, model.ErrNotFound) {
			err = model.Invalid("agency_id", "is not an agency you manage")
		}
		if !formError(v, err) {
			h.fail(w, r, err)
			return
		}
		h.userForm(w, r, http.StatusBadRequest, v, u, "")
		return
	}
	v := h.newView(r, "users.edit", "users")
	v.Flash = v.T("flash.user_created")
	h.userForm(w, r, http.StatusCreated, v, u, pw)
}

func (h *handler) userEdit(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	u, err := h.store.GetUser(r.Context(), scope(r), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.userForm(w, r, http.StatusOK, h.newView(r, "users.edit", "users"), u, "")
}

func (h *handler) userUpdate(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	u, err := h.store.GetUser(r.Context(), scope(r), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	userFromForm(r, &u)
	if err := h.store.UpdateUser(r.Context(), httpd.Actor(r), &u); err != nil {
		v := h.newView(r, "users.edit", "users")
		if !formError(v, err) {
			h.fail(w, r, err)
			return
		}
		h.userForm(w, r, http.StatusBadRequest, v, u, "")
		return
	}
	redirect(w, r, "/users", "saved")
}

// userResetPassword sets a new generated password, shown once, that the
// user must change; their sessions and tokens are revoked by the store.
func (h *handler) userResetPassword(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	u, err := h.store.GetUser(r.Context(), scope(r), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	pw := auth.RandomPassword()
	hash, err := auth.HashPassword(pw)
	if err == nil {
		err = h.store.SetPassword(r.Context(), httpd.Actor(r), id, hash, "")
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	u.MustChangePassword = true
	u.UpdatedAt = time.Now()
	v := h.newView(r, "users.edit", "users")
	v.Flash = v.T("flash.password_reset")
	h.userForm(w, r, http.StatusOK, v, u, pw)
}

func (h *handler) userDelete(w http.ResponseWriter, r *http.Request) {
	h.byID(w, r, h.store.DeleteUser, "/users", "deleted")
}

// auditResources are the object types the audit log records.
var auditResources = []string{"agency", "asset", "user", "api_token", "alert", "silence", "channel", "schedule", "escalation_chain", "contact_method", "alert_source"}

type auditData struct {
	Items     []model.AuditEvent
	Resources []string
	Pager     pager
}

// auditList shows the audit log, newest first, filtered by object type,
// actor and action; a scoped caller sees only their subtree's events.
func (h *handler) auditList(w http.ResponseWriter, r *http.Request) {
	v := h.newView(r, "audit.title", "audit")
	page, offset := pageOffset(r)
	q := r.URL.Query()
	f := storage.AuditFilter{ResourceType: q.Get("resource"), ActorName: q.Get("actor"), Action: q.Get("action"),
		Limit: pageSize, Offset: offset}
	if d, err := time.ParseInLocation("2006-01-02", q.Get("since"), vietnam); err == nil {
		f.Since = d
	}
	if d, err := time.ParseInLocation("2006-01-02", q.Get("until"), vietnam); err == nil {
		f.Until = d.Add(24 * time.Hour)
	}
	p, err := h.store.ListAudit(r.Context(), scope(r), f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v.Data = auditData{Items: p.Items, Resources: auditResources, Pager: newPager(p.Total, page)}
	h.render(w, http.StatusOK, "audit", v)
}
