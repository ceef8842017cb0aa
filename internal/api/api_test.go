package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"sort"
	"strings"
	"testing"

	"canhgac/internal/api"
	"canhgac/internal/model"
	"canhgac/internal/storage"
	"canhgac/internal/storage/storagetest"
)

// The OpenAPI document lists every API, health and metrics route the server
// registers, and nothing it does not.
func TestOpenAPIDocumentMatchesRoutes(t *testing.T) {
	e := newEnv(t, storagetest.Backends(t)[0].Open(t))
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(api.OpenAPI(), &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	registered := map[string]bool{}
	for _, p := range e.srv.Router.Patterns() {
		method, path, _ := strings.Cut(p, " ")
		if !strings.HasPrefix(path, "/api/") && !strings.HasPrefix(path, "/agent/") && path != "/healthz" && path != "/readyz" && path != "/metrics" {
			continue // web UI pages
		}
		registered[strings.ToLower(method)+" "+path] = true
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("route %s is missing from openapi.json", p)
		}
	}
	for path, ops := range doc.Paths {
		for method := range ops {
			if !registered[method+" "+path] {
				t.Errorf("openapi.json documents %s %s, which is not registered", strings.ToUpper(method), path)
			}
		}
	}
	if len(registered) < 20 {
		t.Fatalf("only %d API routes registered", len(registered))
	}
	r := e.browser().do("GET", "/api/v1/openapi.json", nil)
	if r.StatusCode != 200 || !bytes.Equal(r.body, api.OpenAPI()) {
		t.Fatalf("GET /api/v1/openapi.json: %d", r.StatusCode)
	}
}

func assetCount(t *testing.T, s *storage.Store) int {
	p, err := s.ListAssets(ctx, model.System, storage.AssetFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return p.Total
}

// Bad input gets a clear 4xx naming the problem, and nothing is written.
func TestBadInputIsRefusedClearly(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		e := newEnv(t, s)
		admin := e.user("quantri", model.RoleAdmin, nil)
		good := fmt.Sprintf(`{"agency_id":%d,"kind":"website","name":"Cổng TTĐT","address":"https://syt.gov.vn","security_level":2}`, e.deptA.ID)
		cases := []struct {
			name, body  string
			status      int
			code, field string
		}{
			{"malformed", `{"agency_id":`, 400, "invalid", "body"},
			{"not json", `agency=1`, 400, "invalid", "body"},
			{"empty", ``, 400, "invalid", "body"},
			{"unknown field", strings.Replace(good, `"kind"`, `"colour":"red","kind"`, 1), 400, "invalid", "colour"},
			{"read-only field", strings.Replace(good, `"kind"`, `"id":99,"kind"`, 1), 400, "invalid", "id"},
			{"bad enum", strings.Replace(good, `"website"`, `"toaster"`, 1), 400, "invalid", "kind"},
			{"wrong type", strings.Replace(good, `"security_level":2`, `"security_level":"two"`, 1), 400, "invalid", "security_level"},
			{"out of range", strings.Replace(good, `"security_level":2`, `"security_level":6`, 1), 400, "invalid", "security_level"},
			{"missing name", strings.Replace(good, `"name":"Cổng TTĐT"`, `"name":""`, 1), 400, "invalid", "name"},
			{"trailing data", good + `{}`, 400, "invalid", "body"},
			{"unknown agency", strings.Replace(good, fmt.Sprintf(`"agency_id":%d`, e.deptA.ID), `"agency_id":999999`, 1), 400, "invalid", "agency_id"},
			{"oversize", `{"name":"` + strings.Repeat("a", 2<<20) + `"}`, 413, "too_large", ""},
		}
		for _, c := range cases {
			r := admin.do("POST", "/api/v1/assets", c.body)
			if r.StatusCode != c.status || r.err().Code != c.code || r.err().Field != c.field || r.err().Message == "" {
				t.Errorf("%s: %d %s, want %d with code %s field %q", c.name, r.StatusCode, r.body, c.status, c.code, c.field)
			}
		}
		if n := assetCount(t, s); n != 0 {
			t.Fatalf("bad requests wrote %d assets", n)
		}
		expect(t, admin.do("POST", "/api/v1/assets", good), 201)
		if r := admin.do("POST", "/api/v1/assets", good); r.StatusCode != 409 || r.err().Code != "conflict" {
			t.Errorf("duplicate: %d %s", r.StatusCode, r.body)
		}
		if r := admin.do("GET", "/api/v1/assets/424242", nil); r.StatusCode != 404 || r.err().Code != "not_found" {
			t.Errorf("missing asset: %d %s", r.StatusCode, r.body)
		}
		if r := admin.do("GET", "/api/v1/assets/abc", nil); r.StatusCode != 400 || r.err().Field != "id" {
			t.Errorf("non-numeric id: %d %s", r.StatusCode, r.body)
		}
		if r := admin.do("GET", "/api/v1/assets?kind=toaster", nil); r.StatusCode != 400 || r.err().Field != "kind" {
			t.Errorf("bad filter: %d %s", r.StatusCode, r.body)
		}
		if r := admin.do("GET", "/api/v1/assets?limit=-1", nil); r.StatusCode != 400 || r.err().Field != "limit" {
			t.Errorf("bad limit: %d %s", r.StatusCode, r.body)
		}
		if r := admin.do("GET", "/api/v1/audit?since=yesterday", nil); r.StatusCode != 400 || r.err().Field != "since" {
			t.Errorf("bad since: %d %s", r.StatusCode, r.body)
		}
		if r := e.browser().do("GET", "/api/v1/assets", nil); r.StatusCode != 401 || r.err().Code != "unauthorized" {
			t.Errorf("anonymous: %d %s", r.StatusCode, r.body)
		}
		bogus := &client{t: t, base: e.url, hc: http.DefaultClient, token: "cgk_forged"}
		if r := bogus.do("GET", "/api/v1/assets", nil); r.StatusCode != 401 {
			t.Errorf("forged token: %d", r.StatusCode)
		}
		viewer := e.user("xem", model.RoleViewer, nil)
		expect(t, viewer.do("GET", "/api/v1/assets", nil), 200)
		if r := viewer.do("POST", "/api/v1/assets", good); r.StatusCode != 403 || r.err().Code != "forbidden" {
			t.Errorf("viewer write: %d %s", r.StatusCode, r.body)
		}
		if r := viewer.do("GET", "/api/v1/users", nil); r.StatusCode != 403 {
			t.Errorf("viewer reading users: %d", r.StatusCode)
		}
		if n := assetCount(t, s); n != 1 {
			t.Fatalf("%d assets after one good create", n)
		}
	})
}

// An officer of agency A gets 404 or an empty list, never data, for anything of agency B.
func TestOfficerSeesOnlyOwnAgencyThroughAPI(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		e := newEnv(t, s)
		admin := e.user("quantri", model.RoleAdmin, nil)
		offA := e.user("canbo.a", model.RoleOfficer, &e.deptA)
		offB := e.user("canbo.b", model.RoleOfficer, &e.deptB)
		var aAsset, bAsset model.Asset
		expect(t, offA.do("POST", "/api/v1/assets", map[string]any{"agency_id": e.deptA.ID, "kind": "server", "name": "a-srv"}), 201).json(&aAsset)
		expect(t, offB.do("POST", "/api/v1/assets", map[string]any{"agency_id": e.deptB.ID, "kind": "server", "name": "b-srv"}), 201).json(&bAsset)
		var bTok struct{ ID int64 }
		expect(t, offB.do("POST", fmt.Sprintf("/api/v1/users/%d/tokens", offB.id), map[string]any{"name": "x"}), 201).json(&bTok)

		// Lists: only A's data.
		var assets storage.Page[model.Asset]
		expect(t, offA.do("GET", "/api/v1/assets", nil), 200).json(&assets)
		if assets.Total != 1 || assets.Items[0].ID != aAsset.ID {
			t.Errorf("officer A lists assets %+v", assets.Items)
		}
		expect(t, offA.do("GET", fmt.Sprintf("/api/v1/assets?agency_id=%d", e.deptB.ID), nil), 200).json(&assets)
		if assets.Total != 0 {
			t.Errorf("officer A filtering on B: %+v", assets.Items)
		}
		var agencies storage.Page[model.Agency]
		expect(t, offA.do("GET", "/api/v1/agencies", nil), 200).json(&agencies)
		if agencies.Total != 1 || agencies.Items[0].ID != e.deptA.ID {
			t.Errorf("officer A lists agencies %+v", agencies.Items)
		}
		var users storage.Page[model.User]
		expect(t, offA.do("GET", "/api/v1/users", nil), 200).json(&users)
		if users.Total != 1 || users.Items[0].Username != "canbo.a" {
			t.Errorf("officer A lists users %+v", users.Items)
		}
		var audit storage.Page[model.AuditEvent]
		expect(t, offA.do("GET", "/api/v1/audit?limit=500", nil), 200).json(&audit)
		if audit.Total == 0 {
			t.Errorf("officer A sees none of its own audit events")
		}
		for _, ev := range audit.Items {
			if ev.AgencyID == nil || *ev.AgencyID != e.deptA.ID || strings.Contains(string(ev.After), "b-srv") {
				t.Errorf("officer A sees audit event %+v", ev)
			}
		}

		// Reads and writes of B's objects: 404, nothing changes.
		for _, req := range []struct{ method, path, body string }{
			{"GET", fmt.Sprintf("/api/v1/assets/%d", bAsset.ID), ""},
			{"PATCH", fmt.Sprintf("/api/v1/assets/%d", bAsset.ID), `{"name":"pwned"}`},
			{"DELETE", fmt.Sprintf("/api/v1/assets/%d", bAsset.ID), ""},
			{"GET", fmt.Sprintf("/api/v1/agencies/%d", e.deptB.ID), ""},
			{"GET", fmt.Sprintf("/api/v1/agencies/%d", e.province.ID), ""},
			{"GET", fmt.Sprintf("/api/v1/users/%d", offB.id), ""},
			{"GET", fmt.Sprintf("/api/v1/users/%d/tokens", offB.id), ""},
			{"POST", fmt.Sprintf("/api/v1/users/%d/tokens", offB.id), `{"name":"steal"}`},
			{"DELETE", fmt.Sprintf("/api/v1/users/%d/tokens/%d", offB.id, bTok.ID), ""},
		} {
			var body any
			if req.body != "" {
				body = req.body
			}
			if r := offA.do(req.method, req.path, body); r.StatusCode != 404 {
				t.Errorf("officer A %s %s: %d %s, want 404", req.method, req.path, r.StatusCode, r.body)
			}
		}
		// Moving A's asset into B, or creating in B, is refused.
		if r := offA.do("PATCH", fmt.Sprintf("/api/v1/assets/%d", aAsset.ID), map[string]any{"agency_id": e.deptB.ID}); r.StatusCode != 400 || r.err().Field != "agency_id" {
			t.Errorf("officer A moving asset to B: %d %s", r.StatusCode, r.body)
		}
		if r := offA.do("POST", "/api/v1/assets", map[string]any{"agency_id": e.deptB.ID, "kind": "server", "name": "x"}); r.StatusCode != 400 {
			t.Errorf("officer A creating in B: %d %s", r.StatusCode, r.body)
		}
		var b model.Asset
		expect(t, admin.do("GET", fmt.Sprintf("/api/v1/assets/%d", bAsset.ID), nil), 200).json(&b)
		if b.Name != "b-srv" || b.AgencyID != e.deptB.ID {
			t.Fatalf("B's asset changed: %+v", b)
		}
		if toks, _ := s.ListTokens(ctx, model.System, offB.id); len(toks) != 2 {
			t.Fatalf("B's tokens: %d, want 2", len(toks))
		}
		// The CSV import cannot target B either.
		r := offA.raw("POST", "/api/v1/assets/import", "text/csv", strings.NewReader("agency,kind,name\nSTC,server,sneaky\n"))
		if r.StatusCode != 422 || !strings.Contains(string(r.body), `"field":"agency"`) {
			t.Errorf("officer A importing into B: %d %s", r.StatusCode, r.body)
		}
	})
}

func TestSessionCookieCSRFAndLogout(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		e := newEnv(t, s)
		e.user("truc.ban", model.RoleAnalyst, nil)
		b := e.browser()
		if r := b.do("POST", "/api/v1/auth/login", map[string]string{"username": "truc.ban", "password": "wrong password"}); r.StatusCode != 401 {
			t.Fatalf("wrong password: %d", r.StatusCode)
		}
		r := expect(t, b.do("POST", "/api/v1/auth/login", map[string]string{"username": "Truc.Ban", "password": "correct horse battery"}), 200)
		var login struct {
			CSRFToken string `json:"csrf_token"`
			User      model.User
		}
		r.json(&login)
		if login.CSRFToken == "" || login.User.Username != "truc.ban" || strings.Contains(string(r.body), "argon2") {
			t.Fatalf("login response %s", r.body)
		}
		var cookie *http.Cookie
		for _, c := range r.Cookies() {
			if c.Name == "canhgac_session" {
				cookie = c
			}
		}
		if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Secure || cookie.MaxAge <= 0 {
			t.Fatalf("session cookie %+v", cookie)
		}
		// The cookie value is never stored: only its hash.
		var n int
		s.DB().QueryRow(`SELECT COUNT(*) FROM sessions WHERE token_hash = '` + cookie.Value + `'`).Scan(&n)
		if n != 0 {
			t.Fatalf("session secret stored in clear")
		}
		expect(t, b.do("GET", "/api/v1/me", nil), 200)
		body := map[string]any{"agency_id": e.deptA.ID, "kind": "website", "name": "x", "address": "https://x.gov.vn"}
		if r := b.do("POST", "/api/v1/assets", body); r.StatusCode != 403 || r.err().Field != "X-CSRF-Token" {
			t.Fatalf("POST without CSRF token: %d %s", r.StatusCode, r.body)
		}
		b.csrf = "wrong"
		if r := b.do("POST", "/api/v1/assets", body); r.StatusCode != 403 {
			t.Fatalf("POST with wrong CSRF token: %d", r.StatusCode)
		}
		// A cross-site browser request is refused even with the right token.
		b.csrf = login.CSRFToken
		req, _ := http.NewRequest("POST", e.url+"/api/v1/assets", strings.NewReader(`{}`))
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		req.Header.Set("X-CSRF-Token", login.CSRFToken)
		if resp, err := b.hc.Do(req); err != nil || resp.StatusCode != 403 {
			t.Fatalf("cross-site POST: %v %v", resp.StatusCode, err)
		}
		if assetCount(t, s) != 0 {
			t.Fatalf("refused requests wrote assets")
		}
		expect(t, b.do("POST", "/api/v1/assets", body), 201)
		expect(t, b.do("POST", "/api/v1/auth/logout", nil), 204)
		// The old cookie no longer works, even if replayed.
		replay := e.browser()
		req, _ = http.NewRequest("GET", e.url+"/api/v1/me", nil)
		req.AddCookie(cookie)
		resp, _ := replay.hc.Do(req)
		if resp.StatusCode != 401 {
			t.Fatalf("replayed cookie after logout: %d", resp.StatusCode)
		}
		var audit storage.Page[model.AuditEvent]
		audit, _ = s.ListAudit(ctx, model.System, storage.AuditFilter{ActorName: "truc.ban"})
		actions := map[string]bool{}
		for _, ev := range audit.Items {
			actions[ev.Action] = true
		}
		if !actions["login"] || !actions["logout"] || !actions["create"] {
			t.Fatalf("audit actions of the session: %v", actions)
		}
	})
}

func TestRepeatedFailedLoginsAreLimited(t *testing.T) {
	e := newEnv(t, storagetest.Backends(t)[0].Open(t))
	e.user("nhanvien", model.RoleViewer, nil)
	b := e.browser()
	for i := 0; i < 5; i++ {
		if r := b.do("POST", "/api/v1/auth/login", map[string]string{"username": "nhanvien", "password": fmt.Sprint("guess", i)}); r.StatusCode != 401 {
			t.Fatalf("attempt %d: %d", i, r.StatusCode)
		}
	}
	r := b.do("POST", "/api/v1/auth/login", map[string]string{"username": "nhanvien", "password": "correct horse battery"})
	if r.StatusCode != 429 || r.err().Code != "rate_limited" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("6th attempt with the right password: %d %s", r.StatusCode, r.body)
	}
	// Guessing across many accounts from one address is limited too.
	for i := 0; i < 20; i++ {
		b.do("POST", "/api/v1/auth/login", map[string]string{"username": fmt.Sprint("user", i), "password": "x"})
	}
	e.user("khac", model.RoleViewer, nil)
	if r := b.do("POST", "/api/v1/auth/login", map[string]string{"username": "khac", "password": "correct horse battery"}); r.StatusCode != 429 {
		t.Fatalf("after 20 failures from one address: %d", r.StatusCode)
	}
	p, _ := e.store.ListAudit(ctx, model.System, storage.AuditFilter{Action: "login_failed", Limit: 100})
	if p.Total < 6 {
		t.Fatalf("%d failed logins audited", p.Total)
	}
}

func TestMustChangePasswordBeforeWork(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		e := newEnv(t, s)
		admin := e.user("quantri", model.RoleAdmin, nil)
		var created struct {
			model.User
			InitialPassword string `json:"initial_password"`
		}
		expect(t, admin.do("POST", "/api/v1/users", map[string]any{"username": "moi", "role": "analyst"}), 201).json(&created)
		if created.InitialPassword == "" || !created.MustChangePassword {
			t.Fatalf("created user %+v", created)
		}
		b := e.browser()
		var login struct {
			CSRFToken string `json:"csrf_token"`
		}
		expect(t, b.do("POST", "/api/v1/auth/login", map[string]string{"username": "moi", "password": created.InitialPassword}), 200).json(&login)
		b.csrf = login.CSRFToken
		if r := b.do("GET", "/api/v1/assets", nil); r.StatusCode != 403 || r.err().Code != "password_change_required" {
			t.Fatalf("before change: %d %s", r.StatusCode, r.body)
		}
		if r := b.do("POST", "/api/v1/me/password", map[string]string{"current_password": created.InitialPassword, "password": "short"}); r.StatusCode != 400 || r.err().Field != "password" {
			t.Fatalf("short password: %d %s", r.StatusCode, r.body)
		}
		expect(t, b.do("POST", "/api/v1/me/password", map[string]string{"current_password": created.InitialPassword, "password": "một mật khẩu dài hơn"}), 204)
		expect(t, b.do("GET", "/api/v1/assets", nil), 200)
	})
}

func TestAPITokensAreHashedAndScoped(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		e := newEnv(t, s)
		off := e.user("canbo.a", model.RoleOfficer, &e.deptA)
		var tok struct {
			ID    int64
			Token string
		}
		expect(t, off.do("POST", fmt.Sprintf("/api/v1/users/%d/tokens", off.id), map[string]any{"name": "script", "ttl": "24h"}), 201).json(&tok)
		if !strings.HasPrefix(tok.Token, "cgk_") {
			t.Fatalf("token %q", tok.Token)
		}
		var n int
		s.DB().QueryRow(`SELECT COUNT(*) FROM api_tokens WHERE token_hash = '` + tok.Token + `' OR prefix = '` + tok.Token + `'`).Scan(&n)
		if n != 0 {
			t.Fatalf("token secret stored in clear")
		}
		script := &client{t: t, base: e.url, hc: http.DefaultClient, token: tok.Token}
		var agencies storage.Page[model.Agency]
		expect(t, script.do("GET", "/api/v1/agencies", nil), 200).json(&agencies)
		if agencies.Total != 1 || agencies.Items[0].ID != e.deptA.ID {
			t.Fatalf("token sees agencies %+v", agencies.Items)
		}
		r := expect(t, off.do("GET", fmt.Sprintf("/api/v1/users/%d/tokens", off.id), nil), 200)
		if strings.Contains(string(r.body), tok.Token) {
			t.Fatalf("token list reveals the secret")
		}
		expect(t, off.do("DELETE", fmt.Sprintf("/api/v1/users/%d/tokens/%d", off.id, tok.ID), nil), 204)
		if r := script.do("GET", "/api/v1/agencies", nil); r.StatusCode != 401 {
			t.Fatalf("revoked token: %d", r.StatusCode)
		}
	})
}

func TestAssetImportThroughAPI(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		e := newEnv(t, s)
		admin := e.user("quantri", model.RoleAdmin, nil)
		csv := "agency,kind,name,address,security_level\n" +
			"SYT,website,Cổng Sở Y tế,https://syt.gov.vn,2\n" +
			"STC,website,Cổng Sở Tài chính,https://stc.gov.vn,9\n" +
			"Sở Tài chính,server,mail,10.0.0.2,3\n"
		r := admin.raw("POST", "/api/v1/assets/import", "text/csv", strings.NewReader(csv))
		var res storage.ImportResult
		r.json(&res)
		if r.StatusCode != 422 || res.Imported != 0 || len(res.Errors) != 1 || res.Errors[0].Line != 3 || res.Errors[0].Field != "security_level" {
			t.Fatalf("strict import: %d %s", r.StatusCode, r.body)
		}
		if assetCount(t, s) != 0 {
			t.Fatalf("strict import with a bad row wrote assets")
		}
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, _ := mw.CreateFormFile("file", "assets.csv")
		fw.Write([]byte(csv))
		mw.WriteField("partial", "true")
		mw.Close()
		r = admin.raw("POST", "/api/v1/assets/import", mw.FormDataContentType(), &buf)
		r.json(&res)
		if r.StatusCode != 200 || res.Imported != 2 || len(res.Errors) != 1 {
			t.Fatalf("partial import: %d %s", r.StatusCode, r.body)
		}
		if assetCount(t, s) != 2 {
			t.Fatalf("partial import: %d assets", assetCount(t, s))
		}
		if r := admin.raw("POST", "/api/v1/assets/import", "text/csv", strings.NewReader("colour\nred\n")); r.StatusCode != 400 || r.err().Field != "file" {
			t.Fatalf("unreadable file: %d %s", r.StatusCode, r.body)
		}
		// A 5,000-row file (one province's websites) fits the import limit.
		var big strings.Builder
		big.WriteString("agency,kind,name,address,contact_email,description\n")
		for i := 0; i < 5000; i++ {
			fmt.Fprintf(&big, "SYT,website,Trang %d của một đơn vị trực thuộc Sở Y tế,https://donvi%d.syt.example.gov.vn/trang-chu,quantri%d@syt.example.gov.vn,Cổng thông tin điện tử của đơn vị phục vụ người dân\n", i, i, i)
		}
		if big.Len() <= 1<<20 {
			t.Fatalf("test file is only %d bytes; it should exceed the default body limit", big.Len())
		}
		r = admin.raw("POST", "/api/v1/assets/import", "text/csv", strings.NewReader(big.String()))
		r.json(&res)
		if r.StatusCode != 200 || res.Imported != 5000 {
			t.Fatalf("5000-row import: %d %.300s", r.StatusCode, r.body)
		}
	})
}

func TestHealthReadinessAndMetrics(t *testing.T) {
	e := newEnv(t, storagetest.Backends(t)[0].Open(t))
	anon := e.browser()
	expect(t, anon.do("GET", "/healthz", nil), 200)
	r := expect(t, anon.do("GET", "/readyz", nil), 200)
	if !strings.Contains(string(r.body), "sqlite") {
		t.Fatalf("readyz: %s", r.body)
	}
	anon.do("GET", "/api/v1/assets", nil)
	m := string(expect(t, anon.do("GET", "/metrics", nil), 200).body)
	for _, want := range []string{
		`canhgac_http_requests_total{route="GET /api/v1/assets",code="401"} 1`,
		`canhgac_http_request_duration_seconds_count{route="GET /readyz"} 1`,
		"canhgac_db_open_connections ",
		"canhgac_db_in_use_connections ",
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
	e.store.Close()
	if r := anon.do("GET", "/readyz", nil); r.StatusCode != 503 {
		t.Fatalf("readyz with the database closed: %d", r.StatusCode)
	}
}

// Every state-changing API route writes an audit event (checked by walking
// the change routes the tests above exercise).
func TestAdminChangesAreAudited(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		e := newEnv(t, s)
		admin := e.user("quantri", model.RoleAdmin, nil)
		var ag model.Agency
		expect(t, admin.do("POST", "/api/v1/agencies", map[string]any{"name": "UBND huyện A", "kind": "district", "parent_id": e.province.ID}), 201).json(&ag)
		expect(t, admin.do("PATCH", fmt.Sprintf("/api/v1/agencies/%d", ag.ID), map[string]any{"code": "HA"}), 200)
		var u model.User
		expect(t, admin.do("POST", "/api/v1/users", map[string]any{"username": "canbo.huyen", "role": "officer", "agency_id": ag.ID, "password": "mật khẩu đủ dài"}), 201).json(&u)
		expect(t, admin.do("PATCH", fmt.Sprintf("/api/v1/users/%d", u.ID), map[string]any{"role": "viewer"}), 200)
		expect(t, admin.do("POST", fmt.Sprintf("/api/v1/users/%d/password", u.ID), nil), 200)
		expect(t, admin.do("DELETE", fmt.Sprintf("/api/v1/users/%d", u.ID), nil), 204)
		expect(t, admin.do("DELETE", fmt.Sprintf("/api/v1/agencies/%d", ag.ID), nil), 204)
		var audit storage.Page[model.AuditEvent]
		expect(t, admin.do("GET", "/api/v1/audit?actor=quantri", nil), 200).json(&audit)
		var got []string
		for _, ev := range audit.Items {
			got = append(got, ev.ResourceType+":"+ev.Action)
			if ev.IP != "127.0.0.1" {
				t.Errorf("audit event IP %q", ev.IP)
			}
		}
		sort.Strings(got)
		want := "agency:create agency:delete agency:update user:create user:delete user:set_password user:update"
		if strings.Join(got, " ") != want {
			t.Fatalf("audited %v, want %s", got, want)
		}
	})
}
