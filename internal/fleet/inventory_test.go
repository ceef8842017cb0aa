package fleet_test

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"canhgac/internal/fleet"
	"canhgac/internal/inventory"
	"canhgac/internal/model"
	"canhgac/internal/storage"
	"canhgac/internal/storage/storagetest"
)

func debianPackages(n int) []inventory.Package {
	out := []inventory.Package{
		{Ecosystem: "deb", Name: "openssl", Arch: "amd64", Version: "3.0.11-1~deb12u2", SourceName: "openssl", SourceVersion: "3.0.11-1~deb12u2"},
		{Ecosystem: "deb", Name: "libssl3", Arch: "amd64", Version: "3.0.11-1~deb12u2", SourceName: "openssl", SourceVersion: "3.0.11-1~deb12u2"},
	}
	for i := len(out); i < n; i++ {
		v := fmt.Sprintf("1.%d-1", i)
		out = append(out, inventory.Package{Ecosystem: "deb", Name: fmt.Sprintf("lib-%04d", i), Arch: "amd64", Version: v, SourceName: fmt.Sprintf("src-%d", i%300), SourceVersion: v})
	}
	return out
}

// A first full list, then deltas: the package table follows, upgrades are
// history ("openssl 3.0.11 → 3.0.13"), a delta against a list the server
// does not hold is refused so the agent sends everything, and a fleet-wide
// search finds the hosts with a package, within the caller's scope.
func TestInventoryFullThenDeltas(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		e := newEnv(t, s, fleet.Config{})
		en, err := e.svc.Enroll(ctx, host(e.token(t, e.admin, e.deptA, 1), "m-a", "may-chu-a"), "")
		must(t, err)
		a, _ := e.svc.Authenticate(ctx, en.Secret)
		pkgs := debianPackages(1500)
		h := inventory.Host{Hostname: "may-chu-a", OSName: "Debian GNU/Linux", OSVersion: "12 (bookworm)", Arch: "amd64"}
		n, err := e.svc.StoreInventory(ctx, a, fleet.InventoryUpload{Host: h, Full: true, Packages: pkgs, Hash: fleet.PackagesHash(pkgs), CollectedAt: time.Now()})
		must(t, err)
		if n != 1500 {
			t.Fatalf("first upload: %d changes", n)
		}
		if ch, _ := e.svc.Changes(ctx, model.System, a.ID, 10); len(ch) != 0 {
			t.Fatalf("the first inventory was recorded as history: %+v", ch)
		}
		// Upgrade openssl, remove one library, add a second kernel.
		next := append([]inventory.Package(nil), pkgs...)
		next[0].Version, next[0].SourceVersion = "3.0.13-1~deb12u1", "3.0.13-1~deb12u1"
		next = append(next[:5], next[6:]...)
		next = append(next, inventory.Package{Ecosystem: "deb", Name: "linux-image-6.1.0-18-amd64", Arch: "amd64", Version: "6.1.76-1"},
			inventory.Package{Ecosystem: "deb", Name: "linux-image-6.1.0-18-amd64", Arch: "amd64", Version: "6.1.76-2"})
		d := inventory.Diff(pkgs, next)
		base := fleet.PackagesHash(pkgs)
		if _, err := e.svc.StoreInventory(ctx, a, fleet.InventoryUpload{Host: h, Delta: &d, Base: "stale", Hash: fleet.PackagesHash(next)}); !errors.Is(err, fleet.ErrInventoryBase) {
			t.Fatalf("delta on a stale base: %v", err)
		}
		if _, err := e.svc.StoreInventory(ctx, a, fleet.InventoryUpload{Host: h, Delta: &d, Base: base, Hash: "wrong"}); !errors.Is(err, fleet.ErrInventoryBase) {
			t.Fatalf("delta giving another list than the agent's: %v", err)
		}
		n, err = e.svc.StoreInventory(ctx, a, fleet.InventoryUpload{Host: h, Delta: &d, Base: base, Hash: fleet.PackagesHash(next)})
		must(t, err)
		if n != 4 {
			t.Fatalf("delta: %d changes, want 4", n)
		}
		ch, err := e.svc.Changes(ctx, model.System, a.ID, 10)
		must(t, err)
		found := false
		for _, c := range ch {
			if c.Change == "changed" && c.Name == "openssl" && c.OldVersion == "3.0.11-1~deb12u2" && c.NewVersion == "3.0.13-1~deb12u1" {
				found = true
			}
		}
		if !found || len(ch) != 4 {
			t.Fatalf("history: %+v", ch)
		}
		got, err := e.svc.Packages(ctx, model.System, a.ID, "linux-image")
		must(t, err)
		if len(got) != 2 {
			t.Fatalf("two kernels of one name: %+v", got)
		}
		if ag, _ := e.svc.Get(ctx, model.System, a.ID); ag.Packages != len(next) {
			t.Fatalf("package count %d, want %d", ag.Packages, len(next))
		}

		// Fleet search, scoped.
		sec := fleet.EnrollmentToken{AgencyID: e.deptB.ID}
		tokB, err := e.svc.CreateToken(ctx, e.admin, &sec, time.Hour)
		must(t, err)
		enB, err := e.svc.Enroll(ctx, host(tokB, "m-b", "kho-bac"), "")
		must(t, err)
		b, _ := e.svc.Authenticate(ctx, enB.Secret)
		_, err = e.svc.StoreInventory(ctx, b, fleet.InventoryUpload{Host: h, Full: true, Packages: pkgs[:2]})
		must(t, err)
		// Each package build is stored once, however many hosts have it:
		// A's 1,500, the upgraded openssl and two kernels; B adds none.
		builds := func() (n int) {
			must(t, s.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM inventory_packages`).Scan(&n))
			return n
		}
		if n := builds(); n != 1503 {
			t.Fatalf("%d package builds stored, want 1503", n)
		}
		// A server started afresh (no ids in memory) finds the stored builds.
		fresh, err := fleet.New(s, e.alerts, fleet.Config{}, nil)
		must(t, err)
		_, err = fresh.StoreInventory(ctx, b, fleet.InventoryUpload{Host: h, Full: true, Packages: pkgs[:3]})
		must(t, err)
		if n := builds(); n != 1503 {
			t.Fatalf("%d package builds after a restart, want 1503", n)
		}
		if got, _ := fresh.Packages(ctx, model.System, b.ID, ""); len(got) != 3 {
			t.Fatalf("B's packages after the restart: %+v", got)
		}
		_, err = e.svc.StoreInventory(ctx, b, fleet.InventoryUpload{Host: h, Full: true, Packages: pkgs[:2]})
		must(t, err)
		all, err := e.svc.FindPackage(ctx, model.System, fleet.PackageQuery{Name: "openssl", Ecosystem: "deb"})
		must(t, err)
		if len(all) != 4 { // openssl and libssl3 (source openssl) on two hosts
			t.Fatalf("province-wide search: %+v", all)
		}
		mine, err := e.svc.FindPackage(ctx, e.officerA.Scope, fleet.PackageQuery{Name: "openssl"})
		must(t, err)
		for _, in := range mine {
			if in.AgentID != a.ID {
				t.Fatalf("officer's search found another agency's host: %+v", in)
			}
		}
		if len(mine) != 2 {
			t.Fatalf("officer's search: %+v", mine)
		}

		// Untrusted input is validated.
		var ve *model.ValidationError
		bad := []inventory.Package{{Ecosystem: "deb", Name: "", Version: "1"}}
		if _, err := e.svc.StoreInventory(ctx, a, fleet.InventoryUpload{Host: h, Full: true, Packages: bad}); !errors.As(err, &ve) {
			t.Fatalf("a package without a name was stored: %v", err)
		}
		if _, err := e.svc.Packages(ctx, e.officerA.Scope, b.ID, ""); !errors.Is(err, model.ErrNotFound) {
			t.Fatalf("officer listed another agency's packages: %v", err)
		}
	})
}

// BenchmarkStoreFirstInventory stores a first 1,500-package inventory (a
// new agent's), on SQLite.
func BenchmarkStoreFirstInventory(b *testing.B) {
	s := storagetest.Backends(b)[0].Open(b)
	e := newEnv(b, s, fleet.Config{})
	tok := fleet.EnrollmentToken{AgencyID: e.deptA.ID, MaxUses: fleet.MaxTokenUses}
	sec, err := e.svc.CreateToken(ctx, e.admin, &tok, time.Hour)
	must(b, err)
	pkgs := debianPackages(1500)
	h := inventory.Host{Hostname: "h", Arch: "amd64"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		en, err := e.svc.Enroll(ctx, host(sec, fmt.Sprintf("m-%d", i), fmt.Sprintf("h-%d", i)), "")
		must(b, err)
		a, _ := e.svc.Authenticate(ctx, en.Secret)
		b.StartTimer()
		if _, err := e.svc.StoreInventory(ctx, a, fleet.InventoryUpload{Host: h, Full: true, Packages: pkgs}); err != nil {
			b.Fatal(err)
		}
	}
}

// The fleet questions of the issue: "which hosts have openssl < 3.0.13?"
// by each ecosystem's own version rules (a Debian backport revision, an
// epoch, an rpm release), and "which hosts run Windows Server 2012?".
func TestFleetSearchByVersionAndOS(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		e := newEnv(t, s, fleet.Config{})
		tok := e.token(t, e.admin, e.deptA, 10)
		type machine struct {
			host, osName, osVersion string
			pkgs                    []inventory.Package
		}
		deb := func(name, v string) inventory.Package {
			return inventory.Package{Ecosystem: "deb", Name: name, Arch: "amd64", Version: v, SourceName: "openssl", SourceVersion: v}
		}
		machines := []machine{
			{"old-deb", "Debian GNU/Linux", "12", []inventory.Package{deb("openssl", "3.0.11-1~deb12u2"), deb("libssl3", "3.0.11-1~deb12u2")}},
			{"new-deb", "Debian GNU/Linux", "12", []inventory.Package{deb("openssl", "3.0.13-1~deb12u1")}},
			// 3.0.13~rc1 is before 3.0.13 for dpkg; an epoch puts 1:1.0 after.
			{"rc-deb", "Debian GNU/Linux", "12", []inventory.Package{deb("openssl", "3.0.13~rc1-1")}},
			{"epoch-deb", "Debian GNU/Linux", "12", []inventory.Package{deb("openssl", "1:1.0.2-1")}},
			{"rocky", "Rocky Linux", "9.3", []inventory.Package{{Ecosystem: "rpm", Name: "openssl", Arch: "x86_64", Version: "1:3.0.7-25.el9_3"}}},
			{"dc-2012", "Windows Server 2012 R2 Standard", "6.3.9600", nil},
			{"dc-2019", "Windows Server 2019 Datacenter", "10.0.17763", nil},
		}
		ids := map[string]int64{}
		for i, m := range machines {
			req := host(tok, fmt.Sprintf("m-%d", i), m.host)
			req.OSName, req.OSVersion = m.osName, m.osVersion
			en, err := e.svc.Enroll(ctx, req, "")
			must(t, err)
			a, _ := e.svc.Authenticate(ctx, en.Secret)
			ids[m.host] = a.ID
			if m.pkgs != nil {
				_, err = e.svc.StoreInventory(ctx, a, fleet.InventoryUpload{Host: inventory.Host{Hostname: m.host, OSName: m.osName, OSVersion: m.osVersion}, Full: true, Packages: m.pkgs})
				must(t, err)
			}
		}
		hosts := func(items []fleet.Installation) map[string]int {
			out := map[string]int{}
			for _, in := range items {
				out[in.Hostname]++
			}
			return out
		}
		old, err := e.svc.FindPackage(ctx, model.System, fleet.PackageQuery{Name: "openssl", Ecosystem: "deb", Below: "3.0.13"})
		must(t, err)
		if got := hosts(old); len(got) != 2 || got["old-deb"] != 2 || got["rc-deb"] != 1 {
			t.Fatalf("deb openssl < 3.0.13: %v", got)
		}
		// Across ecosystems, each by its own rules: rpm's epoch 1 is newer.
		all, err := e.svc.FindPackage(ctx, model.System, fleet.PackageQuery{Name: "openssl", Below: "3.0.13"})
		must(t, err)
		if got := hosts(all); len(got) != 2 || got["rocky"] != 0 || got["epoch-deb"] != 0 {
			t.Fatalf("openssl < 3.0.13 anywhere: %v", got)
		}
		// A bound that is not a version of the ecosystem is refused.
		var ve *model.ValidationError
		if _, err := e.svc.FindPackage(ctx, model.System, fleet.PackageQuery{Name: "openssl", Ecosystem: "deb", Below: "3.0:13:x"}); !errors.As(err, &ve) {
			t.Fatalf("bad bound: %v", err)
		}
		// The officer of another agency sees none of it.
		officerB := model.Actor{Scope: model.Scope{Role: model.RoleOfficer, Username: "b", AgencyPath: mustAgency(t, s, e.deptB.ID).Path}}
		if mine, err := e.svc.FindPackage(ctx, officerB.Scope, fleet.PackageQuery{Name: "openssl", Below: "9"}); err != nil || len(mine) != 0 {
			t.Fatalf("another agency's officer found %v (%v)", mine, err)
		}
		win, err := e.svc.List(ctx, model.System, fleet.Filter{OS: "windows server 2012"})
		must(t, err)
		if len(win) != 1 || win[0].ID != ids["dc-2012"] {
			t.Fatalf("Windows Server 2012 hosts: %+v", win)
		}
	})
}

func mustAgency(t *testing.T, s *storage.Store, id int64) model.Agency {
	a, err := s.GetAgency(ctx, model.System, id)
	must(t, err)
	return a
}

// BenchmarkFleetSearch asks "which hosts have libssl3 < 3.0.13?" of
// 20,000 agents with 1,500 packages each (CANHGAC_BENCH_AGENTS to change
// the count), on SQLite: the matching builds are found by name, then
// every agent's package list is read once.
func BenchmarkFleetSearch(b *testing.B) {
	n := 20000
	if v, err := strconv.Atoi(os.Getenv("CANHGAC_BENCH_AGENTS")); err == nil && v > 0 {
		n = v
	}
	s := storagetest.Backends(b)[0].Open(b)
	e := newEnv(b, s, fleet.Config{})
	tok := e.token(b, e.admin, e.deptA, 1)
	en, err := e.svc.Enroll(ctx, host(tok, "m-0", "h-0"), "")
	must(b, err)
	a, _ := e.svc.Authenticate(ctx, en.Secret)
	pkgs := debianPackages(1500) // openssl and libssl3 among them
	_, err = e.svc.StoreInventory(ctx, a, fleet.InventoryUpload{Host: inventory.Host{Hostname: "h-0"}, Full: true, Packages: pkgs})
	must(b, err)
	var list string
	must(b, s.DB().QueryRow(`SELECT package_ids FROM agent_inventory`).Scan(&list))
	tx, err := s.DB().Begin()
	must(b, err)
	for i := 1; i < n; i++ {
		var id int64
		must(b, tx.QueryRow(`INSERT INTO agents (agency_id, agency_path, machine_id, secret_hash, enrolled_at, hostname) SELECT agency_id, agency_path, ?, ?, enrolled_at, ?
			FROM agents WHERE id = ? RETURNING id`, fmt.Sprintf("m-%d", i), fmt.Sprintf("s-%d", i), fmt.Sprintf("h-%05d", i), a.ID).Scan(&id))
		_, err := tx.Exec(`INSERT INTO agent_inventory (agent_id, package_ids) VALUES (?, ?)`, id, list)
		must(b, err)
	}
	must(b, tx.Commit())
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		found, err := e.svc.FindPackage(ctx, model.System, fleet.PackageQuery{Name: "libssl3", Below: "3.0.13"})
		must(b, err)
		if len(found) != n {
			b.Fatalf("found %d installations, want %d", len(found), n)
		}
	}
	b.ReportMetric(float64(n), "agents")
}
