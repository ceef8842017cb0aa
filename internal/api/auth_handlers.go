package api

import (
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"canhgac/internal/auth"
	"canhgac/internal/httpd"
	"canhgac/internal/model"
)

type loginRequest struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

type loginResponse struct {
	User      model.User `json:"user"`
	CSRFToken string     `json:"csrf_token"`
	ExpiresAt time.Time  `json:"expires_at"`
}

func (h *handler) login(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	if err := httpd.DecodeJSON(r, &req); err != nil {
		writeErr(w, r, err)
		return
	}
	if req.Username == "" {
		writeErr(w, r, model.Invalid("username", "is required"))
		return
	}
	secret, sess, u, err := h.auth.Login(r.Context(), req.Username, req.Password, httpd.ClientIP(r), r.UserAgent())
	var rl *auth.RateLimitedError
	switch {
	case errors.As(err, &rl):
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(rl.RetryAfter.Seconds()))))
		httpd.WriteError(w, http.StatusTooManyRequests, httpd.CodeRateLimited, "", "%s", rl.Error())
		return
	case errors.Is(err, auth.ErrBadCredentials):
		httpd.WriteError(w, http.StatusUnauthorized, httpd.CodeUnauthorized, "", "wrong username or password")
		return
	case err != nil:
		writeErr(w, r, err)
		return
	}
	http.SetCookie(w, h.auth.SessionCookieFor(secret, sess.ExpiresAt))
	httpd.WriteJSON(w, http.StatusOK, loginResponse{User: u, CSRFToken: sess.CSRFToken, ExpiresAt: sess.ExpiresAt})
}

func (h *handler) logout(w http.ResponseWriter, r *http.Request) {
	if err := h.auth.Logout(r.Context(), httpd.Principal(r), httpd.ClientIP(r)); err != nil {
		writeErr(w, r, err)
		return
	}
	http.SetCookie(w, h.auth.ClearCookie())
	w.WriteHeader(http.StatusNoContent)
}

type meResponse struct {
	User      model.User `json:"user"`
	Scope     string     `json:"scope"`
	CSRFToken string     `json:"csrf_token,omitempty"`
}

func (h *handler) me(w http.ResponseWriter, r *http.Request) {
	p := httpd.Principal(r)
	resp := meResponse{User: p.User, Scope: p.Scope.AgencyPath}
	if resp.Scope == "" {
		resp.Scope = "/"
	}
	if p.Session != nil {
		resp.CSRFToken = p.Session.CSRFToken
	}
	httpd.WriteJSON(w, http.StatusOK, resp)
}

// profileInput is what anyone may change about themselves.
type profileInput struct {
	DisplayName *string `json:"display_name"`
	Email       *string `json:"email"`
	Language    *string `json:"language"`
	Theme       *string `json:"theme"`
}

func (h *handler) updateMe(w http.ResponseWriter, r *http.Request) {
	p := httpd.Principal(r)
	var in profileInput
	if err := httpd.DecodeJSON(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	u := p.User
	setIf(&u.DisplayName, in.DisplayName)
	setIf(&u.Email, in.Email)
	setIf(&u.Language, in.Language)
	setIf(&u.Theme, in.Theme)
	if err := h.store.UpdateUser(r.Context(), httpd.Actor(r), &u); err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, u)
}

func setIf[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

type passwordChange struct {
	CurrentPassword string `json:"current_password"`
	Password        string `json:"password"`
}

func (h *handler) changePassword(w http.ResponseWriter, r *http.Request) {
	var in passwordChange
	if err := httpd.DecodeJSON(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	if err := h.auth.ChangePassword(r.Context(), httpd.Principal(r), httpd.ClientIP(r), in.CurrentPassword, in.Password); err != nil {
		writeErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
