package alert

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"canhgac/internal/model"
	"canhgac/internal/storage"
	"canhgac/internal/textfold"
)

const alertColumns = `a.id, a.source, a.kind, a.severity, a.dedup_key, a.asset_id, a.agency_id, a.agency_path, a.title, a.details,
	a.evidence, a.labels, a.state, a.flapping, a.count, a.first_seen, a.last_seen, a.acked_by, a.acked_at, a.resolved_by,
	a.resolved_at, a.silence_id, a.chain_id, a.esc_step, a.esc_round, a.esc_generation, a.next_escalation_at, a.created_at,
	a.updated_at, COALESCE(s.name, ''), COALESCE(s.address, ''), COALESCE(g.name, '')`

const alertFrom = ` FROM alerts a LEFT JOIN assets s ON s.id = a.asset_id LEFT JOIN agencies g ON g.id = a.agency_id`

func scanAlert(row interface{ Scan(...any) error }) (Alert, error) {
	var a Alert
	var evidence, labels string
	err := row.Scan(&a.ID, &a.Source, &a.Kind, &a.Severity, &a.DedupKey, &a.AssetID, &a.AgencyID, &a.agencyPath, &a.Title, &a.Details,
		&evidence, &labels, &a.State, &a.Flapping, &a.Count, &a.FirstSeen, &a.LastSeen, &a.AckedBy, &a.AckedAt, &a.ResolvedBy,
		&a.ResolvedAt, &a.SilenceID, &a.ChainID, &a.EscStep, &a.EscRound, &a.generation, &a.NextEscalationAt, &a.CreatedAt,
		&a.UpdatedAt, &a.AssetName, &a.Address, &a.AgencyName)
	if err != nil {
		return a, err
	}
	json.Unmarshal([]byte(evidence), &a.Evidence)
	json.Unmarshal([]byte(labels), &a.Labels)
	return a, nil
}

// listColumns leave out the bulky fields (details, evidence, labels) that
// lists do not show; sorting 10,000 narrow rows is much cheaper.
const listColumns = `a.id, a.source, a.kind, a.severity, a.dedup_key, a.asset_id, a.agency_id, a.agency_path, a.title, '',
	'[]', '{}', a.state, a.flapping, a.count, a.first_seen, a.last_seen, a.acked_by, a.acked_at, a.resolved_by,
	a.resolved_at, a.silence_id, a.chain_id, a.esc_step, a.esc_round, a.esc_generation, a.next_escalation_at, a.created_at,
	a.updated_at, COALESCE(s.name, ''), COALESCE(s.address, ''), COALESCE(g.name, '')`

// boardColumns are what the live board shows; scanning fewer columns is
// most of what makes 10,000 rows cheap.
const boardColumns = `a.id, a.severity, a.state, a.flapping, a.count, a.last_seen, a.acked_by, a.title,
	COALESCE(s.name, ''), COALESCE(s.address, ''), COALESCE(g.name, '')`

func scanBoard(row interface{ Scan(...any) error }) (Alert, error) {
	var a Alert
	err := row.Scan(&a.ID, &a.Severity, &a.State, &a.Flapping, &a.Count, &a.LastSeen, &a.AckedBy, &a.Title, &a.AssetName, &a.Address, &a.AgencyName)
	return a, err
}

// scopeCond confines a query to the caller's agencies. Alerts with no
// agency (a province-wide feed, say) are for the duty team only.
func scopeCond(w *storage.Where, sc model.Scope) {
	if !sc.Global() {
		w.Add(`a.agency_path LIKE ?`, sc.AgencyPath+"%")
	}
}

// Get returns one alert within the caller's scope.
func (s *Service) Get(ctx context.Context, sc model.Scope, id int64) (Alert, error) {
	return s.get(ctx, s.store.DB(), sc, id, false)
}

func (s *Service) get(ctx context.Context, q storage.Querier, sc model.Scope, id int64, forUpdate bool) (Alert, error) {
	var w storage.Where
	w.Add(`a.id = ?`, id)
	scopeCond(&w, sc)
	lock := ""
	if forUpdate && s.store.Backend() == storage.Postgres {
		lock = " FOR UPDATE OF a"
	}
	a, err := scanAlert(q.QueryRowContext(ctx, s.store.Rebind(`SELECT `+alertColumns+alertFrom+w.String()+lock), w.Args()...))
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("alert %d: %w", id, model.ErrNotFound)
	}
	return a, err
}

// Filter selects alerts for the board and the API.
type Filter struct {
	States     []State
	Severities []Severity
	AgencyID   int64
	AssetID    int64
	Kind       string // prefix, e.g. "webmon."
	Query      string
	// Board reads only what the live board shows (see boardColumns).
	Board  bool
	Limit  int
	Offset int
}

// List returns alerts within the caller's scope, most severe and newest first.
func (s *Service) List(ctx context.Context, sc model.Scope, f Filter) (storage.Page[Alert], error) {
	f.Limit, f.Offset = clampPage(f.Limit, f.Offset)
	var w storage.Where
	scopeCond(&w, sc)
	if len(f.States) > 0 {
		w.In(`a.state`, anys(f.States)...)
	}
	if len(f.Severities) > 0 {
		w.In(`a.severity`, anys(f.Severities)...)
	}
	if f.AgencyID > 0 {
		w.Add(`a.agency_path LIKE (SELECT path FROM agencies WHERE id = ?) || '%'`, f.AgencyID)
	}
	if f.AssetID > 0 {
		w.Add(`a.asset_id = ?`, f.AssetID)
	}
	if f.Kind != "" {
		w.Add(`a.kind LIKE ? ESCAPE '\'`, storage.LikeEscape(f.Kind)+"%")
	}
	if f.Query != "" {
		// Both sides folded in Go (textfold): case and diacritics do not
		// matter, on either backend ("dak lak" finds "ĐẮK LẮK").
		q := "%" + storage.LikeEscape(textfold.Fold(f.Query)) + "%"
		w.Add(`(a.search LIKE ? ESCAPE '\' OR COALESCE(s.search, '') LIKE ? ESCAPE '\')`, q, q)
	}
	page := storage.Page[Alert]{Items: []Alert{}, Limit: f.Limit, Offset: f.Offset}
	// Counting needs the joins only when the text search looks at assets.
	from := ` FROM alerts a`
	if f.Query != "" {
		from = alertFrom
	}
	if err := s.store.DB().QueryRowContext(ctx, s.store.Rebind(`SELECT COUNT(*)`+from+w.String()), w.Args()...).Scan(&page.Total); err != nil {
		return page, err
	}
	cols := listColumns
	if f.Board {
		cols = boardColumns
	}
	rows, err := s.store.DB().QueryContext(ctx, s.store.Rebind(`SELECT `+cols+alertFrom+w.String()+
		` ORDER BY CASE a.state WHEN 'open' THEN 0 WHEN 'acknowledged' THEN 1 ELSE 2 END,
		CASE a.severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 WHEN 'low' THEN 3 ELSE 4 END,
		a.last_seen DESC, a.id DESC LIMIT ? OFFSET ?`), append(w.Args(), f.Limit, f.Offset)...)
	if err != nil {
		return page, err
	}
	defer rows.Close()
	scan := scanAlert
	if f.Board {
		scan = scanBoard
		page.Items = make([]Alert, 0, min(page.Total, f.Limit))
	}
	for rows.Next() {
		a, err := scan(rows)
		if err != nil {
			return page, err
		}
		page.Items = append(page.Items, a)
	}
	return page, rows.Err()
}

// Timeline returns an alert's events, oldest first, within the caller's scope.
func (s *Service) Timeline(ctx context.Context, sc model.Scope, id int64) ([]Event, error) {
	if _, err := s.Get(ctx, sc, id); err != nil {
		return nil, err
	}
	rows, err := s.store.DB().QueryContext(ctx, s.store.Rebind(`SELECT id, alert_id, at, type, actor, detail FROM alert_events
		WHERE alert_id = ? ORDER BY id`), id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Event{}
	for rows.Next() {
		var e Event
		var detail string
		if err := rows.Scan(&e.ID, &e.AlertID, &e.At, &e.Type, &e.Actor, &detail); err != nil {
			return nil, err
		}
		json.Unmarshal([]byte(detail), &e.Detail)
		out = append(out, e)
	}
	return out, rows.Err()
}

// Counts returns the number of unresolved alerts per severity in scope.
func (s *Service) Counts(ctx context.Context, sc model.Scope) (map[Severity]int, error) {
	var w storage.Where
	scopeCond(&w, sc)
	w.Add(`a.state <> 'resolved'`)
	rows, err := s.store.DB().QueryContext(ctx, s.store.Rebind(`SELECT a.severity, COUNT(*) FROM alerts a`+w.String()+` GROUP BY a.severity`), w.Args()...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[Severity]int{}
	for rows.Next() {
		var sev Severity
		var n int
		if err := rows.Scan(&sev, &n); err != nil {
			return nil, err
		}
		out[sev] = n
	}
	return out, rows.Err()
}

func anys[T any](vals []T) []any {
	out := make([]any, len(vals))
	for i, v := range vals {
		out[i] = v
	}
	return out
}

func clampPage(limit, offset int) (int, int) {
	if limit > 20000 {
		limit = 20000
	}
	if limit <= 0 {
		limit = storage.DefaultLimit
	}
	return limit, max(offset, 0)
}
