package httpd

import (
	"context"
	"net"
	"net/http"
	"strings"

	"canhgac/internal/model"
)

type ctxKey int

const principalKey ctxKey = iota

// Principal returns the authenticated caller of r, or nil.
func Principal(r *http.Request) *model.Principal {
	p, _ := r.Context().Value(principalKey).(*model.Principal)
	return p
}

// WithPrincipal returns r carrying p (for handlers that log a user in).
func WithPrincipal(r *http.Request, p *model.Principal) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), principalKey, p))
}

// ClientIP is the address the request came from. canhgac does not trust
// X-Forwarded-For: put it behind a proxy only on loopback.
func ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// Actor is the audit identity of the request's caller.
func Actor(r *http.Request) model.Actor {
	p := Principal(r)
	if p == nil {
		return model.Actor{IP: ClientIP(r)}
	}
	return model.Actor{Scope: p.Scope, IP: ClientIP(r)}
}

// IsAPI reports whether r is for the JSON API rather than the web UI.
func IsAPI(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/api/v1/") || strings.HasPrefix(r.URL.Path, "/agent/v1/")
}
