package fleet

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"canhgac/internal/auth"
	"canhgac/internal/model"
	"canhgac/internal/storage"
)

// Secret prefixes: enrollment tokens and agent credentials.
const (
	TokenPrefix  = "cge_"
	SecretPrefix = "cga_"
)

// Token limits.
const (
	MaxTokenUses   = 10000
	MaxTokenExpiry = 90 * 24 * time.Hour
)

// EnrollmentToken lets machines of one agency enroll: once, or up to
// MaxUses times, until it expires or is revoked.
type EnrollmentToken struct {
	ID        int64      `json:"id"`
	AgencyID  int64      `json:"agency_id"`
	Name      string     `json:"name"`
	Prefix    string     `json:"prefix"`
	MaxUses   int        `json:"max_uses"`
	Uses      int        `json:"uses"`
	ExpiresAt time.Time  `json:"expires_at"`
	RevokedAt *time.Time `json:"revoked_at"`
	CreatedBy string     `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
}

// CreateToken issues an enrollment token for an agency in the actor's
// scope. The secret is returned once; only its hash is kept.
func (s *Service) CreateToken(ctx context.Context, actor model.Actor, t *EnrollmentToken, validFor time.Duration) (string, error) {
	if !actor.Can(model.ActionWrite, model.ResourceAgent) {
		return "", model.ErrForbidden
	}
	t.Name = strings.TrimSpace(t.Name)
	if utf8.RuneCountInString(t.Name) > 200 {
		return "", model.Invalid("name", "is longer than 200 characters")
	}
	if t.MaxUses == 0 {
		t.MaxUses = 1
	}
	if t.MaxUses < 1 || t.MaxUses > MaxTokenUses {
		return "", model.Invalid("max_uses", "must be 1 to %d", MaxTokenUses)
	}
	if validFor == 0 {
		validFor = 24 * time.Hour
	}
	if validFor < time.Minute || validFor > MaxTokenExpiry {
		return "", model.Invalid("expires_in", "must be between 1 minute and 90 days")
	}
	secret, hash := auth.NewSecret(TokenPrefix)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		path, err := s.store.AgencyPath(ctx, tx, actor.Scope, t.AgencyID)
		if errors.Is(err, model.ErrNotFound) {
			return model.Invalid("agency_id", "no such agency")
		}
		if err != nil {
			return err
		}
		now := s.store.Now()
		t.Prefix, t.CreatedAt, t.ExpiresAt, t.CreatedBy, t.Uses = secret[:len(TokenPrefix)+6], now, now.Add(validFor), actor.Username, 0
		if err := tx.QueryRowContext(ctx, s.store.Rebind(`INSERT INTO enrollment_tokens (agency_id, agency_path, name, prefix, token_hash,
			max_uses, expires_at, created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			t.AgencyID, path, t.Name, t.Prefix, hash, t.MaxUses, t.ExpiresAt, t.CreatedBy, now).Scan(&t.ID); err != nil {
			return err
		}
		return s.store.Audit(ctx, tx, actor, "create", "enrollment_token", t.ID, &t.AgencyID, nil, t)
	})
	if err != nil {
		return "", err
	}
	return secret, nil
}

// ListTokens returns the enrollment tokens in the caller's scope, newest first.
func (s *Service) ListTokens(ctx context.Context, sc model.Scope) ([]EnrollmentToken, error) {
	var w storage.Where
	if !sc.Global() {
		w.Add("agency_path LIKE ?", sc.AgencyPath+"%")
	}
	rows, err := s.store.DB().QueryContext(ctx, s.store.Rebind(`SELECT id, agency_id, name, prefix, max_uses, uses, expires_at, revoked_at,
		created_by, created_at FROM enrollment_tokens`+w.String()+` ORDER BY id DESC LIMIT 500`), w.Args()...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []EnrollmentToken{}
	for rows.Next() {
		var t EnrollmentToken
		if err := rows.Scan(&t.ID, &t.AgencyID, &t.Name, &t.Prefix, &t.MaxUses, &t.Uses, &t.ExpiresAt, &t.RevokedAt, &t.CreatedBy, &t.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken stops a token from enrolling more machines.
func (s *Service) RevokeToken(ctx context.Context, actor model.Actor, id int64) error {
	if !actor.Can(model.ActionWrite, model.ResourceAgent) {
		return model.ErrForbidden
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var agency int64
		q := `SELECT agency_id FROM enrollment_tokens WHERE id = ? AND revoked_at IS NULL`
		args := []any{id}
		if !actor.Scope.Global() {
			q += ` AND agency_path LIKE ?`
			args = append(args, actor.Scope.AgencyPath+"%")
		}
		if err := tx.QueryRowContext(ctx, s.store.Rebind(q), args...).Scan(&agency); errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("enrollment token %d: %w", id, model.ErrNotFound)
		} else if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.store.Rebind(`UPDATE enrollment_tokens SET revoked_at = ? WHERE id = ?`), s.store.Now(), id); err != nil {
			return err
		}
		return s.store.Audit(ctx, tx, actor, "revoke", "enrollment_token", id, &agency, nil, nil)
	})
}

// EnrollRequest is what a machine sends to enroll.
type EnrollRequest struct {
	Token     string `json:"token"`
	MachineID string `json:"machine_id"`
	Hostname  string `json:"hostname"`
	OSName    string `json:"os_name"`
	OSVersion string `json:"os_version"`
	Arch      string `json:"arch"`
	Version   string `json:"version"`
}

// Validate checks an enrollment request; all of it is untrusted.
func (r *EnrollRequest) Validate() error {
	for _, f := range []struct {
		name, v string
		need    bool
		max     int
	}{{"machine_id", r.MachineID, true, 200}, {"hostname", r.Hostname, true, 255}, {"os_name", r.OSName, false, 200},
		{"os_version", r.OSVersion, false, 200}, {"arch", r.Arch, false, 32}, {"version", r.Version, false, 64}} {
		v := strings.TrimSpace(f.v)
		if f.need && v == "" {
			return model.Invalid(f.name, "is required")
		}
		if len(v) > f.max || !utf8.ValidString(v) || strings.ContainsAny(v, "\x00\r\n") {
			return model.Invalid(f.name, "must be printable text of at most %d bytes", f.max)
		}
	}
	return nil
}

// Enrollment is what an enrolled agent receives: its identity and secret,
// and the key that signs its tasks.
type Enrollment struct {
	AgentID          int64  `json:"agent_id"`
	Secret           string `json:"secret"`
	AgencyID         int64  `json:"agency_id"`
	AssetID          int64  `json:"asset_id"`
	TaskKey          string `json:"task_key"` // base64 Ed25519 public key
	HeartbeatSeconds int    `json:"heartbeat_seconds"`
	// Replaced is the earlier agent of the same machine, now revoked.
	Replaced int64 `json:"replaced,omitempty"`
}

// Enroll registers a machine with an enrollment token. The machine becomes
// an asset of the token's agency. The same machine enrolling again (same
// machine id in the same agency) replaces its earlier agent, which is
// revoked, and keeps its asset. A bad, used-up, expired or revoked token
// is ErrUnauthenticated, whichever it is.
func (s *Service) Enroll(ctx context.Context, req EnrollRequest, ip string) (Enrollment, error) {
	if err := req.Validate(); err != nil {
		return Enrollment{}, err
	}
	hostname := strings.TrimSpace(req.Hostname)
	secret, hash := auth.NewSecret(SecretPrefix)
	var en Enrollment
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var tokID, agency int64
		var path, prefix string
		now := s.store.Now()
		err := tx.QueryRowContext(ctx, s.store.Rebind(`SELECT id, agency_id, agency_path, prefix FROM enrollment_tokens
			WHERE token_hash = ? AND revoked_at IS NULL AND expires_at > ? AND uses < max_uses`), auth.HashSecret(strings.TrimSpace(req.Token)), now).
			Scan(&tokID, &agency, &path, &prefix)
		if errors.Is(err, sql.ErrNoRows) {
			return model.ErrUnauthenticated
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, s.store.Rebind(`UPDATE enrollment_tokens SET uses = uses + 1 WHERE id = ?`), tokID); err != nil {
			return err
		}
		actor := model.Actor{Scope: model.Scope{Role: model.RoleAdmin, Username: "enrollment " + prefix}, IP: ip}
		var old int64
		var asset *int64
		err = tx.QueryRowContext(ctx, s.store.Rebind(`SELECT id, asset_id FROM agents WHERE machine_id = ? AND agency_id = ? AND revoked_at IS NULL`),
			req.MachineID, agency).Scan(&old, &asset)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if asset == nil {
			a := model.Asset{AgencyID: agency, Kind: assetKind(req.OSName), Name: hostname, Address: ip,
				Description: fmt.Sprintf("%s %s (canhgac agent, machine %s)", req.OSName, req.OSVersion, req.MachineID)}
			err := s.store.InsertAsset(ctx, tx, actor, &a)
			if errors.Is(err, model.ErrConflict) {
				// Another asset of the agency has this name: tell them apart.
				a.Name = fmt.Sprintf("%s (%s)", hostname, shortID(req.MachineID))
				err = s.store.InsertAsset(ctx, tx, actor, &a)
			}
			if err != nil {
				return err
			}
			asset = &a.ID
		}
		err = tx.QueryRowContext(ctx, s.store.Rebind(`INSERT INTO agents (agency_id, agency_path, asset_id, machine_id, hostname, os_name,
			os_version, arch, version, secret_hash, token_id, enrolled_at, last_seen_at, last_ip) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`),
			agency, path, *asset, req.MachineID, hostname, req.OSName, req.OSVersion, req.Arch, req.Version, hash, tokID, now, now, ip).Scan(&en.AgentID)
		if err != nil {
			return err
		}
		if old != 0 {
			if _, err := tx.ExecContext(ctx, s.store.Rebind(`UPDATE agents SET revoked_at = ?, revoked_by = 're-enrolled', replaced_by = ? WHERE id = ?`),
				now, en.AgentID, old); err != nil {
				return err
			}
			en.Replaced = old
		}
		en.AgencyID, en.AssetID = agency, *asset
		return s.store.Audit(ctx, tx, actor, "enroll", "agent", en.AgentID, &agency, nil,
			map[string]any{"machine_id": req.MachineID, "hostname": hostname, "os": req.OSName + " " + req.OSVersion, "replaced": old, "token": prefix})
	})
	if err != nil {
		return Enrollment{}, err
	}
	if en.Replaced != 0 {
		s.forget(en.Replaced)
	}
	en.Secret = secret
	en.TaskKey = base64.StdEncoding.EncodeToString(s.PublicKey())
	en.HeartbeatSeconds = int(s.cfg.Heartbeat / time.Second)
	return en, nil
}

func assetKind(osName string) model.AssetKind {
	l := strings.ToLower(osName)
	if strings.Contains(l, "windows") && !strings.Contains(l, "server") {
		return model.AssetWorkstation
	}
	return model.AssetServer
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
