package api_test

import (
	"fmt"
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
		expect(t, officer.do("GET", fmt.Sprintf("/api/v1/monitors/%d/history", mine.ID), nil), 200)
		expect(t, officer.do("DELETE", fmt.Sprintf("/api/v1/monitors/%d", mine.ID), nil), 204)
	})
}
