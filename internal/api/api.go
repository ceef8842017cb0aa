// Package api is canhgac's JSON API under /api/v1: agencies, users, assets,
// API tokens and the audit log, described by the OpenAPI document it serves.
// Handlers stay thin: they decode, call the store with the caller's scope or
// actor, and encode; the store enforces scoping and writes the audit log.
package api

import (
	"fmt"
	"net/http"
	"strconv"

	"canhgac/internal/auth"
	"canhgac/internal/httpd"
	"canhgac/internal/model"
	"canhgac/internal/storage"
)

type handler struct {
	store *storage.Store
	auth  *auth.Service
}

// Register adds the API's routes to the server.
func Register(s *httpd.Server) {
	h := &handler{store: s.Store, auth: s.Auth}
	r := s.Router
	r.Public("GET /api/v1/openapi.json", serveOpenAPI)
	r.Public("POST /api/v1/auth/login", h.login)
	r.Private("POST /api/v1/auth/logout", h.logout)
	r.Private("GET /api/v1/me", h.me)
	r.Private("PATCH /api/v1/me", h.updateMe)
	r.Private("POST /api/v1/me/password", h.changePassword)

	r.Private("GET /api/v1/agencies", h.can(model.ActionRead, model.ResourceAgency, h.listAgencies))
	r.Private("POST /api/v1/agencies", h.can(model.ActionWrite, model.ResourceAgency, h.createAgency))
	r.Private("GET /api/v1/agencies/{id}", h.can(model.ActionRead, model.ResourceAgency, h.getAgency))
	r.Private("PATCH /api/v1/agencies/{id}", h.can(model.ActionWrite, model.ResourceAgency, h.updateAgency))
	r.Private("DELETE /api/v1/agencies/{id}", h.can(model.ActionWrite, model.ResourceAgency, h.deleteAgency))

	r.Private("GET /api/v1/users", h.can(model.ActionRead, model.ResourceUser, h.listUsers))
	r.Private("POST /api/v1/users", h.can(model.ActionWrite, model.ResourceUser, h.createUser))
	r.Private("GET /api/v1/users/{id}", h.can(model.ActionRead, model.ResourceUser, h.getUser))
	r.Private("PATCH /api/v1/users/{id}", h.can(model.ActionWrite, model.ResourceUser, h.updateUser))
	r.Private("DELETE /api/v1/users/{id}", h.can(model.ActionWrite, model.ResourceUser, h.deleteUser))
	r.Private("POST /api/v1/users/{id}/password", h.can(model.ActionWrite, model.ResourceUser, h.resetPassword))
	r.Private("GET /api/v1/users/{id}/tokens", h.mustChange(h.listTokens))
	r.Private("POST /api/v1/users/{id}/tokens", h.mustChange(h.createToken))
	r.Private("DELETE /api/v1/users/{id}/tokens/{token}", h.mustChange(h.deleteToken))

	r.Private("GET /api/v1/assets", h.can(model.ActionRead, model.ResourceAsset, h.listAssets))
	r.Private("POST /api/v1/assets", h.can(model.ActionWrite, model.ResourceAsset, h.createAsset))
	r.Private("GET /api/v1/assets/{id}", h.can(model.ActionRead, model.ResourceAsset, h.getAsset))
	r.Private("PATCH /api/v1/assets/{id}", h.can(model.ActionWrite, model.ResourceAsset, h.updateAsset))
	r.Private("DELETE /api/v1/assets/{id}", h.can(model.ActionWrite, model.ResourceAsset, h.deleteAsset))
	r.Private("POST /api/v1/assets/import", h.can(model.ActionWrite, model.ResourceAsset, h.importAssets), httpd.MaxBody(ImportMaxBytes))
	r.Private("GET /api/v1/assets/import/template", h.can(model.ActionRead, model.ResourceAsset, h.importTemplate))

	r.Private("GET /api/v1/audit", h.can(model.ActionRead, model.ResourceAudit, h.listAudit))
}

// ImportMaxBytes bounds a bulk import body (5,000 agency websites fit easily).
const ImportMaxBytes = 10 << 20

// mustChange refuses browser sessions whose password must be changed first.
func (h *handler) mustChange(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if p := httpd.Principal(r); p.Session != nil && p.User.MustChangePassword {
			httpd.WriteError(w, http.StatusForbidden, httpd.CodeMustChangePass, "", "change your password first (POST /api/v1/me/password)")
			return
		}
		next(w, r)
	}
}

// can checks the caller's role before the handler runs; the store checks
// agency scope again on every read and write.
func (h *handler) can(a model.Action, res model.Resource, next http.HandlerFunc) http.HandlerFunc {
	return h.mustChange(func(w http.ResponseWriter, r *http.Request) {
		if !httpd.Principal(r).Scope.Can(a, res) {
			httpd.WriteError(w, http.StatusForbidden, httpd.CodeForbidden, "", "role %s may not %s %ss", httpd.Principal(r).Scope.Role, verb(a), res)
			return
		}
		next(w, r)
	})
}

func verb(a model.Action) string {
	if a == model.ActionRead {
		return "read"
	}
	return "change"
}

func scope(r *http.Request) model.Scope { return httpd.Principal(r).Scope }

// pathID parses the {name} path segment as a positive integer.
func pathID(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || id <= 0 {
		return 0, model.Invalid(name, "must be a positive integer")
	}
	return id, nil
}

// query reads typed query parameters, remembering the first bad one.
type query struct {
	r   *http.Request
	err error
}

func (q *query) str(name string) string { return q.r.URL.Query().Get(name) }

func (q *query) int(name string) int {
	v := q.r.URL.Query().Get(name)
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		q.fail(model.Invalid(name, "must be a non-negative integer"))
	}
	return n
}

func (q *query) id(name string) int64 {
	v := q.r.URL.Query().Get(name)
	if v == "" {
		return 0
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		q.fail(model.Invalid(name, "must be a positive integer"))
	}
	return n
}

func (q *query) fail(err error) {
	if q.err == nil {
		q.err = err
	}
}

// enum checks a query value against a list of allowed values.
func enum[T ~string](q *query, name string, allowed []T) T {
	v := T(q.str(name))
	if v == "" {
		return v
	}
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	q.fail(model.Invalid(name, "must be one of %v", allowed))
	return ""
}

func writeErr(w http.ResponseWriter, r *http.Request, err error) { httpd.WriteErr(w, r, err) }

func idString(id int64) string { return fmt.Sprint(id) }
