package alert

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"canhgac/internal/model"
)

// systemScope reads every alert: the pipeline's own work.
var systemScope = model.System

// AckLinkTTL is how long an acknowledgement link in a message works.
const AckLinkTTL = 7 * 24 * time.Hour

// ErrBadAckLink means an acknowledgement link is forged, damaged or expired.
var ErrBadAckLink = errors.New("acknowledgement link is invalid or expired")

// AckLink returns the signed link that acknowledges alert id for one
// recipient. It works once: after it (or anyone) acknowledges the alert it
// is spent, and an alert re-escalated after the unacknowledge timeout needs
// a fresh link (the generation changes).
func (s *Service) AckLink(id int64, generation int, userID int64) string {
	return fmt.Sprintf("%s/ack/%s", s.cfg.PublicURL, s.ackToken(id, generation, userID, s.store.Now().Add(AckLinkTTL)))
}

func (s *Service) ackToken(id int64, generation int, userID int64, expires time.Time) string {
	b := make([]byte, 0, 32+16)
	b = binary.BigEndian.AppendUint64(b, uint64(id))
	b = binary.BigEndian.AppendUint32(b, uint32(generation))
	b = binary.BigEndian.AppendUint64(b, uint64(userID))
	b = binary.BigEndian.AppendUint64(b, uint64(expires.Unix()))
	mac := hmac.New(sha256.New, s.key)
	mac.Write(b)
	b = append(b, mac.Sum(nil)[:16]...)
	return base64.RawURLEncoding.EncodeToString(b)
}

type ackClaim struct {
	alertID    int64
	generation int
	userID     int64
	expires    time.Time
}

func (s *Service) parseAckToken(tok string) (ackClaim, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) != 28+16 {
		return ackClaim{}, ErrBadAckLink
	}
	body, sig := b[:28], b[28:]
	mac := hmac.New(sha256.New, s.key)
	mac.Write(body)
	if !hmac.Equal(sig, mac.Sum(nil)[:16]) {
		return ackClaim{}, ErrBadAckLink
	}
	c := ackClaim{
		alertID:    int64(binary.BigEndian.Uint64(body[0:8])),
		generation: int(binary.BigEndian.Uint32(body[8:12])),
		userID:     int64(binary.BigEndian.Uint64(body[12:20])),
		expires:    time.Unix(int64(binary.BigEndian.Uint64(body[20:28])), 0),
	}
	if !s.store.Now().Before(c.expires) {
		return ackClaim{}, ErrBadAckLink
	}
	return c, nil
}

// AckLinkAlert returns the alert a link acknowledges, for the confirmation
// page, without acknowledging it.
func (s *Service) AckLinkAlert(ctx context.Context, tok string) (Alert, error) {
	c, err := s.parseAckToken(tok)
	if err != nil {
		return Alert{}, err
	}
	return s.Get(ctx, systemScope, c.alertID)
}

// AcknowledgeByLink acknowledges the alert a signed link names, as the
// person it was sent to. It fails with model.ErrConflict when the alert was
// already taken or resolved, or re-escalated since the link was sent.
func (s *Service) AcknowledgeByLink(ctx context.Context, tok, ip string) (Alert, error) {
	c, err := s.parseAckToken(tok)
	if err != nil {
		return Alert{}, err
	}
	a, err := s.Get(ctx, systemScope, c.alertID)
	if err != nil {
		return Alert{}, err
	}
	if a.generation != c.generation {
		return a, fmt.Errorf("alert %d was escalated again after this link was sent: %w", a.ID, model.ErrConflict)
	}
	actor := model.Actor{Scope: model.Scope{Role: model.RoleAnalyst, Username: "link"}, IP: ip}
	if c.userID != 0 {
		var username string
		err := s.store.DB().QueryRowContext(ctx, s.store.Rebind(`SELECT username FROM users WHERE id = ?`), c.userID).Scan(&username)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return a, err
		}
		if username != "" {
			actor.Scope.UserID, actor.Scope.Username = c.userID, username
		}
	}
	if err := s.transition(ctx, actor, a.ID, StateAcknowledged, actor.Username, "link"); err != nil {
		return a, err
	}
	return s.Get(ctx, systemScope, a.ID)
}
