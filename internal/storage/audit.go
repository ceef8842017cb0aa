package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"canhgac/internal/model"
)

// audit records a state change inside the transaction that makes it, so a
// change and its audit event are committed or lost together.
func (s *Store) audit(ctx context.Context, tx *sql.Tx, actor model.Actor, action, resource string, id int64, agencyID *int64, before, after any) error {
	enc := func(v any) (any, error) {
		if v == nil {
			return nil, nil
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, err
		}
		return string(b), nil
	}
	b, err := enc(before)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	a, err := enc(after)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	var actorID *int64
	if actor.UserID != 0 {
		actorID = &actor.UserID
	}
	name := actor.Username
	if name == "" {
		name = "system"
	}
	_, err = tx.ExecContext(ctx, s.rebind(`INSERT INTO audit_events
		(at, actor_id, actor_name, action, resource_type, resource_id, agency_id, ip, before_json, after_json)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		s.now(), actorID, name, action, resource, id, agencyID, actor.IP, b, a)
	if err != nil {
		return fmt.Errorf("audit %s %s %d: %w", action, resource, id, err)
	}
	return nil
}

// AuditFilter selects audit events.
type AuditFilter struct {
	ResourceType string
	ResourceID   int64
	ActorName    string
	Action       string
	Since, Until time.Time
	Limit        int
	Offset       int
}

// ListAudit returns audit events, newest first. A scoped caller sees only
// events about objects of agencies in its subtree.
func (s *Store) ListAudit(ctx context.Context, sc model.Scope, f AuditFilter) (Page[model.AuditEvent], error) {
	f.Limit, f.Offset = clampPage(f.Limit, f.Offset)
	var w where
	if !sc.Global() {
		w.add(`e.agency_id IN (SELECT id FROM agencies WHERE path LIKE ?)`, sc.AgencyPath+"%")
	}
	if f.ResourceType != "" {
		w.add(`e.resource_type = ?`, f.ResourceType)
	}
	if f.ResourceID != 0 {
		w.add(`e.resource_id = ?`, f.ResourceID)
	}
	if f.ActorName != "" {
		w.add(`e.actor_name = ?`, f.ActorName)
	}
	if f.Action != "" {
		w.add(`e.action = ?`, f.Action)
	}
	if !f.Since.IsZero() {
		w.add(`e.at >= ?`, f.Since.UTC())
	}
	if !f.Until.IsZero() {
		w.add(`e.at < ?`, f.Until.UTC())
	}
	page := Page[model.AuditEvent]{Limit: f.Limit, Offset: f.Offset, Items: []model.AuditEvent{}}
	if err := s.db.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM audit_events e`+w.String()), w.args...).Scan(&page.Total); err != nil {
		return page, fmt.Errorf("count audit events: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT e.id, e.at, e.actor_id, e.actor_name, e.action, e.resource_type,
		e.resource_id, e.agency_id, e.ip, e.before_json, e.after_json FROM audit_events e`+w.String()+
		` ORDER BY e.id DESC LIMIT ? OFFSET ?`), append(w.args, f.Limit, f.Offset)...)
	if err != nil {
		return page, fmt.Errorf("list audit events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e model.AuditEvent
		var before, after sql.NullString
		if err := rows.Scan(&e.ID, &e.At, &e.ActorID, &e.ActorName, &e.Action, &e.ResourceType,
			&e.ResourceID, &e.AgencyID, &e.IP, &before, &after); err != nil {
			return page, fmt.Errorf("list audit events: %w", err)
		}
		if before.Valid {
			e.Before = json.RawMessage(before.String)
		}
		if after.Valid {
			e.After = json.RawMessage(after.String)
		}
		page.Items = append(page.Items, e)
	}
	return page, rows.Err()
}
