package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"canhgac/internal/model"
)

const userColumns = `u.id, u.username, u.display_name, u.email, u.role, u.agency_id, u.language, u.theme,
	u.disabled, u.must_change_password, u.password_hash, u.created_at, u.updated_at, u.last_login_at`

func scanUser(row interface{ Scan(...any) error }) (model.User, error) {
	var u model.User
	err := row.Scan(&u.ID, &u.Username, &u.DisplayName, &u.Email, &u.Role, &u.AgencyID, &u.Language, &u.Theme,
		&u.Disabled, &u.MustChangePassword, &u.PasswordHash, &u.CreatedAt, &u.UpdatedAt, &u.LastLoginAt)
	return u, err
}

// userScope limits a user query to users of agencies in the caller's subtree.
func userScope(w *where, sc model.Scope) {
	if !sc.Global() {
		w.add(`u.agency_id IN (SELECT id FROM agencies WHERE path LIKE ?)`, sc.AgencyPath+"%")
	}
}

// GetUser returns one user within the caller's scope.
func (s *Store) GetUser(ctx context.Context, sc model.Scope, id int64) (model.User, error) {
	return s.getUser(ctx, s.db, sc, id)
}

func (s *Store) getUser(ctx context.Context, q querier, sc model.Scope, id int64) (model.User, error) {
	var w where
	w.add(`u.id = ?`, id)
	userScope(&w, sc)
	u, err := scanUser(q.QueryRowContext(ctx, s.rebind(`SELECT `+userColumns+` FROM users u`+w.String()), w.args...))
	if errors.Is(err, sql.ErrNoRows) {
		return u, fmt.Errorf("user %d: %w", id, model.ErrNotFound)
	}
	return u, err
}

// UserByUsername finds a user for login. It is not scoped: the caller is not
// yet known.
func (s *Store) UserByUsername(ctx context.Context, username string) (model.User, error) {
	u, err := scanUser(s.db.QueryRowContext(ctx, s.rebind(`SELECT `+userColumns+` FROM users u WHERE u.username = ?`), username))
	if errors.Is(err, sql.ErrNoRows) {
		return u, fmt.Errorf("user %q: %w", username, model.ErrNotFound)
	}
	return u, err
}

// UserFilter selects users.
type UserFilter struct {
	Role     model.Role
	AgencyID int64
	Limit    int
	Offset   int
}

// ListUsers returns users within the caller's scope.
func (s *Store) ListUsers(ctx context.Context, sc model.Scope, f UserFilter) (Page[model.User], error) {
	f.Limit, f.Offset = clampPage(f.Limit, f.Offset)
	var w where
	userScope(&w, sc)
	if f.Role != "" {
		w.add(`u.role = ?`, f.Role)
	}
	if f.AgencyID != 0 {
		w.add(`u.agency_id = ?`, f.AgencyID)
	}
	page := Page[model.User]{Limit: f.Limit, Offset: f.Offset, Items: []model.User{}}
	if err := s.db.QueryRowContext(ctx, s.rebind(`SELECT COUNT(*) FROM users u`+w.String()), w.args...).Scan(&page.Total); err != nil {
		return page, fmt.Errorf("count users: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT `+userColumns+` FROM users u`+w.String()+
		` ORDER BY u.username LIMIT ? OFFSET ?`), append(w.args, f.Limit, f.Offset)...)
	if err != nil {
		return page, fmt.Errorf("list users: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return page, fmt.Errorf("list users: %w", err)
		}
		page.Items = append(page.Items, u)
	}
	return page, rows.Err()
}

// UserCount returns how many users exist (for first-start setup).
func (s *Store) UserCount(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM users`).Scan(&n)
	return n, err
}

// checkUserAgency verifies a user's agency exists and lies in the actor's scope,
// and that a scoped actor does not hand out a global role.
func (s *Store) checkUserAgency(ctx context.Context, q querier, actor model.Actor, u *model.User) error {
	if u.AgencyID == nil {
		if !actor.Global() {
			return model.Invalid("agency_id", "is required")
		}
		return nil
	}
	if _, err := s.agencyPath(ctx, q, actor.Scope, *u.AgencyID); err != nil {
		return model.Invalid("agency_id", "no such agency")
	}
	return nil
}

// CreateUser adds a user with an already-hashed password.
func (s *Store) CreateUser(ctx context.Context, actor model.Actor, u *model.User) error {
	if !actor.Can(model.ActionWrite, model.ResourceUser) {
		return model.ErrForbidden
	}
	if err := u.Validate(); err != nil {
		return err
	}
	if u.PasswordHash == "" {
		return model.Invalid("password", "is required")
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.checkUserAgency(ctx, tx, actor, u); err != nil {
			return err
		}
		now := s.now()
		u.CreatedAt, u.UpdatedAt = now, now
		err := tx.QueryRowContext(ctx, s.rebind(`INSERT INTO users (username, display_name, email, role, agency_id,
			language, theme, disabled, must_change_password, password_hash, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			u.Username, u.DisplayName, u.Email, u.Role, u.AgencyID, u.Language, u.Theme, u.Disabled,
			u.MustChangePassword, u.PasswordHash, now, now).Scan(&u.ID)
		if isUniqueViolation(err) {
			return fmt.Errorf("%w: username %q is taken", model.ErrConflict, u.Username)
		}
		if err != nil {
			return fmt.Errorf("create user: %w", err)
		}
		return s.audit(ctx, tx, actor, "create", "user", u.ID, u.AgencyID, nil, u)
	})
}

// UpdateUser changes a user's profile, role, agency and flags (not the password).
func (s *Store) UpdateUser(ctx context.Context, actor model.Actor, u *model.User) error {
	self := actor.UserID == u.ID
	if !self && !actor.Can(model.ActionWrite, model.ResourceUser) {
		return model.ErrForbidden
	}
	if err := u.Validate(); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		old, err := s.getUser(ctx, tx, actor.Scope, u.ID)
		if err != nil {
			return err
		}
		if self && !actor.Can(model.ActionWrite, model.ResourceUser) {
			// Anyone may change their own name, e-mail, language and theme, nothing else.
			u.Role, u.AgencyID, u.Disabled, u.MustChangePassword = old.Role, old.AgencyID, old.Disabled, old.MustChangePassword
		} else if self && (u.Role != old.Role || u.Disabled) {
			return model.Invalid("role", "you cannot change your own role or disable yourself")
		}
		if err := s.checkUserAgency(ctx, tx, actor, u); err != nil {
			return err
		}
		u.PasswordHash, u.CreatedAt, u.LastLoginAt, u.UpdatedAt = old.PasswordHash, old.CreatedAt, old.LastLoginAt, s.now()
		if u.Username != old.Username {
			return model.Invalid("username", "cannot be changed")
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE users SET display_name = ?, email = ?, role = ?, agency_id = ?,
			language = ?, theme = ?, disabled = ?, must_change_password = ?, updated_at = ? WHERE id = ?`),
			u.DisplayName, u.Email, u.Role, u.AgencyID, u.Language, u.Theme, u.Disabled, u.MustChangePassword,
			u.UpdatedAt, u.ID); err != nil {
			return fmt.Errorf("update user %d: %w", u.ID, err)
		}
		if u.Disabled && !old.Disabled {
			if err := s.revokeUser(ctx, tx, u.ID); err != nil {
				return err
			}
		}
		return s.audit(ctx, tx, actor, "update", "user", u.ID, u.AgencyID, old, u)
	})
}

// SetPassword stores a new password hash, clears the must-change flag when the
// user sets it themselves, and ends every other session of that user.
func (s *Store) SetPassword(ctx context.Context, actor model.Actor, userID int64, hash string, keepSessionHash string) error {
	self := actor.UserID == userID
	if !self && !actor.Can(model.ActionWrite, model.ResourceUser) {
		return model.ErrForbidden
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		old, err := s.getUser(ctx, tx, actor.Scope, userID)
		if err != nil {
			return err
		}
		// An admin resetting someone's password makes them choose their own at next login.
		mustChange := !self
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE users SET password_hash = ?, must_change_password = ?, updated_at = ? WHERE id = ?`),
			hash, mustChange, s.now(), userID); err != nil {
			return fmt.Errorf("set password of user %d: %w", userID, err)
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM sessions WHERE user_id = ? AND token_hash <> ?`), userID, keepSessionHash); err != nil {
			return fmt.Errorf("set password of user %d: end sessions: %w", userID, err)
		}
		// The audit trail says the password changed, never what it is.
		return s.audit(ctx, tx, actor, "set_password", "user", userID, old.AgencyID, nil, map[string]any{"must_change_password": mustChange})
	})
}

// DeleteUser removes a user, their sessions and tokens.
func (s *Store) DeleteUser(ctx context.Context, actor model.Actor, id int64) error {
	if !actor.Can(model.ActionWrite, model.ResourceUser) {
		return model.ErrForbidden
	}
	if actor.UserID == id {
		return fmt.Errorf("%w: you cannot delete yourself", model.ErrConflict)
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		old, err := s.getUser(ctx, tx, actor.Scope, id)
		if err != nil {
			return err
		}
		if err := s.revokeUser(ctx, tx, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM users WHERE id = ?`), id); err != nil {
			return fmt.Errorf("delete user %d: %w", id, err)
		}
		return s.audit(ctx, tx, actor, "delete", "user", id, old.AgencyID, old, nil)
	})
}

func (s *Store) revokeUser(ctx context.Context, tx *sql.Tx, id int64) error {
	for _, q := range []string{`DELETE FROM sessions WHERE user_id = ?`, `DELETE FROM api_tokens WHERE user_id = ?`} {
		if _, err := tx.ExecContext(ctx, s.rebind(q), id); err != nil {
			return fmt.Errorf("revoke user %d: %w", id, err)
		}
	}
	return nil
}

// RecordLogin notes a successful login time.
func (s *Store) RecordLogin(ctx context.Context, id int64, at time.Time) error {
	_, err := s.db.ExecContext(ctx, s.rebind(`UPDATE users SET last_login_at = ? WHERE id = ?`), at.UTC(), id)
	return err
}

// UserRef names a user for rosters, calendars and pickers.
type UserRef struct {
	ID          int64
	Username    string
	DisplayName string
}

// Name is the display name, or the username when there is none.
func (u UserRef) Name() string {
	if u.DisplayName != "" {
		return u.DisplayName
	}
	return u.Username
}

// UserDirectory lists every user's ID and names, by username. It is not
// scoped: duty rosters name people across agencies, and it reveals no more
// than a name.
func (s *Store) UserDirectory(ctx context.Context) ([]UserRef, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, username, display_name FROM users ORDER BY username`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []UserRef
	for rows.Next() {
		var u UserRef
		if err := rows.Scan(&u.ID, &u.Username, &u.DisplayName); err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// UserNames maps user IDs to display names (usernames where none is set).
func (s *Store) UserNames(ctx context.Context) (map[int64]string, error) {
	dir, err := s.UserDirectory(ctx)
	names := make(map[int64]string, len(dir))
	for _, u := range dir {
		names[u.ID] = u.Name()
	}
	return names, err
}
