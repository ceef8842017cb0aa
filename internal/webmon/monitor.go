// Package webmon watches agencies' websites around the clock: availability
// (with an immediate re-check before anything is called down), response
// times and daily uptime, and, through its sub-packages, defacement
// (page), certificates (tlscheck) and DNS (dnscheck). Problems go to the
// alert pipeline, which puts them in front of whoever is on duty.
package webmon

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"canhgac/internal/model"
	"canhgac/internal/storage"
)

// Monitor is one watched page.
type Monitor struct {
	ID       int64  `json:"id"`
	AgencyID int64  `json:"agency_id"`
	AssetID  *int64 `json:"asset_id"`
	Name     string `json:"name"`
	URL      string `json:"url"`
	// Interval between checks, 30 s to 1 day (default 5 minutes).
	IntervalSeconds int `json:"interval_seconds"`
	TimeoutSeconds  int `json:"timeout_seconds"`
	// ExpectedStatus, if set, is the only acceptable status; 0 accepts any
	// status below 400.
	ExpectedStatus int `json:"expected_status"`
	// MustContain and MustNotContain are keywords, one per line, matched
	// without regard to case or diacritics.
	MustContain    string `json:"must_contain"`
	MustNotContain string `json:"must_not_contain"`
	PageBudget     int    `json:"page_budget"`
	RenderJS       bool   `json:"render_js"`
	// AllowPrivate lets the monitor reach private and loopback addresses;
	// only an administrator may set it.
	AllowPrivate bool `json:"allow_private"`
	Enabled      bool `json:"enabled"`

	State          State      `json:"state"`
	StateSince     *time.Time `json:"state_since"`
	LastCheckedAt  *time.Time `json:"last_checked_at"`
	LastStatus     int        `json:"last_status"`
	LastError      string     `json:"last_error"`
	LastDurationMS int        `json:"last_duration_ms"`
	// ContentState is the defacement verdict of the last analysed fetch:
	// "clean", "changed", "defaced", or "" before the first.
	ContentState string    `json:"content_state"`
	CreatedBy    string    `json:"created_by"`
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`

	agencyPath string
}

// State is a monitor's availability.
type State string

// States.
const (
	Unknown State = "unknown"
	Up      State = "up"
	Down    State = "down"
)

// Limits.
const (
	MinInterval     = 30
	DefaultInterval = 300
	MaxInterval     = 86400
)

// Validate fills defaults and checks a monitor.
func (m *Monitor) Validate() error {
	m.URL = strings.TrimSpace(m.URL)
	m.Name = strings.TrimSpace(m.Name)
	u, err := url.Parse(m.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(m.URL) > 2000 {
		return model.Invalid("url", "must be an http:// or https:// URL")
	}
	if m.Name == "" {
		m.Name = u.Host
	}
	if len(m.Name) > 200 {
		return model.Invalid("name", "is longer than 200 bytes")
	}
	if m.AgencyID <= 0 {
		return model.Invalid("agency_id", "is required")
	}
	if m.IntervalSeconds == 0 {
		m.IntervalSeconds = DefaultInterval
	}
	if m.IntervalSeconds < MinInterval || m.IntervalSeconds > MaxInterval {
		return model.Invalid("interval_seconds", "must be %d to %d", MinInterval, MaxInterval)
	}
	if m.TimeoutSeconds == 0 {
		m.TimeoutSeconds = 30
	}
	if m.TimeoutSeconds < 1 || m.TimeoutSeconds > 120 {
		return model.Invalid("timeout_seconds", "must be 1 to 120")
	}
	if m.ExpectedStatus != 0 && (m.ExpectedStatus < 100 || m.ExpectedStatus > 599) {
		return model.Invalid("expected_status", "must be an HTTP status (100-599) or 0")
	}
	if m.PageBudget == 0 {
		m.PageBudget = 10
	}
	if m.PageBudget < 1 || m.PageBudget > 200 {
		return model.Invalid("page_budget", "must be 1 to 200")
	}
	if len(m.MustContain) > 4000 || len(m.MustNotContain) > 4000 {
		return model.Invalid("must_contain", "keywords are longer than 4000 bytes")
	}
	return nil
}

const monitorColumns = `id, agency_id, agency_path, asset_id, name, url, interval_seconds, timeout_seconds, expected_status, must_contain,
	must_not_contain, page_budget, render_js, allow_private, enabled, state, state_since, last_checked_at, last_status, last_error,
	last_duration_ms, content_state, created_by, created_at, updated_at`

func scanMonitor(row interface{ Scan(...any) error }) (Monitor, error) {
	var m Monitor
	err := row.Scan(&m.ID, &m.AgencyID, &m.agencyPath, &m.AssetID, &m.Name, &m.URL, &m.IntervalSeconds, &m.TimeoutSeconds, &m.ExpectedStatus,
		&m.MustContain, &m.MustNotContain, &m.PageBudget, &m.RenderJS, &m.AllowPrivate, &m.Enabled, &m.State, &m.StateSince, &m.LastCheckedAt,
		&m.LastStatus, &m.LastError, &m.LastDurationMS, &m.ContentState, &m.CreatedBy, &m.CreatedAt, &m.UpdatedAt)
	return m, err
}

// Get returns one monitor within the caller's scope.
func (s *Service) Get(ctx context.Context, sc model.Scope, id int64) (Monitor, error) {
	q := `SELECT ` + monitorColumns + ` FROM monitors WHERE id = ?`
	args := []any{id}
	if !sc.Global() {
		q += ` AND agency_path LIKE ?`
		args = append(args, sc.AgencyPath+"%")
	}
	m, err := scanMonitor(s.store.DB().QueryRowContext(ctx, s.store.Rebind(q), args...))
	if errors.Is(err, sql.ErrNoRows) {
		return m, fmt.Errorf("monitor %d: %w", id, model.ErrNotFound)
	}
	return m, err
}

// List returns the monitors within the caller's scope.
func (s *Service) List(ctx context.Context, sc model.Scope) ([]Monitor, error) {
	q := `SELECT ` + monitorColumns + ` FROM monitors`
	var args []any
	if !sc.Global() {
		q += ` WHERE agency_path LIKE ?`
		args = append(args, sc.AgencyPath+"%")
	}
	rows, err := s.store.DB().QueryContext(ctx, s.store.Rebind(q+` ORDER BY agency_path, name`), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Monitor{}
	for rows.Next() {
		m, err := scanMonitor(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// Create adds a monitor in an agency the actor may manage. Only global
// administrators may let a monitor reach private addresses.
func (s *Service) Create(ctx context.Context, actor model.Actor, m *Monitor) error {
	if err := m.Validate(); err != nil {
		return err
	}
	if m.AllowPrivate && !(actor.Scope.Global() && actor.Scope.Role == model.RoleAdmin) {
		return model.Invalid("allow_private", "only an administrator may let a monitor reach private addresses")
	}
	err := s.store.InTx(ctx, func(tx *sql.Tx) error {
		path, err := s.store.AgencyPath(ctx, tx, actor.Scope, m.AgencyID)
		if errors.Is(err, model.ErrNotFound) {
			return model.Invalid("agency_id", "no such agency")
		}
		if err != nil {
			return err
		}
		m.agencyPath = path
		now := s.store.Now()
		m.CreatedAt, m.UpdatedAt, m.State, m.Enabled = now, now, Unknown, true
		m.CreatedBy = actor.Username
		err = tx.QueryRowContext(ctx, s.store.Rebind(`INSERT INTO monitors (agency_id, agency_path, asset_id, name, url, interval_seconds,
			timeout_seconds, expected_status, must_contain, must_not_contain, page_budget, render_js, allow_private, enabled, state,
			created_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			m.AgencyID, path, m.AssetID, m.Name, m.URL, m.IntervalSeconds, m.TimeoutSeconds, m.ExpectedStatus, m.MustContain, m.MustNotContain,
			m.PageBudget, m.RenderJS, m.AllowPrivate, m.Enabled, m.State, m.CreatedBy, now, now).Scan(&m.ID)
		if storage.IsUniqueViolation(err) {
			return fmt.Errorf("this agency already monitors %s: %w", m.URL, model.ErrConflict)
		}
		if err != nil {
			return err
		}
		return s.store.Audit(ctx, tx, actor, "create", "monitor", m.ID, &m.AgencyID, nil, m)
	})
	if err == nil {
		s.Reload()
	}
	return err
}

// Delete removes a monitor within the actor's scope.
func (s *Service) Delete(ctx context.Context, actor model.Actor, id int64) error {
	m, err := s.Get(ctx, actor.Scope, id)
	if err != nil {
		return err
	}
	err = s.store.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, s.store.Rebind(`DELETE FROM monitors WHERE id = ?`), id); err != nil {
			return err
		}
		return s.store.Audit(ctx, tx, actor, "delete", "monitor", id, &m.AgencyID, m, nil)
	})
	if err == nil {
		s.Reload()
	}
	return err
}

// Patch is a partial update of a monitor: nil fields are left alone.
type Patch struct {
	AgencyID        *int64  `json:"agency_id"`
	AssetID         *int64  `json:"asset_id"`
	Name            *string `json:"name"`
	URL             *string `json:"url"`
	IntervalSeconds *int    `json:"interval_seconds"`
	TimeoutSeconds  *int    `json:"timeout_seconds"`
	ExpectedStatus  *int    `json:"expected_status"`
	MustContain     *string `json:"must_contain"`
	MustNotContain  *string `json:"must_not_contain"`
	PageBudget      *int    `json:"page_budget"`
	RenderJS        *bool   `json:"render_js"`
	AllowPrivate    *bool   `json:"allow_private"`
	Enabled         *bool   `json:"enabled"`
}

func (p Patch) apply(m *Monitor) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	seti := func(dst *int, v *int) {
		if v != nil {
			*dst = *v
		}
	}
	setb := func(dst *bool, v *bool) {
		if v != nil {
			*dst = *v
		}
	}
	if p.AgencyID != nil {
		m.AgencyID = *p.AgencyID
	}
	if p.AssetID != nil {
		m.AssetID = p.AssetID
		if *p.AssetID == 0 {
			m.AssetID = nil
		}
	}
	set(&m.Name, p.Name)
	set(&m.URL, p.URL)
	set(&m.MustContain, p.MustContain)
	set(&m.MustNotContain, p.MustNotContain)
	seti(&m.IntervalSeconds, p.IntervalSeconds)
	seti(&m.TimeoutSeconds, p.TimeoutSeconds)
	seti(&m.ExpectedStatus, p.ExpectedStatus)
	seti(&m.PageBudget, p.PageBudget)
	setb(&m.RenderJS, p.RenderJS)
	setb(&m.AllowPrivate, p.AllowPrivate)
	setb(&m.Enabled, p.Enabled)
}

// Update changes a monitor within the actor's scope, audited with the
// before and after. Moving it to another agency needs that agency in
// scope too; only administrators may turn on AllowPrivate. A new URL
// starts a new baseline.
func (s *Service) Update(ctx context.Context, actor model.Actor, id int64, p Patch) (Monitor, error) {
	before, err := s.Get(ctx, actor.Scope, id)
	if err != nil {
		return Monitor{}, err
	}
	m := before
	p.apply(&m)
	if err := m.Validate(); err != nil {
		return m, err
	}
	if m.AllowPrivate && !before.AllowPrivate && !(actor.Scope.Global() && actor.Scope.Role == model.RoleAdmin) {
		return m, model.Invalid("allow_private", "only an administrator may let a monitor reach private addresses")
	}
	newURL := m.URL != before.URL
	err = s.store.InTx(ctx, func(tx *sql.Tx) error {
		path, err := s.store.AgencyPath(ctx, tx, actor.Scope, m.AgencyID)
		if errors.Is(err, model.ErrNotFound) {
			return model.Invalid("agency_id", "no such agency")
		}
		if err != nil {
			return err
		}
		m.agencyPath, m.UpdatedAt = path, s.store.Now()
		q := `UPDATE monitors SET agency_id = ?, agency_path = ?, asset_id = ?, name = ?, url = ?, interval_seconds = ?, timeout_seconds = ?,
			expected_status = ?, must_contain = ?, must_not_contain = ?, page_budget = ?, render_js = ?, allow_private = ?, enabled = ?, updated_at = ?`
		if newURL {
			q += `, baseline = '', dns_baseline = '', sitemap = '', content_state = ''`
			m.ContentState = ""
		}
		_, err = tx.ExecContext(ctx, s.store.Rebind(q+` WHERE id = ?`), m.AgencyID, path, m.AssetID, m.Name, m.URL, m.IntervalSeconds,
			m.TimeoutSeconds, m.ExpectedStatus, m.MustContain, m.MustNotContain, m.PageBudget, m.RenderJS, m.AllowPrivate, m.Enabled, m.UpdatedAt, id)
		if storage.IsUniqueViolation(err) {
			return fmt.Errorf("this agency already monitors %s: %w", m.URL, model.ErrConflict)
		}
		if err != nil {
			return err
		}
		return s.store.Audit(ctx, tx, actor, "update", "monitor", id, &m.AgencyID, before, m)
	})
	if err != nil {
		return m, err
	}
	if newURL {
		s.mu.Lock()
		delete(s.baselines, id)
		delete(s.learning, id)
		s.mu.Unlock()
	}
	s.Reload()
	return m, nil
}
