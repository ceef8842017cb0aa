package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"

	"canhgac/internal/model"
	"canhgac/internal/textfold"
)

const agencyColumns = `id, parent_id, name, code, kind, path, created_at, updated_at`

func scanAgency(row interface{ Scan(...any) error }) (model.Agency, error) {
	var a model.Agency
	err := row.Scan(&a.ID, &a.ParentID, &a.Name, &a.Code, &a.Kind, &a.Path, &a.CreatedAt, &a.UpdatedAt)
	return a, err
}

// agencyPath reads an agency's path; ErrNotFound if it does not exist or is outside sc.
func (s *Store) agencyPath(ctx context.Context, q querier, sc model.Scope, id int64) (string, error) {
	var path string
	err := q.QueryRowContext(ctx, s.rebind(`SELECT path FROM agencies WHERE id = ?`), id).Scan(&path)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !sc.Covers(path)) {
		return "", model.ErrNotFound
	}
	return path, err
}

// GetAgency returns one agency within the caller's scope.
func (s *Store) GetAgency(ctx context.Context, sc model.Scope, id int64) (model.Agency, error) {
	return s.getAgency(ctx, s.db, sc, id)
}

func (s *Store) getAgency(ctx context.Context, q querier, sc model.Scope, id int64) (model.Agency, error) {
	a, err := scanAgency(q.QueryRowContext(ctx, s.rebind(`SELECT `+agencyColumns+` FROM agencies WHERE id = ?`), id))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !sc.Covers(a.Path)) {
		return a, fmt.Errorf("agency %d: %w", id, model.ErrNotFound)
	}
	return a, err
}

// AgencyFilter selects agencies.
type AgencyFilter struct {
	// Under lists only this agency and its descendants.
	Under int64
	Kind  model.AgencyKind
	// Query matches name or code, folding diacritics ("so tttt" finds "Sở TTTT").
	Query  string
	Limit  int
	Offset int
}

// ListAgencies returns agencies in tree order (by path) within the caller's scope.
func (s *Store) ListAgencies(ctx context.Context, sc model.Scope, f AgencyFilter) (Page[model.Agency], error) {
	f.Limit, f.Offset = clampPage(f.Limit, f.Offset)
	var w where
	if !sc.Global() {
		w.add(`path LIKE ?`, sc.AgencyPath+"%")
	}
	if f.Under != 0 {
		w.add(`path LIKE (SELECT path FROM agencies WHERE id = ?) || '%'`, f.Under)
	}
	if f.Kind != "" {
		w.add(`kind = ?`, f.Kind)
	}
	if q := textfold.Fold(f.Query); q != "" {
		w.add(`search LIKE ? ESCAPE '\'`, "%"+likeEscape(q)+"%")
	}
	page := Page[model.Agency]{Limit: f.Limit, Offset: f.Offset, Items: []model.Agency{}}
	if err := s.db.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM agencies`+w.String()), w.args...).Scan(&page.Total); err != nil {
		return page, fmt.Errorf("count agencies: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT `+agencyColumns+` FROM agencies`+w.String()+
		` ORDER BY path LIMIT ? OFFSET ?`), append(w.args, f.Limit, f.Offset)...)
	if err != nil {
		return page, fmt.Errorf("list agencies: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		a, err := scanAgency(rows)
		if err != nil {
			return page, fmt.Errorf("list agencies: %w", err)
		}
		page.Items = append(page.Items, a)
	}
	return page, rows.Err()
}

func agencySearch(a *model.Agency) string { return textfold.Fold(a.Name + " " + a.Code) }

// CreateAgency adds an agency. A scoped caller may add only inside its subtree,
// and only the province root may be created without a parent.
func (s *Store) CreateAgency(ctx context.Context, actor model.Actor, a *model.Agency) error {
	if !actor.Can(model.ActionWrite, model.ResourceAgency) {
		return model.ErrForbidden
	}
	if err := a.Validate(); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		parentPath := "/"
		if a.ParentID != nil {
			p, err := s.agencyPath(ctx, tx, actor.Scope, *a.ParentID)
			if err != nil {
				return model.Invalid("parent_id", "no such agency")
			}
			parentPath = p
		} else if !actor.Global() {
			return model.Invalid("parent_id", "is required")
		}
		now := s.now()
		a.CreatedAt, a.UpdatedAt = now, now
		err := tx.QueryRowContext(ctx, s.rebind(`INSERT INTO agencies (parent_id, name, code, kind, path, search, created_at, updated_at)
			VALUES (?, ?, ?, ?, '', ?, ?, ?) RETURNING id`),
			a.ParentID, a.Name, a.Code, a.Kind, agencySearch(a), now, now).Scan(&a.ID)
		if err != nil {
			return fmt.Errorf("create agency: %w", err)
		}
		a.Path = parentPath + strconv.FormatInt(a.ID, 10) + "/"
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE agencies SET path = ? WHERE id = ?`), a.Path, a.ID); err != nil {
			return fmt.Errorf("create agency: %w", err)
		}
		return s.audit(ctx, tx, actor, "create", "agency", a.ID, &a.ID, nil, a)
	})
}

// UpdateAgency changes an agency's fields, moving its subtree if the parent changes.
func (s *Store) UpdateAgency(ctx context.Context, actor model.Actor, a *model.Agency) error {
	if !actor.Can(model.ActionWrite, model.ResourceAgency) {
		return model.ErrForbidden
	}
	if err := a.Validate(); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		old, err := s.getAgency(ctx, tx, actor.Scope, a.ID)
		if err != nil {
			return err
		}
		if !actor.Global() && old.Path == actor.AgencyPath && !sameParent(old.ParentID, a.ParentID) {
			return model.Invalid("parent_id", "you cannot move your own agency")
		}
		newPath := old.Path
		if !sameParent(old.ParentID, a.ParentID) {
			parentPath := "/"
			if a.ParentID != nil {
				p, err := s.agencyPath(ctx, tx, actor.Scope, *a.ParentID)
				if err != nil {
					return model.Invalid("parent_id", "no such agency")
				}
				parentPath = p
			} else if !actor.Global() {
				return model.Invalid("parent_id", "is required")
			}
			if len(parentPath) >= len(old.Path) && parentPath[:len(old.Path)] == old.Path {
				return model.Invalid("parent_id", "an agency cannot be moved under itself")
			}
			newPath = parentPath + strconv.FormatInt(a.ID, 10) + "/"
		}
		a.Path, a.CreatedAt, a.UpdatedAt = newPath, old.CreatedAt, s.now()
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE agencies SET parent_id = ?, name = ?, code = ?, kind = ?,
			search = ?, updated_at = ? WHERE id = ?`),
			a.ParentID, a.Name, a.Code, a.Kind, agencySearch(a), a.UpdatedAt, a.ID); err != nil {
			return fmt.Errorf("update agency %d: %w", a.ID, err)
		}
		if newPath != old.Path {
			if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE agencies SET path = ? || substr(path, ?) WHERE path LIKE ?`),
				newPath, len(old.Path)+1, old.Path+"%"); err != nil {
				return fmt.Errorf("move agency %d: %w", a.ID, err)
			}
		}
		return s.audit(ctx, tx, actor, "update", "agency", a.ID, &a.ID, old, a)
	})
}

func sameParent(a, b *int64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// DeleteAgency removes an agency that has no children, users or assets.
func (s *Store) DeleteAgency(ctx context.Context, actor model.Actor, id int64) error {
	if !actor.Can(model.ActionWrite, model.ResourceAgency) {
		return model.ErrForbidden
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		old, err := s.getAgency(ctx, tx, actor.Scope, id)
		if err != nil {
			return err
		}
		if !actor.Global() && old.Path == actor.AgencyPath {
			return fmt.Errorf("%w: you cannot delete your own agency", model.ErrForbidden)
		}
		var n int
		if err := tx.QueryRowContext(ctx, s.rebind(`SELECT
			(SELECT COUNT(*) FROM agencies WHERE parent_id = ?) +
			(SELECT COUNT(*) FROM users WHERE agency_id = ?) +
			(SELECT COUNT(*) FROM assets WHERE agency_id = ?)`), id, id, id).Scan(&n); err != nil {
			return fmt.Errorf("delete agency %d: %w", id, err)
		}
		if n > 0 {
			return fmt.Errorf("%w: agency %d still has sub-agencies, users or assets", model.ErrConflict, id)
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM agencies WHERE id = ?`), id); err != nil {
			return fmt.Errorf("delete agency %d: %w", id, err)
		}
		return s.audit(ctx, tx, actor, "delete", "agency", id, &id, old, nil)
	})
}

// AgencyCount returns how many agencies exist (for first-start checks).
func (s *Store) AgencyCount(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM agencies`).Scan(&n)
	return n, err
}
