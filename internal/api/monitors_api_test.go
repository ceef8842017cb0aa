package api_test

import (
	"fmt"
	"strings"
	"testing"

	"canhgac/internal/model"
	"canhgac/internal/storage"
	"canhgac/internal/storage/storagetest"
)

// Monitors are scoped like assets: an officer manages only their agency's.
func TestMonitorsThroughAPI(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		e := newEnv(t, s)
		admin := e.user("quan-tri", model.RoleAdmin, nil)
		officer := e.user("can-bo-a", model.RoleOfficer, &e.deptA)
		var mine, theirs struct{ ID int64 }
		expect(t, officer.do("POST", "/api/v1/monitors", map[string]any{"agency_id": e.deptA.ID, "url": "https://syt.example.gov.vn/",
			"must_contain": "Sở Y tế"}), 201).json(&mine)
		expect(t, admin.do("POST", "/api/v1/monitors", map[string]any{"agency_id": e.deptB.ID, "url": "https://stc.example.gov.vn/"}), 201).json(&theirs)
		r := expect(t, officer.do("POST", "/api/v1/monitors", map[string]any{"agency_id": e.deptB.ID, "url": "https://x.example.gov.vn/"}), 400)
		if r.err().Field != "agency_id" {
			t.Fatalf("officer monitoring another agency: %+v", r.err())
		}
		r = expect(t, officer.do("POST", "/api/v1/monitors", map[string]any{"agency_id": e.deptA.ID, "url": "http://127.0.0.1/", "allow_private": true}), 400)
		if r.err().Field != "allow_private" {
			t.Fatalf("officer allowing private addresses: %+v", r.err())
		}
		expect(t, officer.do("POST", "/api/v1/monitors", map[string]any{"agency_id": e.deptA.ID, "url": "https://syt.example.gov.vn/"}), 409)
		expect(t, officer.do("POST", "/api/v1/monitors", map[string]any{"agency_id": e.deptA.ID, "url": "https://a.example/", "interval_seconds": 5}), 400)
		var list struct{ Items []struct{ ID int64 } }
		expect(t, officer.do("GET", "/api/v1/monitors", nil), 200).json(&list)
		if len(list.Items) != 1 || list.Items[0].ID != mine.ID {
			t.Fatalf("officer's monitors: %+v", list.Items)
		}
		expect(t, officer.do("GET", fmt.Sprintf("/api/v1/monitors/%d", theirs.ID), nil), 404)
		expect(t, officer.do("GET", fmt.Sprintf("/api/v1/monitors/%d/history", theirs.ID), nil), 404)
		expect(t, officer.do("DELETE", fmt.Sprintf("/api/v1/monitors/%d", theirs.ID), nil), 404)
		expect(t, officer.do("POST", fmt.Sprintf("/api/v1/monitors/%d/baseline/reset", theirs.ID), nil), 404)
		expect(t, officer.do("POST", fmt.Sprintf("/api/v1/monitors/%d/baseline/reset", mine.ID), nil), 204)
		expect(t, officer.do("GET", fmt.Sprintf("/api/v1/monitors/%d/history", mine.ID), nil), 200)

		// Editing: only the fields sent change; scope and policy hold; audited.
		var changed struct {
			IntervalSeconds int    `json:"interval_seconds"`
			MustContain     string `json:"must_contain"`
			PageBudget      int    `json:"page_budget"`
		}
		expect(t, officer.do("PATCH", fmt.Sprintf("/api/v1/monitors/%d", mine.ID), map[string]any{"interval_seconds": 60, "page_budget": 25}), 200).json(&changed)
		if changed.IntervalSeconds != 60 || changed.PageBudget != 25 || changed.MustContain != "Sở Y tế" {
			t.Fatalf("patched monitor: %+v", changed)
		}
		expect(t, officer.do("PATCH", fmt.Sprintf("/api/v1/monitors/%d", theirs.ID), map[string]any{"interval_seconds": 60}), 404)
		if r := expect(t, officer.do("PATCH", fmt.Sprintf("/api/v1/monitors/%d", mine.ID), map[string]any{"allow_private": true}), 400); r.err().Field != "allow_private" {
			t.Fatalf("officer allowing private addresses by edit: %+v", r.err())
		}
		if r := expect(t, officer.do("PATCH", fmt.Sprintf("/api/v1/monitors/%d", mine.ID), map[string]any{"agency_id": e.deptB.ID}), 400); r.err().Field != "agency_id" {
			t.Fatalf("officer moving a monitor to another agency: %+v", r.err())
		}
		if r := expect(t, officer.do("PATCH", fmt.Sprintf("/api/v1/monitors/%d", mine.ID), map[string]any{"interval_seconds": 5}), 400); r.err().Field != "interval_seconds" {
			t.Fatalf("bad interval: %+v", r.err())
		}
		audit, _ := s.ListAudit(ctx, model.System, storage.AuditFilter{Action: "update", ResourceType: "monitor"})
		if audit.Total != 1 {
			t.Fatalf("monitor updates audited: %d", audit.Total)
		}
		// Evidence is scoped like the monitor.
		expect(t, officer.do("GET", fmt.Sprintf("/api/v1/monitors/%d/snapshots", theirs.ID), nil), 404)
		expect(t, officer.do("GET", fmt.Sprintf("/api/v1/monitors/%d/snapshots/1", theirs.ID), nil), 404)
		expect(t, officer.do("GET", fmt.Sprintf("/api/v1/monitors/%d/snapshots/1/html", theirs.ID), nil), 404)
		expect(t, officer.do("POST", fmt.Sprintf("/api/v1/monitors/%d/deep", theirs.ID), nil), 404)
		var snaps struct{ Items []any }
		expect(t, officer.do("GET", fmt.Sprintf("/api/v1/monitors/%d/snapshots", mine.ID), nil), 200).json(&snaps)
		if snaps.Items == nil {
			t.Fatal("snapshots: want an empty list, not null")
		}
		expect(t, officer.do("DELETE", fmt.Sprintf("/api/v1/monitors/%d", mine.ID), nil), 204)
	})
}

func TestMonitorImportThroughAPI(t *testing.T) {
	e := newEnv(t, storagetest.Backends(t)[0].Open(t))
	officer := e.user("can-bo-a", model.RoleOfficer, &e.deptA)
	csv := "agency,url,name\nSYT,https://a.example.gov.vn/,A\nSTC,https://b.example.gov.vn/,B\n"
	r := expect(t, officer.raw("POST", "/api/v1/monitors/import", "text/csv", strings.NewReader(csv)), 422)
	var res struct {
		Imported int
		Errors   []struct {
			Line  int
			Field string
		}
	}
	r.json(&res)
	if res.Imported != 0 || len(res.Errors) != 1 || res.Errors[0].Line != 3 || res.Errors[0].Field != "agency" {
		t.Fatalf("officer importing another agency's site: %+v", res)
	}
	expect(t, officer.raw("POST", "/api/v1/monitors/import?partial=true", "text/csv", strings.NewReader(csv)), 200).json(&res)
	if res.Imported != 1 {
		t.Fatalf("partial import: %+v", res)
	}
	expect(t, officer.raw("POST", "/api/v1/monitors/import", "text/csv", strings.NewReader("")), 400)

	// YAML: durations, keyword lists, and the line of each bad entry.
	yml := "monitors:\n  - agency: SYT\n    url: https://c.example.gov.vn/\n    interval: 1m\n    must_not_contain: [nhà cái, hacked by]\n" +
		"  - agency: SYT\n    url: https://d.example.gov.vn/\n    interval: 5x\n"
	r = expect(t, officer.raw("POST", "/api/v1/monitors/import", "application/yaml", strings.NewReader(yml)), 422)
	r.json(&res)
	if res.Imported != 0 || len(res.Errors) != 1 || res.Errors[0].Line != 6 || res.Errors[0].Field != "interval" {
		t.Fatalf("strict YAML import with a bad entry: %+v", res)
	}
	expect(t, officer.raw("POST", "/api/v1/monitors/import?partial=true", "application/yaml", strings.NewReader(yml)), 200).json(&res)
	var ms struct {
		Items []struct {
			URL             string `json:"url"`
			IntervalSeconds int    `json:"interval_seconds"`
			MustNotContain  string `json:"must_not_contain"`
		}
	}
	expect(t, officer.do("GET", "/api/v1/monitors", nil), 200).json(&ms)
	found := false
	for _, m := range ms.Items {
		if m.URL == "https://c.example.gov.vn/" {
			found = m.IntervalSeconds == 60 && m.MustNotContain == "nhà cái\nhacked by"
		}
	}
	if res.Imported != 1 || !found {
		t.Fatalf("partial YAML import: %+v, monitors %+v", res, ms.Items)
	}
	if r := expect(t, officer.do("GET", "/api/v1/monitors/import/template.yaml", nil), 200); !strings.Contains(string(r.body), "monitors:") {
		t.Fatalf("YAML template %q", r.body)
	}
	if r := expect(t, officer.do("GET", "/api/v1/monitors/import/template", nil), 200); !strings.HasPrefix(string(r.body), "agency,url") {
		t.Fatalf("template %q", r.body)
	}
}
