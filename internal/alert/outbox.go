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
)

// Lease is how long a claimed notification is reserved for the worker that
// claimed it; if that worker dies, the row is sent again after it.
const Lease = 2 * time.Minute

// sendTimeout bounds one attempt on one channel.
const sendTimeout = 30 * time.Second

type outboxRow struct {
	id        int64
	alertID   *int64
	channelID int64
	group     string
	attempts  int
	to        notify.Recipient
	msg       notify.Message
}

// Deliver sends the notifications that are due, grouping those that share
// a group key into one message, and records the outcome on each alert's
// timeline. Failures are retried with exponential backoff (or the wait the
// provider asks for) until MaxAttempts; permanent ones are given up at once.
// It returns how many messages it sent.
func (s *Service) Deliver(ctx context.Context) (int, error) {
	sent := 0
	for {
		rows, err := s.claim(ctx, 100)
		if err != nil || len(rows) == 0 {
			return sent, err
		}
		groups := map[string][]outboxRow{}
		var order []string
		for i, r := range rows {
			k := r.group
			if k == "" {
				k = fmt.Sprintf("#%d", i)
			}
			if _, ok := groups[k]; !ok {
				order = append(order, k)
			}
			groups[k] = append(groups[k], r)
		}
		for _, k := range order {
			ok, err := s.send(ctx, groups[k])
			if err != nil {
				return sent, err
			}
			if ok {
				sent++
			}
		}
		if len(rows) < 100 {
			return sent, nil
		}
	}
}

// claim reserves up to n due rows: pending ones whose time has come, and
// ones whose lease ran out (their worker died mid-send). A due row pulls in
// the other pending rows of its group so that they go out together.
func (s *Service) claim(ctx context.Context, n int) ([]outboxRow, error) {
	var out []outboxRow
	err := s.store.InTx(ctx, func(tx *sql.Tx) error {
		now := s.store.Now()
		q := `SELECT id, alert_id, channel_id, group_key, attempts, recipient, message FROM outbox
			WHERE (state = 'pending' AND next_attempt_at <= ?) OR (state = 'sending' AND lease_until <= ?)
			ORDER BY next_attempt_at, id LIMIT ?`
		args := []any{now, now, n}
		rows, err := tx.QueryContext(ctx, s.store.Rebind(q), args...)
		if err != nil {
			return err
		}
		seen := map[int64]bool{}
		groups := map[string]bool{}
		scan := func(rows *sql.Rows) error {
			defer rows.Close()
			for rows.Next() {
				var r outboxRow
				var to, msg string
				if err := rows.Scan(&r.id, &r.alertID, &r.channelID, &r.group, &r.attempts, &to, &msg); err != nil {
					return err
				}
				if seen[r.id] {
					continue
				}
				seen[r.id] = true
				json.Unmarshal([]byte(to), &r.to)
				json.Unmarshal([]byte(msg), &r.msg)
				if r.group != "" {
					groups[r.group] = true
				}
				out = append(out, r)
			}
			return rows.Err()
		}
		if err := scan(rows); err != nil {
			return err
		}
		for g := range groups {
			rows, err := tx.QueryContext(ctx, s.store.Rebind(`SELECT id, alert_id, channel_id, group_key, attempts, recipient, message FROM outbox
				WHERE state = 'pending' AND group_key = ? ORDER BY id LIMIT 500`), g)
			if err != nil {
				return err
			}
			if err := scan(rows); err != nil {
				return err
			}
		}
		for _, r := range out {
			if _, err := tx.ExecContext(ctx, s.store.Rebind(`UPDATE outbox SET state = 'sending', lease_until = ?, attempts = attempts + 1 WHERE id = ?`),
				now.Add(Lease), r.id); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// send makes one attempt at one (possibly grouped) message and records it.
func (s *Service) send(ctx context.Context, rows []outboxRow) (bool, error) {
	first := rows[0]
	msg := first.msg
	if len(rows) > 1 {
		msg = groupMessage(rows)
	}
	ch, chName, err := s.channel(ctx, first.channelID)
	if err == nil {
		sctx, cancel := context.WithTimeout(ctx, sendTimeout)
		err = ch.Send(sctx, first.to, msg)
		cancel()
	}
	now := s.store.Now()
	return err == nil, s.store.InTx(ctx, func(tx *sql.Tx) error {
		for _, r := range rows {
			var q string
			var args []any
			var ev string
			detail := map[string]any{"channel": chName, "to": first.to.Name, "step": r.msg.Step}
			attempts := r.attempts + 1
			switch {
			case err == nil:
				q, args, ev = `UPDATE outbox SET state = 'sent', sent_at = ?, lease_until = NULL, last_error = '' WHERE id = ?`, []any{now, r.id}, EvNotified
				if len(rows) > 1 {
					detail["grouped"] = len(rows)
				}
			case notify.IsPermanent(err) || attempts >= s.cfg.MaxAttempts:
				q, args, ev = `UPDATE outbox SET state = 'dead', lease_until = NULL, last_error = ? WHERE id = ?`, []any{errText(err), r.id}, EvNotifyFailed
				detail["error"], detail["attempts"] = errText(err), attempts
			default:
				wait := backoff(attempts)
				if d, ok := notify.RetryAfter(err); ok && d > wait {
					wait = d
				}
				q, args = `UPDATE outbox SET state = 'pending', next_attempt_at = ?, lease_until = NULL, last_error = ? WHERE id = ?`,
					[]any{now.Add(wait), errText(err), r.id}
			}
			if _, err := tx.ExecContext(ctx, s.store.Rebind(q), args...); err != nil {
				return err
			}
			if ev != "" && r.alertID != nil {
				if err := s.event(ctx, tx, *r.alertID, ev, "", detail); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// backoff is 30 s doubling per attempt, at most 15 minutes.
func backoff(attempt int) time.Duration {
	d := 30 * time.Second
	for i := 1; i < attempt && d < 15*time.Minute; i++ {
		d *= 2
	}
	return min(d, 15*time.Minute)
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	t := err.Error()
	if len(t) > 500 {
		t = t[:500]
	}
	return t
}

// groupMessage folds several alerts' messages into one: "12 alerts: …".
func groupMessage(rows []outboxRow) notify.Message {
	m := rows[0].msg
	m.Group = nil
	severity := Severity(m.Severity)
	for _, r := range rows {
		line := r.msg.Title
		if r.msg.AssetName != "" {
			line = r.msg.AssetName + ": " + line
		}
		m.Group = append(m.Group, line)
		if Severity(r.msg.Severity).Rank() > severity.Rank() {
			severity = Severity(r.msg.Severity)
		}
	}
	m.Severity = string(severity)
	// "[Cao] Website không truy cập được — Sở Y tế (×12)": the agency
	// stands where one asset's name would.
	m.AssetName, m.Address, m.Summary, m.AckLink = m.AgencyName, "", "", ""
	m.Count = len(rows)
	m.DeliveryID = "group:" + strings.Join([]string{rows[0].msg.DeliveryID, fmt.Sprint(len(rows))}, ":")
	return m
}

// channel builds a channel from its stored configuration.
func (s *Service) channel(ctx context.Context, id int64) (notify.Channel, string, error) {
	var name, kind, config string
	var enabled bool
	err := s.store.DB().QueryRowContext(ctx, s.store.Rebind(`SELECT name, kind, config, enabled FROM channels WHERE id = ?`), id).
		Scan(&name, &kind, &config, &enabled)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, "", &notify.PermanentError{Err: fmt.Errorf("channel %d no longer exists: %w", id, model.ErrNotFound)}
	}
	if err != nil {
		return nil, "", err
	}
	if !enabled {
		return nil, name, &notify.PermanentError{Err: fmt.Errorf("channel %s is disabled", name)}
	}
	ch, err := notify.New(kind, json.RawMessage(config))
	if err != nil {
		return nil, name, &notify.PermanentError{Err: err}
	}
	return ch, name, nil
}
