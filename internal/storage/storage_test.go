package storage_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"canhgac/internal/model"
	"canhgac/internal/storage"
	"canhgac/internal/storage/storagetest"
)

var ctx = context.Background()

func admin() model.Actor { return model.Actor{Scope: model.System, IP: "127.0.0.1"} }

// tree is a small province: Sở TTTT at the root, two departments, a unit under the first.
type tree struct {
	province, deptA, deptB, unitA model.Agency
	officerA                      model.Actor
}

func seed(t *testing.T, s *storage.Store) tree {
	t.Helper()
	var tr tree
	mk := func(a *model.Agency, name string, kind model.AgencyKind, parent *model.Agency) {
		a.Name, a.Kind = name, kind
		if parent != nil {
			a.ParentID = &parent.ID
		}
		if err := s.CreateAgency(ctx, admin(), a); err != nil {
			t.Fatalf("create agency %s: %v", name, err)
		}
	}
	mk(&tr.province, "Sở Thông tin và Truyền thông", model.AgencyProvince, nil)
	mk(&tr.deptA, "Sở Y tế", model.AgencyDepartment, &tr.province)
	mk(&tr.deptB, "Sở Tài chính", model.AgencyDepartment, &tr.province)
	mk(&tr.unitA, "Bệnh viện Đa khoa tỉnh", model.AgencyUnit, &tr.deptA)
	u := model.User{Username: "officer.a", Role: model.RoleOfficer, AgencyID: &tr.deptA.ID, PasswordHash: "x"}
	if err := s.CreateUser(ctx, admin(), &u); err != nil {
		t.Fatal(err)
	}
	tr.officerA = model.Actor{Scope: model.ScopeOf(u, tr.deptA.Path), IP: "10.0.0.7"}
	return tr
}

func asset(agency int64, name string) *model.Asset {
	return &model.Asset{AgencyID: agency, Kind: model.AssetWebsite, Name: name, Address: "https://" + strings.ReplaceAll(name, " ", "") + ".gov.vn", SecurityLevel: 2}
}

func TestMigrationsRecordVersionAndRunOnce(t *testing.T) {
	for _, b := range storagetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			dir, u := b.URL(t)
			s, err := storage.Open(ctx, dir, u)
			if err != nil {
				t.Fatal(err)
			}
			v, err := s.AppliedVersion(ctx)
			if err != nil || v != s.SchemaVersion() || v < 1 {
				t.Fatalf("applied version %d (%v), binary knows %d", v, err, s.SchemaVersion())
			}
			if err := s.CreateAgency(ctx, admin(), &model.Agency{Name: "Tỉnh", Kind: model.AgencyProvince}); err != nil {
				t.Fatal(err)
			}
			s.Close()

			// A second start is a no-op: same version, data intact.
			s, err = storage.Open(ctx, dir, u)
			if err != nil {
				t.Fatalf("second open: %v", err)
			}
			if n, _ := s.AgencyCount(ctx); n != 1 {
				t.Fatalf("after reopen: %d agencies, want 1", n)
			}
			var rows int
			s.DB().QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&rows)
			if rows != s.SchemaVersion() {
				t.Fatalf("schema_migrations has %d rows after two starts, want %d", rows, s.SchemaVersion())
			}
			// Pretend a newer binary migrated this database.
			if _, err := s.DB().Exec(fmt.Sprintf(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (%d, 'future', CURRENT_TIMESTAMP)`, s.SchemaVersion()+1)); err != nil {
				t.Fatal(err)
			}
			s.Close()
			_, err = storage.Open(ctx, dir, u)
			if !errors.Is(err, storage.ErrSchemaTooNew) || !strings.Contains(err.Error(), "newer canhgac") {
				t.Fatalf("open of a newer database: got %v, want a clear ErrSchemaTooNew", err)
			}
		})
	}
}

func TestAgencyTree(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		tr := seed(t, s)
		want := fmt.Sprintf("/%d/%d/%d/", tr.province.ID, tr.deptA.ID, tr.unitA.ID)
		if tr.unitA.Path != want {
			t.Fatalf("unit path %q, want %q", tr.unitA.Path, want)
		}
		// Listing under a department gives it and its descendants, in tree order.
		p, err := s.ListAgencies(ctx, model.System, storage.AgencyFilter{Under: tr.deptA.ID})
		if err != nil || p.Total != 2 || p.Items[0].ID != tr.deptA.ID || p.Items[1].ID != tr.unitA.ID {
			t.Fatalf("under deptA: %+v %v", p, err)
		}
		// Moving deptA under deptB moves its subtree.
		tr.deptA.ParentID = &tr.deptB.ID
		if err := s.UpdateAgency(ctx, admin(), &tr.deptA); err != nil {
			t.Fatal(err)
		}
		u, _ := s.GetAgency(ctx, model.System, tr.unitA.ID)
		if want := fmt.Sprintf("/%d/%d/%d/%d/", tr.province.ID, tr.deptB.ID, tr.deptA.ID, tr.unitA.ID); u.Path != want {
			t.Fatalf("after move unit path %q, want %q", u.Path, want)
		}
		// No cycles.
		tr.deptB.ParentID = &tr.unitA.ID
		var ve *model.ValidationError
		if err := s.UpdateAgency(ctx, admin(), &tr.deptB); !errors.As(err, &ve) || ve.Field != "parent_id" {
			t.Fatalf("moving an agency under its own descendant: %v", err)
		}
		// An agency with children cannot be deleted; a leaf can.
		if err := s.DeleteAgency(ctx, admin(), tr.deptA.ID); !errors.Is(err, model.ErrConflict) {
			t.Fatalf("delete agency with children: %v", err)
		}
		if err := s.DeleteAgency(ctx, admin(), tr.unitA.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := s.GetAgency(ctx, model.System, tr.unitA.ID); !errors.Is(err, model.ErrNotFound) {
			t.Fatalf("deleted agency still readable: %v", err)
		}
		// Search folds diacritics.
		p, _ = s.ListAgencies(ctx, model.System, storage.AgencyFilter{Query: "so y te"})
		if p.Total != 1 || p.Items[0].ID != tr.deptA.ID {
			t.Fatalf("search 'so y te': %+v", p.Items)
		}
	})
}

// An officer of agency A never sees or changes anything of agency B, through
// any store method.
func TestOfficerScoping(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		tr := seed(t, s)
		aOwn, aUnit, bAsset := asset(tr.deptA.ID, "yte"), asset(tr.unitA.ID, "benhvien"), asset(tr.deptB.ID, "taichinh")
		for _, a := range []*model.Asset{aOwn, aUnit, bAsset} {
			if err := s.CreateAsset(ctx, admin(), a); err != nil {
				t.Fatal(err)
			}
		}
		userB := model.User{Username: "officer.b", Role: model.RoleOfficer, AgencyID: &tr.deptB.ID, PasswordHash: "x"}
		if err := s.CreateUser(ctx, admin(), &userB); err != nil {
			t.Fatal(err)
		}
		sc := tr.officerA.Scope

		// Reads.
		assets, _ := s.ListAssets(ctx, sc, storage.AssetFilter{})
		if assets.Total != 2 || !onlyAgencies(assets.Items, tr.deptA.ID, tr.unitA.ID) {
			t.Fatalf("officer A lists assets %+v", assets.Items)
		}
		if p, _ := s.ListAssets(ctx, sc, storage.AssetFilter{AgencyID: tr.deptB.ID}); p.Total != 0 {
			t.Fatalf("officer A filtering on agency B sees %d assets", p.Total)
		}
		if _, err := s.GetAsset(ctx, sc, bAsset.ID); !errors.Is(err, model.ErrNotFound) {
			t.Fatalf("officer A reads B's asset: %v", err)
		}
		ags, _ := s.ListAgencies(ctx, sc, storage.AgencyFilter{})
		for _, a := range ags.Items {
			if a.ID != tr.deptA.ID && a.ID != tr.unitA.ID {
				t.Fatalf("officer A lists agency %d (%s)", a.ID, a.Name)
			}
		}
		if _, err := s.GetAgency(ctx, sc, tr.deptB.ID); !errors.Is(err, model.ErrNotFound) {
			t.Fatalf("officer A reads agency B: %v", err)
		}
		if _, err := s.GetAgency(ctx, sc, tr.province.ID); !errors.Is(err, model.ErrNotFound) {
			t.Fatalf("officer A reads the province above it: %v", err)
		}
		users, _ := s.ListUsers(ctx, sc, storage.UserFilter{})
		if users.Total != 1 || users.Items[0].Username != "officer.a" {
			t.Fatalf("officer A lists users %+v", users.Items)
		}
		if _, err := s.GetUser(ctx, sc, userB.ID); !errors.Is(err, model.ErrNotFound) {
			t.Fatalf("officer A reads user B: %v", err)
		}
		audit, _ := s.ListAudit(ctx, sc, storage.AuditFilter{Limit: 500})
		if audit.Total == 0 {
			t.Fatalf("officer A sees no audit events of its own agency")
		}
		for _, e := range audit.Items {
			if e.AgencyID == nil || (*e.AgencyID != tr.deptA.ID && *e.AgencyID != tr.unitA.ID) {
				t.Fatalf("officer A sees audit event %+v", e)
			}
		}
		if refs, _ := s.AgencyRefs(ctx, sc); refs[fmt.Sprint(tr.deptB.ID)] != 0 {
			t.Fatalf("officer A can resolve agency B for import")
		}

		// Writes.
		moved := *aOwn
		moved.AgencyID = tr.deptB.ID
		if err := s.UpdateAsset(ctx, tr.officerA, &moved); err == nil {
			t.Fatalf("officer A moved an asset into agency B")
		}
		stolen := *bAsset
		stolen.AgencyID = tr.deptA.ID
		if err := s.UpdateAsset(ctx, tr.officerA, &stolen); !errors.Is(err, model.ErrNotFound) {
			t.Fatalf("officer A updated B's asset: %v", err)
		}
		if err := s.DeleteAsset(ctx, tr.officerA, bAsset.ID); !errors.Is(err, model.ErrNotFound) {
			t.Fatalf("officer A deleted B's asset: %v", err)
		}
		if err := s.CreateAsset(ctx, tr.officerA, asset(tr.deptB.ID, "cai cắm")); err == nil {
			t.Fatalf("officer A created an asset in agency B")
		}
		if err := s.CreateAgency(ctx, tr.officerA, &model.Agency{Name: "x", Kind: model.AgencyUnit, ParentID: &tr.deptA.ID}); !errors.Is(err, model.ErrForbidden) {
			t.Fatalf("officer created an agency: %v", err)
		}
		if err := s.CreateUser(ctx, tr.officerA, &model.User{Username: "sneaky", Role: model.RoleAdmin, PasswordHash: "x"}); !errors.Is(err, model.ErrForbidden) {
			t.Fatalf("officer created a user: %v", err)
		}
		// Officer A may manage its own subtree's assets.
		if err := s.CreateAsset(ctx, tr.officerA, asset(tr.unitA.ID, "moi")); err != nil {
			t.Fatalf("officer A creating in own unit: %v", err)
		}
		b, _ := s.GetAsset(ctx, model.System, bAsset.ID)
		if b.AgencyID != tr.deptB.ID || b.Name != "taichinh" {
			t.Fatalf("B's asset changed: %+v", b)
		}
	})
}

func onlyAgencies(as []model.Asset, ids ...int64) bool {
	for _, a := range as {
		ok := false
		for _, id := range ids {
			ok = ok || a.AgencyID == id
		}
		if !ok {
			return false
		}
	}
	return true
}

func TestEveryChangeIsAudited(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		tr := seed(t, s)
		a := asset(tr.deptA.ID, "cong thong tin")
		if err := s.CreateAsset(ctx, tr.officerA, a); err != nil {
			t.Fatal(err)
		}
		a.SecurityLevel = 3
		if err := s.UpdateAsset(ctx, tr.officerA, a); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteAsset(ctx, tr.officerA, a.ID); err != nil {
			t.Fatal(err)
		}
		p, err := s.ListAudit(ctx, model.System, storage.AuditFilter{ResourceType: "asset", ResourceID: a.ID})
		if err != nil || p.Total != 3 {
			t.Fatalf("audit for asset: %d events (%v), want 3", p.Total, err)
		}
		upd := p.Items[1] // newest first: delete, update, create
		if upd.Action != "update" || upd.ActorName != "officer.a" || upd.IP != "10.0.0.7" || upd.At.IsZero() {
			t.Fatalf("update event %+v", upd)
		}
		var before, after model.Asset
		json.Unmarshal(upd.Before, &before)
		json.Unmarshal(upd.After, &after)
		if before.SecurityLevel != 2 || after.SecurityLevel != 3 {
			t.Fatalf("audit before/after levels %d → %d, want 2 → 3", before.SecurityLevel, after.SecurityLevel)
		}
		if p.Items[0].Action != "delete" || p.Items[0].After != nil || p.Items[2].Action != "create" || p.Items[2].Before != nil {
			t.Fatalf("create/delete events %+v", p.Items)
		}
		// Password changes are audited without the hash.
		if err := s.SetPassword(ctx, admin(), tr.officerA.UserID, "$argon2id$secret-hash", ""); err != nil {
			t.Fatal(err)
		}
		all, _ := s.ListAudit(ctx, model.System, storage.AuditFilter{Limit: 500})
		for _, e := range all.Items {
			if strings.Contains(string(e.Before)+string(e.After), "secret-hash") || strings.Contains(string(e.After), "password_hash") {
				t.Fatalf("audit event leaks a password hash: %+v", e)
			}
		}
		// Since/until filter.
		if p, _ := s.ListAudit(ctx, model.System, storage.AuditFilter{Since: time.Now().Add(time.Hour)}); p.Total != 0 {
			t.Fatalf("audit since the future: %d", p.Total)
		}
	})
}

func TestAssetFiltersAndConflicts(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		tr := seed(t, s)
		a := asset(tr.deptA.ID, "Cổng thông tin điện tử")
		a.Tags = []string{"Tết", "public", "public"}
		if err := s.CreateAsset(ctx, admin(), a); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(a.Tags, ","); got != "public,tết" {
			t.Fatalf("tags normalised to %q", got)
		}
		srv := &model.Asset{AgencyID: tr.deptB.ID, Kind: model.AssetServer, Name: "db01", Address: "10.1.1.1", SecurityLevel: 3}
		if err := s.CreateAsset(ctx, admin(), srv); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			f    storage.AssetFilter
			want int64
		}{
			{storage.AssetFilter{Query: "cong thong tin dien tu"}, a.ID},
			{storage.AssetFilter{Kind: model.AssetServer}, srv.ID},
			{storage.AssetFilter{Level: 3}, srv.ID},
			{storage.AssetFilter{Tag: "public"}, a.ID},
			{storage.AssetFilter{AgencyID: tr.province.ID, Kind: model.AssetWebsite}, a.ID},
		}
		for _, c := range cases {
			p, err := s.ListAssets(ctx, model.System, c.f)
			if err != nil || p.Total != 1 || p.Items[0].ID != c.want {
				t.Errorf("filter %+v: %+v %v", c.f, p.Items, err)
			}
		}
		// LIKE wildcards in a query are literal.
		if p, _ := s.ListAssets(ctx, model.System, storage.AssetFilter{Query: "%"}); p.Total != 0 {
			t.Errorf("query %%: %d results", p.Total)
		}
		// Pagination.
		p, _ := s.ListAssets(ctx, model.System, storage.AssetFilter{Limit: 1, Offset: 1})
		if p.Total != 2 || len(p.Items) != 1 {
			t.Errorf("page: %+v", p)
		}
		dup := asset(tr.deptA.ID, "Cổng thông tin điện tử")
		if err := s.CreateAsset(ctx, admin(), dup); !errors.Is(err, model.ErrConflict) {
			t.Fatalf("duplicate asset: %v", err)
		}
		bad := asset(tr.deptA.ID, "x")
		bad.SecurityLevel = 7
		var ve *model.ValidationError
		if err := s.CreateAsset(ctx, admin(), bad); !errors.As(err, &ve) || ve.Field != "security_level" {
			t.Fatalf("level 7: %v", err)
		}
		counts, err := s.AssetCountsByAgency(ctx, tr.officerA.Scope)
		if err != nil || len(counts) != 2 || counts[0].Total != 1 || counts[0].ByKind[model.AssetWebsite] != 1 {
			t.Fatalf("counts for officer A: %+v %v", counts, err)
		}
	})
}

func TestImportAllOrNothing(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		tr := seed(t, s)
		rows := []storage.ImportRow{
			{Line: 2, Asset: *asset(tr.deptA.ID, "one")},
			{Line: 3, Asset: *asset(tr.deptA.ID, "one")},     // duplicate of line 2
			{Line: 4, Asset: *asset(tr.deptB.ID, "outside")}, // not in officer A's scope
			{Line: 5, Err: model.Invalid("security_level", "is not a number")},
			{Line: 6, Asset: *asset(tr.unitA.ID, "two")},
		}
		res, err := s.ImportAssets(ctx, tr.officerA, rows, false)
		if err != nil {
			t.Fatal(err)
		}
		if res.Imported != 0 || len(res.Errors) != 3 || res.Errors[0].Line != 3 || res.Errors[1].Line != 4 || res.Errors[1].Field != "agency_id" || res.Errors[2].Line != 5 {
			t.Fatalf("strict import: %+v", res)
		}
		if p, _ := s.ListAssets(ctx, model.System, storage.AssetFilter{}); p.Total != 0 {
			t.Fatalf("strict import with bad rows wrote %d assets", p.Total)
		}
		res, err = s.ImportAssets(ctx, tr.officerA, rows, true)
		if err != nil || res.Imported != 2 || len(res.Errors) != 3 {
			t.Fatalf("partial import: %+v %v", res, err)
		}
		if p, _ := s.ListAssets(ctx, model.System, storage.AssetFilter{}); p.Total != 2 {
			t.Fatalf("partial import wrote %d assets, want 2", p.Total)
		}
	})
}

func TestSessionsAndTokensExpire(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		tr := seed(t, s)
		now := time.Now().UTC()
		sess := model.Session{TokenHash: "h1", UserID: tr.officerA.UserID, CSRFToken: "c", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := s.CreateSession(ctx, tr.officerA, &sess, &tr.deptA.ID); err != nil {
			t.Fatal(err)
		}
		_, u, path, err := s.SessionByHash(ctx, "h1", now)
		if err != nil || u.Username != "officer.a" || path != tr.deptA.Path {
			t.Fatalf("session lookup: %v %+v %q", err, u, path)
		}
		if _, _, _, err := s.SessionByHash(ctx, "h1", now.Add(2*time.Hour)); !errors.Is(err, model.ErrNotFound) {
			t.Fatalf("expired session accepted: %v", err)
		}
		if err := s.DeleteSession(ctx, tr.officerA, "h1"); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := s.SessionByHash(ctx, "h1", now); !errors.Is(err, model.ErrNotFound) {
			t.Fatalf("session survives logout: %v", err)
		}
		exp := now.Add(time.Minute)
		tok := model.APIToken{UserID: tr.officerA.UserID, Name: "script", Prefix: "cgk_abcd", ExpiresAt: &exp}
		if err := s.CreateToken(ctx, admin(), &tok, "th"); err != nil {
			t.Fatal(err)
		}
		if _, u, _, err := s.TokenByHash(ctx, "th", now); err != nil || u.ID != tr.officerA.UserID {
			t.Fatalf("token lookup: %v", err)
		}
		if _, _, _, err := s.TokenByHash(ctx, "th", now.Add(time.Hour)); !errors.Is(err, model.ErrNotFound) {
			t.Fatalf("expired token accepted: %v", err)
		}
		// Disabling a user revokes their tokens.
		u, _ = s.GetUser(ctx, model.System, tr.officerA.UserID)
		u.Disabled = true
		if err := s.UpdateUser(ctx, admin(), &u); err != nil {
			t.Fatal(err)
		}
		if _, _, _, err := s.TokenByHash(ctx, "th", now); !errors.Is(err, model.ErrNotFound) {
			t.Fatalf("token of a disabled user accepted: %v", err)
		}
	})
}

// Migrations 0008 and 0009 move installed packages into a table of
// distinct package builds and one id list per agent: every row written
// the 0007 way comes through, and a build two agents share is stored once.
func TestMigrationNormalisesPackages(t *testing.T) {
	for _, b := range storagetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			dir, u := b.URL(t)
			restore := storage.MigrateOnlyTo(7)
			s, err := storage.Open(ctx, dir, u)
			restore()
			if err != nil {
				t.Fatal(err)
			}
			if v, _ := s.AppliedVersion(ctx); v != 7 {
				t.Fatalf("at version %d, want 7", v)
			}
			ag := model.Agency{Name: "Sở Y tế", Kind: model.AgencyProvince}
			if err := s.CreateAgency(ctx, admin(), &ag); err != nil {
				t.Fatal(err)
			}
			now := time.Now().UTC()
			for i, id := range []int64{1, 2} {
				if _, err := s.DB().Exec(s.Rebind(`INSERT INTO agents (id, agency_id, agency_path, machine_id, secret_hash, enrolled_at) VALUES (?, ?, '/', ?, ?, ?)`),
					id, ag.ID, fmt.Sprintf("m%d", i), fmt.Sprintf("h%d", i), now); err != nil {
					t.Fatal(err)
				}
			}
			rows := [][]any{
				{1, "deb", "openssl", "amd64", "3.0.11-1", "openssl", "3.0.11-1", ""},
				{2, "deb", "openssl", "amd64", "3.0.11-1", "openssl", "3.0.11-1", ""},
				{1, "rpm", "kernel", "x86_64", "5.14.0-1", "", "", "Rocky"},
				{1, "rpm", "kernel", "x86_64", "5.14.0-2", "", "", "Rocky"},
				{2, "windows", "Mozilla Firefox (x64 vi)", "x64", "128.0", "", "", "Mozilla"},
			}
			for _, r := range rows {
				if _, err := s.DB().Exec(s.Rebind(`INSERT INTO agent_packages (agent_id, ecosystem, name, arch, version, source_name, source_version, origin)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?)`), r...); err != nil {
					t.Fatal(err)
				}
			}
			s.Close()
			s, err = storage.Open(ctx, dir, u)
			if err != nil {
				t.Fatalf("migrating on: %v", err)
			}
			defer s.Close()
			var builds, lists int
			s.DB().QueryRow(`SELECT COUNT(*) FROM inventory_packages`).Scan(&builds)
			s.DB().QueryRow(`SELECT COUNT(*) FROM agent_inventory`).Scan(&lists)
			if builds != 4 || lists != 2 {
				t.Fatalf("%d builds and %d package lists, want 4 and 2", builds, lists)
			}
			id := map[string]int64{}
			q, err := s.DB().Query(`SELECT id, ecosystem, name, arch, version, source_name, source_version, origin FROM inventory_packages`)
			if err != nil {
				t.Fatal(err)
			}
			for q.Next() {
				var n int64
				var f [7]string
				if err := q.Scan(&n, &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6]); err != nil {
					t.Fatal(err)
				}
				id[fmt.Sprint(f)] = n
			}
			q.Close()
			// Each agent's list is its builds' ids, ascending, as differences.
			want := map[int64][]int64{}
			for _, r := range rows {
				f := [7]string{}
				for i := range f {
					f[i] = r[i+1].(string)
				}
				n, ok := id[fmt.Sprint(f)]
				if !ok {
					t.Fatalf("build %v was not carried over", f)
				}
				a := int64(r[0].(int))
				want[a] = append(want[a], n)
			}
			for a, ids := range want {
				slices.Sort(ids)
				var deltas []string
				prev := int64(0)
				for _, n := range ids {
					deltas = append(deltas, fmt.Sprint(n-prev))
					prev = n
				}
				var got string
				if err := s.DB().QueryRow(s.Rebind(`SELECT package_ids FROM agent_inventory WHERE agent_id = ?`), a).Scan(&got); err != nil {
					t.Fatal(err)
				}
				if got != strings.Join(deltas, ",") {
					t.Fatalf("agent %d's list is %q, want %q (ids %v)", a, got, strings.Join(deltas, ","), ids)
				}
			}
		})
	}
}

// On SQLite, transactions run on the writer connection with its own big
// page cache and in-memory statement journals; plain reads use the pool.
func TestSQLiteWriterConnection(t *testing.T) {
	s := storagetest.Backends(t)[0].Open(t)
	var cache, temp int
	if err := s.InTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRow(`PRAGMA cache_size`).Scan(&cache); err != nil {
			return err
		}
		return tx.QueryRow(`PRAGMA temp_store`).Scan(&temp)
	}); err != nil {
		t.Fatal(err)
	}
	if cache != -65536 || temp != 2 {
		t.Fatalf("writer: cache_size %d, temp_store %d; want -65536 and 2", cache, temp)
	}
	if err := s.DB().QueryRow(`PRAGMA cache_size`).Scan(&cache); err != nil || cache == -65536 {
		t.Fatalf("readers share the writer's cache size (%d, %v)", cache, err)
	}
}
