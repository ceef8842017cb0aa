// Package fleet is the server side of canhgac's endpoint agents: enrollment
// tokens, enrolled agents (each one an asset of its agency), their health
// from heartbeats, the events they upload (stored exactly once, keyed by
// the agent's sequence numbers), and signed tasks delivered by long-poll.
//
// Agents authenticate with a per-agent secret issued at enrollment; only
// its SHA-256 is stored. Tasks are signed with the server's Ed25519 key,
// whose public half each agent receives at enrollment, so a row altered in
// the database cannot make an agent do anything: the agent verifies every
// task, and there is no task that runs a shell command.
package fleet

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"canhgac/internal/alert"
	"canhgac/internal/storage"
)

// Alerter is the part of the alert pipeline the fleet uses.
type Alerter interface {
	Raise(ctx context.Context, a alert.Alert) (alert.RaiseResult, error)
	Recover(ctx context.Context, source, key string) (bool, error)
	OpenKeys(ctx context.Context, source string) ([]string, error)
}

// Source is the alert source name of the fleet.
const Source = "fleet"

// Config tunes the service.
type Config struct {
	// KeyFile holds the task-signing key (created 0600 if missing).
	KeyFile string
	// Heartbeat is the interval agents are told to use (default 60 s); an
	// agent is late after 2 and offline after 5 missed heartbeats.
	Heartbeat time.Duration
	// LongPoll is the longest a task poll is held open (default 30 s).
	LongPoll time.Duration
	// MaxInFlight bounds agent requests doing database work at once
	// (default 64); more wait briefly, then are told to come back later,
	// so thousands of agents reconnecting together cannot swamp the server.
	MaxInFlight int
	// PollSlots bounds the task long-polls held open at once (default
	// 2000). Each held poll is an open connection, which costs a file
	// descriptor and some 100 KB of memory; agents beyond the bound are
	// told to wait for their next heartbeat, whose answer says when they
	// have tasks, so every agent still gets its tasks within one heartbeat.
	PollSlots int
}

// Service runs the fleet.
type Service struct {
	store  *storage.Store
	alerts Alerter
	cfg    Config
	// handlers act on uploaded events by kind (set before serving).
	handlers map[string]EventHandler
	key      ed25519.PrivateKey
	log      *slog.Logger

	admit chan struct{} // admission slots of the agent channel
	heavy chan struct{} // slots for inventory uploads (big write transactions)
	shed  atomic.Int64  // requests told to come back later
	held  atomic.Int64  // long-polls held open now

	admitWaiting, heavyWaiting atomic.Int64 // requests waiting for a slot

	mu      sync.Mutex
	waiters map[int64][]chan struct{} // task polls waiting per agent
	auth    map[string]cachedAgent    // secret hash → agent, briefly
	beats   map[int64]beat            // heartbeats not yet written

	sweepMu sync.Mutex
	offline map[int64]offState // agents the sweep called offline
	groups  map[int64]int      // agency → its agents a grouped offline alert covers
	seeded  bool               // offline state read back from open alerts
	started time.Time

	pkgMu  sync.Mutex
	pkgIDs map[pkgKey]int64 // ids of package builds in inventory_packages

	invMu     sync.Mutex
	invQueue  []*invJob     // inventory uploads waiting to be written
	invWriter chan struct{} // held by whoever writes a batch
}

// cachedAgent is an authenticated agent kept for authCacheTTL, so a
// heartbeat costs no lookup; revocation drops it at once.
type cachedAgent struct {
	agent Agent
	until time.Time
}

const authCacheTTL = 30 * time.Second

// beat is a heartbeat waiting to be written.
type beat struct {
	at              time.Time
	ip, status, ver string
}

// New opens the fleet service, creating the signing key on first start.
func New(store *storage.Store, alerts Alerter, cfg Config, log *slog.Logger) (*Service, error) {
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = 60 * time.Second
	}
	if cfg.LongPoll <= 0 {
		cfg.LongPoll = 30 * time.Second
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 64
	}
	if cfg.PollSlots <= 0 {
		cfg.PollSlots = DefaultPollSlots
	}
	if log == nil {
		log = slog.Default()
	}
	key, err := loadKey(cfg.KeyFile)
	if err != nil {
		return nil, err
	}
	return &Service{store: store, alerts: alerts, cfg: cfg, key: key, log: log, admit: make(chan struct{}, cfg.MaxInFlight), heavy: make(chan struct{}, maxInventoryBatch),
		waiters: map[int64][]chan struct{}{}, offline: map[int64]offState{}, groups: map[int64]int{}, started: store.Now(), auth: map[string]cachedAgent{}, beats: map[int64]beat{}, pkgIDs: map[pkgKey]int64{}, invWriter: make(chan struct{}, 1)}, nil
}

// loadKey reads the signing key, or creates one. Without a file (tests) the
// key lives only in memory.
func loadKey(path string) (ed25519.PrivateKey, error) {
	if path == "" {
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	}
	data, err := os.ReadFile(path)
	if err == nil {
		seed, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data)))
		if err != nil || len(seed) != ed25519.SeedSize {
			return nil, fmt.Errorf("fleet: %s is not a task-signing key", path)
		}
		return ed25519.NewKeyFromSeed(seed), nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(base64.StdEncoding.EncodeToString(k.Seed())+"\n"), 0o600); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, err
	}
	return k, nil
}

// PublicKey is the task-signing key agents verify tasks with.
func (s *Service) PublicKey() ed25519.PublicKey { return s.key.Public().(ed25519.PublicKey) }

// HeartbeatInterval is the interval agents are told to use.
func (s *Service) HeartbeatInterval() time.Duration { return s.cfg.Heartbeat }

// Health is an agent's state from its heartbeats.
type Health string

// Health states.
const (
	Online  Health = "online"
	Late    Health = "late"
	Offline Health = "offline"
	Revoked Health = "revoked"
)

// health judges an agent last seen at seen.
func (s *Service) health(seen *time.Time, revoked bool, now time.Time) Health {
	switch {
	case revoked:
		return Revoked
	case seen == nil || now.Sub(*seen) > s.offlineAfter():
		return Offline
	case now.Sub(*seen) > 2*s.cfg.Heartbeat:
		return Late
	}
	return Online
}

// offlineAfter is the silence after which an agent is offline: 5 missed
// heartbeats.
func (s *Service) offlineAfter() time.Duration { return 5 * s.cfg.Heartbeat }

// notify wakes an agent's task polls.
func (s *Service) notify(agentID int64) {
	s.mu.Lock()
	ws := s.waiters[agentID]
	delete(s.waiters, agentID)
	s.mu.Unlock()
	for _, w := range ws {
		close(w)
	}
}

func (s *Service) wait(agentID int64) chan struct{} {
	ch := make(chan struct{})
	s.mu.Lock()
	s.waiters[agentID] = append(s.waiters[agentID], ch)
	s.mu.Unlock()
	return ch
}

func (s *Service) unwait(agentID int64, ch chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ws := s.waiters[agentID]
	for i, w := range ws {
		if w == ch {
			s.waiters[agentID] = append(ws[:i], ws[i+1:]...)
			break
		}
	}
	if len(s.waiters[agentID]) == 0 {
		delete(s.waiters, agentID)
	}
}

// ErrBusy means the agent channel is at capacity: come back later.
var ErrBusy = errors.New("fleet: busy, retry later")

// Admit waits briefly for one of the agent channel's work slots. The
// caller must call release when done. When none frees up, ErrBusy: the
// agent is told to retry after a random delay, spreading a reconnect
// storm out instead of queueing it.
func (s *Service) Admit(ctx context.Context) (release func(), err error) {
	// Waiting costs a connection; only so many may wait.
	if s.admitWaiting.Add(1) > int64(4*s.cfg.MaxInFlight) {
		s.admitWaiting.Add(-1)
		s.shed.Add(1)
		return nil, ErrBusy
	}
	defer s.admitWaiting.Add(-1)
	t := time.NewTimer(2 * time.Second)
	defer t.Stop()
	select {
	case s.admit <- struct{}{}:
		return func() { <-s.admit }, nil
	case <-t.C:
		s.shed.Add(1)
		return nil, ErrBusy
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// AdmitHeavy is Admit for inventory uploads: the database writes them one
// after another anyway, so a few at a time, and a longer wait in line
// before an agent is told to come back.
func (s *Service) AdmitHeavy(ctx context.Context) (release func(), err error) {
	// A batch's worth may wait for the next batch; the rest come back
	// later (a fleet rolled out at once would otherwise hold thousands of
	// connections open here).
	if s.heavyWaiting.Add(1) > 2*maxInventoryBatch {
		s.heavyWaiting.Add(-1)
		s.shed.Add(1)
		return nil, ErrBusy
	}
	defer s.heavyWaiting.Add(-1)
	t := time.NewTimer(15 * time.Second)
	defer t.Stop()
	select {
	case s.heavy <- struct{}{}:
		return func() { <-s.heavy }, nil
	case <-t.C:
		s.shed.Add(1)
		return nil, ErrBusy
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// DefaultPollSlots is the default bound of long-polls held at once.
const DefaultPollSlots = 2000

// PollSlot takes one of the long-poll slots; without one (ok false) the
// caller answers at once and the agent waits for its next heartbeat.
func (s *Service) PollSlot() (release func(), ok bool) {
	if s.held.Add(1) > int64(s.cfg.PollSlots) {
		s.held.Add(-1)
		return nil, false
	}
	return func() { s.held.Add(-1) }, true
}

// PollSlotFree says whether a long-poll slot is free now, so a heartbeat
// can tell an agent waiting for one to try again.
func (s *Service) PollSlotFree() bool { return s.held.Load() < int64(s.cfg.PollSlots) }

// Waiting is how many agent requests wait for a work slot now.
func (s *Service) Waiting() int64 { return s.admitWaiting.Load() + s.heavyWaiting.Load() }

// HeldPolls is how many long-polls are held open now.
func (s *Service) HeldPolls() int64 { return s.held.Load() }

// Shed is how many agent requests were told to come back later.
func (s *Service) Shed() int64 { return s.shed.Load() }

// Run raises agent_offline for agents that stopped sending heartbeats and
// resolves it when they are back, and writes heartbeats in batches, until
// ctx ends.
func (s *Service) Run(ctx context.Context) {
	sweep := time.NewTicker(max(s.cfg.Heartbeat/2, time.Second))
	defer sweep.Stop()
	flush := time.NewTicker(2 * time.Second)
	defer flush.Stop()
	defer s.FlushHeartbeats(context.Background())
	for {
		select {
		case <-ctx.Done():
			return
		case <-flush.C:
			if err := s.FlushHeartbeats(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("fleet heartbeats", "err", err)
			}
		case <-sweep.C:
			if err := s.sweep(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("fleet sweep", "err", err)
			}
		}
	}
}

// FlushHeartbeats writes the heartbeats received since the last flush in
// one transaction (thousands of agents, one commit every two seconds).
func (s *Service) FlushHeartbeats(ctx context.Context) error {
	s.mu.Lock()
	beats := s.beats
	s.beats = map[int64]beat{}
	s.mu.Unlock()
	if len(beats) == 0 {
		return nil
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, s.store.Rebind(`UPDATE agents SET last_seen_at = ?, last_ip = ?, status = ?,
			version = CASE WHEN ? = '' THEN version ELSE ? END WHERE id = ?`))
		if err != nil {
			return err
		}
		defer stmt.Close()
		for id, b := range beats {
			if _, err := stmt.ExecContext(ctx, b.at, b.ip, b.status, b.ver, b.ver, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		// Put them back unless newer ones arrived meanwhile.
		s.mu.Lock()
		for id, b := range beats {
			if _, ok := s.beats[id]; !ok {
				s.beats[id] = b
			}
		}
		s.mu.Unlock()
	}
	return err
}

// GroupOffline is how many agents of one agency going offline between
// two sweeps make one alert for the agency ("340 máy mất kết nối")
// instead of one alert each: that many at once is an agency's network or
// power going down, and the duty team needs one page, not hundreds.
const GroupOffline = 10

// maxGroupHosts bounds the host names a grouped alert lists.
const maxGroupHosts = 50

// offState is what the sweep last decided about an offline agent.
type offState struct {
	group int64 // the agency whose grouped alert covers it; 0 = its own alert
}

func agentKey(id int64) string  { return fmt.Sprintf("agent:%d:offline", id) }
func agencyKey(id int64) string { return fmt.Sprintf("agency:%d:offline", id) }

// sweptAgent is an agent as a sweep found it.
type sweptAgent struct {
	id, agency int64
	asset      *int64
	host       string
	seen       *time.Time
	off        bool
}

// sweep compares every agent's health with the alerts raised.
func (s *Service) sweep(ctx context.Context) error {
	if err := s.FlushHeartbeats(ctx); err != nil {
		return err
	}
	rows, err := s.store.DB().QueryContext(ctx, `SELECT id, agency_id, asset_id, hostname, last_seen_at FROM agents WHERE revoked_at IS NULL`)
	if err != nil {
		return err
	}
	now := s.store.Now()
	var all []sweptAgent
	for rows.Next() {
		var r sweptAgent
		if err := rows.Scan(&r.id, &r.agency, &r.asset, &r.host, &r.seen); err != nil {
			rows.Close()
			return err
		}
		r.off = r.seen != nil && s.health(r.seen, false, now) == Offline
		all = append(all, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if s.alerts == nil {
		return nil
	}
	s.sweepMu.Lock()
	defer s.sweepMu.Unlock()
	if !s.seeded {
		if err := s.seedOffline(ctx, all); err != nil {
			return err
		}
	}
	// Until the server has been up for as long as it takes to call an
	// agent offline, silence may be its own absence, not the agent's.
	judge := now.Sub(s.started) >= s.offlineAfter()
	down := map[int64][]sweptAgent{} // agency → agents newly offline
	back := func(id int64, st offState) error {
		delete(s.offline, id)
		if st.group == 0 {
			_, err := s.alerts.Recover(ctx, Source, agentKey(id))
			return err
		}
		if s.groups[st.group]--; s.groups[st.group] <= 0 {
			delete(s.groups, st.group)
			_, err := s.alerts.Recover(ctx, Source, agencyKey(st.group))
			return err
		}
		return nil
	}
	present := make(map[int64]bool, len(all))
	for _, r := range all {
		present[r.id] = true
		st, was := s.offline[r.id]
		switch {
		case r.off && !was && judge:
			down[r.agency] = append(down[r.agency], r)
		case !r.off && was:
			if err := back(r.id, st); err != nil {
				return err
			}
		}
	}
	// A revoked or re-enrolled agent is no longer watched.
	for id, st := range s.offline {
		if !present[id] {
			if err := back(id, st); err != nil {
				return err
			}
		}
	}
	for agency, rs := range down {
		if len(rs) < GroupOffline && s.groups[agency] == 0 {
			for _, r := range rs {
				if _, err := s.alerts.Raise(ctx, alert.Alert{Source: Source, Kind: "fleet.agent_offline", Severity: alert.Medium, DedupKey: agentKey(r.id),
					AssetID: r.asset, AgencyID: &r.agency, Title: "Máy mất kết nối agent: " + r.host,
					Details: fmt.Sprintf("%s last seen %s", r.host, r.seen.Format(time.RFC3339))}); err != nil {
					return err
				}
				s.offline[r.id] = offState{}
			}
			continue
		}
		// Many at once, or more while the agency's grouped alert is open:
		// they join that one alert. They are marked once it is raised, so
		// a failed raise is tried again at the next sweep.
		total := s.groups[agency] + len(rs)
		hosts := make([]string, 0, min(len(rs), maxGroupHosts))
		for _, r := range rs[:min(len(rs), maxGroupHosts)] {
			hosts = append(hosts, r.host)
		}
		details := fmt.Sprintf("%d agents stopped sending heartbeats; %d of this agency are offline now. Newly offline: %s",
			len(rs), total, strings.Join(hosts, ", "))
		if len(rs) > len(hosts) {
			details += fmt.Sprintf(" and %d more", len(rs)-len(hosts))
		}
		a := agency
		if _, err := s.alerts.Raise(ctx, alert.Alert{Source: Source, Kind: "fleet.agents_offline", Severity: alert.High, DedupKey: agencyKey(agency),
			AgencyID: &a, Title: fmt.Sprintf("%d máy cùng mất kết nối agent", total), Details: details}); err != nil {
			return err
		}
		for _, r := range rs {
			s.offline[r.id] = offState{group: agency}
		}
		s.groups[agency] = total
	}
	return nil
}

// seedOffline picks up, after a restart, the offline alerts left open:
// an agent with its own alert is remembered as offline, and the offline
// agents of an agency with an open grouped alert are counted in it. An
// open alert whose agents are all back is resolved.
func (s *Service) seedOffline(ctx context.Context, agents []sweptAgent) error {
	keys, err := s.alerts.OpenKeys(ctx, Source)
	if err != nil {
		return err
	}
	mine, grouped := map[int64]bool{}, map[int64]bool{}
	for _, k := range keys {
		var id int64
		if _, err := fmt.Sscanf(k, "agent:%d:offline", &id); err == nil {
			mine[id] = true
		} else if _, err := fmt.Sscanf(k, "agency:%d:offline", &id); err == nil {
			grouped[id] = true
		}
	}
	for _, a := range agents {
		switch {
		case mine[a.id]:
			s.offline[a.id] = offState{} // recovered by the sweep if it is back
		case a.off && grouped[a.agency]:
			s.offline[a.id] = offState{group: a.agency}
			s.groups[a.agency]++
		}
	}
	for agency := range grouped {
		if s.groups[agency] == 0 {
			if _, err := s.alerts.Recover(ctx, Source, agencyKey(agency)); err != nil {
				return err
			}
		}
	}
	s.seeded = true
	return nil
}

// inTx is a shorthand.
func (s *Service) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	return s.store.InTx(ctx, fn)
}

// Sweep runs one round of the offline check (Run does it periodically).
func (s *Service) Sweep(ctx context.Context) error { return s.sweep(ctx) }
