package ui

import (
	"errors"
	"net/http"
	"strings"

	"canhgac/internal/auth"
	"canhgac/internal/httpd"
	"canhgac/internal/i18n"
	"canhgac/internal/model"
	"canhgac/internal/storage"
)

// safeNext keeps post-login redirects on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.HasPrefix(next, "/api/") {
		return "/"
	}
	return next
}

func (h *handler) loginPage(w http.ResponseWriter, r *http.Request) {
	if l := r.URL.Query().Get("lang"); i18n.Supported(l) {
		http.SetCookie(w, &http.Cookie{Name: LangCookie, Value: l, Path: "/", MaxAge: 365 * 24 * 3600, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
	}
	if httpd.Principal(r) != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	v := h.newView(r, "login.title", "")
	v.Data = map[string]string{"Next": safeNext(r.URL.Query().Get("next")), "Username": ""}
	h.render(w, http.StatusOK, "login", v)
}

func (h *handler) loginSubmit(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, model.Invalid("body", "unreadable form"))
		return
	}
	username := strings.TrimSpace(r.PostFormValue("username"))
	next := safeNext(r.PostFormValue("next"))
	secret, sess, u, err := h.auth.Login(r.Context(), username, r.PostFormValue("password"), httpd.ClientIP(r), r.UserAgent())
	if err != nil {
		v := h.newView(r, "login.title", "")
		v.Data = map[string]string{"Next": next, "Username": username}
		status := http.StatusUnauthorized
		var rl *auth.RateLimitedError
		switch {
		case errors.As(err, &rl):
			status = http.StatusTooManyRequests
			v.Error = v.T("login.rate_limited", int(rl.RetryAfter.Minutes())+1)
		case errors.Is(err, auth.ErrBadCredentials):
			v.Error = v.T("login.bad_credentials")
		default:
			h.fail(w, r, err)
			return
		}
		h.render(w, status, "login", v)
		return
	}
	http.SetCookie(w, h.auth.SessionCookieFor(secret, sess.ExpiresAt))
	if u.MustChangePassword {
		next = "/profile?must_change=1"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (h *handler) logout(w http.ResponseWriter, r *http.Request) {
	if err := h.auth.Logout(r.Context(), httpd.Principal(r), httpd.ClientIP(r)); err != nil {
		h.fail(w, r, err)
		return
	}
	http.SetCookie(w, h.auth.ClearCookie())
	redirect(w, r, "/login", "logged_out")
}

type profileData struct {
	MustChange bool
	Languages  []string
	Themes     []string
	AgencyName string
}

func (h *handler) profileView(r *http.Request) *view {
	v := h.newView(r, "profile.title", "profile")
	d := profileData{MustChange: v.User.MustChangePassword, Languages: model.Languages, Themes: model.Themes}
	if v.User.AgencyID != nil {
		if a, err := h.store.GetAgency(r.Context(), model.System, *v.User.AgencyID); err == nil {
			d.AgencyName = a.Name
		}
	}
	v.Data = d
	return v
}

func (h *handler) profilePage(w http.ResponseWriter, r *http.Request) {
	h.render(w, http.StatusOK, "profile", h.profileView(r))
}

// profileSubmit saves the caller's own name, e-mail, language and theme.
func (h *handler) profileSubmit(w http.ResponseWriter, r *http.Request) {
	p := httpd.Principal(r)
	u := p.User
	u.DisplayName = r.PostFormValue("display_name")
	u.Email = r.PostFormValue("email")
	u.Language = r.PostFormValue("language")
	u.Theme = r.PostFormValue("theme")
	if err := h.store.UpdateUser(r.Context(), httpd.Actor(r), &u); err != nil {
		v := h.profileView(r)
		if !formError(v, err) {
			h.fail(w, r, err)
			return
		}
		h.render(w, http.StatusBadRequest, "profile", v)
		return
	}
	redirect(w, r, "/profile", "saved")
}

func (h *handler) passwordSubmit(w http.ResponseWriter, r *http.Request) {
	next := r.PostFormValue("password")
	if next != r.PostFormValue("password_confirm") {
		v := h.profileView(r)
		v.Errors["password_confirm"] = v.T("profile.password_mismatch")
		v.Error = v.T("profile.password_mismatch")
		h.render(w, http.StatusBadRequest, "profile", v)
		return
	}
	err := h.auth.ChangePassword(r.Context(), httpd.Principal(r), httpd.ClientIP(r), r.PostFormValue("current_password"), next)
	if err != nil {
		v := h.profileView(r)
		if !formError(v, err) {
			h.fail(w, r, err)
			return
		}
		h.render(w, http.StatusBadRequest, "profile", v)
		return
	}
	redirect(w, r, "/", "password_changed")
}

// dashboardData is the duty room's overview: assets per agency now, and
// room for the capabilities that come later.
type dashboardData struct {
	Counts []storage.AgencyAssetCount
	Kinds  []model.AssetKind
	Totals map[model.AssetKind]int
	Total  int
	// Upcoming are the capabilities not built yet, shown as placeholders.
	Upcoming []string
}

func (h *handler) dashboard(w http.ResponseWriter, r *http.Request) {
	v := h.newView(r, "dashboard.title", "dashboard")
	counts, err := h.store.AssetCountsByAgency(r.Context(), scope(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := dashboardData{Counts: counts, Kinds: model.AssetKinds, Totals: map[model.AssetKind]int{},
		Upcoming: []string{"webmon", "agents", "vulns", "incidents", "telecom"}}
	for _, c := range counts {
		for k, n := range c.ByKind {
			d.Totals[k] += n
		}
		d.Total += c.Total
	}
	v.Data = d
	h.render(w, http.StatusOK, "dashboard", v)
}
