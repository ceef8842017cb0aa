package alert

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"canhgac/internal/auth"
	"canhgac/internal/model"
	"canhgac/internal/storage"
)

// Source is another tool (an agency's Prometheus Alertmanager or Zabbix)
// allowed to raise alerts through the inbound webhook. Its token is shown
// once and stored hashed; its alerts belong to its agency.
type Source struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	AgencyID  *int64    `json:"agency_id"`
	CreatedAt time.Time `json:"created_at"`
}

// SourceTokenPrefix marks inbound source tokens.
const SourceTokenPrefix = "cgi_"

// CreateSource registers an inbound source and returns its token.
func (s *Service) CreateSource(ctx context.Context, actor model.Actor, src *Source) (string, error) {
	src.Name = strings.TrimSpace(src.Name)
	if src.Name == "" || len(src.Name) > 100 {
		return "", model.Invalid("name", "is required (at most 100 bytes)")
	}
	secret, hash := auth.NewSecret(SourceTokenPrefix)
	err := s.store.InTx(ctx, func(tx *sql.Tx) error {
		if src.AgencyID != nil {
			if _, err := s.store.AgencyPath(ctx, tx, actor.Scope, *src.AgencyID); err != nil {
				if errors.Is(err, model.ErrNotFound) {
					return model.Invalid("agency_id", "no such agency")
				}
				return err
			}
		}
		src.CreatedAt = s.store.Now()
		err := tx.QueryRowContext(ctx, s.store.Rebind(`INSERT INTO alert_sources (name, token_hash, agency_id, created_at) VALUES (?, ?, ?, ?) RETURNING id`),
			src.Name, hash, src.AgencyID, src.CreatedAt).Scan(&src.ID)
		if storage.IsUniqueViolation(err) {
			return fmt.Errorf("a source named %q exists: %w", src.Name, model.ErrConflict)
		}
		if err != nil {
			return err
		}
		return s.store.Audit(ctx, tx, actor, "create", "alert_source", src.ID, src.AgencyID, nil, src)
	})
	return secret, err
}

// Sources lists the inbound sources.
func (s *Service) Sources(ctx context.Context) ([]Source, error) {
	rows, err := s.store.DB().QueryContext(ctx, `SELECT id, name, agency_id, created_at FROM alert_sources ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Source{}
	for rows.Next() {
		var x Source
		if err := rows.Scan(&x.ID, &x.Name, &x.AgencyID, &x.CreatedAt); err != nil {
			return nil, err
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// DeleteSource revokes an inbound source.
func (s *Service) DeleteSource(ctx context.Context, actor model.Actor, id int64) error {
	return s.store.InTx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, s.store.Rebind(`DELETE FROM alert_sources WHERE id = ?`), id)
		if err != nil {
			return err
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return fmt.Errorf("source %d: %w", id, model.ErrNotFound)
		}
		return s.store.Audit(ctx, tx, actor, "delete", "alert_source", id, nil, map[string]any{"id": id}, nil)
	})
}

// SourceByToken finds the source a token belongs to.
func (s *Service) SourceByToken(ctx context.Context, token string) (Source, error) {
	var x Source
	if !strings.HasPrefix(token, SourceTokenPrefix) {
		return x, model.ErrNotFound
	}
	err := s.store.DB().QueryRowContext(ctx, s.store.Rebind(`SELECT id, name, agency_id, created_at FROM alert_sources WHERE token_hash = ?`),
		auth.HashSecret(token)).Scan(&x.ID, &x.Name, &x.AgencyID, &x.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return x, model.ErrNotFound
	}
	return x, err
}

// Inbound is one alert (or recovery) parsed from another tool's payload.
type Inbound struct {
	Alert    Alert
	Resolved bool
}

// MaxInboundAlerts bounds one inbound payload.
const MaxInboundAlerts = 1000

// amPayload is Prometheus Alertmanager's webhook body (version 4).
type amPayload struct {
	Version  string    `json:"version"`
	Status   string    `json:"status"`
	Receiver string    `json:"receiver"`
	Alerts   []amAlert `json:"alerts"`
}

type amAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

// ParseAlertmanager reads an Alertmanager webhook payload. Severity comes
// from the "severity" label (critical/page, error/high, warning, info);
// the dedup key is Alertmanager's fingerprint, or a hash of the labels.
func ParseAlertmanager(r io.Reader) ([]Inbound, error) {
	var p amPayload
	dec := json.NewDecoder(r)
	if err := dec.Decode(&p); err != nil {
		return nil, model.Invalid("body", "is not an Alertmanager webhook payload: %v", err)
	}
	if len(p.Alerts) == 0 {
		return nil, model.Invalid("alerts", "is empty")
	}
	if len(p.Alerts) > MaxInboundAlerts {
		return nil, model.Invalid("alerts", "has more than %d alerts", MaxInboundAlerts)
	}
	out := make([]Inbound, 0, len(p.Alerts))
	for i, a := range p.Alerts {
		name := strings.TrimSpace(a.Labels["alertname"])
		if name == "" {
			return nil, model.Invalid(fmt.Sprintf("alerts[%d].labels.alertname", i), "is required")
		}
		key := a.Fingerprint
		if key == "" {
			key = labelsKey(a.Labels)
		}
		title := strings.TrimSpace(a.Annotations["summary"])
		if title == "" {
			title = name
			if inst := a.Labels["instance"]; inst != "" {
				title += " (" + inst + ")"
			}
		}
		details := a.Annotations["description"]
		if a.GeneratorURL != "" {
			details = strings.TrimSpace(details + "\n" + a.GeneratorURL)
		}
		in := Inbound{Resolved: a.Status == "resolved", Alert: Alert{
			Kind: "external." + sanitizeKind(name), Severity: mapSeverity(a.Labels["severity"]), DedupKey: "am:" + key,
			Title: truncate(title, maxTitle), Details: truncate(details, maxDetails), Labels: a.Labels}}
		out = append(out, in)
	}
	return out, nil
}

// genericAlert is canhgac's documented inbound format, for Zabbix media
// scripts, cron jobs and anything else that can POST JSON.
type genericAlert struct {
	Key      string            `json:"key"`
	Kind     string            `json:"kind"`
	Severity string            `json:"severity"`
	Title    string            `json:"title"`
	Details  string            `json:"details"`
	AssetID  *int64            `json:"asset_id"`
	Status   string            `json:"status"` // "firing" (default) or "resolved"
	Labels   map[string]string `json:"labels"`
}

// ParseGeneric reads the generic format: one alert object, or
// {"alerts": [ … ]}.
func ParseGeneric(r io.Reader) ([]Inbound, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	var many struct {
		Alerts []genericAlert `json:"alerts"`
	}
	var list []genericAlert
	if err := json.Unmarshal(raw, &many); err == nil && many.Alerts != nil {
		list = many.Alerts
	} else {
		var one genericAlert
		if err := json.Unmarshal(raw, &one); err != nil {
			return nil, model.Invalid("body", "is not JSON in canhgac's generic alert format: %v", err)
		}
		list = []genericAlert{one}
	}
	if len(list) == 0 {
		return nil, model.Invalid("alerts", "is empty")
	}
	if len(list) > MaxInboundAlerts {
		return nil, model.Invalid("alerts", "has more than %d alerts", MaxInboundAlerts)
	}
	out := make([]Inbound, 0, len(list))
	for i, g := range list {
		f := func(name string) string { return fmt.Sprintf("alerts[%d].%s", i, name) }
		g.Title = strings.TrimSpace(g.Title)
		if g.Title == "" {
			return nil, model.Invalid(f("title"), "is required")
		}
		sev := Severity(strings.ToLower(g.Severity))
		if g.Severity == "" {
			sev = High
		}
		if !sev.Valid() {
			sev = mapSeverity(g.Severity)
		}
		if g.Status != "" && g.Status != "firing" && g.Status != "resolved" {
			return nil, model.Invalid(f("status"), "must be firing or resolved")
		}
		kind := g.Kind
		if kind == "" {
			kind = "generic"
		}
		key := g.Key
		if key == "" {
			key = kind + ":" + g.Title
		}
		out = append(out, Inbound{Resolved: g.Status == "resolved", Alert: Alert{Kind: "external." + sanitizeKind(kind), Severity: sev,
			DedupKey: "gen:" + truncate(key, maxKey-4), Title: truncate(g.Title, maxTitle), Details: truncate(g.Details, maxDetails),
			AssetID: g.AssetID, Labels: g.Labels}})
	}
	return out, nil
}

// mapSeverity maps other tools' severity words onto canhgac's.
func mapSeverity(v string) Severity {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "critical", "page", "disaster", "emergency", "fatal":
		return Critical
	case "error", "high", "major":
		return High
	case "warning", "warn", "average", "medium":
		return Medium
	case "low", "minor", "notice":
		return Low
	case "info", "information", "informational", "not classified", "none":
		return Info
	}
	return High
}

func sanitizeKind(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= 80 {
			break
		}
	}
	if b.Len() == 0 {
		return "unnamed"
	}
	return b.String()
}

func labelsKey(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		fmt.Fprintf(h, "%s=%s\x00", k, labels[k])
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && s[len(s)-1]&0xC0 == 0x80 {
		s = s[:len(s)-1]
	}
	if len(s) > 0 && s[len(s)-1] >= 0xC0 {
		s = s[:len(s)-1]
	}
	return s
}

// Receive raises or recovers each parsed inbound alert for a source. Alerts
// naming an asset outside the source's agency are refused.
func (s *Service) Receive(ctx context.Context, src Source, items []Inbound) (raised, resolved int, err error) {
	var srcPath string
	if src.AgencyID != nil {
		if srcPath, err = s.store.AgencyPath(ctx, s.store.DB(), model.System, *src.AgencyID); err != nil {
			return 0, 0, err
		}
	}
	for i, in := range items {
		a := in.Alert
		a.Source = "inbound:" + src.Name
		if a.AssetID != nil {
			var path string
			err := s.store.DB().QueryRowContext(ctx, s.store.Rebind(`SELECT g.path FROM assets a JOIN agencies g ON g.id = a.agency_id WHERE a.id = ?`),
				*a.AssetID).Scan(&path)
			if errors.Is(err, sql.ErrNoRows) || err == nil && !strings.HasPrefix(path, srcPath) {
				return raised, resolved, model.Invalid(fmt.Sprintf("alerts[%d].asset_id", i), "no such asset for this source")
			}
			if err != nil {
				return raised, resolved, err
			}
		} else {
			a.AgencyID = src.AgencyID
		}
		if in.Resolved {
			ok, err := s.Recover(ctx, a.Source, a.DedupKey)
			if err != nil {
				return raised, resolved, err
			}
			if ok {
				resolved++
			}
			continue
		}
		if _, err := s.Raise(ctx, a); err != nil {
			return raised, resolved, err
		}
		raised++
	}
	return raised, resolved, nil
}
