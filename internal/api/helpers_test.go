package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"canhgac/internal/alert"
	"canhgac/internal/api"
	"canhgac/internal/auth"
	"canhgac/internal/fleet"
	"canhgac/internal/httpd"
	"canhgac/internal/model"
	"canhgac/internal/storage"
	"canhgac/internal/ui"
	"canhgac/internal/webmon"
)

var ctx = context.Background()

type env struct {
	t     *testing.T
	store *storage.Store
	srv   *httpd.Server
	url   string
	// A province with two departments; officer A is confined to deptA.
	province, deptA, deptB model.Agency
}

func newEnv(t *testing.T, store *storage.Store) *env {
	t.Helper()
	srv := httpd.New(httpd.Config{MaxBodyBytes: 1 << 20}, store, auth.New(store, auth.DefaultConfig()), slog.New(slog.NewTextHandler(io.Discard, nil)))
	api.Register(srv)
	alerts, err := alert.New(ctx, store, alert.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	api.RegisterAlerts(srv, alerts)
	api.RegisterMonitors(srv, webmon.New(store, alerts, webmon.Config{}, nil))
	fl, err := fleet.New(store, alerts, fleet.Config{LongPoll: 5 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	api.RegisterFleet(srv, fl)
	ui.Register(srv)
	ui.RegisterAlerts(srv, alerts)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	e := &env{t: t, store: store, srv: srv, url: ts.URL}
	sys := model.Actor{Scope: model.System}
	e.province = model.Agency{Name: "Sở TTTT", Kind: model.AgencyProvince}
	if err := store.CreateAgency(ctx, sys, &e.province); err != nil {
		t.Fatal(err)
	}
	e.deptA = model.Agency{Name: "Sở Y tế", Code: "SYT", Kind: model.AgencyDepartment, ParentID: &e.province.ID}
	e.deptB = model.Agency{Name: "Sở Tài chính", Code: "STC", Kind: model.AgencyDepartment, ParentID: &e.province.ID}
	for _, a := range []*model.Agency{&e.deptA, &e.deptB} {
		if err := store.CreateAgency(ctx, sys, a); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// user creates a user directly in the store and returns a client holding an API token for them.
func (e *env) user(name string, role model.Role, agency *model.Agency) *client {
	e.t.Helper()
	hash, _ := auth.HashPassword("correct horse battery")
	u := model.User{Username: name, Role: role, PasswordHash: hash}
	if agency != nil {
		u.AgencyID = &agency.ID
	}
	if err := e.store.CreateUser(ctx, model.Actor{Scope: model.System}, &u); err != nil {
		e.t.Fatal(err)
	}
	secret, _, err := auth.New(e.store, auth.DefaultConfig()).CreateToken(ctx, model.Actor{Scope: model.System}, u.ID, "test", 0)
	if err != nil {
		e.t.Fatal(err)
	}
	return &client{t: e.t, base: e.url, hc: &http.Client{}, token: secret, id: u.ID}
}

// browser returns a cookie-jar client that is not logged in.
func (e *env) browser() *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: e.t, base: e.url, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type client struct {
	t     *testing.T
	base  string
	hc    *http.Client
	token string
	csrf  string
	id    int64
}

type response struct {
	*http.Response
	body []byte
}

func (r response) json(v any) {
	if err := json.Unmarshal(r.body, v); err != nil {
		panic("decode " + string(r.body) + ": " + err.Error())
	}
}

// errField returns the error envelope's code and field.
func (r response) err() httpd.APIError {
	var e struct{ Error httpd.APIError }
	json.Unmarshal(r.body, &e)
	return e.Error
}

func (c *client) raw(method, path, contentType string, body io.Reader) response {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp, b}
}

func (c *client) do(method, path string, body any) response {
	c.t.Helper()
	var rd io.Reader
	ct := ""
	switch b := body.(type) {
	case nil:
	case string:
		rd, ct = strings.NewReader(b), "application/json"
	default:
		buf, _ := json.Marshal(b)
		rd, ct = bytes.NewReader(buf), "application/json"
	}
	return c.raw(method, path, ct, rd)
}

// expect fails the test unless the response has the given status.
func expect(t *testing.T, r response, status int) response {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("%s %s: status %d, want %d: %s", r.Request.Method, r.Request.URL.Path, r.StatusCode, status, r.body)
	}
	return r
}
