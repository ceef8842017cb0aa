package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"canhgac/internal/model"
)

// CreateSession stores a new login session and audits the login.
func (s *Store) CreateSession(ctx context.Context, actor model.Actor, sess *model.Session, agencyID *int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, s.rebind(`INSERT INTO sessions (token_hash, user_id, csrf_token, ip, user_agent, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			sess.TokenHash, sess.UserID, sess.CSRFToken, sess.IP, truncate(sess.UserAgent, 300), sess.CreatedAt.UTC(), sess.ExpiresAt.UTC()).Scan(&sess.ID)
		if err != nil {
			return fmt.Errorf("create session: %w", err)
		}
		if _, err := tx.ExecContext(ctx, s.rebind(`UPDATE users SET last_login_at = ? WHERE id = ?`), sess.CreatedAt.UTC(), sess.UserID); err != nil {
			return fmt.Errorf("create session: %w", err)
		}
		return s.audit(ctx, tx, actor, "login", "user", sess.UserID, agencyID, nil, map[string]any{"session_id": sess.ID, "expires_at": sess.ExpiresAt.UTC()})
	})
}

// AuditLoginFailure records a failed login attempt (not the password tried).
func (s *Store) AuditLoginFailure(ctx context.Context, ip, username, reason string, userID int64, agencyID *int64) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		return s.audit(ctx, tx, model.Actor{Scope: model.Scope{Username: username}, IP: ip}, "login_failed", "user", userID, agencyID,
			nil, map[string]any{"reason": reason})
	})
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// SessionByHash returns a live session, its user, and the user's agency path.
func (s *Store) SessionByHash(ctx context.Context, hash string, now time.Time) (model.Session, model.User, string, error) {
	var sess model.Session
	var path sql.NullString
	row := s.db.QueryRowContext(ctx, s.rebind(`SELECT s.id, s.token_hash, s.user_id, s.csrf_token, s.ip, s.user_agent,
		s.created_at, s.expires_at, ag.path, `+userColumns+`
		FROM sessions s JOIN users u ON u.id = s.user_id LEFT JOIN agencies ag ON ag.id = u.agency_id
		WHERE s.token_hash = ? AND s.expires_at > ? AND NOT u.disabled`), hash, now.UTC())
	var u model.User
	err := row.Scan(&sess.ID, &sess.TokenHash, &sess.UserID, &sess.CSRFToken, &sess.IP, &sess.UserAgent,
		&sess.CreatedAt, &sess.ExpiresAt, &path,
		&u.ID, &u.Username, &u.DisplayName, &u.Email, &u.Role, &u.AgencyID, &u.Language, &u.Theme,
		&u.Disabled, &u.MustChangePassword, &u.PasswordHash, &u.CreatedAt, &u.UpdatedAt, &u.LastLoginAt)
	if errors.Is(err, sql.ErrNoRows) {
		return sess, u, "", model.ErrNotFound
	}
	return sess, u, path.String, err
}

// DeleteSession ends a session (logout) and audits it.
func (s *Store) DeleteSession(ctx context.Context, actor model.Actor, hash string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var id, userID int64
		err := tx.QueryRowContext(ctx, s.rebind(`DELETE FROM sessions WHERE token_hash = ? RETURNING id, user_id`), hash).Scan(&id, &userID)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("delete session: %w", err)
		}
		return s.audit(ctx, tx, actor, "logout", "user", userID, nil, map[string]any{"session_id": id}, nil)
	})
}

// DeleteExpiredSessions removes sessions past their expiry.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, s.rebind(`DELETE FROM sessions WHERE expires_at <= ?`), now.UTC())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// CreateToken stores an API token's hash for a user in the actor's scope.
func (s *Store) CreateToken(ctx context.Context, actor model.Actor, t *model.APIToken, hash string) error {
	if actor.UserID != t.UserID && !actor.Can(model.ActionWrite, model.ResourceUser) {
		return model.ErrForbidden
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		u, err := s.getUser(ctx, tx, actor.Scope, t.UserID)
		if err != nil {
			return err
		}
		t.CreatedAt = s.now()
		err = tx.QueryRowContext(ctx, s.rebind(`INSERT INTO api_tokens (user_id, name, prefix, token_hash, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`), t.UserID, t.Name, t.Prefix, hash, t.CreatedAt, t.ExpiresAt).Scan(&t.ID)
		if err != nil {
			return fmt.Errorf("create token: %w", err)
		}
		return s.audit(ctx, tx, actor, "create", "api_token", t.ID, u.AgencyID, nil, t)
	})
}

// TokenByHash returns a live API token, its user and the user's agency path,
// and records its use.
func (s *Store) TokenByHash(ctx context.Context, hash string, now time.Time) (model.APIToken, model.User, string, error) {
	var t model.APIToken
	var path sql.NullString
	var u model.User
	row := s.db.QueryRowContext(ctx, s.rebind(`SELECT t.id, t.user_id, t.name, t.prefix, t.created_at, t.expires_at, t.last_used_at,
		ag.path, `+userColumns+`
		FROM api_tokens t JOIN users u ON u.id = t.user_id LEFT JOIN agencies ag ON ag.id = u.agency_id
		WHERE t.token_hash = ? AND (t.expires_at IS NULL OR t.expires_at > ?) AND NOT u.disabled`), hash, now.UTC())
	err := row.Scan(&t.ID, &t.UserID, &t.Name, &t.Prefix, &t.CreatedAt, &t.ExpiresAt, &t.LastUsedAt, &path,
		&u.ID, &u.Username, &u.DisplayName, &u.Email, &u.Role, &u.AgencyID, &u.Language, &u.Theme,
		&u.Disabled, &u.MustChangePassword, &u.PasswordHash, &u.CreatedAt, &u.UpdatedAt, &u.LastLoginAt)
	if errors.Is(err, sql.ErrNoRows) {
		return t, u, "", model.ErrNotFound
	}
	if err != nil {
		return t, u, "", err
	}
	// Last-use time is advisory; write it at most once a minute per token.
	if t.LastUsedAt == nil || now.Sub(*t.LastUsedAt) > time.Minute {
		s.db.ExecContext(ctx, s.rebind(`UPDATE api_tokens SET last_used_at = ? WHERE id = ?`), now.UTC(), t.ID)
	}
	return t, u, path.String, nil
}

// ListTokens returns a user's API tokens (never their secrets).
func (s *Store) ListTokens(ctx context.Context, sc model.Scope, userID int64) ([]model.APIToken, error) {
	if _, err := s.GetUser(ctx, sc, userID); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT id, user_id, name, prefix, created_at, expires_at, last_used_at
		FROM api_tokens WHERE user_id = ? ORDER BY id`), userID)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	ts := []model.APIToken{}
	for rows.Next() {
		var t model.APIToken
		if err := rows.Scan(&t.ID, &t.UserID, &t.Name, &t.Prefix, &t.CreatedAt, &t.ExpiresAt, &t.LastUsedAt); err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	return ts, rows.Err()
}

// DeleteToken revokes an API token.
func (s *Store) DeleteToken(ctx context.Context, actor model.Actor, userID, id int64) error {
	if actor.UserID != userID && !actor.Can(model.ActionWrite, model.ResourceUser) {
		return model.ErrForbidden
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		u, err := s.getUser(ctx, tx, actor.Scope, userID)
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, s.rebind(`DELETE FROM api_tokens WHERE id = ? AND user_id = ?`), id, userID)
		if err != nil {
			return fmt.Errorf("delete token %d: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("token %d: %w", id, model.ErrNotFound)
		}
		return s.audit(ctx, tx, actor, "delete", "api_token", id, u.AgencyID, map[string]any{"id": id}, nil)
	})
}
