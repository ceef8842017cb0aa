package alert

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"canhgac/internal/model"
	"canhgac/internal/storage"
)

// Chain is an escalation chain: who is told, and how long each step waits
// for an acknowledgement before the next (the backup, then the team lead,
// then the Department's leadership). Alerts are routed to the first chain
// whose severities, kinds and agency match, highest priority first.
type Chain struct {
	ID       int64      `json:"id"`
	Name     string     `json:"name"`
	Priority int        `json:"priority"`
	Severity []Severity `json:"severities"` // empty: any
	Kinds    []string   `json:"kinds"`      // prefixes; empty: any
	AgencyID *int64     `json:"agency_id"`  // this agency and its sub-agencies; nil: all
	Steps    []Step     `json:"steps"`
	// Repeat runs the whole chain again this many times if nobody acknowledges.
	Repeat int `json:"repeat"`
	// UnackTimeoutMinutes re-escalates an acknowledged, unresolved critical
	// alert after this long; 0 uses the default (30 minutes).
	UnackTimeoutMinutes int       `json:"unack_timeout_minutes"`
	CreatedAt           time.Time `json:"created_at"`
	UpdatedAt           time.Time `json:"updated_at"`

	agencyPath string
}

// Step notifies its targets, then waits WaitMinutes for an acknowledgement.
type Step struct {
	WaitMinutes int      `json:"wait_minutes"`
	Targets     []Target `json:"targets"`
}

// Target is who a step notifies: the on-duty people of a schedule, a user,
// or a group channel (a Telegram group, a webhook, a Slack channel).
type Target struct {
	Type string `json:"type"` // schedule | user | channel
	ID   int64  `json:"id"`
}

// TargetTypes are the kinds of escalation target.
var TargetTypes = []string{"schedule", "user", "channel"}

// Validate checks a chain before it is stored.
func (c *Chain) Validate() error {
	c.Name = strings.TrimSpace(c.Name)
	switch {
	case c.Name == "" || len(c.Name) > 200:
		return model.Invalid("name", "is required (at most 200 bytes)")
	case len(c.Steps) == 0:
		return model.Invalid("steps", "a chain needs at least one step")
	case len(c.Steps) > 20:
		return model.Invalid("steps", "at most 20 steps")
	case c.Repeat < 0 || c.Repeat > 10:
		return model.Invalid("repeat", "must be 0 to 10")
	case c.UnackTimeoutMinutes < 0 || c.UnackTimeoutMinutes > 24*60:
		return model.Invalid("unack_timeout_minutes", "must be 0 to 1440")
	}
	for _, sev := range c.Severity {
		if !sev.Valid() {
			return model.Invalid("severities", "%q is not a severity", sev)
		}
	}
	for i, st := range c.Steps {
		f := fmt.Sprintf("steps[%d]", i)
		if st.WaitMinutes < 1 || st.WaitMinutes > 24*60 {
			return model.Invalid(f+".wait_minutes", "must be 1 to 1440")
		}
		if len(st.Targets) == 0 || len(st.Targets) > 20 {
			return model.Invalid(f+".targets", "a step needs 1 to 20 targets")
		}
		for j, t := range st.Targets {
			if !slices.Contains(TargetTypes, t.Type) {
				return model.Invalid(fmt.Sprintf("%s.targets[%d].type", f, j), "must be schedule, user or channel")
			}
			if t.ID <= 0 {
				return model.Invalid(fmt.Sprintf("%s.targets[%d].id", f, j), "is required")
			}
		}
	}
	if c.Severity == nil {
		c.Severity = []Severity{}
	}
	if c.Kinds == nil {
		c.Kinds = []string{}
	}
	return nil
}

// matches reports whether the chain routes an alert.
func (c *Chain) matches(a *Alert, path string) bool {
	if len(c.Severity) > 0 && !slices.Contains(c.Severity, a.Severity) {
		return false
	}
	if len(c.Kinds) > 0 && !slices.ContainsFunc(c.Kinds, func(k string) bool { return strings.HasPrefix(a.Kind, k) }) {
		return false
	}
	return c.agencyPath == "" || strings.HasPrefix(path, c.agencyPath)
}

type chainDef struct {
	Steps               []Step `json:"steps"`
	Repeat              int    `json:"repeat"`
	UnackTimeoutMinutes int    `json:"unack_timeout_minutes"`
}

func (s *Service) chains(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) ([]Chain, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, name, priority, severities, kinds, agency_id, agency_path, definition, created_at, updated_at
		FROM escalation_chains ORDER BY priority DESC, LENGTH(agency_path) DESC, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Chain
	for rows.Next() {
		var c Chain
		var sevs, kinds, def string
		if err := rows.Scan(&c.ID, &c.Name, &c.Priority, &sevs, &kinds, &c.AgencyID, &c.agencyPath, &def, &c.CreatedAt, &c.UpdatedAt); err != nil {
			return nil, err
		}
		c.Severity = []Severity{}
		for _, x := range splitList(sevs) {
			c.Severity = append(c.Severity, Severity(x))
		}
		c.Kinds = splitList(kinds)
		var d chainDef
		json.Unmarshal([]byte(def), &d)
		c.Steps, c.Repeat, c.UnackTimeoutMinutes = d.Steps, d.Repeat, d.UnackTimeoutMinutes
		out = append(out, c)
	}
	return out, rows.Err()
}

func splitList(s string) []string {
	out := []string{}
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// route picks the escalation chain for a new alert.
func (s *Service) route(ctx context.Context, tx *sql.Tx, a *Alert, path string) (*int64, error) {
	return s.routeCached(ctx, tx, &batchCache{}, a, path)
}

func (s *Service) routeCached(ctx context.Context, tx *sql.Tx, bc *batchCache, a *Alert, path string) (*int64, error) {
	if !bc.loadedC {
		cs, err := s.chains(ctx, tx)
		if err != nil {
			return nil, err
		}
		bc.chains, bc.loadedC = cs, true
	}
	for _, c := range bc.chains {
		if c.matches(a, path) {
			return &c.ID, nil
		}
	}
	return nil, nil
}

func (s *Service) chain(ctx context.Context, q *sql.Tx, id int64) (*Chain, error) {
	cs, err := s.chains(ctx, q)
	if err != nil {
		return nil, err
	}
	for i := range cs {
		if cs[i].ID == id {
			return &cs[i], nil
		}
	}
	return nil, nil
}

func (s *Service) unackTimeout(ctx context.Context, tx *sql.Tx, chainID *int64) time.Duration {
	if chainID != nil {
		if c, err := s.chain(ctx, tx, *chainID); err == nil && c != nil && c.UnackTimeoutMinutes > 0 {
			return time.Duration(c.UnackTimeoutMinutes) * time.Minute
		}
	}
	return s.cfg.UnackTimeout
}

// Chains lists the escalation chains in routing order.
func (s *Service) Chains(ctx context.Context) ([]Chain, error) {
	cs, err := s.chains(ctx, s.store.DB())
	if cs == nil {
		cs = []Chain{}
	}
	return cs, err
}

// SaveChain creates (ID 0) or replaces a chain. Only the duty team's
// administrators manage chains (the caller checks the role).
func (s *Service) SaveChain(ctx context.Context, actor model.Actor, c *Chain) error {
	if err := c.Validate(); err != nil {
		return err
	}
	def, _ := json.Marshal(chainDef{Steps: c.Steps, Repeat: c.Repeat, UnackTimeoutMinutes: c.UnackTimeoutMinutes})
	sevs := make([]string, len(c.Severity))
	for i, x := range c.Severity {
		sevs[i] = string(x)
	}
	return s.store.InTx(ctx, func(tx *sql.Tx) error {
		c.agencyPath = ""
		if c.AgencyID != nil {
			p, err := s.store.AgencyPath(ctx, tx, actor.Scope, *c.AgencyID)
			if errors.Is(err, model.ErrNotFound) {
				return model.Invalid("agency_id", "no such agency")
			}
			if err != nil {
				return err
			}
			c.agencyPath = p
		}
		if err := s.checkTargets(ctx, tx, c.Steps); err != nil {
			return err
		}
		now := s.store.Now()
		c.UpdatedAt = now
		var err error
		action := "create"
		if c.ID == 0 {
			c.CreatedAt = now
			err = tx.QueryRowContext(ctx, s.store.Rebind(`INSERT INTO escalation_chains (name, priority, severities, kinds, agency_id, agency_path,
				definition, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
				c.Name, c.Priority, strings.Join(sevs, ","), strings.Join(c.Kinds, ","), c.AgencyID, c.agencyPath, string(def), now, now).Scan(&c.ID)
		} else {
			action = "update"
			var r sql.Result
			r, err = tx.ExecContext(ctx, s.store.Rebind(`UPDATE escalation_chains SET name = ?, priority = ?, severities = ?, kinds = ?, agency_id = ?,
				agency_path = ?, definition = ?, updated_at = ? WHERE id = ?`),
				c.Name, c.Priority, strings.Join(sevs, ","), strings.Join(c.Kinds, ","), c.AgencyID, c.agencyPath, string(def), now, c.ID)
			if err == nil {
				if n, _ := r.RowsAffected(); n == 0 {
					return fmt.Errorf("chain %d: %w", c.ID, model.ErrNotFound)
				}
			}
		}
		if storage.IsUniqueViolation(err) {
			return fmt.Errorf("a chain named %q already exists: %w", c.Name, model.ErrConflict)
		}
		if err != nil {
			return err
		}
		return s.store.Audit(ctx, tx, actor, action, "escalation_chain", c.ID, c.AgencyID, nil, c)
	})
}

// checkTargets makes sure every target a chain names exists.
func (s *Service) checkTargets(ctx context.Context, tx *sql.Tx, steps []Step) error {
	for i, st := range steps {
		for j, t := range st.Targets {
			table := map[string]string{"schedule": "schedules", "user": "users", "channel": "channels"}[t.Type]
			var one int
			err := tx.QueryRowContext(ctx, s.store.Rebind(`SELECT 1 FROM `+table+` WHERE id = ?`), t.ID).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return model.Invalid(fmt.Sprintf("steps[%d].targets[%d].id", i, j), "no such %s", t.Type)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// DeleteChain removes a chain; alerts routed to it stop escalating.
func (s *Service) DeleteChain(ctx context.Context, actor model.Actor, id int64) error {
	return s.store.InTx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, s.store.Rebind(`DELETE FROM escalation_chains WHERE id = ?`), id)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return fmt.Errorf("chain %d: %w", id, model.ErrNotFound)
		}
		return s.store.Audit(ctx, tx, actor, "delete", "escalation_chain", id, nil, map[string]any{"id": id}, nil)
	})
}
