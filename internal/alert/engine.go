package alert

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"canhgac/internal/notify"
	"canhgac/internal/oncall"
)

// Run drives escalation and the outbox until ctx ends: every interval, and
// at once whenever an alert is raised or acknowledged.
func (s *Service) Run(ctx context.Context, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if _, err := s.Escalate(ctx); err != nil && ctx.Err() == nil {
			log.Error("escalate", "err", err)
		}
		if _, err := s.Deliver(ctx); err != nil && ctx.Err() == nil {
			log.Error("deliver notifications", "err", err)
		}
		select {
		case <-ctx.Done():
			s.closeSubscribers()
			return
		case <-t.C:
		case <-s.kick:
		}
	}
}

// Escalate performs every escalation step that is due: it notifies the
// step's targets (by writing outbox rows) and schedules the next step, in
// one transaction per alert. It also ends silences that have run out and
// re-escalates critical alerts acknowledged too long ago. It returns how
// many alerts it moved.
func (s *Service) Escalate(ctx context.Context) (int, error) {
	now := s.store.Now()
	if err := s.releaseSilenced(ctx, now); err != nil {
		return 0, err
	}
	n := 0
	for {
		rows, err := s.store.DB().QueryContext(ctx, s.store.Rebind(`SELECT id FROM alerts WHERE next_escalation_at <= ?
			ORDER BY next_escalation_at, id LIMIT 200`), now)
		if err != nil {
			return n, err
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return n, err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if len(ids) == 0 {
			return n, nil
		}
		for _, id := range ids {
			var change *Change
			err := s.store.InTx(ctx, func(tx *sql.Tx) error {
				var err error
				change, err = s.step(ctx, tx, id, now)
				return err
			})
			if err != nil {
				return n, fmt.Errorf("escalate alert %d: %w", id, err)
			}
			if change != nil {
				s.publish(*change)
			}
			n++
		}
		if len(ids) < 200 {
			return n, nil
		}
	}
}

// step performs one due escalation step of one alert.
func (s *Service) step(ctx context.Context, tx *sql.Tx, id int64, now time.Time) (*Change, error) {
	a, err := s.get(ctx, tx, systemScope, id, true)
	if err != nil {
		return nil, err
	}
	if a.NextEscalationAt == nil || a.NextEscalationAt.After(now) || a.State == StateResolved {
		return nil, nil // another worker got here first
	}
	if a.State == StateAcknowledged {
		// Acknowledged but not resolved for too long: take it back and
		// escalate again from the first step.
		if _, err := tx.ExecContext(ctx, s.store.Rebind(`UPDATE alerts SET state = 'open', acked_by = '', acked_at = NULL, esc_step = 0,
			esc_round = 0, esc_generation = esc_generation + 1, updated_at = ? WHERE id = ?`), now, id); err != nil {
			return nil, err
		}
		if err := s.event(ctx, tx, id, EvUnacknowledged, "", map[string]any{"reason": "unack_timeout", "acked_by": a.AckedBy}); err != nil {
			return nil, err
		}
		a.State, a.EscStep, a.EscRound = StateOpen, 0, 0
		a.generation++
	}
	var chain *Chain
	if a.ChainID != nil {
		chain, err = s.chain(ctx, tx, *a.ChainID)
		if err != nil {
			return nil, err
		}
	}
	if chain == nil || a.EscStep >= len(chain.Steps) {
		// The last step's wait ran out and nobody acknowledged.
		if _, err := tx.ExecContext(ctx, s.store.Rebind(`UPDATE alerts SET next_escalation_at = NULL WHERE id = ?`), id); err != nil {
			return nil, err
		}
		if chain == nil {
			return nil, nil
		}
		return nil, s.event(ctx, tx, id, EvExhausted, "", map[string]any{"chain": chain.Name})
	}
	st := chain.Steps[a.EscStep]
	recipients, names, err := s.recipients(ctx, tx, st.Targets, now)
	if err != nil {
		return nil, err
	}
	stepNo := a.EscStep + 1
	groupable := a.EscStep == 0 && a.EscRound == 0 && s.cfg.GroupWait > 0
	for _, r := range recipients {
		if err := s.enqueue(ctx, tx, &a, r, stepNo, now, groupable); err != nil {
			return nil, err
		}
	}
	detail := map[string]any{"step": stepNo, "round": a.EscRound + 1, "targets": names, "recipients": len(recipients), "chain": chain.Name}
	if err := s.event(ctx, tx, id, EvEscalated, "", detail); err != nil {
		return nil, err
	}
	if len(recipients) == 0 {
		// Nobody to tell at this step (a gap in the roster, no contact
		// method): say so and move on to the next step at once.
		if err := s.event(ctx, tx, id, EvNoRecipient, "", map[string]any{"step": stepNo}); err != nil {
			return nil, err
		}
	}
	next := now.Add(time.Duration(st.WaitMinutes) * time.Minute)
	if len(recipients) == 0 {
		next = now
	}
	nextStep, nextRound := a.EscStep+1, a.EscRound
	var nextAt *time.Time = &next
	if nextStep >= len(chain.Steps) {
		if nextRound < chain.Repeat {
			nextStep, nextRound = 0, nextRound+1
		} else if len(recipients) == 0 {
			nextAt = nil
			if err := s.event(ctx, tx, id, EvExhausted, "", nil); err != nil {
				return nil, err
			}
		}
		// Otherwise the last step's wait runs out with nothing left to do:
		// keep next_escalation_at so that the exhaustion is recorded then.
	}
	if _, err := tx.ExecContext(ctx, s.store.Rebind(`UPDATE alerts SET esc_step = ?, esc_round = ?, next_escalation_at = ?, updated_at = ? WHERE id = ?`),
		nextStep, nextRound, nextAt, now, id); err != nil {
		return nil, err
	}
	return &Change{AlertID: id, Type: "escalated", AgencyPath: a.agencyPath, Severity: string(a.Severity)}, nil
}

// recipient is one address to notify on one channel.
type recipient struct {
	ChannelID int64
	To        notify.Recipient
}

// recipients resolves a step's targets at time now: a schedule's on-duty
// people, users, group channels; each person through every contact method.
func (s *Service) recipients(ctx context.Context, tx *sql.Tx, targets []Target, now time.Time) ([]recipient, []string, error) {
	var out []recipient
	var names []string
	seen := map[string]bool{}
	addUser := func(uid int64) error {
		rows, err := tx.QueryContext(ctx, s.store.Rebind(`SELECT c.channel_id, c.address, u.username, u.display_name, u.email, u.language
			FROM contact_methods c JOIN users u ON u.id = c.user_id JOIN channels ch ON ch.id = c.channel_id
			WHERE c.user_id = ? AND u.disabled = ? AND ch.enabled = ? ORDER BY c.id`), uid, false, true)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var r recipient
			var username, display, email, addr string
			if err := rows.Scan(&r.ChannelID, &addr, &username, &display, &email, &r.To.Lang); err != nil {
				return err
			}
			r.To.UserID, r.To.Name, r.To.Email, r.To.TelegramChatID = uid, display, email, addr
			if r.To.Name == "" {
				r.To.Name = username
			}
			if addr != "" && looksLikeEmail(addr) {
				r.To.Email, r.To.TelegramChatID = addr, ""
			}
			key := fmt.Sprintf("%d/%s", r.ChannelID, addr)
			if !seen[key] {
				seen[key] = true
				out = append(out, r)
			}
		}
		return rows.Err()
	}
	userName := func(uid int64) string {
		var username, display string
		tx.QueryRowContext(ctx, s.store.Rebind(`SELECT username, display_name FROM users WHERE id = ?`), uid).Scan(&username, &display)
		if display != "" {
			return display
		}
		return username
	}
	for _, t := range targets {
		switch t.Type {
		case "user":
			names = append(names, userName(t.ID))
			if err := addUser(t.ID); err != nil {
				return nil, nil, err
			}
		case "schedule":
			sched, err := s.schedule(ctx, tx, t.ID)
			if errors.Is(err, sql.ErrNoRows) {
				continue
			}
			if err != nil {
				return nil, nil, err
			}
			for _, uid := range sched.OnDuty(now) {
				names = append(names, userName(uid)+" ("+sched.Name+")")
				if err := addUser(uid); err != nil {
					return nil, nil, err
				}
			}
		case "channel":
			var name string
			var enabled bool
			err := tx.QueryRowContext(ctx, s.store.Rebind(`SELECT name, enabled FROM channels WHERE id = ?`), t.ID).Scan(&name, &enabled)
			if errors.Is(err, sql.ErrNoRows) || err == nil && !enabled {
				continue
			}
			if err != nil {
				return nil, nil, err
			}
			names = append(names, name)
			key := fmt.Sprintf("%d/", t.ID)
			if !seen[key] {
				seen[key] = true
				out = append(out, recipient{ChannelID: t.ID, To: notify.Recipient{Name: name, Lang: "vi"}})
			}
		}
	}
	return out, names, nil
}

func looksLikeEmail(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '@' {
			return i > 0 && i < len(s)-1
		}
	}
	return false
}

// enqueue writes one notification to the outbox. Its dedup key names the
// alert, escalation generation, round, step, channel and address, so a
// replayed decision cannot notify the same person twice for one step.
func (s *Service) enqueue(ctx context.Context, tx *sql.Tx, a *Alert, r recipient, stepNo int, now time.Time, groupable bool) error {
	key := fmt.Sprintf("a%d:g%d:r%d:s%d:c%d:u%d:%s", a.ID, a.generation, a.EscRound, stepNo, r.ChannelID, r.To.UserID, r.To.Email+r.To.TelegramChatID)
	msg := s.message(a, r.To, stepNo)
	sum := sha256.Sum256([]byte(key))
	msg.DeliveryID = fmt.Sprintf("cg-a%d-%x", a.ID, sum[:12])
	mb, _ := json.Marshal(msg)
	rb, _ := json.Marshal(r.To)
	due, group := now, ""
	if groupable {
		// First notifications of one agency and kind to one address within
		// GroupWait go out together.
		due = now.Add(s.cfg.GroupWait)
		agency := int64(0)
		if a.AgencyID != nil {
			agency = *a.AgencyID
		}
		group = fmt.Sprintf("c%d:u%d:%s:ag%d:%s", r.ChannelID, r.To.UserID, r.To.Email+r.To.TelegramChatID, agency, a.Kind)
	}
	_, err := tx.ExecContext(ctx, s.store.Rebind(`INSERT INTO outbox (dedup_key, alert_id, channel_id, group_key, recipient, message, state,
		next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?) ON CONFLICT (dedup_key) DO NOTHING`),
		key, a.ID, r.ChannelID, group, string(rb), string(mb), due, now)
	return err
}

// message builds what a recipient is told about an alert.
func (s *Service) message(a *Alert, to notify.Recipient, stepNo int) notify.Message {
	lang := to.Lang
	if lang == "" {
		lang = "vi"
	}
	m := notify.Message{Lang: lang, Severity: string(a.Severity), Title: a.Title, Summary: a.Details, AssetName: a.AssetName,
		Address: a.Address, AgencyName: a.AgencyName, Kind: a.Kind, At: a.FirstSeen, Count: a.Count, AlertID: a.ID, Step: stepNo,
		Link: fmt.Sprintf("%s/alerts/%d", s.cfg.PublicURL, a.ID)}
	m.AckLink = s.AckLink(a.ID, a.generation, to.UserID)
	return m
}

// releaseSilenced starts escalation of open alerts whose silence has ended.
func (s *Service) releaseSilenced(ctx context.Context, now time.Time) error {
	rows, err := s.store.DB().QueryContext(ctx, s.store.Rebind(`SELECT a.id FROM alerts a JOIN silences x ON x.id = a.silence_id
		WHERE a.state <> 'resolved' AND x.ends_at <= ? LIMIT 500`), now)
	if err != nil {
		return err
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return err
		}
		ids = append(ids, id)
	}
	rows.Close()
	for _, id := range ids {
		err := s.store.InTx(ctx, func(tx *sql.Tx) error {
			a, err := s.get(ctx, tx, systemScope, id, true)
			if err != nil || a.SilenceID == nil {
				return err
			}
			chainID, err := s.route(ctx, tx, &a, a.agencyPath)
			if err != nil {
				return err
			}
			var next *time.Time
			if chainID != nil && a.State == StateOpen {
				next = &now
			}
			if _, err := tx.ExecContext(ctx, s.store.Rebind(`UPDATE alerts SET silence_id = NULL, chain_id = ?, next_escalation_at = ?,
				updated_at = ? WHERE id = ?`), chainID, next, now, id); err != nil {
				return err
			}
			return s.event(ctx, tx, id, EvUnsilenced, "", map[string]any{"silence_id": *a.SilenceID})
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// schedule loads a duty schedule.
func (s *Service) schedule(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, id int64) (*oncall.Schedule, error) {
	var name, def string
	if err := q.QueryRowContext(ctx, s.store.Rebind(`SELECT name, definition FROM schedules WHERE id = ?`), id).Scan(&name, &def); err != nil {
		return nil, err
	}
	var sc oncall.Schedule
	if err := json.Unmarshal([]byte(def), &sc); err != nil {
		return nil, fmt.Errorf("schedule %d: %w", id, err)
	}
	sc.ID, sc.Name = id, name
	return &sc, nil
}
