package httpd

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Router is the server's ServeMux plus a record of every pattern registered,
// so tests can hold the OpenAPI document to the real routes.
type Router struct {
	mux      *http.ServeMux
	srv      *Server
	patterns []string
}

// RouteOption changes how one route is served.
type RouteOption func(*route)

type route struct{ maxBody int64 }

// MaxBody lets one route accept bodies up to n bytes (bulk imports).
func MaxBody(n int64) RouteOption { return func(r *route) { r.maxBody = n } }

// Public registers a handler that anyone may call.
func (rt *Router) Public(pattern string, h http.HandlerFunc, opts ...RouteOption) {
	rt.handle(pattern, h, opts)
}

// Private registers a handler that needs a logged-in caller. Browser
// sessions must also present their CSRF token on state-changing requests.
func (rt *Router) Private(pattern string, h http.HandlerFunc, opts ...RouteOption) {
	rt.handle(pattern, func(w http.ResponseWriter, r *http.Request) {
		p := Principal(r)
		if p == nil {
			if IsAPI(r) {
				WriteError(w, http.StatusUnauthorized, CodeUnauthorized, "", "log in or send Authorization: Bearer <token>")
				return
			}
			http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if p.Session != nil && unsafeMethod(r.Method) && !validCSRF(r, p.Session.CSRFToken) {
			if IsAPI(r) {
				WriteError(w, http.StatusForbidden, CodeForbidden, "X-CSRF-Token", "missing or wrong CSRF token")
			} else {
				http.Error(w, "CSRF token missing or wrong — reload the page", http.StatusForbidden)
			}
			return
		}
		h(w, r)
	}, opts)
}

func (rt *Router) handle(pattern string, h http.HandlerFunc, opts []RouteOption) {
	cfg := route{maxBody: rt.srv.cfg.MaxBodyBytes}
	for _, o := range opts {
		o(&cfg)
	}
	rt.patterns = append(rt.patterns, pattern)
	rt.mux.Handle(pattern, rt.srv.instrument(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > cfg.maxBody {
			tooLarge(w, r, cfg.maxBody)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, cfg.maxBody)
		h(w, r)
	})))
}

func tooLarge(w http.ResponseWriter, r *http.Request, n int64) {
	if IsAPI(r) {
		WriteError(w, http.StatusRequestEntityTooLarge, CodeTooLarge, "", "request body is larger than %d bytes", n)
		return
	}
	http.Error(w, fmt.Sprintf("request body is larger than %d bytes", n), http.StatusRequestEntityTooLarge)
}

// Patterns lists every registered pattern, sorted.
func (rt *Router) Patterns() []string {
	p := slices.Clone(rt.patterns)
	slices.Sort(p)
	return p
}

func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions
}

// CSRFField is the form field (and X-CSRF-Token the header) carrying the token.
const CSRFField = "csrf_token"

func validCSRF(r *http.Request, want string) bool {
	got := r.Header.Get("X-CSRF-Token")
	if got == "" && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") ||
		got == "" && strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		got = r.FormValue(CSRFField)
	}
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
