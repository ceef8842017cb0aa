package alert

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"canhgac/internal/model"
	"canhgac/internal/notify"
	"canhgac/internal/oncall"
	"canhgac/internal/storage"
)

// ChannelRecord is a configured notification channel. Config is shown
// redacted; secrets never leave the server.
type ChannelRecord struct {
	ID        int64           `json:"id"`
	Name      string          `json:"name"`
	Kind      string          `json:"kind"`
	Config    json.RawMessage `json:"config"`
	Enabled   bool            `json:"enabled"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

// Channels lists the channels with their secrets redacted.
func (s *Service) Channels(ctx context.Context) ([]ChannelRecord, error) {
	rows, err := s.store.DB().QueryContext(ctx, `SELECT id, name, kind, config, enabled, created_at, updated_at FROM channels ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []ChannelRecord{}
	for rows.Next() {
		var c ChannelRecord
		var cfg string
		if err := rows.Scan(&c.ID, &c.Name, &c.Kind, &cfg, &c.Enabled, &c.CreatedAt, &c.UpdatedAt); err != nil {
			return nil, err
		}
		c.Config, _ = notify.Redact(c.Kind, json.RawMessage(cfg))
		out = append(out, c)
	}
	return out, rows.Err()
}

// GetChannel returns one channel, redacted.
func (s *Service) GetChannel(ctx context.Context, id int64) (ChannelRecord, error) {
	cs, err := s.Channels(ctx)
	if err != nil {
		return ChannelRecord{}, err
	}
	for _, c := range cs {
		if c.ID == id {
			return c, nil
		}
	}
	return ChannelRecord{}, fmt.Errorf("channel %d: %w", id, model.ErrNotFound)
}

// SaveChannel creates (ID 0) or updates a channel. On update, secrets sent
// back redacted ("********") keep their stored values.
func (s *Service) SaveChannel(ctx context.Context, actor model.Actor, c *ChannelRecord) error {
	c.Name = strings.TrimSpace(c.Name)
	if c.Name == "" || len(c.Name) > 100 {
		return model.Invalid("name", "is required (at most 100 bytes)")
	}
	return s.store.InTx(ctx, func(tx *sql.Tx) error {
		now := s.store.Now()
		cfg := c.Config
		action := "create"
		if c.ID != 0 {
			action = "update"
			var old, kind string
			err := tx.QueryRowContext(ctx, s.store.Rebind(`SELECT config, kind FROM channels WHERE id = ?`), c.ID).Scan(&old, &kind)
			if errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("channel %d: %w", c.ID, model.ErrNotFound)
			}
			if err != nil {
				return err
			}
			if c.Kind == "" {
				c.Kind = kind
			}
			if c.Kind == kind {
				if cfg, err = notify.Merge(kind, json.RawMessage(old), cfg); err != nil {
					return err
				}
			}
		}
		if _, err := notify.New(c.Kind, cfg); err != nil {
			return err
		}
		var err error
		if c.ID == 0 {
			c.CreatedAt = now
			err = tx.QueryRowContext(ctx, s.store.Rebind(`INSERT INTO channels (name, kind, config, enabled, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?) RETURNING id`), c.Name, c.Kind, string(cfg), c.Enabled, now, now).Scan(&c.ID)
		} else {
			_, err = tx.ExecContext(ctx, s.store.Rebind(`UPDATE channels SET name = ?, kind = ?, config = ?, enabled = ?, updated_at = ? WHERE id = ?`),
				c.Name, c.Kind, string(cfg), c.Enabled, now, c.ID)
		}
		if storage.IsUniqueViolation(err) {
			return fmt.Errorf("a channel named %q already exists: %w", c.Name, model.ErrConflict)
		}
		if err != nil {
			return err
		}
		c.UpdatedAt = now
		c.Config, _ = notify.Redact(c.Kind, cfg)
		// The audit log keeps the redacted form: secrets are never logged.
		return s.store.Audit(ctx, tx, actor, action, "channel", c.ID, nil, nil, c)
	})
}

// DeleteChannel removes a channel and the contact methods and pending
// notifications that use it.
func (s *Service) DeleteChannel(ctx context.Context, actor model.Actor, id int64) error {
	return s.store.InTx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, s.store.Rebind(`DELETE FROM channels WHERE id = ?`), id)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return fmt.Errorf("channel %d: %w", id, model.ErrNotFound)
		}
		return s.store.Audit(ctx, tx, actor, "delete", "channel", id, nil, map[string]any{"id": id}, nil)
	})
}

// TestChannel sends a test message through a channel to a recipient now,
// outside the outbox, and returns the provider's error if any.
func (s *Service) TestChannel(ctx context.Context, id int64, to notify.Recipient) error {
	ch, _, err := s.channel(ctx, id)
	if err != nil {
		return err
	}
	m := notify.Message{Lang: to.Lang, Severity: string(Info), Title: "canhgac", At: s.store.Now(), Test: true,
		Link: s.cfg.PublicURL + "/", DeliveryID: fmt.Sprintf("test:%d:%d", id, s.store.Now().UnixNano())}
	sctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	return ch.Send(sctx, to, m)
}

// ContactMethod is how to reach one person on one channel.
type ContactMethod struct {
	ID        int64     `json:"id"`
	UserID    int64     `json:"user_id"`
	ChannelID int64     `json:"channel_id"`
	Address   string    `json:"address"`
	CreatedAt time.Time `json:"created_at"`
}

// AddContact records a way to reach a user.
func (s *Service) AddContact(ctx context.Context, actor model.Actor, c *ContactMethod) error {
	c.Address = strings.TrimSpace(c.Address)
	if len(c.Address) > 300 {
		return model.Invalid("address", "is longer than 300 bytes")
	}
	return s.store.InTx(ctx, func(tx *sql.Tx) error {
		c.CreatedAt = s.store.Now()
		err := tx.QueryRowContext(ctx, s.store.Rebind(`INSERT INTO contact_methods (user_id, channel_id, address, created_at)
			VALUES (?, ?, ?, ?) RETURNING id`), c.UserID, c.ChannelID, c.Address, c.CreatedAt).Scan(&c.ID)
		switch {
		case storage.IsUniqueViolation(err):
			return fmt.Errorf("this contact method exists: %w", model.ErrConflict)
		case storage.IsForeignKeyViolation(err):
			return model.Invalid("user_id", "no such user or channel")
		case err != nil:
			return err
		}
		return s.store.Audit(ctx, tx, actor, "create", "contact_method", c.ID, nil, nil, c)
	})
}

// Contacts lists a user's contact methods.
func (s *Service) Contacts(ctx context.Context, userID int64) ([]ContactMethod, error) {
	rows, err := s.store.DB().QueryContext(ctx, s.store.Rebind(`SELECT id, user_id, channel_id, address, created_at FROM contact_methods
		WHERE user_id = ? ORDER BY id`), userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []ContactMethod{}
	for rows.Next() {
		var c ContactMethod
		if err := rows.Scan(&c.ID, &c.UserID, &c.ChannelID, &c.Address, &c.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// DeleteContact removes a contact method.
func (s *Service) DeleteContact(ctx context.Context, actor model.Actor, id int64) error {
	return s.store.InTx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, s.store.Rebind(`DELETE FROM contact_methods WHERE id = ?`), id)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return fmt.Errorf("contact method %d: %w", id, model.ErrNotFound)
		}
		return s.store.Audit(ctx, tx, actor, "delete", "contact_method", id, nil, map[string]any{"id": id}, nil)
	})
}

// Schedules lists the duty schedules.
func (s *Service) Schedules(ctx context.Context) ([]oncall.Schedule, error) {
	rows, err := s.store.DB().QueryContext(ctx, `SELECT id FROM schedules ORDER BY name`)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		rows.Scan(&id)
		ids = append(ids, id)
	}
	rows.Close()
	out := []oncall.Schedule{}
	for _, id := range ids {
		sc, err := s.schedule(ctx, s.store.DB(), id)
		if err != nil {
			return nil, err
		}
		out = append(out, *sc)
	}
	return out, nil
}

// Schedule returns one duty schedule.
func (s *Service) Schedule(ctx context.Context, id int64) (*oncall.Schedule, error) {
	sc, err := s.schedule(ctx, s.store.DB(), id)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("schedule %d: %w", id, model.ErrNotFound)
	}
	return sc, err
}

// SaveSchedule creates (ID 0) or replaces a duty schedule.
func (s *Service) SaveSchedule(ctx context.Context, actor model.Actor, sc *oncall.Schedule) error {
	sc.Name = strings.TrimSpace(sc.Name)
	if sc.Name == "" || len(sc.Name) > 200 {
		return model.Invalid("name", "is required (at most 200 bytes)")
	}
	if err := sc.Validate(); err != nil {
		return err
	}
	return s.store.InTx(ctx, func(tx *sql.Tx) error {
		for i, l := range sc.Layers {
			for _, uid := range l.Users {
				var one int
				if err := tx.QueryRowContext(ctx, s.store.Rebind(`SELECT 1 FROM users WHERE id = ?`), uid).Scan(&one); err != nil {
					if errors.Is(err, sql.ErrNoRows) {
						return model.Invalid(fmt.Sprintf("layers[%d].users", i), "user %d does not exist", uid)
					}
					return err
				}
			}
		}
		def, err := json.Marshal(sc)
		if err != nil {
			return err
		}
		now := s.store.Now()
		action := "create"
		if sc.ID == 0 {
			err = tx.QueryRowContext(ctx, s.store.Rebind(`INSERT INTO schedules (name, definition, created_at, updated_at) VALUES (?, ?, ?, ?) RETURNING id`),
				sc.Name, string(def), now, now).Scan(&sc.ID)
		} else {
			action = "update"
			var r sql.Result
			r, err = tx.ExecContext(ctx, s.store.Rebind(`UPDATE schedules SET name = ?, definition = ?, updated_at = ? WHERE id = ?`), sc.Name, string(def), now, sc.ID)
			if err == nil {
				if n, _ := r.RowsAffected(); n == 0 {
					return fmt.Errorf("schedule %d: %w", sc.ID, model.ErrNotFound)
				}
			}
		}
		if storage.IsUniqueViolation(err) {
			return fmt.Errorf("a schedule named %q already exists: %w", sc.Name, model.ErrConflict)
		}
		if err != nil {
			return err
		}
		return s.store.Audit(ctx, tx, actor, action, "schedule", sc.ID, nil, nil, sc)
	})
}

// DeleteSchedule removes a schedule.
func (s *Service) DeleteSchedule(ctx context.Context, actor model.Actor, id int64) error {
	return s.store.InTx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, s.store.Rebind(`DELETE FROM schedules WHERE id = ?`), id)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return fmt.Errorf("schedule %d: %w", id, model.ErrNotFound)
		}
		return s.store.Audit(ctx, tx, actor, "delete", "schedule", id, nil, map[string]any{"id": id}, nil)
	})
}
