// Package ui is canhgac's server-rendered web interface: html/template pages
// enhanced with htmx, every string from the i18n catalogs, every asset
// embedded in the binary. Handlers are thin, like the API's: they read a
// form, call the store with the caller's scope or actor, and render. The
// store enforces agency scoping and writes the audit log.
package ui

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"canhgac/internal/auth"
	"canhgac/internal/httpd"
	"canhgac/internal/i18n"
	"canhgac/internal/model"
	"canhgac/internal/storage"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// LangCookie remembers the language chosen before logging in.
const LangCookie = "canhgac_lang"

// pageSize is how many rows a list page shows.
const pageSize = 50

type handler struct {
	store *storage.Store
	auth  *auth.Service
	pages map[string]*template.Template
}

// Register adds the web UI's routes to the server.
func Register(s *httpd.Server) {
	h := &handler{store: s.Store, auth: s.Auth, pages: parsePages()}
	r := s.Router
	static, _ := fs.Sub(staticFS, "static")
	files := http.FileServerFS(static)
	r.Public("GET /static/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		http.StripPrefix("/static/", files).ServeHTTP(w, r)
	})
	r.Public("GET /login", h.loginPage)
	r.Public("POST /login", h.loginSubmit)
	r.Private("POST /logout", h.logout)
	r.Private("GET /{$}", h.page(h.dashboard))
	r.Private("GET /profile", h.profilePage)
	r.Private("POST /profile", h.profileSubmit)
	r.Private("POST /profile/password", h.passwordSubmit)

	r.Private("GET /agencies", h.can(model.ActionRead, model.ResourceAgency, h.agencyList))
	r.Private("GET /agencies/new", h.can(model.ActionWrite, model.ResourceAgency, h.agencyNew))
	r.Private("POST /agencies", h.can(model.ActionWrite, model.ResourceAgency, h.agencyCreate))
	r.Private("GET /agencies/{id}", h.can(model.ActionRead, model.ResourceAgency, h.agencyEdit))
	r.Private("POST /agencies/{id}", h.can(model.ActionWrite, model.ResourceAgency, h.agencyUpdate))
	r.Private("POST /agencies/{id}/delete", h.can(model.ActionWrite, model.ResourceAgency, h.agencyDelete))

	r.Private("GET /assets", h.can(model.ActionRead, model.ResourceAsset, h.assetList))
	r.Private("GET /assets/new", h.can(model.ActionWrite, model.ResourceAsset, h.assetNew))
	r.Private("POST /assets", h.can(model.ActionWrite, model.ResourceAsset, h.assetCreate))
	r.Private("GET /assets/import", h.can(model.ActionWrite, model.ResourceAsset, h.importPage))
	r.Private("POST /assets/import", h.can(model.ActionWrite, model.ResourceAsset, h.importSubmit), httpd.MaxBody(importMaxBytes))
	r.Private("GET /assets/{id}", h.can(model.ActionRead, model.ResourceAsset, h.assetEdit))
	r.Private("POST /assets/{id}", h.can(model.ActionWrite, model.ResourceAsset, h.assetUpdate))
	r.Private("POST /assets/{id}/delete", h.can(model.ActionWrite, model.ResourceAsset, h.assetDelete))

	r.Private("GET /users", h.can(model.ActionRead, model.ResourceUser, h.userList))
	r.Private("GET /users/new", h.can(model.ActionWrite, model.ResourceUser, h.userNew))
	r.Private("POST /users", h.can(model.ActionWrite, model.ResourceUser, h.userCreate))
	r.Private("GET /users/{id}", h.can(model.ActionRead, model.ResourceUser, h.userEdit))
	r.Private("POST /users/{id}", h.can(model.ActionWrite, model.ResourceUser, h.userUpdate))
	r.Private("POST /users/{id}/password", h.can(model.ActionWrite, model.ResourceUser, h.userResetPassword))
	r.Private("POST /users/{id}/delete", h.can(model.ActionWrite, model.ResourceUser, h.userDelete))

	r.Private("GET /audit", h.can(model.ActionRead, model.ResourceAudit, h.auditList))
}

// importMaxBytes bounds an uploaded CSV, as the API does.
const importMaxBytes = 10 << 20

func parsePages() map[string]*template.Template {
	funcs := template.FuncMap{
		"add":     func(a, b int) int { return a + b },
		"percent": percent,
		"join":    strings.Join,
		"deref": func(p *int64) int64 {
			if p == nil {
				return 0
			}
			return *p
		},
		"indent": func(depth int) string { return strings.Repeat("— ", max(depth-1, 0)) },
		"time": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.In(vietnam).Format("02/01/2006 15:04")
		},
		"timeptr": func(t *time.Time) string {
			if t == nil {
				return ""
			}
			return t.In(vietnam).Format("02/01/2006 15:04")
		},
	}
	base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html"))
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		name := strings.TrimPrefix(n, "templates/")
		if name == "layout.html" {
			continue
		}
		pages[strings.TrimSuffix(name, ".html")] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, n))
	}
	return pages
}

// vietnam is the time zone pages show times in (UTC+7, no daylight saving).
var vietnam = time.FixedZone("ICT", 7*3600)

// view is what every template receives.
type view struct {
	Lang   string
	Theme  string
	Title  string
	Nav    string
	User   *model.User
	Scope  model.Scope
	CSRF   string
	Flash  string
	Error  string
	Errors map[string]string // field → message
	Data   any
	r      *http.Request
}

// T translates a catalog key into the page's language.
func (v *view) T(key string, args ...any) string { return i18n.T(v.Lang, key, args...) }

// Can reports whether the viewer's role allows an action ("read"/"write") on a resource.
func (v *view) Can(action, resource string) bool {
	if v.User == nil {
		return false
	}
	a := model.ActionRead
	if action == "write" {
		a = model.ActionWrite
	}
	return v.Scope.Can(a, model.Resource(resource))
}

// Query returns the current URL's query with key set to value (for pagination links).
func (v *view) Query(key, value string) string {
	q := v.r.URL.Query()
	q.Set(key, value)
	return "?" + q.Encode()
}

// pagerView is what the "pager" template needs: the pager and the view.
type pagerView struct {
	Pager pager
	V     *view
}

// PagerFor hands a list's pager to the shared "pager" template.
func (v *view) PagerFor(p pager) pagerView { return pagerView{Pager: p, V: v} }

// Param returns a query parameter of the current request (to refill filters).
func (v *view) Param(key string) string { return v.r.URL.Query().Get(key) }

func (h *handler) newView(r *http.Request, title, nav string) *view {
	v := &view{Lang: requestLang(r), Theme: "light", Title: title, Nav: nav, r: r, Errors: map[string]string{}}
	if p := httpd.Principal(r); p != nil {
		u := p.User
		v.User, v.Scope = &u, p.Scope
		if p.Session != nil {
			v.CSRF = p.Session.CSRFToken
		}
		if u.Theme != "" {
			v.Theme = u.Theme
		}
	}
	switch r.URL.Query().Get("flash") {
	case "":
	default:
		if key := "flash." + r.URL.Query().Get("flash"); i18n.Has(i18n.Default, key) {
			v.Flash = v.T(key)
		}
	}
	return v
}

// requestLang is the logged-in user's language, else the language cookie,
// else Vietnamese. A ?lang= parameter overrides both for this request.
func requestLang(r *http.Request) string {
	if l := r.URL.Query().Get("lang"); i18n.Supported(l) {
		return l
	}
	if p := httpd.Principal(r); p != nil && i18n.Supported(p.User.Language) {
		return p.User.Language
	}
	if c, err := r.Cookie(LangCookie); err == nil && i18n.Supported(c.Value) {
		return c.Value
	}
	return i18n.Default
}

// render executes a page into a buffer first, so a template error never
// leaves a half-written page.
func (h *handler) render(w http.ResponseWriter, status int, page string, v *view) {
	t, ok := h.pages[page]
	if !ok {
		panic("ui: no page " + page)
	}
	var buf bytes.Buffer
	name := "layout.html"
	if v.r.Header.Get("HX-Request") == "true" && t.Lookup("partial") != nil && v.r.Header.Get("HX-Target") != "" {
		name = "partial"
	}
	if err := t.ExecuteTemplate(&buf, name, v); err != nil {
		slog.ErrorContext(v.r.Context(), "render", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Vary", "HX-Request")
	w.WriteHeader(status)
	buf.WriteTo(w)
}

// fail renders an error page for err: 404 for anything outside the
// caller's scope, so its existence is not revealed.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, _, _, _ := httpd.StatusOf(err)
	key := "error.internal"
	switch status {
	case http.StatusNotFound:
		key = "error.not_found"
	case http.StatusForbidden:
		key = "error.forbidden"
	case http.StatusConflict:
		key = "error.conflict"
	case http.StatusBadRequest:
		key = "error.bad_request"
	case http.StatusRequestEntityTooLarge:
		key = "error.too_large"
	default:
		slog.ErrorContext(r.Context(), "ui request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	v := h.newView(r, "error.title", "")
	v.Error = v.T(key)
	h.render(w, status, "error", v)
}

// formError puts a validation or conflict error onto the view, next to its
// field when it names one. It reports false for other errors.
func formError(v *view, err error) bool {
	var ve *model.ValidationError
	switch {
	case errors.As(err, &ve):
		msg := v.T("field." + ve.Field)
		if !i18n.Has(v.Lang, "field."+ve.Field) {
			msg = ve.Field
		}
		detail := ve.Message
		if key := "invalid." + ve.Message; i18n.Has(v.Lang, key) {
			detail = v.T(key)
		}
		v.Errors[ve.Field] = detail
		v.Error = msg + ": " + detail
		return true
	case errors.Is(err, model.ErrConflict):
		v.Error = v.T("error.conflict")
		return true
	}
	return false
}

func redirect(w http.ResponseWriter, r *http.Request, path, flash string) {
	if flash != "" {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		path += sep + "flash=" + url.QueryEscape(flash)
	}
	if r.Header.Get("HX-Request") == "true" {
		w.Header().Set("HX-Redirect", path)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	http.Redirect(w, r, path, http.StatusSeeOther)
}

// page wraps a private page: a session whose password must be changed is
// sent to the profile page first.
func (h *handler) page(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if p := httpd.Principal(r); p.Session != nil && p.User.MustChangePassword {
			http.Redirect(w, r, "/profile?must_change=1", http.StatusSeeOther)
			return
		}
		next(w, r)
	}
}

// can checks the caller's role before the handler runs; the store checks
// agency scope again on every read and write.
func (h *handler) can(a model.Action, res model.Resource, next http.HandlerFunc) http.HandlerFunc {
	return h.page(func(w http.ResponseWriter, r *http.Request) {
		if !httpd.Principal(r).Scope.Can(a, res) {
			h.fail(w, r, model.ErrForbidden)
			return
		}
		next(w, r)
	})
}

// byID runs an action on the object the path names, as the caller, then
// goes to the page "to" with a flash message; failures get the error page
// (404 for anything outside the caller's scope).
func (h *handler) byID(w http.ResponseWriter, r *http.Request, act func(context.Context, model.Actor, int64) error, to, flash string) {
	id, err := pathID(r)
	if err == nil {
		err = act(r.Context(), httpd.Actor(r), id)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	redirect(w, r, to, flash)
}

func scope(r *http.Request) model.Scope { return httpd.Principal(r).Scope }

func pathID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("id %q: %w", r.PathValue("id"), model.ErrNotFound)
	}
	return id, nil
}

// formInt reads an integer form or query value; empty or malformed is 0.
func formInt(r *http.Request, name string) int {
	n, _ := strconv.Atoi(strings.TrimSpace(r.FormValue(name)))
	return n
}

func formID(r *http.Request, name string) int64 {
	n, _ := strconv.ParseInt(strings.TrimSpace(r.FormValue(name)), 10, 64)
	return n
}

// pager is the pagination state of a list page.
type pager struct {
	Page, Pages, Total, From, To int
}

func newPager(total, page int) pager {
	pages := max((total+pageSize-1)/pageSize, 1)
	p := pager{Page: min(max(page, 1), pages), Pages: pages, Total: total}
	if total > 0 {
		p.From = (p.Page-1)*pageSize + 1
		p.To = min(p.Page*pageSize, total)
	}
	return p
}

func pageOffset(r *http.Request) (int, int) {
	page := max(formInt(r, "page"), 1)
	return page, (page - 1) * pageSize
}

// agencyOption is one entry in an agency picker, indented by depth.
type agencyOption struct {
	ID    int64
	Label string
}

// agencyOptions lists the agencies the caller may pick, in tree order.
func (h *handler) agencyOptions(r *http.Request) ([]agencyOption, error) {
	var out []agencyOption
	for offset := 0; ; offset += storage.MaxLimit {
		p, err := h.store.ListAgencies(r.Context(), scope(r), storage.AgencyFilter{Limit: storage.MaxLimit, Offset: offset})
		if err != nil {
			return nil, err
		}
		for _, a := range p.Items {
			out = append(out, agencyOption{ID: a.ID, Label: strings.Repeat("— ", max(a.Depth()-1, 0)) + a.Name})
		}
		if offset+len(p.Items) >= p.Total || len(p.Items) == 0 {
			return out, nil
		}
	}
}
