package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"canhgac/internal/model"
	"canhgac/internal/textfold"
)

const assetColumns = `a.id, a.agency_id, a.kind, a.name, a.address, a.security_level, a.tags, a.contact_name,
	a.contact_email, a.contact_phone, a.description, a.created_at, a.updated_at, ag.name`

func scanAsset(row interface{ Scan(...any) error }) (model.Asset, error) {
	var a model.Asset
	var tags string
	err := row.Scan(&a.ID, &a.AgencyID, &a.Kind, &a.Name, &a.Address, &a.SecurityLevel, &tags, &a.ContactName,
		&a.ContactEmail, &a.ContactPhone, &a.Description, &a.CreatedAt, &a.UpdatedAt, &a.AgencyName)
	a.Tags = splitTags(tags)
	return a, err
}

// Tags are stored as ",a,b," so that one tag can be matched with LIKE '%,a,%'.
func joinTags(tags []string) string {
	if len(tags) == 0 {
		return ""
	}
	return "," + strings.Join(tags, ",") + ","
}

func splitTags(s string) []string {
	s = strings.Trim(s, ",")
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

func assetSearch(a *model.Asset) string {
	return textfold.Fold(a.Name + " " + a.Address + " " + strings.Join(a.Tags, " ") + " " + a.ContactName)
}

// GetAsset returns one asset within the caller's scope.
func (s *Store) GetAsset(ctx context.Context, sc model.Scope, id int64) (model.Asset, error) {
	return s.getAsset(ctx, s.db, sc, id)
}

func (s *Store) getAsset(ctx context.Context, q querier, sc model.Scope, id int64) (model.Asset, error) {
	var w where
	w.add(`a.id = ?`, id)
	if !sc.Global() {
		w.add(`ag.path LIKE ?`, sc.AgencyPath+"%")
	}
	a, err := scanAsset(q.QueryRowContext(ctx, s.rebind(`SELECT `+assetColumns+`
		FROM assets a JOIN agencies ag ON ag.id = a.agency_id`+w.String()), w.args...))
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("asset %d: %w", id, model.ErrNotFound)
	}
	return a, err
}

// AssetFilter selects assets.
type AssetFilter struct {
	// AgencyID lists the assets of this agency and its sub-agencies.
	AgencyID int64
	Kind     model.AssetKind
	Level    int
	Tag      string
	// Query matches name, address, tags and contact, folding diacritics.
	Query  string
	Limit  int
	Offset int
}

// ListAssets returns assets within the caller's scope, ordered by agency then name.
func (s *Store) ListAssets(ctx context.Context, sc model.Scope, f AssetFilter) (Page[model.Asset], error) {
	f.Limit, f.Offset = clampPage(f.Limit, f.Offset)
	var w where
	if !sc.Global() {
		w.add(`ag.path LIKE ?`, sc.AgencyPath+"%")
	}
	if f.AgencyID != 0 {
		w.add(`ag.path LIKE (SELECT path FROM agencies WHERE id = ?) || '%'`, f.AgencyID)
	}
	if f.Kind != "" {
		w.add(`a.kind = ?`, f.Kind)
	}
	if f.Level != 0 {
		w.add(`a.security_level = ?`, f.Level)
	}
	if t := strings.ToLower(strings.TrimSpace(f.Tag)); t != "" {
		w.add(`a.tags LIKE ? ESCAPE '\'`, "%,"+likeEscape(t)+",%")
	}
	if q := textfold.Fold(f.Query); q != "" {
		w.add(`a.search LIKE ? ESCAPE '\'`, "%"+likeEscape(q)+"%")
	}
	from := ` FROM assets a JOIN agencies ag ON ag.id = a.agency_id` + w.String()
	page := Page[model.Asset]{Limit: f.Limit, Offset: f.Offset, Items: []model.Asset{}}
	if err := s.db.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*)`+from), w.args...).Scan(&page.Total); err != nil {
		return page, fmt.Errorf("count assets: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT `+assetColumns+from+` ORDER BY ag.path, a.name, a.id LIMIT ? OFFSET ?`),
		append(w.args, f.Limit, f.Offset)...)
	if err != nil {
		return page, fmt.Errorf("list assets: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		a, err := scanAsset(rows)
		if err != nil {
			return page, fmt.Errorf("list assets: %w", err)
		}
		page.Items = append(page.Items, a)
	}
	return page, rows.Err()
}

// AgencyAssetCount is one row of the dashboard's assets-by-agency table.
type AgencyAssetCount struct {
	Agency model.Agency
	ByKind map[model.AssetKind]int
	Total  int
}

// AssetCountsByAgency counts assets per agency (own assets only, not sub-agencies) within scope.
func (s *Store) AssetCountsByAgency(ctx context.Context, sc model.Scope) ([]AgencyAssetCount, error) {
	var w where
	if !sc.Global() {
		w.add(`ag.path LIKE ?`, sc.AgencyPath+"%")
	}
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT ag.id, ag.parent_id, ag.name, ag.code, ag.kind, ag.path, ag.created_at, ag.updated_at,
		a.kind, COUNT(a.id) FROM agencies ag LEFT JOIN assets a ON a.agency_id = ag.id`+w.String()+`
		GROUP BY ag.id, ag.parent_id, ag.name, ag.code, ag.kind, ag.path, ag.created_at, ag.updated_at, a.kind
		ORDER BY ag.path LIMIT 5000`), w.args...)
	if err != nil {
		return nil, fmt.Errorf("count assets: %w", err)
	}
	defer rows.Close()
	var out []AgencyAssetCount
	for rows.Next() {
		var ag model.Agency
		var kind sql.NullString
		var n int
		if err := rows.Scan(&ag.ID, &ag.ParentID, &ag.Name, &ag.Code, &ag.Kind, &ag.Path, &ag.CreatedAt, &ag.UpdatedAt, &kind, &n); err != nil {
			return nil, err
		}
		if len(out) == 0 || out[len(out)-1].Agency.ID != ag.ID {
			out = append(out, AgencyAssetCount{Agency: ag, ByKind: map[model.AssetKind]int{}})
		}
		if kind.Valid {
			last := &out[len(out)-1]
			last.ByKind[model.AssetKind(kind.String)] += n
			last.Total += n
		}
	}
	return out, rows.Err()
}

// CreateAsset adds an asset to an agency in the actor's scope.
func (s *Store) CreateAsset(ctx context.Context, actor model.Actor, a *model.Asset) error {
	if !actor.Can(model.ActionWrite, model.ResourceAsset) {
		return model.ErrForbidden
	}
	if err := a.Validate(); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error { return s.insertAsset(ctx, tx, actor, a, "create") })
}

func (s *Store) insertAsset(ctx context.Context, tx *sql.Tx, actor model.Actor, a *model.Asset, action string) error {
	if _, err := s.agencyPath(ctx, tx, actor.Scope, a.AgencyID); err != nil {
		return model.Invalid("agency_id", "no such agency")
	}
	now := s.now()
	a.CreatedAt, a.UpdatedAt = now, now
	err := tx.QueryRowContext(ctx, s.rebind(`INSERT INTO assets (agency_id, kind, name, address, security_level, tags,
		contact_name, contact_email, contact_phone, description, search, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		a.AgencyID, a.Kind, a.Name, a.Address, a.SecurityLevel, joinTags(a.Tags), a.ContactName, a.ContactEmail,
		a.ContactPhone, a.Description, assetSearch(a), now, now).Scan(&a.ID)
	if isUniqueViolation(err) {
		return fmt.Errorf("%w: agency %d already has an asset named %q", model.ErrConflict, a.AgencyID, a.Name)
	}
	if err != nil {
		return fmt.Errorf("create asset: %w", err)
	}
	return s.audit(ctx, tx, actor, action, "asset", a.ID, &a.AgencyID, nil, a)
}

// UpdateAsset changes an asset; both its old and new agency must be in scope.
func (s *Store) UpdateAsset(ctx context.Context, actor model.Actor, a *model.Asset) error {
	if !actor.Can(model.ActionWrite, model.ResourceAsset) {
		return model.ErrForbidden
	}
	if err := a.Validate(); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		old, err := s.getAsset(ctx, tx, actor.Scope, a.ID)
		if err != nil {
			return err
		}
		if _, err := s.agencyPath(ctx, tx, actor.Scope, a.AgencyID); err != nil {
			return model.Invalid("agency_id", "no such agency")
		}
		a.CreatedAt, a.UpdatedAt = old.CreatedAt, s.now()
		_, err = tx.ExecContext(ctx, s.rebind(`UPDATE assets SET agency_id = ?, kind = ?, name = ?, address = ?, security_level = ?,
			tags = ?, contact_name = ?, contact_email = ?, contact_phone = ?, description = ?, search = ?, updated_at = ? WHERE id = ?`),
			a.AgencyID, a.Kind, a.Name, a.Address, a.SecurityLevel, joinTags(a.Tags), a.ContactName, a.ContactEmail,
			a.ContactPhone, a.Description, assetSearch(a), a.UpdatedAt, a.ID)
		if isUniqueViolation(err) {
			return fmt.Errorf("%w: agency %d already has an asset named %q", model.ErrConflict, a.AgencyID, a.Name)
		}
		if err != nil {
			return fmt.Errorf("update asset %d: %w", a.ID, err)
		}
		old.AgencyName = ""
		return s.audit(ctx, tx, actor, "update", "asset", a.ID, &a.AgencyID, old, a)
	})
}

// DeleteAsset removes an asset in the actor's scope.
func (s *Store) DeleteAsset(ctx context.Context, actor model.Actor, id int64) error {
	if !actor.Can(model.ActionWrite, model.ResourceAsset) {
		return model.ErrForbidden
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		old, err := s.getAsset(ctx, tx, actor.Scope, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM assets WHERE id = ?`), id); err != nil {
			return fmt.Errorf("delete asset %d: %w", id, err)
		}
		old.AgencyName = ""
		return s.audit(ctx, tx, actor, "delete", "asset", id, &old.AgencyID, old, nil)
	})
}

// ImportRow is one parsed row of a bulk import. Err holds a parse error found
// before the store saw the row.
type ImportRow struct {
	Line  int
	Asset model.Asset
	Err   error
}

// RowError reports why one line of an import was refused.
type RowError struct {
	Line    int    `json:"line"`
	Field   string `json:"field,omitempty"`
	Message string `json:"message"`
}

// ImportResult says what a bulk import did.
type ImportResult struct {
	Imported int        `json:"imported"`
	Errors   []RowError `json:"errors"`
}

// ImportAssets creates many assets in one transaction. Unless partial is set,
// one bad row means nothing is written; every bad row is reported either way.
func (s *Store) ImportAssets(ctx context.Context, actor model.Actor, rows []ImportRow, partial bool) (ImportResult, error) {
	res := ImportResult{Errors: []RowError{}}
	if !actor.Can(model.ActionWrite, model.ResourceAsset) {
		return res, model.ErrForbidden
	}
	rowErr := func(line int, err error) {
		var ve *model.ValidationError
		if errors.As(err, &ve) {
			res.Errors = append(res.Errors, RowError{Line: line, Field: ve.Field, Message: ve.Message})
			return
		}
		msg := err.Error()
		if errors.Is(err, model.ErrConflict) {
			msg = strings.TrimPrefix(msg, model.ErrConflict.Error()+": ")
		}
		res.Errors = append(res.Errors, RowError{Line: line, Message: msg})
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for i := range rows {
			r := &rows[i]
			if r.Err != nil {
				rowErr(r.Line, r.Err)
				continue
			}
			if err := r.Asset.Validate(); err != nil {
				rowErr(r.Line, err)
				continue
			}
			// A savepoint per row keeps one failed insert from aborting the
			// whole PostgreSQL transaction.
			if _, err := tx.ExecContext(ctx, `SAVEPOINT import_row`); err != nil {
				return err
			}
			if err := s.insertAsset(ctx, tx, actor, &r.Asset, "import"); err != nil {
				if _, rbErr := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT import_row`); rbErr != nil {
					return rbErr
				}
				var ve *model.ValidationError
				if !errors.As(err, &ve) && !errors.Is(err, model.ErrConflict) {
					return err
				}
				rowErr(r.Line, err)
				continue
			}
			if _, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT import_row`); err != nil {
				return err
			}
			res.Imported++
		}
		if len(res.Errors) > 0 && !partial {
			res.Imported = 0
			return errImportRefused
		}
		return nil
	})
	if errors.Is(err, errImportRefused) {
		return res, nil
	}
	return res, err
}

var errImportRefused = errors.New("import refused")

// AgencyRefs maps the ways an import file may name an agency (its ID, its code,
// or its name folded) to its ID, for the agencies in scope.
func (s *Store) AgencyRefs(ctx context.Context, sc model.Scope) (map[string]int64, error) {
	var w where
	if !sc.Global() {
		w.add(`path LIKE ?`, sc.AgencyPath+"%")
	}
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT id, code, name FROM agencies`+w.String()), w.args...)
	if err != nil {
		return nil, fmt.Errorf("agency references: %w", err)
	}
	defer rows.Close()
	refs := map[string]int64{}
	for rows.Next() {
		var id int64
		var code, name string
		if err := rows.Scan(&id, &code, &name); err != nil {
			return nil, err
		}
		refs[fmt.Sprint(id)] = id
		if code != "" {
			refs[textfold.Fold(code)] = id
		}
		refs[textfold.Fold(name)] = id
	}
	return refs, rows.Err()
}
