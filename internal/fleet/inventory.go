package fleet

import (
	"cmp"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"canhgac/internal/inventory"
	"canhgac/internal/model"
	"canhgac/internal/storage"
	"canhgac/internal/version"
)

// InventoryUpload is an agent's inventory: the whole package list the
// first time (or when the server asks for it), a delta against the last
// accepted list afterwards.
type InventoryUpload struct {
	Host     inventory.Host      `json:"host"`
	Full     bool                `json:"full"`
	Packages []inventory.Package `json:"packages,omitempty"` // when Full
	Delta    *inventory.Delta    `json:"delta,omitempty"`    // when not Full
	// Base is the hash of the list the delta applies to; Hash the hash of
	// the resulting list (PackagesHash). A mismatch means the two sides
	// disagree, and the agent sends the full list.
	Base        string    `json:"base,omitempty"`
	Hash        string    `json:"hash"`
	Hotfixes    []string  `json:"hotfixes,omitempty"`
	CollectedAt time.Time `json:"collected_at"`
}

// ErrInventoryBase means a delta does not apply to what the server holds:
// the agent must send its full list.
var ErrInventoryBase = fmt.Errorf("%w: inventory delta does not apply to the server's copy; send the full list", model.ErrConflict)

// PackagesHash identifies a package list independent of its order. Agent
// and server compute it alike to agree on what a delta applies to.
func PackagesHash(pkgs []inventory.Package) string {
	lines := make([]string, len(pkgs))
	for i, p := range pkgs {
		lines[i] = strings.Join([]string{p.Ecosystem, p.Name, p.Arch, p.Version, p.SourceName, p.SourceVersion, p.Origin}, "\x00")
	}
	slices.Sort(lines)
	h := sha256.New()
	for _, l := range lines {
		h.Write([]byte(l))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// StoreInventory applies an agent's upload: the package table is brought
// to the new list, every difference is recorded in the agent's history
// ("openssl 3.0.11-1 → 3.0.13-1"), and the host facts are updated. It
// returns the number of changes.
//
// Uploads arriving together are written in one transaction (group
// commit): agents of a fleet share most package builds, so a batch of
// uploads touches nearly the same index pages as one upload does, and
// pays for one commit.
func (s *Service) StoreInventory(ctx context.Context, a Agent, up InventoryUpload) (int, error) {
	job, err := s.prepareInventory(ctx, a, up)
	if err != nil {
		return 0, err
	}
	if err := s.commitInventory(ctx, job); err != nil {
		return 0, err
	}
	return len(job.d.Added) + len(job.d.Removed) + len(job.d.Changed), nil
}

// invJob is one prepared inventory upload waiting to be written.
type invJob struct {
	a      Agent
	base   string // the agent's inventory_hash the diff was made against
	hash   string // the new list's hash
	d      inventory.Delta
	curIDs map[pkgKey]int64
	first  bool
	count  int
	host   string
	up     InventoryUpload
	done   chan error
}

// prepareInventory validates an upload and works out its changes against
// what is stored, outside any write transaction.
func (s *Service) prepareInventory(ctx context.Context, a Agent, up InventoryUpload) (*invJob, error) {
	var held string
	if err := s.store.DB().QueryRowContext(ctx, s.store.Rebind(`SELECT inventory_hash FROM agents WHERE id = ?`), a.ID).Scan(&held); err != nil {
		return nil, err
	}
	cur, curIDs, err := s.packagesWithIDs(ctx, a.ID)
	if err != nil {
		return nil, err
	}
	var next []inventory.Package
	switch {
	case up.Full:
		next = up.Packages
	case up.Delta == nil:
		return nil, model.Invalid("delta", "is required unless full is true")
	default:
		if held == "" || up.Base != held {
			return nil, ErrInventoryBase
		}
		next = up.Delta.Apply(cur)
	}
	inv := inventory.Inventory{Host: up.Host, Packages: next, Hotfixes: up.Hotfixes, CollectedAt: up.CollectedAt}
	if err := inventory.Validate(&inv); err != nil {
		return nil, model.Invalid("inventory", "%v", err)
	}
	hash := PackagesHash(next)
	if up.Hash != "" && up.Hash != hash {
		return nil, ErrInventoryBase
	}
	host, _ := json.Marshal(struct {
		inventory.Host
		Hotfixes    []string  `json:"hotfixes,omitempty"`
		CollectedAt time.Time `json:"collected_at"`
	}{up.Host, up.Hotfixes, up.CollectedAt})
	return &invJob{a: a, base: held, hash: hash, d: inventory.Diff(cur, next), curIDs: curIDs, first: len(cur) == 0, count: len(next),
		host: string(host), up: up, done: make(chan error, 1)}, nil
}

// maxInventoryBatch bounds the uploads one transaction writes.
const maxInventoryBatch = 32

// commitInventory writes job, together with whatever other uploads are
// waiting: the first to find the writer free writes the whole queue. If a
// batch fails, its uploads are written one by one, so that one bad upload
// fails alone.
func (s *Service) commitInventory(ctx context.Context, job *invJob) error {
	s.invMu.Lock()
	s.invQueue = append(s.invQueue, job)
	s.invMu.Unlock()
	select {
	case s.invWriter <- struct{}{}:
	case err := <-job.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-s.invWriter }()
	for {
		select {
		case err := <-job.done: // written by the batch before ours
			return err
		default:
		}
		s.invMu.Lock()
		batch := s.invQueue[:min(len(s.invQueue), maxInventoryBatch)]
		s.invQueue = s.invQueue[len(batch):]
		s.invMu.Unlock()
		if len(batch) == 0 {
			return <-job.done
		}
		// The batch is everyone's: it must not die with this request.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		learned := map[pkgKey]int64{}
		err := s.inTx(wctx, func(tx *sql.Tx) error {
			clear(learned)
			for _, j := range batch {
				if err := s.applyInventory(wctx, tx, j, learned); err != nil {
					return err
				}
			}
			return nil
		})
		if err == nil {
			s.learnPackageIDs(learned)
			for _, j := range batch {
				j.done <- nil
			}
		} else {
			for _, j := range batch {
				if len(batch) == 1 {
					j.done <- err
					continue
				}
				one := map[pkgKey]int64{}
				jerr := s.inTx(wctx, func(tx *sql.Tx) error { clear(one); return s.applyInventory(wctx, tx, j, one) })
				if jerr == nil {
					s.learnPackageIDs(one)
				}
				j.done <- jerr
			}
		}
		cancel()
	}
}

// applyInventory writes one prepared upload inside tx.
func (s *Service) applyInventory(ctx context.Context, tx *sql.Tx, j *invJob, learned map[pkgKey]int64) error {
	// Another upload of this agent may have landed since the diff was
	// made: then the diff is stale, and the agent sends its list again.
	var held string
	if err := tx.QueryRowContext(ctx, s.store.Rebind(`SELECT inventory_hash FROM agents WHERE id = ?`), j.a.ID).Scan(&held); err != nil {
		return err
	}
	if held != j.base {
		return ErrInventoryBase
	}
	now := s.store.Now()
	hist, err := tx.PrepareContext(ctx, s.store.Rebind(`INSERT INTO agent_changes (agent_id, at, change, ecosystem, name, arch, old_version, new_version)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`))
	if err != nil {
		return err
	}
	defer hist.Close()
	var gone, added []inventory.Package
	record := func(change string, p inventory.Package, old, new string) error {
		if j.first {
			return nil // the first inventory is not a history of changes
		}
		_, err := hist.ExecContext(ctx, j.a.ID, now, change, p.Ecosystem, p.Name, p.Arch, old, new)
		return err
	}
	for _, p := range j.d.Removed {
		gone = append(gone, p)
		if err := record("removed", p, p.Version, ""); err != nil {
			return err
		}
	}
	for _, c := range j.d.Changed {
		gone, added = append(gone, c.Old), append(added, c.New)
		if c.Old.Version != c.New.Version {
			if err := record("changed", c.New, c.Old.Version, c.New.Version); err != nil {
				return err
			}
		}
	}
	for _, p := range j.d.Added {
		added = append(added, p)
		if err := record("added", p, "", p.Version); err != nil {
			return err
		}
	}
	set := make(map[int64]bool, len(j.curIDs)+len(added))
	for _, id := range j.curIDs {
		set[id] = true
	}
	for _, p := range gone {
		delete(set, j.curIDs[keyOf(p)])
	}
	addIDs, err := s.packageIDs(ctx, tx, added, learned)
	if err != nil {
		return err
	}
	for _, id := range addIDs {
		set[id] = true
	}
	if _, err := tx.ExecContext(ctx, s.store.Rebind(`INSERT INTO agent_inventory (agent_id, package_ids) VALUES (?, ?)
		ON CONFLICT (agent_id) DO UPDATE SET package_ids = excluded.package_ids`), j.a.ID, encodeIDs(slices.Sorted(maps.Keys(set)))); err != nil {
		return err
	}
	a, up := j.a, j.up
	_, err = tx.ExecContext(ctx, s.store.Rebind(`UPDATE agents SET inventory_hash = ?, packages = ?, host = ?, hostname = ?, os_name = ?, os_version = ?
		WHERE id = ?`), j.hash, j.count, j.host, nonEmpty(up.Host.Hostname, a.Hostname), nonEmpty(up.Host.OSName, a.OSName),
		nonEmpty(up.Host.OSVersion, a.OSVersion), a.ID)
	return err
}

// pkgKey identifies a package build: every column of inventory_packages.
type pkgKey struct {
	ecosystem, name, arch, version, sourceName, sourceVersion, origin string
}

func keyOf(p inventory.Package) pkgKey {
	return pkgKey{p.Ecosystem, p.Name, p.Arch, p.Version, p.SourceName, p.SourceVersion, p.Origin}
}

// maxPackageIDCache bounds the in-memory map of package build ids (some
// 200 bytes an entry); a fleet has far fewer distinct builds than this.
const maxPackageIDCache = 200_000

// learnPackageIDs adds ids of a committed transaction to the cache. Only
// committed ids are cached: a rolled-back insert's id does not exist.
func (s *Service) learnPackageIDs(ids map[pkgKey]int64) {
	if len(ids) == 0 {
		return
	}
	s.pkgMu.Lock()
	defer s.pkgMu.Unlock()
	if len(s.pkgIDs)+len(ids) > maxPackageIDCache {
		clear(s.pkgIDs)
	}
	for k, id := range ids {
		s.pkgIDs[k] = id
	}
}

// packageIDs returns the ids of pkgs' builds, adding builds not yet known
// to inventory_packages. Ids it had to look up are added to learned.
func (s *Service) packageIDs(ctx context.Context, tx *sql.Tx, pkgs []inventory.Package, learned map[pkgKey]int64) ([]int64, error) {
	ids := make([]int64, 0, len(pkgs))
	var missing []inventory.Package
	s.pkgMu.Lock()
	for _, p := range pkgs {
		if id, ok := s.pkgIDs[keyOf(p)]; ok {
			ids = append(ids, id)
		} else if id, ok := learned[keyOf(p)]; ok { // earlier in this transaction
			ids = append(ids, id)
		} else {
			missing = append(missing, p)
		}
	}
	s.pkgMu.Unlock()
	for len(missing) > 0 {
		batch := missing[:min(len(missing), insertBatch)]
		missing = missing[len(batch):]
		var b strings.Builder
		b.WriteString(`INSERT INTO inventory_packages (ecosystem, name, arch, version, source_name, source_version, origin) VALUES `)
		args := make([]any, 0, len(batch)*7)
		names := make([]any, 0, len(batch))
		for i, p := range batch {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?, ?, ?, ?)")
			args = append(args, p.Ecosystem, p.Name, p.Arch, p.Version, p.SourceName, p.SourceVersion, p.Origin)
			names = append(names, p.Name)
		}
		b.WriteString(` ON CONFLICT DO NOTHING`)
		if _, err := tx.ExecContext(ctx, s.store.Rebind(b.String()), args...); err != nil {
			return nil, err
		}
		rows, err := tx.QueryContext(ctx, s.store.Rebind(`SELECT `+buildColumns+` FROM inventory_packages WHERE name IN (`+placeholders(len(names))+`)`), names...)
		if err != nil {
			return nil, err
		}
		found := map[pkgKey]int64{}
		for rows.Next() {
			id, p, err := scanBuild(rows)
			if err != nil {
				rows.Close()
				return nil, err
			}
			found[keyOf(p)] = id
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		for _, p := range batch {
			id, ok := found[keyOf(p)]
			if !ok {
				return nil, fmt.Errorf("fleet: package build %s %s %s not stored", p.Ecosystem, p.Name, p.Version)
			}
			ids = append(ids, id)
			learned[keyOf(p)] = id
		}
	}
	return ids, nil
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}

// insertBatch is how many package builds one INSERT carries (7 parameters
// each, well under SQLite's and PostgreSQL's parameter limits).
const insertBatch = 250

func nonEmpty(v, fallback string) string {
	if v == "" {
		return fallback
	}
	return v
}

// packages is an agent's stored package list.
func (s *Service) packages(ctx context.Context, agentID int64) ([]inventory.Package, error) {
	out, _, err := s.packagesWithIDs(ctx, agentID)
	return out, err
}

// packagesWithIDs is an agent's stored package list with each build's id.
func (s *Service) packagesWithIDs(ctx context.Context, agentID int64) ([]inventory.Package, map[pkgKey]int64, error) {
	var list string
	err := s.store.DB().QueryRowContext(ctx, s.store.Rebind(`SELECT package_ids FROM agent_inventory WHERE agent_id = ?`), agentID).Scan(&list)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, map[pkgKey]int64{}, nil
	}
	if err != nil {
		return nil, nil, err
	}
	ids, err := decodeIDs(list)
	if err != nil {
		return nil, nil, fmt.Errorf("agent %d: %w", agentID, err)
	}
	builds, err := s.builds(ctx, ids)
	if err != nil {
		return nil, nil, err
	}
	out := make([]inventory.Package, 0, len(ids))
	byKey := make(map[pkgKey]int64, len(ids))
	for _, id := range ids {
		p, ok := builds[id]
		if !ok {
			return nil, nil, fmt.Errorf("fleet: agent %d lists package build %d, which is not stored", agentID, id)
		}
		out = append(out, p)
		byKey[keyOf(p)] = id
	}
	inventory.SortPackages(out)
	return out, byKey, nil
}

// buildColumns are the columns of a package build, read by scanBuild.
const buildColumns = `id, ecosystem, name, arch, version, source_name, source_version, origin`

func scanBuild(rows *sql.Rows) (int64, inventory.Package, error) {
	var id int64
	var p inventory.Package
	err := rows.Scan(&id, &p.Ecosystem, &p.Name, &p.Arch, &p.Version, &p.SourceName, &p.SourceVersion, &p.Origin)
	return id, p, err
}

// builds reads package builds by id.
func (s *Service) builds(ctx context.Context, ids []int64) (map[int64]inventory.Package, error) {
	out := make(map[int64]inventory.Package, len(ids))
	for len(ids) > 0 {
		batch := ids[:min(len(ids), 500)]
		ids = ids[len(batch):]
		args := make([]any, len(batch))
		for i, id := range batch {
			args[i] = id
		}
		rows, err := s.store.DB().QueryContext(ctx, s.store.Rebind(`SELECT `+buildColumns+` FROM inventory_packages WHERE id IN (`+placeholders(len(batch))+`)`), args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			id, p, err := scanBuild(rows)
			if err != nil {
				rows.Close()
				return nil, err
			}
			out[id] = p
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Packages lists an agent's packages in the caller's scope, filtered by a
// name substring.
func (s *Service) Packages(ctx context.Context, sc model.Scope, agentID int64, q string) ([]inventory.Package, error) {
	if _, err := s.Get(ctx, sc, agentID); err != nil {
		return nil, err
	}
	all, err := s.packages(ctx, agentID)
	if err != nil {
		return nil, err
	}
	q = strings.ToLower(strings.TrimSpace(q))
	out := []inventory.Package{}
	for _, p := range all {
		if q == "" || strings.Contains(strings.ToLower(p.Name), q) || strings.Contains(strings.ToLower(p.SourceName), q) {
			out = append(out, p)
		}
	}
	return out, nil
}

// PackageChange is one entry of an agent's software history.
type PackageChange struct {
	At         time.Time `json:"at"`
	Change     string    `json:"change"` // added, removed, changed
	Ecosystem  string    `json:"ecosystem"`
	Name       string    `json:"name"`
	Arch       string    `json:"arch"`
	OldVersion string    `json:"old_version,omitempty"`
	NewVersion string    `json:"new_version,omitempty"`
}

// Changes lists an agent's software history, newest first.
func (s *Service) Changes(ctx context.Context, sc model.Scope, agentID int64, limit int) ([]PackageChange, error) {
	if _, err := s.Get(ctx, sc, agentID); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 1000 {
		limit = 200
	}
	rows, err := s.store.DB().QueryContext(ctx, s.store.Rebind(`SELECT at, change, ecosystem, name, arch, old_version, new_version FROM agent_changes
		WHERE agent_id = ? ORDER BY id DESC LIMIT ?`), agentID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []PackageChange{}
	for rows.Next() {
		var c PackageChange
		if err := rows.Scan(&c.At, &c.Change, &c.Ecosystem, &c.Name, &c.Arch, &c.OldVersion, &c.NewVersion); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Installation is a package found on an agent, for fleet-wide searches.
type Installation struct {
	AgentID   int64  `json:"agent_id"`
	AgencyID  int64  `json:"agency_id"`
	Hostname  string `json:"hostname"`
	OSName    string `json:"os_name"`
	OSVersion string `json:"os_version"`
	inventory.Package
	// Undecided says why the installed version could not be compared with
	// the query's bound; such installations are listed, never dropped.
	Undecided string `json:"undecided,omitempty"`
}

// PackageQuery asks "which hosts have package X [older than V]".
type PackageQuery struct {
	// Name is a binary or source package name, matched exactly.
	Name string
	// Ecosystem, if set, limits the search to "deb", "rpm", "apk" or
	// "windows".
	Ecosystem string
	// Below, if set, keeps only versions ordered before it by each
	// ecosystem's own rules (dpkg, rpmvercmp, apk): "openssl < 3.0.13".
	Below string
}

// FindPackage answers "which hosts have package X (older than V)": every
// installation of the named package (or source package) on agents in the
// caller's scope. With a bound, versions that cannot be compared are kept
// and marked Undecided rather than guessed either way.
func (s *Service) FindPackage(ctx context.Context, sc model.Scope, q PackageQuery) ([]Installation, error) {
	if !sc.Can(model.ActionRead, model.ResourceAgent) {
		return nil, model.ErrForbidden
	}
	name := strings.TrimSpace(q.Name)
	if name == "" || len(name) > 200 {
		return nil, model.Invalid("name", "is required")
	}
	below := strings.TrimSpace(q.Below)
	if len(below) > 200 {
		return nil, model.Invalid("below", "is too long")
	}
	if below != "" && q.Ecosystem != "" {
		if err := version.Validate(q.Ecosystem, below); err != nil {
			return nil, model.Invalid("below", "%v", err)
		}
	}
	// First the few builds of that name, each judged once against the
	// bound; then every agent's list, read once, for those builds.
	var bw storage.Where
	bw.Add("(name = ? OR source_name = ?)", name, name)
	if q.Ecosystem != "" {
		bw.Add("ecosystem = ?", q.Ecosystem)
	}
	rows, err := s.store.DB().QueryContext(ctx, s.store.Rebind(`SELECT `+buildColumns+` FROM inventory_packages`+bw.String()), bw.Args()...)
	if err != nil {
		return nil, err
	}
	type build struct {
		inventory.Package
		undecided string
	}
	found := map[int64]build{}
	for rows.Next() {
		id, p, err := scanBuild(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		b := build{Package: p}
		if below != "" {
			// A binary package found by its source name is judged by the
			// source's version, which is what advisories name.
			v := b.Version
			if b.Name != name && b.SourceName == name && b.SourceVersion != "" {
				v = b.SourceVersion
			}
			c, err := version.Compare(b.Ecosystem, v, below)
			switch {
			case err != nil:
				b.undecided = err.Error()
			case c >= 0:
				continue
			}
		}
		found[id] = b
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := []Installation{}
	if len(found) == 0 {
		return out, nil
	}
	lo, hi := int64(math.MaxInt64), int64(0)
	for id := range found {
		lo, hi = min(lo, id), max(hi, id)
	}
	var w storage.Where
	w.Add("a.revoked_at IS NULL")
	if !sc.Global() {
		w.Add("a.agency_path LIKE ?", sc.AgencyPath+"%")
	}
	rows, err = s.store.DB().QueryContext(ctx, s.store.Rebind(`SELECT a.id, a.agency_id, a.hostname, a.os_name, a.os_version, i.package_ids
		FROM agents a JOIN agent_inventory i ON i.agent_id = a.id`+w.String()+` ORDER BY a.hostname, a.id`), w.Args()...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var hits []int64
	for rows.Next() {
		var in Installation
		var list string
		if err := rows.Scan(&in.AgentID, &in.AgencyID, &in.Hostname, &in.OSName, &in.OSVersion, &list); err != nil {
			return nil, err
		}
		hits = hits[:0]
		if err := eachID(list, func(id int64) bool {
			if id >= lo {
				if _, ok := found[id]; ok {
					hits = append(hits, id)
				}
			}
			return id < hi // lists are ascending: past the last build, stop
		}); err != nil {
			return nil, fmt.Errorf("agent %d: %w", in.AgentID, err)
		}
		first := len(out)
		for _, id := range hits {
			b := found[id]
			in.Package, in.Undecided = b.Package, b.undecided
			out = append(out, in)
		}
		slices.SortFunc(out[first:], func(x, y Installation) int {
			return cmp.Or(strings.Compare(x.Name, y.Name), strings.Compare(x.Version, y.Version))
		})
		if len(out) >= maxInstallations {
			return out[:maxInstallations], rows.Err()
		}
	}
	return out, rows.Err()
}

// maxInstallations bounds a fleet search's answer.
const maxInstallations = 20000
