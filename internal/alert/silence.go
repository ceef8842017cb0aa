package alert

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"canhgac/internal/model"
	"canhgac/internal/storage"
)

// Silence mutes new alerts that match it until it ends: a maintenance
// window for an asset, an agency (and its sub-agencies), a kind or a tag.
// Every set field must match; at least one must be set.
type Silence struct {
	ID        int64     `json:"id"`
	AssetID   *int64    `json:"asset_id"`
	AgencyID  *int64    `json:"agency_id"`
	Kind      string    `json:"kind"` // a prefix: "webmon." silences all web monitoring
	Tag       string    `json:"tag"`
	StartsAt  time.Time `json:"starts_at"`
	EndsAt    time.Time `json:"ends_at"`
	Comment   string    `json:"comment"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`

	agencyPath string
}

// MaxSilence bounds a silence: a forgotten one must not hide alerts forever.
const MaxSilence = 90 * 24 * time.Hour

// Validate checks a silence before it is stored.
func (x *Silence) Validate() error {
	x.Kind = strings.TrimSpace(x.Kind)
	x.Tag = strings.ToLower(strings.TrimSpace(x.Tag))
	x.Comment = strings.TrimSpace(x.Comment)
	switch {
	case x.AssetID == nil && x.AgencyID == nil && x.Kind == "" && x.Tag == "":
		return model.Invalid("asset_id", "a silence needs an asset, agency, kind or tag")
	case x.EndsAt.IsZero():
		return model.Invalid("ends_at", "is required")
	case !x.EndsAt.After(x.StartsAt):
		return model.Invalid("ends_at", "must be after starts_at")
	case x.EndsAt.Sub(x.StartsAt) > MaxSilence:
		return model.Invalid("ends_at", "a silence may last at most 90 days")
	case x.Comment == "":
		return model.Invalid("comment", "is required: say why alerts are silenced")
	case len(x.Comment) > 1000:
		return model.Invalid("comment", "is longer than 1000 bytes")
	}
	return nil
}

type silenceRow struct {
	id        int64
	asset     *int64
	path      string
	kind, tag string
}

// matchSilence finds an active silence covering a new alert.
func (s *Service) matchSilence(ctx context.Context, tx *sql.Tx, bc *batchCache, a *Alert, path, tags string, now time.Time) (*int64, error) {
	if !bc.loadedS {
		rows, err := tx.QueryContext(ctx, s.store.Rebind(`SELECT id, asset_id, agency_path, kind, tag FROM silences
			WHERE starts_at <= ? AND ends_at > ? ORDER BY id`), now, now)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		for rows.Next() {
			var x silenceRow
			if err := rows.Scan(&x.id, &x.asset, &x.path, &x.kind, &x.tag); err != nil {
				return nil, err
			}
			bc.silences = append(bc.silences, x)
		}
		if err := rows.Err(); err != nil {
			return nil, err
		}
		bc.loadedS = true
	}
	for _, x := range bc.silences {
		if x.asset != nil && (a.AssetID == nil || *a.AssetID != *x.asset) {
			continue
		}
		if x.path != "" && !strings.HasPrefix(path, x.path) {
			continue
		}
		if x.kind != "" && !strings.HasPrefix(a.Kind, x.kind) {
			continue
		}
		if x.tag != "" && !strings.Contains(tags, ","+x.tag+",") && a.Labels["tag"] != x.tag {
			continue
		}
		id := x.id
		return &id, nil
	}
	return nil, nil
}

// CreateSilence stores a silence. A scoped caller may silence only within
// their agencies.
func (s *Service) CreateSilence(ctx context.Context, actor model.Actor, x *Silence) error {
	if x.StartsAt.IsZero() {
		x.StartsAt = s.store.Now()
	}
	if err := x.Validate(); err != nil {
		return err
	}
	x.CreatedBy = actor.Username
	if x.CreatedBy == "" {
		x.CreatedBy = "system"
	}
	x.CreatedAt = s.store.Now()
	return s.store.InTx(ctx, func(tx *sql.Tx) error {
		if err := s.silenceScope(ctx, tx, actor.Scope, x); err != nil {
			return err
		}
		err := tx.QueryRowContext(ctx, s.store.Rebind(`INSERT INTO silences (asset_id, agency_id, agency_path, kind, tag, starts_at, ends_at,
			comment, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			x.AssetID, x.AgencyID, x.agencyPath, x.Kind, x.Tag, x.StartsAt.UTC(), x.EndsAt.UTC(), x.Comment, x.CreatedBy, x.CreatedAt).Scan(&x.ID)
		if err != nil {
			return err
		}
		return s.store.Audit(ctx, tx, actor, "create", "silence", x.ID, x.AgencyID, nil, x)
	})
}

// silenceScope fills the silence's agency path and checks the caller may
// silence what it names. Scoped callers must name an asset or agency.
func (s *Service) silenceScope(ctx context.Context, q storage.Querier, sc model.Scope, x *Silence) error {
	if x.AssetID != nil {
		var agencyID int64
		var path string
		err := q.QueryRowContext(ctx, s.store.Rebind(`SELECT a.agency_id, g.path FROM assets a JOIN agencies g ON g.id = a.agency_id WHERE a.id = ?`),
			*x.AssetID).Scan(&agencyID, &path)
		if errors.Is(err, sql.ErrNoRows) || err == nil && !sc.Covers(path) {
			return model.Invalid("asset_id", "no such asset")
		}
		if err != nil {
			return err
		}
		if x.AgencyID == nil {
			x.AgencyID = &agencyID
		}
	}
	if x.AgencyID != nil {
		p, err := s.store.AgencyPath(ctx, q, sc, *x.AgencyID)
		if errors.Is(err, model.ErrNotFound) {
			return model.Invalid("agency_id", "no such agency")
		}
		if err != nil {
			return err
		}
		x.agencyPath = p
	}
	if !sc.Global() && x.agencyPath == "" {
		return model.Invalid("agency_id", "is required: you may silence only your own agencies' alerts")
	}
	return nil
}

// ListSilences returns silences that have not ended (all if includeEnded),
// within the caller's scope.
func (s *Service) ListSilences(ctx context.Context, sc model.Scope, includeEnded bool) ([]Silence, error) {
	var w storage.Where
	if !sc.Global() {
		w.Add(`agency_path LIKE ?`, sc.AgencyPath+"%")
	}
	if !includeEnded {
		w.Add(`ends_at > ?`, s.store.Now())
	}
	rows, err := s.store.DB().QueryContext(ctx, s.store.Rebind(`SELECT id, asset_id, agency_id, agency_path, kind, tag, starts_at, ends_at,
		comment, created_by, created_at FROM silences`+w.String()+` ORDER BY ends_at DESC, id DESC LIMIT 1000`), w.Args()...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Silence{}
	for rows.Next() {
		var x Silence
		if err := rows.Scan(&x.ID, &x.AssetID, &x.AgencyID, &x.agencyPath, &x.Kind, &x.Tag, &x.StartsAt, &x.EndsAt, &x.Comment,
			&x.CreatedBy, &x.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// EndSilence ends a silence now; alerts it held start escalating.
func (s *Service) EndSilence(ctx context.Context, actor model.Actor, id int64) error {
	err := s.store.InTx(ctx, func(tx *sql.Tx) error {
		var path string
		var agencyID *int64
		var ends time.Time
		err := tx.QueryRowContext(ctx, s.store.Rebind(`SELECT agency_path, agency_id, ends_at FROM silences WHERE id = ?`), id).Scan(&path, &agencyID, &ends)
		if errors.Is(err, sql.ErrNoRows) || err == nil && !actor.Scope.Global() && (path == "" || !actor.Scope.Covers(path)) {
			return fmt.Errorf("silence %d: %w", id, model.ErrNotFound)
		}
		if err != nil {
			return err
		}
		now := s.store.Now()
		if !ends.After(now) {
			return fmt.Errorf("silence %d has already ended: %w", id, model.ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, s.store.Rebind(`UPDATE silences SET ends_at = ? WHERE id = ?`), now, id); err != nil {
			return err
		}
		return s.store.Audit(ctx, tx, actor, "end", "silence", id, agencyID, map[string]any{"ends_at": ends}, map[string]any{"ends_at": now})
	})
	if err == nil {
		s.wake()
	}
	return err
}
