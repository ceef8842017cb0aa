package fleet

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"canhgac/internal/inventory"
	"canhgac/internal/model"
	"canhgac/internal/storage"
	"canhgac/internal/storage/storagetest"
)

// Uploads that wait together are written in one transaction; when one of
// them cannot be applied (its agent's list changed since its diff was
// made), it fails alone and the others are stored.
func TestInventoryGroupCommit(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, st *storage.Store) {
		ctx := context.Background()
		s, err := New(st, nil, Config{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ag := model.Agency{Name: "Sở Y tế", Kind: model.AgencyProvince}
		if err := st.CreateAgency(ctx, model.Actor{Scope: model.System}, &ag); err != nil {
			t.Fatal(err)
		}
		admin := model.Actor{Scope: model.Scope{Role: model.RoleAdmin, Username: "admin"}}
		tok := EnrollmentToken{AgencyID: ag.ID, MaxUses: 10}
		secret, err := s.CreateToken(ctx, admin, &tok, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		pkgs := func(n int, v string) []inventory.Package {
			var out []inventory.Package
			for i := range n {
				out = append(out, inventory.Package{Ecosystem: "deb", Name: fmt.Sprintf("lib%03d", i), Arch: "amd64", Version: v})
			}
			return out
		}
		var agents []Agent
		var jobs []*invJob
		for i := range 5 {
			en, err := s.Enroll(ctx, EnrollRequest{Token: secret, MachineID: fmt.Sprintf("m%d", i), Hostname: fmt.Sprintf("h%d", i), OSName: "Debian GNU/Linux"}, "")
			if err != nil {
				t.Fatal(err)
			}
			a, err := s.Authenticate(ctx, en.Secret)
			if err != nil {
				t.Fatal(err)
			}
			agents = append(agents, a)
			j, err := s.prepareInventory(ctx, a, InventoryUpload{Full: true, Packages: pkgs(300, "1.0-1")})
			if err != nil {
				t.Fatal(err)
			}
			jobs = append(jobs, j)
		}
		// Agent 0's list changes after its job was prepared: that job is stale.
		if _, err := s.StoreInventory(ctx, agents[0], InventoryUpload{Full: true, Packages: pkgs(10, "2.0-1")}); err != nil {
			t.Fatal(err)
		}
		// Hold the writer until every job waits, so they form one batch.
		s.invWriter <- struct{}{}
		var wg sync.WaitGroup
		errs := make([]error, len(jobs))
		for i, j := range jobs {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = s.commitInventory(ctx, j) }()
		}
		for {
			s.invMu.Lock()
			n := len(s.invQueue)
			s.invMu.Unlock()
			if n == len(jobs) {
				break
			}
			time.Sleep(time.Millisecond)
		}
		<-s.invWriter
		wg.Wait()
		if !errors.Is(errs[0], ErrInventoryBase) {
			t.Fatalf("the stale upload: %v", errs[0])
		}
		for i := 1; i < len(jobs); i++ {
			if errs[i] != nil {
				t.Fatalf("upload %d failed with the stale one: %v", i, errs[i])
			}
			if got, _ := s.Packages(ctx, model.System, agents[i].ID, ""); len(got) != 300 {
				t.Fatalf("agent %d holds %d packages, want 300", i, len(got))
			}
		}
		if got, _ := s.Packages(ctx, model.System, agents[0].ID, ""); len(got) != 10 || got[0].Version != "2.0-1" {
			t.Fatalf("agent 0 holds %d packages: the stale upload overwrote the newer list", len(got))
		}
		// Many at once, as when a fleet is rolled out: all stored.
		var wg2 sync.WaitGroup
		for i, a := range agents[1:] {
			wg2.Add(1)
			go func() {
				defer wg2.Done()
				if _, err := s.StoreInventory(ctx, a, InventoryUpload{Full: true, Packages: pkgs(200+i, "3.0-1")}); err != nil {
					t.Error(err)
				}
			}()
		}
		wg2.Wait()
		for i, a := range agents[1:] {
			if got, _ := s.Packages(ctx, model.System, a.ID, ""); len(got) != 200+i || got[0].Version != "3.0-1" {
				t.Fatalf("agent %d after concurrent uploads: %d packages", i+1, len(got))
			}
		}
	})
}
