package alert

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"canhgac/internal/model"
	"canhgac/internal/storage"
	"canhgac/internal/textfold"
)

// Config tunes the pipeline.
type Config struct {
	// FlapWindow: an alert that re-fires this soon after resolving is
	// reopened as flapping and not notified again.
	FlapWindow time.Duration
	// GroupWait holds a first notification this long so that alerts of the
	// same agency and kind that follow go out as one message.
	GroupWait time.Duration
	// UnackTimeout re-escalates a critical alert acknowledged but not
	// resolved after this long (a chain may set its own).
	UnackTimeout time.Duration
	// PublicURL is canhgac's address as users reach it, for links in messages.
	PublicURL string
	// MaxAttempts bounds retries of one notification before it is given up.
	MaxAttempts int
}

// DefaultConfig is what serve uses unless told otherwise.
func DefaultConfig() Config {
	return Config{FlapWindow: 10 * time.Minute, GroupWait: 10 * time.Second, UnackTimeout: 30 * time.Minute,
		PublicURL: "http://127.0.0.1:8080", MaxAttempts: 12}
}

// Service is the alert pipeline over a store.
type Service struct {
	store *storage.Store
	cfg   Config
	key   []byte // signs acknowledgement links

	// kick wakes the escalation engine and the outbox worker early.
	kick chan struct{}

	mu   sync.Mutex
	subs map[chan Change]struct{}

	// Group commit of Raise: a queue and whether a leader is draining it.
	bmu     sync.Mutex
	pending []*raiseReq
	running bool
}

// Change tells live boards that an alert changed.
type Change struct {
	AlertID int64  `json:"alert_id"`
	Type    string `json:"type"`
	// AgencyPath scopes who may hear about it.
	AgencyPath string `json:"-"`
	Severity   string `json:"severity"`
}

// New returns the pipeline, creating its link-signing key on first use.
func New(ctx context.Context, store *storage.Store, cfg Config) (*Service, error) {
	d := DefaultConfig()
	if cfg.FlapWindow == 0 {
		cfg.FlapWindow = d.FlapWindow
	}
	if cfg.UnackTimeout == 0 {
		cfg.UnackTimeout = d.UnackTimeout
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = d.MaxAttempts
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = d.PublicURL
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	s := &Service{store: store, cfg: cfg, kick: make(chan struct{}, 1), subs: map[chan Change]struct{}{}}
	key, err := s.setting(ctx, "ack_link_key", func() string {
		b := make([]byte, 32)
		rand.Read(b)
		return hex.EncodeToString(b)
	})
	if err != nil {
		return nil, err
	}
	s.key, _ = hex.DecodeString(key)
	return s, nil
}

// Config returns the pipeline's configuration.
func (s *Service) Config() Config { return s.cfg }

func (s *Service) setting(ctx context.Context, key string, init func() string) (string, error) {
	var v string
	err := s.store.DB().QueryRowContext(ctx, s.store.Rebind(`SELECT value FROM settings WHERE key = ?`), key).Scan(&v)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return "", err
	}
	v = init()
	if _, err := s.store.DB().ExecContext(ctx, s.store.Rebind(`INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`), key, v); err != nil {
		return "", err
	}
	err = s.store.DB().QueryRowContext(ctx, s.store.Rebind(`SELECT value FROM settings WHERE key = ?`), key).Scan(&v)
	return v, err
}

// Subscribe returns a channel of alert changes for live boards; cancel
// stops it. Slow subscribers miss changes rather than slow the pipeline.
func (s *Service) Subscribe() (<-chan Change, func()) {
	ch := make(chan Change, 256)
	s.mu.Lock()
	s.subs[ch] = struct{}{}
	s.mu.Unlock()
	return ch, func() {
		s.mu.Lock()
		if _, ok := s.subs[ch]; ok {
			delete(s.subs, ch)
			close(ch)
		}
		s.mu.Unlock()
	}
}

// Close ends every live stream (the server is shutting down); Run calls it
// when its context ends.
func (s *Service) Close() { s.closeSubscribers() }

func (s *Service) closeSubscribers() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ch := range s.subs {
		delete(s.subs, ch)
		close(ch)
	}
}

func (s *Service) publish(c Change) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for ch := range s.subs {
		select {
		case ch <- c:
		default:
		}
	}
}

func (s *Service) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// RaiseResult says what Raise did.
type RaiseResult struct {
	ID int64 `json:"id"`
	// Created: a new alert; Deduped: an open one was updated; Reopened: a
	// recently resolved one re-fired (flapping).
	Created  bool `json:"created"`
	Deduped  bool `json:"deduped"`
	Reopened bool `json:"reopened"`
	Silenced bool `json:"silenced"`
}

// Raise records an alert and returns once it is committed. A repeat of an
// open alert (same source and key) updates its count and last-seen time.
//
// Concurrent calls are committed together (group commit): the first caller
// runs one transaction for everything queued, each alert in its own
// savepoint, so one bad alert fails alone and a burst of thousands costs a
// handful of disk syncs instead of one each.
func (s *Service) Raise(ctx context.Context, a Alert) (RaiseResult, error) {
	if err := a.Validate(); err != nil {
		return RaiseResult{}, err
	}
	req := &raiseReq{ctx: ctx, a: a, done: make(chan struct{})}
	s.bmu.Lock()
	s.pending = append(s.pending, req)
	lead := !s.running
	s.running = true
	s.bmu.Unlock()
	if lead {
		s.runBatch()
	}
	select {
	case <-req.done:
	case <-ctx.Done():
		// The alert may still be committed; the caller will retry and dedup.
		return RaiseResult{}, ctx.Err()
	}
	if req.err != nil {
		return RaiseResult{}, req.err
	}
	s.publish(req.change)
	if req.res.Created || req.res.Reopened {
		s.wake()
	}
	return req.res, nil
}

type raiseReq struct {
	ctx    context.Context
	a      Alert
	res    RaiseResult
	change Change
	err    error
	done   chan struct{}
}

// maxBatch bounds one group-commit transaction.
const maxBatch = 500

// runBatch commits what is queued, then hands the queue to a new leader
// if more arrived meanwhile, so no caller waits on others' bursts forever.
func (s *Service) runBatch() {
	s.bmu.Lock()
	n := min(len(s.pending), maxBatch)
	batch := s.pending[:n:n]
	s.pending = s.pending[n:]
	s.bmu.Unlock()

	s.commitBatch(batch)
	for _, r := range batch {
		close(r.done)
	}

	s.bmu.Lock()
	if len(s.pending) == 0 {
		s.running = false
		s.bmu.Unlock()
		return
	}
	s.bmu.Unlock()
	go s.runBatch()
}

// errBatchRetry rolls back an optimistic batch so it can be redone with
// savepoints around each alert.
var errBatchRetry = errors.New("retry the batch with savepoints")

func (s *Service) commitBatch(batch []*raiseReq) {
	// First optimistically, all alerts in one plain transaction; if any
	// fails, again with a savepoint around each so it fails alone.
	err := s.runRaises(batch, false)
	if errors.Is(err, errBatchRetry) {
		err = s.runRaises(batch, true)
	}
	if err != nil {
		for _, r := range batch {
			r.res, r.change, r.err = RaiseResult{}, Change{}, err
		}
		return
	}
	// A unique violation means another server raced us to the same new
	// key: retried alone, it finds that alert and deduplicates.
	for _, r := range batch {
		for attempt := 0; storage.IsUniqueViolation(r.err) && attempt < 3; attempt++ {
			r.err = s.store.InTx(r.ctx, func(tx *sql.Tx) error {
				var err error
				r.res, r.change, err = s.raise(r.ctx, tx, &r.a, &batchCache{})
				return err
			})
		}
	}
}

func (s *Service) runRaises(batch []*raiseReq, savepoints bool) error {
	return s.store.InTx(context.Background(), func(tx *sql.Tx) error {
		bc := &batchCache{}
		for i, r := range batch {
			if r.ctx.Err() != nil {
				r.err = r.ctx.Err()
				continue
			}
			sp := fmt.Sprintf("r%d", i)
			if savepoints {
				if _, err := tx.Exec("SAVEPOINT " + sp); err != nil {
					return err
				}
			}
			r.res, r.change, r.err = s.raise(r.ctx, tx, &r.a, bc)
			if r.err != nil && !savepoints {
				return errBatchRetry
			}
			if r.err != nil {
				if _, err := tx.Exec("ROLLBACK TO SAVEPOINT " + sp); err != nil {
					return err
				}
			}
			if savepoints {
				if _, err := tx.Exec("RELEASE SAVEPOINT " + sp); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// batchCache holds what every alert of a batch consults: the escalation
// chains and the active silences, read once per transaction.
type batchCache struct {
	chains   []Chain
	silences []silenceRow
	loadedC  bool
	loadedS  bool
}

func (s *Service) raise(ctx context.Context, tx *sql.Tx, a *Alert, bc *batchCache) (RaiseResult, Change, error) {
	now := s.store.Now()
	st := s.store
	// One lookup finds the open alert for this key, or one resolved within
	// the flap window.
	var id int64
	var sev, state, apath string
	err := tx.QueryRowContext(ctx, st.Rebind(`SELECT id, severity, state, agency_path FROM alerts WHERE source = ? AND dedup_key = ?
		AND (state <> 'resolved' OR resolved_at >= ?) ORDER BY CASE WHEN state = 'resolved' THEN 1 ELSE 0 END, resolved_at DESC LIMIT 1`),
		a.Source, a.DedupKey, now.Add(-s.cfg.FlapWindow)).Scan(&id, &sev, &state, &apath)
	switch {
	case err == nil && State(state) != StateResolved:
		// Dedup: the same problem again. Keep the highest severity seen.
		newSev := Severity(sev)
		if a.Severity.Rank() > newSev.Rank() {
			newSev = a.Severity
		}
		if _, err := tx.ExecContext(ctx, st.Rebind(`UPDATE alerts SET count = count + 1, last_seen = ?, severity = ?, title = ?,
			search = ?, details = ?, updated_at = ? WHERE id = ?`), now, newSev, a.Title, textfold.Fold(a.Title), a.Details, now, id); err != nil {
			return RaiseResult{}, Change{}, err
		}
		if newSev != Severity(sev) {
			if err := s.event(ctx, tx, id, EvSeverity, a.Source, map[string]any{"from": sev, "to": newSev}); err != nil {
				return RaiseResult{}, Change{}, err
			}
		}
		return RaiseResult{ID: id, Deduped: true}, Change{AlertID: id, Type: "updated", AgencyPath: apath, Severity: string(newSev)}, nil
	case err == nil:
		// Flapping: the same problem resolved moments ago comes back. Reopen
		// it quietly instead of paging anyone again.
		if _, err := tx.ExecContext(ctx, st.Rebind(`UPDATE alerts SET state = 'open', flapping = ?, count = count + 1, last_seen = ?,
			severity = ?, title = ?, search = ?, details = ?, resolved_at = NULL, resolved_by = '', next_escalation_at = NULL, updated_at = ? WHERE id = ?`),
			true, now, a.Severity, a.Title, textfold.Fold(a.Title), a.Details, now, id); err != nil {
			return RaiseResult{}, Change{}, err
		}
		if err := s.event(ctx, tx, id, EvReopened, a.Source, map[string]any{"flapping": true}); err != nil {
			return RaiseResult{}, Change{}, err
		}
		return RaiseResult{ID: id, Reopened: true}, Change{AlertID: id, Type: "reopened", AgencyPath: apath, Severity: string(a.Severity)}, nil
	case !errors.Is(err, sql.ErrNoRows):
		return RaiseResult{}, Change{}, err
	}

	// The asset, if any, decides the agency.
	var path string
	var tags string
	if a.AssetID != nil {
		var agencyID int64
		err := tx.QueryRowContext(ctx, st.Rebind(`SELECT a.agency_id, ag.path, a.tags FROM assets a JOIN agencies ag ON ag.id = a.agency_id WHERE a.id = ?`),
			*a.AssetID).Scan(&agencyID, &path, &tags)
		if errors.Is(err, sql.ErrNoRows) {
			return RaiseResult{}, Change{}, model.Invalid("asset_id", "no such asset")
		}
		if err != nil {
			return RaiseResult{}, Change{}, err
		}
		a.AgencyID = &agencyID
	} else if a.AgencyID != nil {
		p, err := st.AgencyPath(ctx, tx, model.System, *a.AgencyID)
		if errors.Is(err, model.ErrNotFound) {
			return RaiseResult{}, Change{}, model.Invalid("agency_id", "no such agency")
		}
		if err != nil {
			return RaiseResult{}, Change{}, err
		}
		path = p
	}

	// A new alert: silenced, or routed to an escalation chain.
	silence, err := s.matchSilence(ctx, tx, bc, a, path, tags, now)
	if err != nil {
		return RaiseResult{}, Change{}, err
	}
	var chainID *int64
	var next *time.Time
	if silence == nil {
		chainID, err = s.routeCached(ctx, tx, bc, a, path)
		if err != nil {
			return RaiseResult{}, Change{}, err
		}
		if chainID != nil {
			next = &now
		}
	}
	evidence, _ := json.Marshal(a.Evidence)
	labels, _ := json.Marshal(a.Labels)
	err = tx.QueryRowContext(ctx, st.Rebind(`INSERT INTO alerts (source, kind, severity, dedup_key, asset_id, agency_id, agency_path,
		title, search, details, evidence, labels, state, count, first_seen, last_seen, silence_id, chain_id, next_escalation_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', 1, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		a.Source, a.Kind, a.Severity, a.DedupKey, a.AssetID, a.AgencyID, path, a.Title, textfold.Fold(a.Title), a.Details, string(evidence), string(labels),
		now, now, silence, chainID, next, now, now).Scan(&id)
	if err != nil {
		return RaiseResult{}, Change{}, err
	}
	detail := map[string]any{"severity": a.Severity}
	if chainID != nil {
		detail["chain_id"] = *chainID
	}
	if err := s.event(ctx, tx, id, EvRaised, a.Source, detail); err != nil {
		return RaiseResult{}, Change{}, err
	}
	if silence != nil {
		if err := s.event(ctx, tx, id, EvSilenced, "", map[string]any{"silence_id": *silence}); err != nil {
			return RaiseResult{}, Change{}, err
		}
	}
	return RaiseResult{ID: id, Created: true, Silenced: silence != nil},
		Change{AlertID: id, Type: "raised", AgencyPath: path, Severity: string(a.Severity)}, nil
}

// event appends a line to an alert's timeline.
func (s *Service) event(ctx context.Context, q storage.Querier, alertID int64, typ, actor string, detail map[string]any) error {
	if detail == nil {
		detail = map[string]any{}
	}
	b, err := json.Marshal(detail)
	if err != nil {
		return err
	}
	_, err = q.ExecContext(ctx, s.store.Rebind(`INSERT INTO alert_events (alert_id, at, type, actor, detail) VALUES (?, ?, ?, ?, ?)`),
		alertID, s.store.Now(), typ, actor, string(b))
	return err
}

// Recover resolves the open alert a source raised under key, because the
// source saw the problem go away. It reports whether there was one.
func (s *Service) Recover(ctx context.Context, source, key string) (bool, error) {
	var id int64
	err := s.store.DB().QueryRowContext(ctx, s.store.Rebind(`SELECT id FROM alerts WHERE source = ? AND dedup_key = ? AND state <> 'resolved'`),
		source, key).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	err = s.transition(ctx, model.Actor{Scope: model.System}, id, StateResolved, source, "recovered")
	return err == nil, err
}

// Acknowledge takes an alert: escalation stops (a critical alert left
// unresolved re-escalates after the unacknowledge timeout). via says how:
// "ui", "api" or "link".
func (s *Service) Acknowledge(ctx context.Context, actor model.Actor, id int64, via string) error {
	return s.transition(ctx, actor, id, StateAcknowledged, actor.Username, via)
}

// Resolve closes an alert by hand.
func (s *Service) Resolve(ctx context.Context, actor model.Actor, id int64, via string) error {
	return s.transition(ctx, actor, id, StateResolved, actor.Username, via)
}

// transition moves an alert to acknowledged or resolved within the actor's scope.
func (s *Service) transition(ctx context.Context, actor model.Actor, id int64, to State, who, via string) error {
	var change Change
	err := s.store.InTx(ctx, func(tx *sql.Tx) error {
		a, err := s.get(ctx, tx, actor.Scope, id, true)
		if err != nil {
			return err
		}
		now := s.store.Now()
		switch {
		case a.State == StateResolved:
			return fmt.Errorf("alert %d is already resolved: %w", id, model.ErrConflict)
		case to == StateAcknowledged && a.State == StateAcknowledged:
			return fmt.Errorf("alert %d is already acknowledged by %s: %w", id, a.AckedBy, model.ErrConflict)
		}
		if who == "" {
			who = "system"
		}
		var q string
		var args []any
		typ := EvResolved
		if to == StateAcknowledged {
			typ = EvAcknowledged
			var next *time.Time
			if a.Severity == Critical {
				t := now.Add(s.unackTimeout(ctx, tx, a.ChainID))
				next = &t
			}
			q = `UPDATE alerts SET state = 'acknowledged', acked_by = ?, acked_at = ?, next_escalation_at = ?, updated_at = ? WHERE id = ?`
			args = []any{who, now, next, now, id}
		} else {
			q = `UPDATE alerts SET state = 'resolved', resolved_by = ?, resolved_at = ?, next_escalation_at = NULL, updated_at = ? WHERE id = ?`
			args = []any{who, now, now, id}
		}
		if _, err := tx.ExecContext(ctx, s.store.Rebind(q), args...); err != nil {
			return err
		}
		change = Change{AlertID: id, Type: string(to), AgencyPath: a.agencyPath, Severity: string(a.Severity)}
		if err := s.event(ctx, tx, id, typ, who, map[string]any{"via": via}); err != nil {
			return err
		}
		return s.store.Audit(ctx, tx, actor, typ, "alert", id, a.AgencyID, map[string]any{"state": a.State}, map[string]any{"state": to, "via": via})
	})
	if err == nil {
		s.publish(change)
		s.wake()
	}
	return err
}

// BulkAcknowledge acknowledges many alerts; it returns how many it took and
// skips those already taken, resolved or out of scope.
func (s *Service) BulkAcknowledge(ctx context.Context, actor model.Actor, ids []int64, via string) (int, error) {
	n := 0
	for _, id := range ids {
		err := s.Acknowledge(ctx, actor, id, via)
		switch {
		case err == nil:
			n++
		case errors.Is(err, model.ErrConflict), errors.Is(err, model.ErrNotFound):
		default:
			return n, err
		}
	}
	return n, nil
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// OpenKeys lists the dedup keys of a source's alerts that are not
// resolved, so that a source that keeps state in memory can pick it up
// again after a restart.
func (s *Service) OpenKeys(ctx context.Context, source string) ([]string, error) {
	rows, err := s.store.DB().QueryContext(ctx, s.store.Rebind(`SELECT dedup_key FROM alerts WHERE source = ? AND state <> 'resolved'`), source)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}
