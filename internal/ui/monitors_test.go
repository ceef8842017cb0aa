package ui_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"canhgac/internal/model"
	"canhgac/internal/storage"
	"canhgac/internal/storage/storagetest"
	"canhgac/internal/webmon"
)

func TestMonitorPages(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		e := newEnv(t, s)
		svc := webmon.New(s, e.alerts, webmon.Config{}, nil)
		theirs := webmon.Monitor{AgencyID: e.deptB.ID, URL: "https://stc.example.gov.vn/", Name: "Cổng Sở Tài chính"}
		must(t, svc.Create(ctx, model.Actor{Scope: model.Scope{Role: model.RoleAdmin, Username: "admin"}}, &theirs))
		e.user("can-bo-a", model.RoleOfficer, &e.deptA, false)
		b := e.browser()
		b.login("can-bo-a")
		p := want(t, b.post("/monitors", url.Values{"url": {"ftp://syt"}, "agency_id": {fmt.Sprint(e.deptA.ID)}}), http.StatusBadRequest)
		if !strings.Contains(p.body, `id="error"`) {
			t.Fatal("bad URL not explained")
		}
		want(t, b.post("/monitors", url.Values{"url": {"https://syt.example.gov.vn/"}, "agency_id": {fmt.Sprint(e.deptA.ID)},
			"name": {"Cổng Sở Y tế"}, "interval_seconds": {"60"}, "must_contain": {"Sở Y tế"}, "page_budget": {"20"}, "expected_status": {"200"}}), http.StatusSeeOther)
		if ms, _ := svc.List(ctx, model.System); len(ms) != 2 || ms[0].AgencyID != e.deptA.ID || ms[0].PageBudget != 20 || ms[0].ExpectedStatus != 200 {
			t.Fatalf("created from the form: %+v", ms)
		}
		p = want(t, b.get("/monitors"), http.StatusOK)
		if !strings.Contains(p.body, "Cổng Sở Y tế") || strings.Contains(p.body, "Sở Tài chính") || !strings.Contains(p.body, "Chưa kiểm tra") {
			t.Fatalf("officer's monitors page:\n%s", p.body)
		}
		p = want(t, b.upload("/monitors/import", "web.csv", "agency,url\nSYT,https://benhvien.example.gov.vn/\nSTC,https://x.example.gov.vn/\n", nil), http.StatusUnprocessableEntity)
		if !strings.Contains(p.body, `id="monitor-import-result"`) || !strings.Contains(p.body, ">3<") {
			t.Fatalf("import report:\n%s", p.body)
		}
		want(t, b.upload("/monitors/import", "web.csv", "agency,url\nSYT,https://benhvien.example.gov.vn/\nSTC,https://x.example.gov.vn/\n", url.Values{"partial": {"true"}}), http.StatusOK)
		want(t, b.get(fmt.Sprintf("/monitors/%d", theirs.ID)), http.StatusNotFound)
		want(t, b.post(fmt.Sprintf("/monitors/%d/delete", theirs.ID), nil), http.StatusNotFound)
		list, _ := svc.List(ctx, model.System)
		if len(list) != 3 {
			t.Fatalf("%d monitors", len(list))
		}
		for _, m := range list {
			if m.AgencyID == e.deptA.ID {
				p = want(t, b.get(fmt.Sprintf("/monitors/%d", m.ID)), http.StatusOK)
				if !strings.Contains(p.body, `id="monitor-history"`) {
					t.Fatal("monitor page lacks its history")
				}
				want(t, b.post(fmt.Sprintf("/monitors/%d/delete", m.ID), nil), http.StatusSeeOther)
			}
		}
	})
}

// A defaced page's evidence: the side-by-side view lists the hidden link
// farm against the baseline; the captured HTML is served as inert text;
// the edit form and the accept-baseline button work; another agency's
// officer sees none of it.
func TestMonitorEvidencePages(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		e := newEnv(t, s)
		var injected atomic.Bool
		var n atomic.Int64
		site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, `<html><head><title>Cổng thông tin Sở Y tế</title></head><body><h1>Sở Y tế</h1><p>Sở Y tế tổ chức hội nghị triển khai công tác phòng chống dịch bệnh mùa đông xuân năm nay.</p><p>Lượt truy cập: %d</p>`, n.Add(1))
			if injected.Load() {
				fmt.Fprint(w, `<div style="position:absolute;left:-9999px"><a href="https://nhacai-uytin-88.top/">nhà cái uy tín</a><a href="https://keo-nha-cai.top/">kèo nhà cái</a><script>alert(1)</script></div>`)
			}
			fmt.Fprint(w, `</body></html>`)
		}))
		defer site.Close()
		m := webmon.Monitor{AgencyID: e.deptA.ID, URL: site.URL + "/", Name: "Cổng Sở Y tế", AllowPrivate: true}
		must(t, e.monitors.Create(ctx, model.Actor{Scope: model.Scope{Role: model.RoleAdmin, Username: "admin"}}, &m))
		for range webmon.LearnFetches {
			_, err := e.monitors.CheckNow(ctx, m)
			must(t, err)
		}
		injected.Store(true)
		_, err := e.monitors.CheckNow(ctx, m)
		must(t, err)
		snaps, err := e.monitors.Snapshots(ctx, model.System, m.ID, 10)
		must(t, err)
		if len(snaps) != 2 || snaps[0].Verdict != "defaced" {
			t.Fatalf("snapshots %+v", snaps)
		}
		e.user("can-bo-a", model.RoleOfficer, &e.deptA, false)
		e.user("can-bo-b", model.RoleOfficer, &e.deptB, false)
		b := e.browser()
		b.login("can-bo-a")
		p := want(t, b.get(fmt.Sprintf("/monitors/%d", m.ID)), http.StatusOK)
		if !strings.Contains(p.body, `id="monitor-snapshots"`) || !strings.Contains(p.body, fmt.Sprintf("/monitors/%d/snapshots/%d", m.ID, snaps[0].ID)) ||
			!strings.Contains(p.body, "Bị thay đổi giao diện") || strings.Count(p.body, `id="monitor-edit"`) != 1 || strings.Count(p.body, `id="monitor-snapshots"`) != 1 {
			t.Fatalf("monitor page lacks its evidence:\n%s", p.body)
		}
		p = want(t, b.get(fmt.Sprintf("/monitors/%d/snapshots/%d", m.ID, snaps[0].ID)), http.StatusOK)
		for _, w := range []string{`id="snapshot-diff"`, "nhacai-uytin-88.top", `class="added"`, "hidden_links"} {
			if !strings.Contains(p.body, w) {
				t.Fatalf("evidence page lacks %q:\n%s", w, p.body)
			}
		}
		if strings.Contains(p.body, "<script>alert(1)") {
			t.Fatal("the defaced page's markup reached the operator's page")
		}
		raw := want(t, b.get(fmt.Sprintf("/monitors/%d/snapshots/%d/page.txt", m.ID, snaps[0].ID)), http.StatusOK)
		if !strings.HasPrefix(raw.header.Get("Content-Type"), "text/plain") || raw.header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(raw.body, "keo-nha-cai.top") {
			t.Fatalf("captured HTML served as %q", raw.header.Get("Content-Type"))
		}
		want(t, b.get(fmt.Sprintf("/monitors/%d/snapshots/%d/screenshot.png", m.ID, snaps[0].ID)), http.StatusNotFound)

		want(t, b.post(fmt.Sprintf("/monitors/%d", m.ID), url.Values{"url": {m.URL}, "name": {"Cổng mới"}, "interval_seconds": {"5"}}), http.StatusBadRequest)
		want(t, b.post(fmt.Sprintf("/monitors/%d", m.ID), url.Values{"url": {m.URL}, "name": {"Cổng mới"}, "interval_seconds": {"120"},
			"timeout_seconds": {"20"}, "page_budget": {"5"}, "enabled": {"true"}}), http.StatusSeeOther)
		got, _ := e.monitors.Get(ctx, model.System, m.ID)
		if got.Name != "Cổng mới" || got.IntervalSeconds != 120 || got.PageBudget != 5 || !got.Enabled || !got.AllowPrivate {
			t.Fatalf("edited monitor %+v", got)
		}
		want(t, b.post(fmt.Sprintf("/monitors/%d/baseline/reset", m.ID), nil), http.StatusSeeOther)
		audit, _ := s.ListAudit(ctx, model.System, storage.AuditFilter{Action: "reset_baseline"})
		if audit.Total != 1 {
			t.Fatal("accepting the baseline was not audited")
		}

		other := e.browser()
		other.login("can-bo-b")
		for _, path := range []string{"/monitors/%d/snapshots/%d", "/monitors/%d/snapshots/%d/page.txt"} {
			want(t, other.get(fmt.Sprintf(path, m.ID, snaps[0].ID)), http.StatusNotFound)
		}
		want(t, other.post(fmt.Sprintf("/monitors/%d", m.ID), url.Values{"url": {m.URL}}), http.StatusNotFound)
		want(t, other.post(fmt.Sprintf("/monitors/%d/baseline/reset", m.ID), nil), http.StatusNotFound)
	})
}
