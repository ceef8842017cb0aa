package ui_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
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
			"name": {"Cổng Sở Y tế"}, "interval_seconds": {"60"}, "must_contain": {"Sở Y tế"}}), http.StatusSeeOther)
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
