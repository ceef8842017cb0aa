package ui_test

import (
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"canhgac/internal/fleet"
	"canhgac/internal/inventory"
	"canhgac/internal/model"
	"canhgac/internal/storage"
	"canhgac/internal/storage/storagetest"
)

// enrollAgent enrolls a machine into an agency with a fresh token and
// stores its software list, as the agent would.
func (e *env) enrollAgent(agency model.Agency, machine, hostname string, pkgs ...inventory.Package) fleet.Agent {
	e.t.Helper()
	admin := model.Actor{Scope: model.Scope{Role: model.RoleAdmin, Username: "admin"}}
	tok := fleet.EnrollmentToken{AgencyID: agency.ID, Name: "test"}
	secret, err := e.fleet.CreateToken(ctx, admin, &tok, time.Hour)
	must(e.t, err)
	en, err := e.fleet.Enroll(ctx, fleet.EnrollRequest{Token: secret, MachineID: machine, Hostname: hostname, OSName: "Debian GNU/Linux",
		OSVersion: "12 (bookworm)", Arch: "amd64", Version: "0.3.0"}, "10.0.0.7")
	must(e.t, err)
	a, err := e.fleet.Get(ctx, model.System, en.AgentID)
	must(e.t, err)
	if len(pkgs) > 0 {
		_, err = e.fleet.StoreInventory(ctx, a, fleet.InventoryUpload{Host: inventory.Host{Hostname: hostname}, Full: true, Packages: pkgs,
			Hash: fleet.PackagesHash(pkgs), CollectedAt: time.Now()})
		must(e.t, err)
	}
	return a
}

func deb(name, version string) inventory.Package {
	return inventory.Package{Ecosystem: "deb", Name: name, Arch: "amd64", Version: version, SourceName: name, SourceVersion: version}
}

func TestFleetPages(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		e := newEnv(t, s)
		ours := e.enrollAgent(e.deptA, "m-a", "may-tram-syt-01", deb("openssl", "3.0.11-1"), deb("bash", "5.2.15-2"))
		// A later inventory upgrades openssl: the history shows it.
		next := []inventory.Package{deb("openssl", "3.0.13-1"), deb("bash", "5.2.15-2"), deb("curl", "7.88.1-10")}
		_, err := e.fleet.StoreInventory(ctx, ours, fleet.InventoryUpload{Host: inventory.Host{Hostname: ours.Hostname}, Full: true, Packages: next,
			Hash: fleet.PackagesHash(next), CollectedAt: time.Now()})
		must(t, err)
		_, err = e.fleet.Ingest(ctx, ours, []fleet.Event{{Seq: 1, Kind: "process.start"}, {Seq: 2, Kind: "file.ransom_note"}})
		must(t, err)
		_, err = e.fleet.Heartbeat(ctx, ours, []byte(`{"queue":3,"watchdog":"ok"}`), "0.3.1", "10.0.0.7")
		must(t, err)
		spare := e.enrollAgent(e.deptA, "m-a2", "may-tram-syt-02")
		theirs := e.enrollAgent(e.deptB, "m-b", "may-chu-kho-bac", deb("openssl", "3.0.9-1"))

		e.user("can-bo-a", model.RoleOfficer, &e.deptA, false)
		b := e.browser()
		b.login("can-bo-a")
		p := want(t, b.get("/agents"), http.StatusOK)
		if !strings.Contains(p.body, "may-tram-syt-01") || !strings.Contains(p.body, "may-tram-syt-02") || strings.Contains(p.body, "may-chu-kho-bac") ||
			!strings.Contains(p.body, fmt.Sprintf(`href="/agents/%d"`, ours.ID)) || !strings.Contains(p.body, "Đang hoạt động") || !strings.Contains(p.body, `id="nav-agents"`) {
			t.Fatalf("officer's agents page:\n%s", p.body)
		}
		want(t, b.get(fmt.Sprintf("/agents/%d", theirs.ID)), http.StatusNotFound)
		want(t, b.post(fmt.Sprintf("/agents/%d/revoke", theirs.ID), nil), http.StatusNotFound)
		want(t, b.post(fmt.Sprintf("/agents/%d/inventory", theirs.ID), nil), http.StatusNotFound)

		// The fleet-wide search finds only hosts in the officer's scope.
		p = want(t, b.get("/agents/packages?name=openssl&ecosystem="), http.StatusOK)
		if !strings.Contains(p.body, "may-tram-syt-01") || !strings.Contains(p.body, "3.0.13-1") || strings.Contains(p.body, "may-chu-kho-bac") ||
			strings.Contains(p.body, "3.0.9-1") {
			t.Fatalf("package search:\n%s", p.body)
		}
		p = want(t, b.get("/agents/packages?name=openssl&ecosystem=rpm"), http.StatusOK)
		if strings.Contains(p.body, "may-tram-syt-01") {
			t.Fatal("the ecosystem filter was ignored")
		}
		// "openssl older than 3.0.13": the upgraded host is not listed.
		p = want(t, b.get("/agents/packages?name=openssl&below=3.0.13"), http.StatusOK)
		if strings.Contains(p.body, "may-tram-syt-01") || !strings.Contains(p.body, `value="3.0.13"`) {
			t.Fatalf("version bound ignored:\n%s", p.body)
		}
		p = want(t, b.get("/agents/packages?name=openssl&below=3.0.14"), http.StatusOK)
		if !strings.Contains(p.body, "may-tram-syt-01") {
			t.Fatalf("openssl < 3.0.14 misses the host with 3.0.13-1:\n%s", p.body)
		}

		// The agent page: facts, status, software, history, events.
		p = want(t, b.get(fmt.Sprintf("/agents/%d", ours.ID)), http.StatusOK)
		for _, w := range []string{"m-a", "10.0.0.7", "0.3.1", `id="agent-status"`, "watchdog", `id="agent-inventory"`, `id="agent-revoke"`,
			"3.0.11-1 → 3.0.13-1", "curl", "file.ransom_note", "3 phần mềm"} {
			if !strings.Contains(p.body, w) {
				t.Fatalf("agent page lacks %q:\n%s", w, p.body)
			}
		}
		p = want(t, b.get(fmt.Sprintf("/agents/%d?q=ssl", ours.ID)), http.StatusOK)
		if !strings.Contains(p.body, "1 phần mềm") || strings.Contains(p.body, "5.2.15-2") {
			t.Fatalf("package search on the agent page:\n%s", p.body)
		}

		// Collect inventory: a task, shown on the page.
		p = want(t, b.post(fmt.Sprintf("/agents/%d/inventory", ours.ID), nil), http.StatusSeeOther)
		tasks, err := e.fleet.Tasks(ctx, model.System, ours.ID)
		must(t, err)
		if len(tasks) != 1 || tasks[0].Kind != fleet.TaskInventory || tasks[0].CreatedBy != "can-bo-a" || time.Until(tasks[0].Deadline) < 50*time.Minute {
			t.Fatalf("tasks %+v", tasks)
		}
		p = want(t, b.get(p.location), http.StatusOK)
		if !strings.Contains(p.body, `id="flash"`) || !strings.Contains(p.body, fleet.TaskInventory) || !strings.Contains(p.body, "Đang chờ") {
			t.Fatalf("after requesting an inventory:\n%s", p.body)
		}

		// Revoke the spare agent: audited; the health filter tells them apart.
		want(t, b.post(fmt.Sprintf("/agents/%d/revoke", spare.ID), nil), http.StatusSeeOther)
		if a, _ := e.fleet.Get(ctx, model.System, spare.ID); a.RevokedAt == nil || a.RevokedBy != "can-bo-a" {
			t.Fatalf("not revoked: %+v", a)
		}
		audit, _ := s.ListAudit(ctx, model.System, storage.AuditFilter{Action: "revoke", ResourceType: "agent"})
		if audit.Total != 1 {
			t.Fatalf("revoking was audited %d times", audit.Total)
		}
		p = want(t, b.get("/agents?health=revoked"), http.StatusOK)
		if !strings.Contains(p.body, "may-tram-syt-02") || strings.Contains(p.body, "may-tram-syt-01") {
			t.Fatalf("revoked filter:\n%s", p.body)
		}
		p = want(t, b.get("/agents?health=online"), http.StatusOK)
		if strings.Contains(p.body, "may-tram-syt-02") || !strings.Contains(p.body, "may-tram-syt-01") {
			t.Fatalf("online filter:\n%s", p.body)
		}
		p = want(t, b.get("/agents"), http.StatusOK)
		if strings.Contains(p.body, "may-tram-syt-02<") {
			t.Fatal("a revoked agent is listed without asking for revoked ones")
		}
		p = want(t, b.get("/agents?os=windows"), http.StatusOK)
		if strings.Contains(p.body, "may-tram-syt-01") {
			t.Fatal("the OS filter was ignored")
		}

		// English.
		p = want(t, b.get("/agents?lang=en"), http.StatusOK)
		if !strings.Contains(p.body, "Workstations &amp; servers") || !strings.Contains(p.body, "Online") || strings.Contains(p.body, "Đang hoạt động") {
			t.Fatalf("English agents page:\n%s", p.body)
		}
		want(t, b.get(fmt.Sprintf("/agents/%d?lang=en", ours.ID)), http.StatusOK)
		want(t, b.get("/agents/tokens?lang=en"), http.StatusOK)
	})
}

var secretRE = regexp.MustCompile(`id="new-token-secret">(cge_[^<]+)<`)

func TestEnrollmentTokenPages(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		e := newEnv(t, s)
		e.user("can-bo-a", model.RoleOfficer, &e.deptA, false)
		e.user("can-bo-b", model.RoleOfficer, &e.deptB, false)
		b := e.browser()
		b.login("can-bo-a")
		want(t, b.get("/agents/tokens"), http.StatusOK)
		want(t, b.post("/agents/tokens", url.Values{"agency_id": {fmt.Sprint(e.deptB.ID)}, "max_uses": {"1"}, "validity": {"24h"}}), http.StatusBadRequest)
		want(t, b.post("/agents/tokens", url.Values{"agency_id": {fmt.Sprint(e.deptA.ID)}, "max_uses": {"0"}, "validity": {"24h"}}), http.StatusBadRequest)
		want(t, b.post("/agents/tokens", url.Values{"agency_id": {fmt.Sprint(e.deptA.ID)}, "validity": {"1y"}}), http.StatusBadRequest)
		p := want(t, b.post("/agents/tokens", url.Values{"agency_id": {fmt.Sprint(e.deptA.ID)}, "name": {"Phòng Kế toán"}, "max_uses": {"5"},
			"validity": {"7d"}}), http.StatusOK)
		m := secretRE.FindStringSubmatch(p.body)
		if m == nil {
			t.Fatalf("the new token is not shown:\n%s", p.body)
		}
		secret := m[1]
		cmd := html.UnescapeString(regexp.MustCompile(`id="enroll-command">([^<]+)<`).FindStringSubmatch(p.body)[1])
		if cmd != "canhgac agent enroll --server "+e.url+" --token "+secret {
			t.Fatalf("enroll command %q", cmd)
		}
		toks, err := e.fleet.ListTokens(ctx, model.System)
		must(t, err)
		if len(toks) != 1 || toks[0].MaxUses != 5 || toks[0].AgencyID != e.deptA.ID || toks[0].CreatedBy != "can-bo-a" ||
			toks[0].ExpiresAt.Sub(toks[0].CreatedAt) != 7*24*time.Hour {
			t.Fatalf("tokens %+v", toks)
		}
		p = want(t, b.get("/agents/tokens"), http.StatusOK)
		if strings.Contains(p.body, secret) || strings.Contains(p.body, secret[len(toks[0].Prefix):]) || !strings.Contains(p.body, toks[0].Prefix) ||
			!strings.Contains(p.body, "Phòng Kế toán") || !strings.Contains(p.body, "0/5") {
			t.Fatalf("the token list:\n%s", p.body)
		}
		// The secret enrolls a machine.
		if _, err := e.fleet.Enroll(ctx, fleet.EnrollRequest{Token: secret, MachineID: "m1", Hostname: "pc-ke-toan-01"}, ""); err != nil {
			t.Fatal(err)
		}

		other := e.browser()
		other.login("can-bo-b")
		p = want(t, other.get("/agents/tokens"), http.StatusOK)
		if strings.Contains(p.body, toks[0].Prefix) {
			t.Fatal("another agency's officer sees the token")
		}
		want(t, other.post(fmt.Sprintf("/agents/tokens/%d/revoke", toks[0].ID), nil), http.StatusNotFound)

		want(t, b.post(fmt.Sprintf("/agents/tokens/%d/revoke", toks[0].ID), nil), http.StatusSeeOther)
		audit, _ := s.ListAudit(ctx, model.System, storage.AuditFilter{Action: "revoke", ResourceType: "enrollment_token"})
		if audit.Total != 1 {
			t.Fatalf("token revocation audited %d times", audit.Total)
		}
		if _, err := e.fleet.Enroll(ctx, fleet.EnrollRequest{Token: secret, MachineID: "m2", Hostname: "pc-ke-toan-02"}, ""); err == nil {
			t.Fatal("a revoked token still enrolls")
		}
		p = want(t, b.get("/agents/tokens"), http.StatusOK)
		if strings.Contains(p.body, fmt.Sprintf(`id="revoke-token-%d"`, toks[0].ID)) || !strings.Contains(p.body, "Đã thu hồi") {
			t.Fatalf("revoked token:\n%s", p.body)
		}
	})
}

// A viewer reads the fleet but has no buttons, and posting anyway is refused.
func TestFleetViewerIsReadOnly(t *testing.T) {
	e := newEnv(t, storagetest.Backends(t)[0].Open(t))
	a := e.enrollAgent(e.deptA, "m-a", "may-tram-syt-01", deb("openssl", "3.0.11-1"))
	e.user("xem", model.RoleViewer, nil, false)
	b := e.browser()
	b.login("xem")
	p := want(t, b.get(fmt.Sprintf("/agents/%d", a.ID)), http.StatusOK)
	if strings.Contains(p.body, `id="agent-inventory"`) || strings.Contains(p.body, `id="agent-revoke"`) {
		t.Fatal("a viewer is offered buttons")
	}
	p = want(t, b.get("/agents/tokens"), http.StatusOK)
	if strings.Contains(p.body, `id="token-form"`) {
		t.Fatal("a viewer is offered the token form")
	}
	want(t, b.post(fmt.Sprintf("/agents/%d/revoke", a.ID), nil), http.StatusForbidden)
	want(t, b.post(fmt.Sprintf("/agents/%d/inventory", a.ID), nil), http.StatusForbidden)
	want(t, b.post("/agents/tokens", url.Values{"agency_id": {fmt.Sprint(e.deptA.ID)}, "validity": {"24h"}}), http.StatusForbidden)
}

// The fleet pages follow the CSP like the others: nothing from outside,
// no inline script or style.
func TestFleetPagesLoadNothingFromOutside(t *testing.T) {
	e := newEnv(t, storagetest.Backends(t)[0].Open(t))
	a := e.enrollAgent(e.deptA, "m-a", "may-tram-syt-01", deb("openssl", "3.0.11-1"))
	e.user("admin", model.RoleAdmin, nil, false)
	b := e.browser()
	b.login("admin")
	external := regexp.MustCompile(`(?i)(src|href|action)\s*=\s*["']?(https?:)?//`)
	inlineScript := regexp.MustCompile(`<script(?:\s[^>]*)?>`)
	for _, path := range []string{"/agents", "/agents/tokens", fmt.Sprintf("/agents/%d", a.ID), "/agents/packages?name=openssl"} {
		p := want(t, b.get(path), http.StatusOK)
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
	p := want(t, b.post("/agents/tokens", url.Values{"agency_id": {fmt.Sprint(e.deptA.ID)}, "validity": {"1h"}}), http.StatusOK)
	if !strings.Contains(p.body, `id="new-token"`) || strings.Contains(p.body, "style=") {
		t.Fatalf("token page:\n%s", p.body)
	}
}
