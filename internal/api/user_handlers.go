package api

import (
	"net/http"
	"time"

	"canhgac/internal/auth"
	"canhgac/internal/httpd"
	"canhgac/internal/model"
	"canhgac/internal/storage"
)

// userInput is the writable part of a user. Password is accepted only on create.
type userInput struct {
	Username           *string     `json:"username"`
	DisplayName        *string     `json:"display_name"`
	Email              *string     `json:"email"`
	Role               *model.Role `json:"role"`
	AgencyID           **int64     `json:"agency_id"`
	Language           *string     `json:"language"`
	Theme              *string     `json:"theme"`
	Disabled           *bool       `json:"disabled"`
	MustChangePassword *bool       `json:"must_change_password"`
	Password           *string     `json:"password"`
}

func (in *userInput) apply(u *model.User) {
	setIf(&u.Username, in.Username)
	setIf(&u.DisplayName, in.DisplayName)
	setIf(&u.Email, in.Email)
	setIf(&u.Role, in.Role)
	if in.AgencyID != nil {
		u.AgencyID = *in.AgencyID
	}
	setIf(&u.Language, in.Language)
	setIf(&u.Theme, in.Theme)
	setIf(&u.Disabled, in.Disabled)
	setIf(&u.MustChangePassword, in.MustChangePassword)
}

// createdUser is returned once, with the generated password if one was made.
type createdUser struct {
	model.User
	InitialPassword string `json:"initial_password,omitempty"`
}

func (h *handler) listUsers(w http.ResponseWriter, r *http.Request) {
	q := query{r: r}
	f := storage.UserFilter{Role: enum(&q, "role", model.Roles), AgencyID: q.id("agency_id"), Limit: q.int("limit"), Offset: q.int("offset")}
	if q.err != nil {
		writeErr(w, r, q.err)
		return
	}
	p, err := h.store.ListUsers(r.Context(), scope(r), f)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, p)
}

func (h *handler) getUser(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	u, err := h.store.GetUser(r.Context(), scope(r), id)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, u)
}

func (h *handler) createUser(w http.ResponseWriter, r *http.Request) {
	var in userInput
	if err := httpd.DecodeJSON(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	u := model.User{MustChangePassword: true}
	in.apply(&u)
	if err := u.Validate(); err != nil {
		writeErr(w, r, err)
		return
	}
	out := createdUser{}
	pw := ""
	if in.Password != nil {
		pw = *in.Password
		if err := model.ValidatePassword(pw); err != nil {
			writeErr(w, r, err)
			return
		}
	} else {
		pw = auth.RandomPassword()
		out.InitialPassword = pw
	}
	hash, err := auth.HashPassword(pw)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	u.PasswordHash = hash
	if err := h.store.CreateUser(r.Context(), httpd.Actor(r), &u); err != nil {
		writeErr(w, r, err)
		return
	}
	out.User = u
	w.Header().Set("Location", "/api/v1/users/"+idString(u.ID))
	httpd.WriteJSON(w, http.StatusCreated, out)
}

func (h *handler) updateUser(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	u, err := h.store.GetUser(r.Context(), scope(r), id)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	var in userInput
	if err := httpd.DecodeJSON(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	if in.Password != nil {
		writeErr(w, r, model.Invalid("password", "cannot be set here; use POST /api/v1/users/{id}/password"))
		return
	}
	in.apply(&u)
	if err := h.store.UpdateUser(r.Context(), httpd.Actor(r), &u); err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, u)
}

func (h *handler) deleteUser(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if err := h.store.DeleteUser(r.Context(), httpd.Actor(r), id); err != nil {
		writeErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// resetPassword gives a user a new random password, shown once, which they
// must change at their next login.
func (h *handler) resetPassword(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	pw := auth.RandomPassword()
	hash, err := auth.HashPassword(pw)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if err := h.store.SetPassword(r.Context(), httpd.Actor(r), id, hash, ""); err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, map[string]string{"password": pw})
}

type tokenInput struct {
	Name string `json:"name"`
	// TTL is a Go duration such as "720h"; empty means no expiry.
	TTL string `json:"ttl"`
}

type createdToken struct {
	model.APIToken
	Token string `json:"token"`
}

func (h *handler) listTokens(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if !ownOrCan(r, id) {
		writeErr(w, r, model.ErrNotFound)
		return
	}
	ts, err := h.store.ListTokens(r.Context(), scope(r), id)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, map[string]any{"items": ts})
}

// ownOrCan: a user manages their own tokens; user admins manage anyone's in scope.
func ownOrCan(r *http.Request, userID int64) bool {
	p := httpd.Principal(r)
	return p.User.ID == userID || p.Scope.Can(model.ActionWrite, model.ResourceUser)
}

func (h *handler) createToken(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if !ownOrCan(r, id) {
		writeErr(w, r, model.ErrNotFound)
		return
	}
	var in tokenInput
	if err := httpd.DecodeJSON(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	var ttl time.Duration
	if in.TTL != "" {
		if ttl, err = time.ParseDuration(in.TTL); err != nil || ttl <= 0 {
			writeErr(w, r, model.Invalid("ttl", "must be a positive duration such as 720h"))
			return
		}
	}
	secret, t, err := h.auth.CreateToken(r.Context(), httpd.Actor(r), id, in.Name, ttl)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusCreated, createdToken{APIToken: t, Token: secret})
}

func (h *handler) deleteToken(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	tid, err := pathID(r, "token")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if !ownOrCan(r, id) {
		writeErr(w, r, model.ErrNotFound)
		return
	}
	if err := h.store.DeleteToken(r.Context(), httpd.Actor(r), id, tid); err != nil {
		writeErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
