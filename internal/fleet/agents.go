package fleet

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"canhgac/internal/auth"
	"canhgac/internal/model"
	"canhgac/internal/storage"
)

// Agent is an enrolled endpoint.
type Agent struct {
	ID         int64      `json:"id"`
	AgencyID   int64      `json:"agency_id"`
	AssetID    *int64     `json:"asset_id"`
	MachineID  string     `json:"machine_id"`
	Hostname   string     `json:"hostname"`
	OSName     string     `json:"os_name"`
	OSVersion  string     `json:"os_version"`
	Arch       string     `json:"arch"`
	Version    string     `json:"version"`
	EnrolledAt time.Time  `json:"enrolled_at"`
	LastSeenAt *time.Time `json:"last_seen_at"`
	LastIP     string     `json:"last_ip"`
	// Status is what the agent said in its last heartbeat (queue depth,
	// dropped events, watchdog state, …).
	Status     json.RawMessage `json:"status"`
	RevokedAt  *time.Time      `json:"revoked_at"`
	RevokedBy  string          `json:"revoked_by,omitempty"`
	ReplacedBy *int64          `json:"replaced_by,omitempty"`
	Packages   int             `json:"packages"`
	Health     Health          `json:"health"`

	agencyPath string
}

const agentColumns = `id, agency_id, agency_path, asset_id, machine_id, hostname, os_name, os_version, arch, version, enrolled_at,
	last_seen_at, last_ip, status, revoked_at, revoked_by, replaced_by, packages`

func (s *Service) scanAgent(row interface{ Scan(...any) error }) (Agent, error) {
	var a Agent
	var status string
	err := row.Scan(&a.ID, &a.AgencyID, &a.agencyPath, &a.AssetID, &a.MachineID, &a.Hostname, &a.OSName, &a.OSVersion, &a.Arch, &a.Version,
		&a.EnrolledAt, &a.LastSeenAt, &a.LastIP, &status, &a.RevokedAt, &a.RevokedBy, &a.ReplacedBy, &a.Packages)
	if err != nil {
		return a, err
	}
	s.mu.Lock()
	b, pending := s.beats[a.ID]
	s.mu.Unlock()
	if pending { // a heartbeat not yet written is still news
		at := b.at
		a.LastSeenAt, a.LastIP, status = &at, b.ip, b.status
		if b.ver != "" {
			a.Version = b.ver
		}
	}
	a.Status = json.RawMessage(status)
	if !json.Valid(a.Status) {
		a.Status = json.RawMessage("{}")
	}
	a.Health = s.health(a.LastSeenAt, a.RevokedAt != nil, s.store.Now())
	return a, nil
}

// Filter narrows the agent list.
type Filter struct {
	AgencyID int64
	OS       string // substring of OS name or version, diacritics and case ignored
	Health   Health
	Version  string
	Revoked  bool // include revoked agents
}

// List returns the agents in the caller's scope.
func (s *Service) List(ctx context.Context, sc model.Scope, f Filter) ([]Agent, error) {
	if !sc.Can(model.ActionRead, model.ResourceAgent) {
		return nil, model.ErrForbidden
	}
	var w storage.Where
	if !sc.Global() {
		w.Add("agency_path LIKE ?", sc.AgencyPath+"%")
	}
	if f.AgencyID > 0 {
		w.Add("agency_id = ?", f.AgencyID)
	}
	if !f.Revoked && f.Health != Revoked {
		w.Add("revoked_at IS NULL")
	}
	if f.OS != "" {
		w.Add("LOWER(os_name || ' ' || os_version) LIKE ? ESCAPE '\\'", "%"+storage.LikeEscape(strings.ToLower(f.OS))+"%")
	}
	if f.Version != "" {
		w.Add("version = ?", f.Version)
	}
	rows, err := s.store.DB().QueryContext(ctx, s.store.Rebind(`SELECT `+agentColumns+` FROM agents`+w.String()+` ORDER BY hostname, id`), w.Args()...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Agent{}
	for rows.Next() {
		a, err := s.scanAgent(rows)
		if err != nil {
			return nil, err
		}
		if f.Health != "" && a.Health != f.Health {
			continue
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Get returns one agent in the caller's scope.
func (s *Service) Get(ctx context.Context, sc model.Scope, id int64) (Agent, error) {
	if !sc.Can(model.ActionRead, model.ResourceAgent) {
		return Agent{}, model.ErrForbidden
	}
	q := `SELECT ` + agentColumns + ` FROM agents WHERE id = ?`
	args := []any{id}
	if !sc.Global() {
		q += ` AND agency_path LIKE ?`
		args = append(args, sc.AgencyPath+"%")
	}
	a, err := s.scanAgent(s.store.DB().QueryRowContext(ctx, s.store.Rebind(q), args...))
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("agent %d: %w", id, model.ErrNotFound)
	}
	return a, err
}

// Revoke cuts an agent off: its secret stops working at once.
func (s *Service) Revoke(ctx context.Context, actor model.Actor, id int64) error {
	if !actor.Can(model.ActionWrite, model.ResourceAgent) {
		return model.ErrForbidden
	}
	a, err := s.Get(ctx, actor.Scope, id)
	if err != nil {
		return err
	}
	if a.RevokedAt != nil {
		return nil
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.store.Rebind(`UPDATE agents SET revoked_at = ?, revoked_by = ? WHERE id = ?`), s.store.Now(), actor.Username, id); err != nil {
			return err
		}
		return s.store.Audit(ctx, tx, actor, "revoke", "agent", id, &a.AgencyID, nil, map[string]any{"hostname": a.Hostname})
	})
	if err == nil {
		s.forget(id)
		s.notify(id) // end its task polls
	}
	return err
}

// Authenticate returns the agent a secret belongs to. An unknown or
// revoked secret is ErrUnauthenticated.
func (s *Service) Authenticate(ctx context.Context, secret string) (Agent, error) {
	if !strings.HasPrefix(secret, SecretPrefix) || len(secret) > 200 {
		return Agent{}, model.ErrUnauthenticated
	}
	hash := auth.HashSecret(secret)
	now := time.Now()
	s.mu.Lock()
	c, ok := s.auth[hash]
	s.mu.Unlock()
	if ok && now.Before(c.until) {
		return c.agent, nil
	}
	a, err := s.scanAgent(s.store.DB().QueryRowContext(ctx, s.store.Rebind(`SELECT `+agentColumns+` FROM agents
		WHERE secret_hash = ? AND revoked_at IS NULL`), hash))
	if errors.Is(err, sql.ErrNoRows) {
		return a, model.ErrUnauthenticated
	}
	if err != nil {
		return a, err
	}
	s.mu.Lock()
	if len(s.auth) > 200_000 {
		clear(s.auth)
	}
	s.auth[hash] = cachedAgent{agent: a, until: now.Add(authCacheTTL)}
	s.mu.Unlock()
	return a, nil
}

// forget drops an agent from the authentication cache (revoked, replaced).
func (s *Service) forget(id int64) {
	s.mu.Lock()
	for h, c := range s.auth {
		if c.agent.ID == id {
			delete(s.auth, h)
		}
	}
	delete(s.beats, id)
	s.mu.Unlock()
}

// MaxStatus bounds what an agent may say about itself in a heartbeat.
const MaxStatus = 16 << 10

// Heartbeat records that an agent is alive, with its status report, and
// says whether tasks wait for it.
func (s *Service) Heartbeat(ctx context.Context, a Agent, status json.RawMessage, version, ip string) (tasks int, err error) {
	if len(status) == 0 {
		status = json.RawMessage("{}")
	}
	if len(status) > MaxStatus || !json.Valid(status) {
		return 0, model.Invalid("status", "must be a JSON object of at most %d bytes", MaxStatus)
	}
	if len(version) > 64 || !utf8.ValidString(version) {
		return 0, model.Invalid("version", "is not a version")
	}
	// Written with others by FlushHeartbeats: a heartbeat is not worth a
	// commit of its own, and losing the last two seconds of them to a
	// crash loses nothing the next heartbeat does not bring back.
	s.mu.Lock()
	s.beats[a.ID] = beat{at: s.store.Now(), ip: ip, status: string(status), ver: version}
	s.mu.Unlock()
	err = s.store.DB().QueryRowContext(ctx, s.store.Rebind(`SELECT COUNT(*) FROM agent_tasks WHERE agent_id = ? AND state = 'queued'`), a.ID).Scan(&tasks)
	return tasks, err
}

// Event is one record an agent uploads. Seq is the agent's own sequence
// number, unique per agent: the idempotency key that makes a resent
// batch land once.
type Event struct {
	Seq  uint64          `json:"seq"`
	Kind string          `json:"kind"`
	At   time.Time       `json:"at"`
	Data json.RawMessage `json:"data"`
}

// Upload limits.
const (
	MaxEventBatch = 1000
	MaxEventData  = 64 << 10
)

// EventHandler acts on an uploaded event of the kind it is registered
// for (a capability turning an agent's detection into an alert). It runs
// before the batch is stored, so an error fails the upload and the agent
// sends the batch again: handlers must be idempotent (alerts are, by their
// dedup key).
type EventHandler func(ctx context.Context, a Agent, e Event) error

// HandleEvents registers h for events of kind; call it before serving.
func (s *Service) HandleEvents(kind string, h EventHandler) {
	if s.handlers == nil {
		s.handlers = map[string]EventHandler{}
	}
	s.handlers[kind] = h
}

// Ingest stores a batch of events exactly once: events already stored
// (a batch resent after a lost answer) are skipped. It returns how many
// were new. The whole batch commits or none of it.
func (s *Service) Ingest(ctx context.Context, a Agent, events []Event) (stored int, err error) {
	if len(events) > MaxEventBatch {
		return 0, model.Invalid("events", "at most %d events per batch", MaxEventBatch)
	}
	for i, e := range events {
		if e.Seq == 0 || e.Seq > 1<<62 {
			return 0, model.Invalid(fmt.Sprintf("events[%d].seq", i), "must be a positive sequence number")
		}
		if e.Kind == "" || len(e.Kind) > 64 || strings.ContainsAny(e.Kind, " \x00\n") {
			return 0, model.Invalid(fmt.Sprintf("events[%d].kind", i), "must be a short name")
		}
		if len(e.Data) > MaxEventData || (len(e.Data) > 0 && !json.Valid(e.Data)) {
			return 0, model.Invalid(fmt.Sprintf("events[%d].data", i), "must be JSON of at most %d bytes", MaxEventData)
		}
	}
	for _, e := range events {
		if h := s.handlers[e.Kind]; h != nil {
			if err := h(ctx, a, e); err != nil {
				return 0, fmt.Errorf("handle %s event %d: %w", e.Kind, e.Seq, err)
			}
		}
	}
	now := s.store.Now()
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		stmt, err := tx.PrepareContext(ctx, s.store.Rebind(`INSERT INTO agent_events (agent_id, seq, kind, at, received_at, data)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (agent_id, seq) DO NOTHING`))
		if err != nil {
			return err
		}
		defer stmt.Close()
		stored = 0
		for _, e := range events {
			data := string(e.Data)
			if data == "" {
				data = "{}"
			}
			at := e.At
			if at.IsZero() {
				at = now
			}
			res, err := stmt.ExecContext(ctx, a.ID, int64(e.Seq), e.Kind, at.UTC(), now, data)
			if err != nil {
				return err
			}
			if n, _ := res.RowsAffected(); n > 0 {
				stored++
			}
		}
		return nil
	})
	return stored, err
}

// Events returns an agent's events in sequence order after seq (for the
// agent page and for the capabilities that consume them).
func (s *Service) Events(ctx context.Context, sc model.Scope, agentID int64, after uint64, limit int) ([]Event, error) {
	if _, err := s.Get(ctx, sc, agentID); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := s.store.DB().QueryContext(ctx, s.store.Rebind(`SELECT seq, kind, at, data FROM agent_events WHERE agent_id = ? AND seq > ?
		ORDER BY seq LIMIT ?`), agentID, int64(after), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Event{}
	for rows.Next() {
		var e Event
		var seq int64
		var data string
		if err := rows.Scan(&seq, &e.Kind, &e.At, &data); err != nil {
			return nil, err
		}
		e.Seq, e.Data = uint64(seq), json.RawMessage(data)
		out = append(out, e)
	}
	return out, rows.Err()
}
