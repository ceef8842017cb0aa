package ui_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"canhgac/internal/alert"
	"canhgac/internal/api"
	"canhgac/internal/auth"
	"canhgac/internal/fleet"
	"canhgac/internal/httpd"
	"canhgac/internal/i18n"
	"canhgac/internal/model"
	"canhgac/internal/storage"
	"canhgac/internal/storage/storagetest"
	"canhgac/internal/ui"
	"canhgac/internal/webmon"
	"canhgac/internal/webmon/evidence"
)

var ctx = context.Background()

const password = "correct horse battery"

// env is a real canhgac HTTP server on loopback with a province, two
// departments and an asset in each.
type env struct {
	t                      testing.TB
	store                  *storage.Store
	url                    string
	province, deptA, deptB model.Agency
	assetA, assetB         model.Asset
	alerts                 *alert.Service
	handler                http.Handler
	monitors               *webmon.Service
	fleet                  *fleet.Service
}

func newEnv(t testing.TB, store *storage.Store) *env {
	t.Helper()
	srv := httpd.New(httpd.Config{MaxBodyBytes: 1 << 20}, store, auth.New(store, auth.DefaultConfig()), slog.New(slog.NewTextHandler(io.Discard, nil)))
	api.Register(srv)
	ui.Register(srv)
	alerts, err := alert.New(ctx, store, alert.DefaultConfig())
	must(t, err)
	api.RegisterAlerts(srv, alerts)
	ui.RegisterAlerts(srv, alerts)
	t.Cleanup(alerts.Close) // ends live streams, as server shutdown does
	ev, err := evidence.Open(t.TempDir())
	must(t, err)
	monitors := webmon.New(store, alerts, webmon.Config{Evidence: ev, RecheckDelay: time.Millisecond}, nil)
	ui.RegisterMonitors(srv, monitors)
	agents, err := fleet.New(store, alerts, fleet.Config{}, nil)
	must(t, err)
	ui.RegisterFleet(srv, agents)
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	e := &env{t: t, store: store, url: ts.URL, alerts: alerts, handler: srv.Handler(), monitors: monitors, fleet: agents}
	sys := model.Actor{Scope: model.System}
	e.province = model.Agency{Name: "Sở Thông tin và Truyền thông", Kind: model.AgencyProvince}
	must(t, store.CreateAgency(ctx, sys, &e.province))
	e.deptA = model.Agency{Name: "Sở Y tế", Code: "SYT", Kind: model.AgencyDepartment, ParentID: &e.province.ID}
	e.deptB = model.Agency{Name: "Sở Tài chính", Code: "STC", Kind: model.AgencyDepartment, ParentID: &e.province.ID}
	must(t, store.CreateAgency(ctx, sys, &e.deptA))
	must(t, store.CreateAgency(ctx, sys, &e.deptB))
	e.assetA = model.Asset{AgencyID: e.deptA.ID, Kind: model.AssetWebsite, Name: "Cổng thông tin Sở Y tế", Address: "https://syt.example.gov.vn"}
	e.assetB = model.Asset{AgencyID: e.deptB.ID, Kind: model.AssetServer, Name: "Máy chủ kho bạc mật", Address: "10.9.9.9"}
	must(t, store.CreateAsset(ctx, sys, &e.assetA))
	must(t, store.CreateAsset(ctx, sys, &e.assetB))
	return e
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// user creates an account; mustChange marks it as on first login.
func (e *env) user(name string, role model.Role, agency *model.Agency, mustChange bool) model.User {
	e.t.Helper()
	hash, _ := auth.HashPassword(password)
	u := model.User{Username: name, Role: role, PasswordHash: hash, MustChangePassword: mustChange}
	if agency != nil {
		u.AgencyID = &agency.ID
	}
	must(e.t, e.store.CreateUser(ctx, model.Actor{Scope: model.System}, &u))
	return u
}

// browser is a cookie-keeping HTTP client that does not follow redirects,
// like a user's browser seen one request at a time.
type browser struct {
	t    testing.TB
	base string
	hc   *http.Client
	csrf string
}

type page struct {
	status   int
	location string
	body     string
	header   http.Header
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: e.t, base: e.url, hc: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	p := page{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(body), header: resp.Header}
	if m := csrfRE.FindStringSubmatch(p.body); m != nil {
		b.csrf = m[1]
	}
	return p
}

func (b *browser) get(path string) page {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.base+path, nil)
	return b.do(req)
}

// post submits a form, adding the page's CSRF token unless form has one.
func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if _, ok := form["csrf_token"]; !ok && b.csrf != "" {
		form.Set("csrf_token", b.csrf)
	}
	req, _ := http.NewRequest("POST", b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

func (b *browser) upload(path, filename, content string, fields url.Values) page {
	b.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("csrf_token", b.csrf)
	for k, vs := range fields {
		for _, v := range vs {
			mw.WriteField(k, v)
		}
	}
	fw, _ := mw.CreateFormFile("file", filename)
	io.WriteString(fw, content)
	mw.Close()
	req, _ := http.NewRequest("POST", b.base+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return b.do(req)
}

// login logs in through the form and loads the dashboard for a CSRF token.
func (b *browser) login(username string) page {
	b.t.Helper()
	p := b.post("/login", url.Values{"username": {username}, "password": {password}, "next": {"/"}})
	if p.status != http.StatusSeeOther {
		b.t.Fatalf("login %s: %d %s", username, p.status, p.body)
	}
	b.get(p.location)
	return p
}

func want(t *testing.T, p page, status int) page {
	t.Helper()
	if p.status != status {
		t.Fatalf("status %d, want %d (location %q)\n%s", p.status, status, p.location, p.body)
	}
	return p
}

func TestLoginFirstPasswordChangeAndLogout(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		e := newEnv(t, s)
		e.user("admin", model.RoleAdmin, nil, true)
		b := e.browser()

		// Not logged in: pages send you to the login form, keeping where you were going.
		p := want(t, b.get("/assets?kind=server"), http.StatusSeeOther)
		if p.location != "/login?next=%2Fassets%3Fkind%3Dserver" {
			t.Fatalf("redirect to %q", p.location)
		}
		p = want(t, b.get("/login"), http.StatusOK)
		if !strings.Contains(p.body, `lang="vi"`) || !strings.Contains(p.body, "Đăng nhập") {
			t.Fatalf("login page is not Vietnamese by default")
		}

		// Wrong password: 401, a Vietnamese message, no cookie.
		p = want(t, b.post("/login", url.Values{"username": {"admin"}, "password": {"wrong wrong wrong"}}), http.StatusUnauthorized)
		if !strings.Contains(p.body, "Sai tên đăng nhập hoặc mật khẩu") {
			t.Fatalf("bad login message missing:\n%s", p.body)
		}
		// An off-site next is ignored.
		p = want(t, b.post("/login", url.Values{"username": {"admin"}, "password": {password}, "next": {"//evil.example/"}}), http.StatusSeeOther)
		if p.location != "/profile?must_change=1" {
			t.Fatalf("first login goes to %q, want the password change", p.location)
		}
		// Until the password is changed, every page leads back to the profile.
		for _, path := range []string{"/", "/assets", "/agencies", "/users", "/audit"} {
			if p := b.get(path); p.status != http.StatusSeeOther || p.location != "/profile?must_change=1" {
				t.Fatalf("%s before the password change: %d %q", path, p.status, p.location)
			}
		}
		p = want(t, b.get("/profile?must_change=1"), http.StatusOK)
		if !strings.Contains(p.body, `id="must-change"`) {
			t.Fatal("profile does not ask for the password change")
		}
		// Mismatched and too-short passwords are refused with the reason.
		p = want(t, b.post("/profile/password", url.Values{"current_password": {password}, "password": {"new password one"}, "password_confirm": {"new password two"}}), http.StatusBadRequest)
		if !strings.Contains(p.body, "không khớp") {
			t.Fatalf("mismatch not explained:\n%s", p.body)
		}
		p = want(t, b.post("/profile/password", url.Values{"current_password": {password}, "password": {"short"}, "password_confirm": {"short"}}), http.StatusBadRequest)
		if !strings.Contains(p.body, "ít nhất 10 ký tự") {
			t.Fatalf("short password not explained:\n%s", p.body)
		}
		want(t, b.post("/profile/password", url.Values{"current_password": {password}, "password": {"a new long password"}, "password_confirm": {"a new long password"}}), http.StatusSeeOther)
		p = want(t, b.get("/"), http.StatusOK)
		if !strings.Contains(p.body, "Tài sản theo cơ quan, đơn vị") || !strings.Contains(p.body, "Sở Y tế") {
			t.Fatalf("dashboard:\n%s", p.body)
		}

		// Logout needs the CSRF token, then ends the session.
		want(t, b.post("/logout", url.Values{"csrf_token": {"forged"}}), http.StatusForbidden)
		want(t, b.get("/"), http.StatusOK)
		p = want(t, b.post("/logout", nil), http.StatusSeeOther)
		if !strings.HasPrefix(p.location, "/login") {
			t.Fatalf("logout goes to %q", p.location)
		}
		want(t, b.get("/"), http.StatusSeeOther)
	})
}

func TestFormsNeedCSRFToken(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		e := newEnv(t, s)
		e.user("admin", model.RoleAdmin, nil, false)
		b := e.browser()
		b.login("admin")
		form := url.Values{"name": {"Sở Xây dựng"}, "kind": {"department"}, "parent_id": {fmt.Sprint(e.province.ID)}}
		for _, token := range []string{"", "wrong-token"} {
			f := url.Values{"csrf_token": {token}}
			for k, v := range form {
				f[k] = v
			}
			want(t, b.post("/agencies", f), http.StatusForbidden)
		}
		if p, _ := s.ListAgencies(ctx, model.System, storage.AgencyFilter{Query: "xay dung"}); p.Total != 0 {
			t.Fatal("a form without a valid CSRF token created an agency")
		}
		want(t, b.post("/agencies", form), http.StatusSeeOther)
		if p, _ := s.ListAgencies(ctx, model.System, storage.AgencyFilter{Query: "xay dung"}); p.Total != 1 {
			t.Fatal("the agency form with its token did not create the agency")
		}
	})
}

func TestAgencyAndAssetForms(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		e := newEnv(t, s)
		e.user("admin", model.RoleAdmin, nil, false)
		b := e.browser()
		b.login("admin")

		// Create an agency under Sở Y tế.
		want(t, b.get("/agencies/new?parent="+fmt.Sprint(e.deptA.ID)), http.StatusOK)
		p := want(t, b.post("/agencies", url.Values{"name": {"Bệnh viện Đa khoa tỉnh"}, "code": {"BVDK"}, "kind": {"unit"}, "parent_id": {fmt.Sprint(e.deptA.ID)}}), http.StatusSeeOther)
		p = want(t, b.get(p.location), http.StatusOK)
		if !strings.Contains(p.body, "Bệnh viện Đa khoa tỉnh") || !strings.Contains(p.body, "Đã thêm cơ quan") {
			t.Fatalf("new agency not listed:\n%s", p.body)
		}
		ag, _ := s.ListAgencies(ctx, model.System, storage.AgencyFilter{Query: "BVDK"})
		if ag.Total != 1 || *ag.Items[0].ParentID != e.deptA.ID {
			t.Fatalf("agency stored as %+v", ag.Items)
		}
		hospital := ag.Items[0]

		// A bad asset is refused with the field named, and nothing is written.
		before, _ := s.ListAssets(ctx, model.System, storage.AssetFilter{})
		p = want(t, b.post("/assets", url.Values{"name": {"Cổng bệnh viện"}, "agency_id": {fmt.Sprint(hospital.ID)}, "kind": {"website"}, "address": {"bvdk.example.gov.vn"}, "security_level": {"2"}}), http.StatusBadRequest)
		if !strings.Contains(p.body, "http:// hoặc https://") || !strings.Contains(p.body, `value="Cổng bệnh viện"`) {
			t.Fatalf("bad address not explained or form not refilled:\n%s", p.body)
		}
		p = want(t, b.post("/assets", url.Values{"name": {"X"}, "agency_id": {fmt.Sprint(hospital.ID)}, "kind": {"website"}, "security_level": {"9"}}), http.StatusBadRequest)
		if !strings.Contains(p.body, "từ 1 đến 5") {
			t.Fatalf("bad level not explained:\n%s", p.body)
		}
		if after, _ := s.ListAssets(ctx, model.System, storage.AssetFilter{}); after.Total != before.Total {
			t.Fatal("a refused asset form wrote an asset")
		}

		// A good one is created and listed; the search folds diacritics.
		want(t, b.post("/assets", url.Values{"name": {"Cổng bệnh viện"}, "agency_id": {fmt.Sprint(hospital.ID)}, "kind": {"website"},
			"address": {"https://bvdk.example.gov.vn"}, "security_level": {"3"}, "tags": {"portal, wordpress"}, "contact_name": {"Nguyễn Văn An"}}), http.StatusSeeOther)
		p = want(t, b.get("/assets?q=cong+benh+vien"), http.StatusOK)
		if !strings.Contains(p.body, "Cổng bệnh viện") || strings.Contains(p.body, "Máy chủ kho bạc") {
			t.Fatalf("folded search:\n%s", p.body)
		}
		p = want(t, b.get(fmt.Sprintf("/assets?agency=%d&kind=website&level=3&tag=wordpress", e.deptA.ID)), http.StatusOK)
		if !strings.Contains(p.body, "Cổng bệnh viện") || strings.Contains(p.body, "Cổng thông tin Sở Y tế") {
			t.Fatalf("filters by agency subtree, kind, level, tag:\n%s", p.body)
		}
		// An htmx filter request gets the same page; htmx picks the table out of it.
		req, _ := http.NewRequest("GET", b.base+"/assets?q=nguyen+van+an", nil)
		req.Header.Set("HX-Request", "true")
		if p := b.do(req); p.status != 200 || !strings.Contains(p.body, `id="asset-results"`) || !strings.Contains(p.body, "Cổng bệnh viện") {
			t.Fatalf("htmx filter: %d", p.status)
		}
		list, _ := s.ListAssets(ctx, model.System, storage.AssetFilter{Query: "cong benh vien"})
		a := list.Items[0]
		if a.SecurityLevel != 3 || strings.Join(a.Tags, ",") != "portal,wordpress" || a.ContactName != "Nguyễn Văn An" {
			t.Fatalf("stored asset %+v", a)
		}

		// Edit it.
		p = want(t, b.get(fmt.Sprintf("/assets/%d", a.ID)), http.StatusOK)
		if !strings.Contains(p.body, `value="https://bvdk.example.gov.vn"`) {
			t.Fatal("edit form not filled")
		}
		want(t, b.post(fmt.Sprintf("/assets/%d", a.ID), url.Values{"name": {"Cổng bệnh viện (mới)"}, "agency_id": {fmt.Sprint(hospital.ID)}, "kind": {"website"},
			"address": {"https://bvdk.example.gov.vn"}, "security_level": {"4"}}), http.StatusSeeOther)
		got, _ := s.GetAsset(ctx, model.System, a.ID)
		if got.Name != "Cổng bệnh viện (mới)" || got.SecurityLevel != 4 || len(got.Tags) != 0 {
			t.Fatalf("after edit %+v", got)
		}

		// An agency still holding assets cannot be deleted; an empty one can.
		want(t, b.post(fmt.Sprintf("/agencies/%d/delete", hospital.ID), nil), http.StatusConflict)
		want(t, b.post(fmt.Sprintf("/assets/%d/delete", a.ID), nil), http.StatusSeeOther)
		want(t, b.post(fmt.Sprintf("/agencies/%d/delete", hospital.ID), nil), http.StatusSeeOther)
		if _, err := s.GetAgency(ctx, model.System, hospital.ID); err == nil {
			t.Fatal("agency not deleted")
		}
		// Every change above is in the audit log page.
		p = want(t, b.get("/audit?resource=asset"), http.StatusOK)
		for _, action := range []string{"create", "update", "delete"} {
			if !strings.Contains(p.body, ">"+action+"<") {
				t.Fatalf("audit page lacks an asset %s:\n%s", action, p.body)
			}
		}
	})
}

func TestCSVImportReportsEveryBadRow(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		e := newEnv(t, s)
		e.user("admin", model.RoleAdmin, nil, false)
		b := e.browser()
		b.login("admin")
		want(t, b.get("/assets/import"), http.StatusOK)
		csv := "cơ quan,loại,tên,địa chỉ,cấp độ\n" +
			"SYT,website,Cổng tiêm chủng,https://tiemchung.example.gov.vn,2\n" +
			"SYT,máy bay,Sai loại,,1\n" +
			"KHONGCO,server,Cơ quan lạ,10.0.0.1,1\n" +
			"STC,server,Máy chủ ngân sách,10.0.0.2,7\n" +
			"STC,server,Máy chủ kế toán,10.0.0.3,2\n"
		before, _ := s.ListAssets(ctx, model.System, storage.AssetFilter{})

		p := want(t, b.upload("/assets/import", "tai-san.csv", csv, nil), http.StatusUnprocessableEntity)
		for _, line := range []string{">3<", ">4<", ">5<"} {
			if !strings.Contains(p.body, "<td class=\"num\""+line) {
				t.Fatalf("bad line %s not reported:\n%s", line, p.body)
			}
		}
		if !strings.Contains(p.body, "Đã nhập 0 tài sản") || !strings.Contains(p.body, "3 dòng lỗi") {
			t.Fatalf("summary:\n%s", p.body)
		}
		if after, _ := s.ListAssets(ctx, model.System, storage.AssetFilter{}); after.Total != before.Total {
			t.Fatal("a strict import with bad rows wrote assets")
		}

		p = want(t, b.upload("/assets/import", "tai-san.csv", csv, url.Values{"partial": {"true"}}), http.StatusOK)
		if !strings.Contains(p.body, "Đã nhập 2 tài sản") || !strings.Contains(p.body, "3 dòng lỗi") {
			t.Fatalf("partial summary:\n%s", p.body)
		}
		if after, _ := s.ListAssets(ctx, model.System, storage.AssetFilter{}); after.Total != before.Total+2 {
			t.Fatalf("partial import wrote %d assets, want 2", after.Total-before.Total)
		}
		p = want(t, b.upload("/assets/import", "x.csv", "\x00\x01garbage", nil), http.StatusBadRequest)
		if !strings.Contains(p.body, `id="error"`) {
			t.Fatalf("garbage file:\n%s", p.body)
		}
		want(t, b.post("/assets/import", url.Values{}), http.StatusBadRequest)
	})
}

// An officer of Sở Y tế sees nothing of Sở Tài chính through any page, and
// cannot change it.
func TestOfficerSeesOnlyOwnAgency(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		e := newEnv(t, s)
		e.user("admin", model.RoleAdmin, nil, false)
		e.user("can-bo-a", model.RoleOfficer, &e.deptA, false)
		userB := e.user("can-bo-b", model.RoleOfficer, &e.deptB, false)
		// Make an audit trail in B.
		adm := e.browser()
		adm.login("admin")
		want(t, adm.post(fmt.Sprintf("/assets/%d", e.assetB.ID), url.Values{"name": {"Máy chủ kho bạc mật"}, "agency_id": {fmt.Sprint(e.deptB.ID)},
			"kind": {"server"}, "address": {"10.9.9.10"}, "security_level": {"3"}}), http.StatusSeeOther)

		b := e.browser()
		b.login("can-bo-a")
		secretB := []string{"Sở Tài chính", "Máy chủ kho bạc", "10.9.9", "can-bo-b"}
		for _, path := range []string{"/", "/assets", "/assets?q=kho+bac", fmt.Sprintf("/assets?agency=%d", e.deptB.ID), "/agencies", "/users", "/audit", "/assets/new", "/profile"} {
			p := want(t, b.get(path), http.StatusOK)
			for _, secret := range secretB {
				if strings.Contains(p.body, secret) {
					t.Fatalf("officer A sees %q on %s", secret, path)
				}
			}
		}
		if p := b.get("/assets"); !strings.Contains(p.body, "Cổng thông tin Sở Y tế") {
			t.Fatal("officer A does not see their own asset")
		}
		for _, path := range []string{fmt.Sprintf("/assets/%d", e.assetB.ID), fmt.Sprintf("/agencies/%d", e.deptB.ID), fmt.Sprintf("/users/%d", userB.ID)} {
			p := want(t, b.get(path), http.StatusNotFound)
			for _, secret := range secretB {
				if strings.Contains(p.body, secret) {
					t.Fatalf("404 page for %s shows %q", path, secret)
				}
			}
		}
		// Writes into B fail and change nothing.
		want(t, b.post(fmt.Sprintf("/assets/%d", e.assetB.ID), url.Values{"name": {"pwned"}, "agency_id": {fmt.Sprint(e.deptA.ID)}, "kind": {"server"}}), http.StatusNotFound)
		want(t, b.post(fmt.Sprintf("/assets/%d/delete", e.assetB.ID), nil), http.StatusNotFound)
		want(t, b.post("/assets", url.Values{"name": {"cài cắm"}, "agency_id": {fmt.Sprint(e.deptB.ID)}, "kind": {"server"}}), http.StatusBadRequest)
		p := b.upload("/assets/import", "x.csv", "agency,kind,name\nSTC,server,cài cắm\n", nil)
		if p.status != http.StatusUnprocessableEntity {
			t.Fatalf("import into B: %d", p.status)
		}
		got, err := s.GetAsset(ctx, model.System, e.assetB.ID)
		if err != nil || got.Name != "Máy chủ kho bạc mật" {
			t.Fatalf("B's asset after officer A's attempts: %+v %v", got, err)
		}
		if l, _ := s.ListAssets(ctx, model.System, storage.AssetFilter{Query: "cai cam"}); l.Total != 0 {
			t.Fatal("officer A created an asset in B")
		}
		// Officers manage assets, not agencies or users.
		want(t, b.get("/agencies/new"), http.StatusForbidden)
		want(t, b.post("/agencies", url.Values{"name": {"x"}, "kind": {"unit"}, "parent_id": {fmt.Sprint(e.deptA.ID)}}), http.StatusForbidden)
		want(t, b.post(fmt.Sprintf("/users/%d/password", userB.ID), nil), http.StatusForbidden)
		if p := b.get("/assets"); strings.Contains(p.body, `id="user-new"`) || !strings.Contains(p.body, `id="asset-new"`) {
			t.Fatal("officer's buttons do not match their role")
		}
	})
}

func TestViewerCannotChangeAnything(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		e := newEnv(t, s)
		e.user("xem", model.RoleViewer, nil, false)
		b := e.browser()
		b.login("xem")
		p := want(t, b.get(fmt.Sprintf("/assets/%d", e.assetA.ID)), http.StatusOK)
		if strings.Contains(p.body, `id="asset-submit"`) || strings.Contains(p.body, `id="asset-delete"`) {
			t.Fatal("viewer is offered save or delete")
		}
		want(t, b.post(fmt.Sprintf("/assets/%d/delete", e.assetA.ID), nil), http.StatusForbidden)
		want(t, b.get("/users"), http.StatusForbidden)
		if _, err := s.GetAsset(ctx, model.System, e.assetA.ID); err != nil {
			t.Fatal("viewer deleted an asset")
		}
	})
}

func TestUserAdministration(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		e := newEnv(t, s)
		e.user("admin", model.RoleAdmin, nil, false)
		b := e.browser()
		b.login("admin")
		// An officer needs an agency.
		p := want(t, b.post("/users", url.Values{"username": {"nguyen.an"}, "role": {"officer"}, "language": {"vi"}}), http.StatusBadRequest)
		if !strings.Contains(p.body, "agency_id") && !strings.Contains(p.body, "Cơ quan, đơn vị:") {
			t.Fatalf("missing agency not explained:\n%s", p.body)
		}
		p = want(t, b.post("/users", url.Values{"username": {"nguyen.an"}, "display_name": {"Nguyễn An"}, "role": {"officer"},
			"agency_id": {fmt.Sprint(e.deptA.ID)}, "language": {"en"}}), http.StatusCreated)
		m := regexp.MustCompile(`id="new-password">([^<]+)<`).FindStringSubmatch(p.body)
		if m == nil {
			t.Fatalf("generated password not shown:\n%s", p.body)
		}
		// The new user logs in with it, must change it, and sees English.
		nb := e.browser()
		lp := want(t, nb.post("/login", url.Values{"username": {"nguyen.an"}, "password": {m[1]}}), http.StatusSeeOther)
		if lp.location != "/profile?must_change=1" {
			t.Fatalf("new user's first login goes to %q", lp.location)
		}
		if p := nb.get(lp.location); !strings.Contains(p.body, "Change password") {
			t.Fatal("the user's language is not English")
		}
		// Duplicate usernames conflict.
		p = want(t, b.post("/users", url.Values{"username": {"nguyen.an"}, "role": {"viewer"}, "language": {"vi"}}), http.StatusBadRequest)
		if !strings.Contains(p.body, "Xung đột") {
			t.Fatalf("duplicate username:\n%s", p.body)
		}
		// Disabling the user ends their access.
		u, _ := s.UserByUsername(ctx, "nguyen.an")
		want(t, b.post(fmt.Sprintf("/users/%d", u.ID), url.Values{"display_name": {"Nguyễn An"}, "role": {"officer"}, "agency_id": {fmt.Sprint(e.deptA.ID)},
			"language": {"en"}, "disabled": {"true"}}), http.StatusSeeOther)
		if p := nb.get("/profile"); p.status != http.StatusSeeOther {
			t.Fatalf("disabled user still served: %d", p.status)
		}
		p = want(t, b.get("/users"), http.StatusOK)
		if !strings.Contains(p.body, "Đã khoá") {
			t.Fatal("user list does not show the account as disabled")
		}
	})
}

func TestLanguageAndThemePerUser(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		e := newEnv(t, s)
		e.user("truc-ban", model.RoleAnalyst, nil, false)
		b := e.browser()
		b.login("truc-ban")
		p := want(t, b.get("/assets"), http.StatusOK)
		if !strings.Contains(p.body, `lang="vi"`) || !strings.Contains(p.body, "Thêm tài sản") || !strings.Contains(p.body, `data-theme="light"`) {
			t.Fatal("default is not Vietnamese, light theme")
		}
		want(t, b.post("/profile", url.Values{"language": {"en"}, "theme": {"dark"}, "display_name": {"Trực ban 1"}}), http.StatusSeeOther)
		p = want(t, b.get("/assets"), http.StatusOK)
		if !strings.Contains(p.body, `lang="en"`) || !strings.Contains(p.body, "New asset") || !strings.Contains(p.body, `data-theme="dark"`) {
			t.Fatalf("after choosing English and dark:\n%s", p.body)
		}
		want(t, b.post("/profile", url.Values{"language": {"fr"}, "theme": {"dark"}}), http.StatusBadRequest)
		// Before login, ?lang=en is remembered in a cookie.
		nb := e.browser()
		nb.get("/login?lang=en")
		if p := nb.get("/login"); !strings.Contains(p.body, `lang="en"`) || !strings.Contains(p.body, "Log in") {
			t.Fatal("login language choice not remembered")
		}
	})
}

// Every page is self-contained: no script, style, image or font from
// outside the binary, and no inline script the CSP would have to allow.
func TestPagesLoadNothingFromOutside(t *testing.T) {
	e := newEnv(t, storagetest.Backends(t)[0].Open(t))
	e.user("admin", model.RoleAdmin, nil, false)
	b := e.browser()
	b.login("admin")
	external := regexp.MustCompile(`(?i)(src|href|action)\s*=\s*["']?(https?:)?//`)
	inlineScript := regexp.MustCompile(`<script(?:\s[^>]*)?>`)
	res, err := e.alerts.Raise(ctx, alert.Alert{Source: "webmon", Kind: "webmon.down", Severity: alert.Critical, AssetID: &e.assetA.ID, Title: "Trang chủ không truy cập được"})
	must(t, err)
	alertID := res.ID
	link := e.alerts.AckLink(alertID, 0, 0)
	ackPath := link[strings.Index(link, "/ack/"):]
	anon := e.browser()
	for _, path := range []string{"/login", "/", "/agencies", "/agencies/new", fmt.Sprintf("/agencies/%d", e.deptA.ID), "/assets", "/assets/new",
		fmt.Sprintf("/assets/%d", e.assetA.ID), "/assets/import", "/users", "/users/new", "/audit", "/profile", "/no-such-page",
		"/alerts", fmt.Sprintf("/alerts/%d", alertID), "/silences", "/channels", "/schedules", "/schedules/new", "/chains", "/chains/new", "/profile/contacts", ackPath, "/monitors"} {
		p := b.get(path)
		if path == "/login" || path == ackPath {
			p = anon.get(path)
		}
		if p.status != 200 && path != "/no-such-page" {
			t.Fatalf("%s: %d", path, p.status)
		}
		if m := external.FindString(p.body); m != "" {
			t.Errorf("%s loads from outside: %s", path, m)
		}
		for _, tag := range inlineScript.FindAllString(p.body, -1) {
			if !strings.Contains(tag, `src="/static/`) {
				t.Errorf("%s has an inline script: %s", path, tag)
			}
		}
		if strings.Contains(p.body, "style=") || strings.Contains(p.body, "<style") {
			t.Errorf("%s has inline styles the CSP blocks", path)
		}
	}
	resp, err := http.Get(e.url + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Fatalf("CSP %q", csp)
	}
	for _, f := range []string{"htmx.min.js", "app.js", "app.css", "favicon.svg"} {
		resp, err := http.Get(e.url + "/static/" + f)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("embedded %s: %v %v", f, resp, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if len(body) == 0 {
			t.Fatalf("embedded %s is empty", f)
		}
		if f == "htmx.min.js" && !bytes.Contains(body, []byte("htmx")) {
			t.Fatal("vendored htmx is not htmx")
		}
	}
}

// Every catalog key the UI uses exists in both languages. Keys are found in
// the templates and Go sources, including the families built with printf.
func TestEveryUIStringIsInBothCatalogs(t *testing.T) {
	var keys []string
	literal := regexp.MustCompile(`(?:\.T|v\.T) "([a-z_]+\.[a-z_.]+)"`)
	goKey := regexp.MustCompile(`"((?:login|profile|error|flash|import|users|agencies|assets|audit|dashboard)\.[a-z_]+)"`)
	flash := regexp.MustCompile(`redirect\(w, r, "[^"]*", "([a-z_]+)"\)`)
	files, _ := filepath.Glob("templates/*.html")
	gofiles, _ := filepath.Glob("*.go")
	for _, f := range append(files, gofiles...) {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range literal.FindAllStringSubmatch(string(b), -1) {
			keys = append(keys, m[1])
		}
		if strings.HasSuffix(f, ".go") {
			for _, m := range goKey.FindAllStringSubmatch(string(b), -1) {
				keys = append(keys, m[1])
			}
			for _, m := range flash.FindAllStringSubmatch(string(b), -1) {
				keys = append(keys, "flash."+m[1])
			}
		}
	}
	for _, r := range model.Roles {
		keys = append(keys, "role."+string(r))
	}
	for _, k := range model.AssetKinds {
		keys = append(keys, "asset.kind."+string(k))
	}
	for _, k := range model.AgencyKinds {
		keys = append(keys, "agency.kind."+string(k))
	}
	for _, l := range model.Languages {
		keys = append(keys, "lang."+l)
	}
	for _, th := range model.Themes {
		keys = append(keys, "theme."+th)
	}
	for _, r := range []string{"agency", "asset", "user", "api_token", "alert", "silence", "channel", "schedule", "escalation_chain", "contact_method", "alert_source"} {
		keys = append(keys, "resource."+r)
	}
	for _, sev := range alert.Severities {
		keys = append(keys, "severity."+string(sev))
	}
	for _, st := range alert.States {
		keys = append(keys, "state."+string(st))
	}
	for _, ev := range []string{alert.EvRaised, alert.EvReopened, alert.EvSilenced, alert.EvUnsilenced, alert.EvEscalated, alert.EvNoRecipient,
		alert.EvExhausted, alert.EvNotified, alert.EvNotifyFailed, alert.EvAcknowledged, alert.EvUnacknowledged, alert.EvResolved, alert.EvSeverity} {
		keys = append(keys, "event."+ev)
	}
	for _, via := range []string{"ui", "api", "link", "recovered"} {
		keys = append(keys, "via."+via)
	}
	for _, tt := range alert.TargetTypes {
		keys = append(keys, "target."+tt)
	}
	for _, st := range []webmon.State{webmon.Up, webmon.Down, webmon.Unknown} {
		keys = append(keys, "monitor.state."+string(st))
	}
	for _, r := range []string{"daily", "12h", "weekly", "none"} {
		keys = append(keys, "rotation."+r)
	}
	for d := 0; d < 7; d++ {
		keys = append(keys, fmt.Sprintf("weekday.%d", d))
	}
	for _, r := range []string{} {
		keys = append(keys, "resource."+r)
	}
	for _, c := range []string{"webmon", "agents", "vulns", "incidents", "telecom"} {
		keys = append(keys, "dashboard.cap."+c)
	}
	if len(keys) < 100 {
		t.Fatalf("found only %d keys; the scan is broken", len(keys))
	}
	for _, k := range keys {
		for _, lang := range i18n.Langs {
			if !i18n.Has(lang, k) {
				t.Errorf("catalog %s has no key %q", lang, k)
			}
		}
	}
}
