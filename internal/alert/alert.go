// Package alert is canhgac's one alert pipeline. Every detector (web
// monitoring, the endpoint agent, vulnerabilities, bulletins, spam) and every
// inbound source (Alertmanager, Zabbix, generic JSON) calls Raise; the
// pipeline deduplicates, holds flapping alerts, applies silences, routes each
// new alert to an escalation chain and, through a persisted outbox, puts it
// in front of whoever is on duty until someone acknowledges it.
//
// Durability: Raise returns only after the alert is committed. Escalation
// decisions and the notifications they imply are committed together, and the
// outbox worker sends each notification (alert, generation, round, step,
// channel, address) once, retrying with backoff; a crash at any point
// replays from the database without losing or doubling a step.
package alert

import (
	"slices"
	"strings"
	"time"

	"canhgac/internal/model"
)

// Severity ranks how urgent an alert is.
type Severity string

// Severities, lowest first.
const (
	Info     Severity = "info"
	Low      Severity = "low"
	Medium   Severity = "medium"
	High     Severity = "high"
	Critical Severity = "critical"
)

// Severities lists the valid severities, lowest first.
var Severities = []Severity{Info, Low, Medium, High, Critical}

// Rank orders severities: info 0 … critical 4; unknown -1.
func (s Severity) Rank() int { return slices.Index(Severities, s) }

// Valid reports whether s is a known severity.
func (s Severity) Valid() bool { return s.Rank() >= 0 }

// State is where an alert is in its life.
type State string

// Alert states.
const (
	StateOpen         State = "open"
	StateAcknowledged State = "acknowledged"
	StateResolved     State = "resolved"
)

// States lists the alert states in order.
var States = []State{StateOpen, StateAcknowledged, StateResolved}

// Evidence points at something that backs an alert up: a screenshot, a
// page snapshot, a file hash, a log excerpt.
type Evidence struct {
	Kind string `json:"kind"`
	Ref  string `json:"ref"`
	Note string `json:"note,omitempty"`
}

// Alert is one problem that needs a person.
type Alert struct {
	ID       int64    `json:"id"`
	Source   string   `json:"source"`
	Kind     string   `json:"kind"`
	Severity Severity `json:"severity"`
	// DedupKey identifies "the same problem" within a source: a repeat with
	// the same key updates the open alert instead of opening another.
	DedupKey string            `json:"dedup_key"`
	AssetID  *int64            `json:"asset_id"`
	AgencyID *int64            `json:"agency_id"`
	Title    string            `json:"title"`
	Details  string            `json:"details"`
	Evidence []Evidence        `json:"evidence"`
	Labels   map[string]string `json:"labels"`

	State            State      `json:"state"`
	Flapping         bool       `json:"flapping"`
	Count            int        `json:"count"`
	FirstSeen        time.Time  `json:"first_seen"`
	LastSeen         time.Time  `json:"last_seen"`
	AckedBy          string     `json:"acked_by,omitempty"`
	AckedAt          *time.Time `json:"acked_at"`
	ResolvedBy       string     `json:"resolved_by,omitempty"`
	ResolvedAt       *time.Time `json:"resolved_at"`
	SilenceID        *int64     `json:"silence_id"`
	ChainID          *int64     `json:"chain_id"`
	EscStep          int        `json:"escalation_step"`
	EscRound         int        `json:"escalation_round"`
	NextEscalationAt *time.Time `json:"next_escalation_at"`
	CreatedAt        time.Time  `json:"created_at"`
	UpdatedAt        time.Time  `json:"updated_at"`

	// Filled on reads for display.
	AssetName  string `json:"asset_name,omitempty"`
	Address    string `json:"address,omitempty"`
	AgencyName string `json:"agency_name,omitempty"`

	agencyPath string
	generation int
}

// Limits on what a source may send.
const (
	maxTitle    = 300
	maxDetails  = 16 << 10
	maxKey      = 300
	maxLabels   = 50
	maxEvidence = 20
)

// Validate normalises and checks what a source supplies.
func (a *Alert) Validate() error {
	a.Source = strings.TrimSpace(a.Source)
	a.Kind = strings.TrimSpace(a.Kind)
	a.Title = strings.TrimSpace(a.Title)
	a.DedupKey = strings.TrimSpace(a.DedupKey)
	switch {
	case a.Source == "" || len(a.Source) > 100:
		return model.Invalid("source", "is required (at most 100 bytes)")
	case a.Kind == "" || len(a.Kind) > 100:
		return model.Invalid("kind", "is required (at most 100 bytes)")
	case !a.Severity.Valid():
		return model.Invalid("severity", "must be one of info, low, medium, high, critical")
	case a.Title == "":
		return model.Invalid("title", "is required")
	case len(a.Title) > maxTitle:
		return model.Invalid("title", "is longer than %d bytes", maxTitle)
	case len(a.Details) > maxDetails:
		return model.Invalid("details", "is longer than %d bytes", maxDetails)
	case len(a.DedupKey) > maxKey:
		return model.Invalid("dedup_key", "is longer than %d bytes", maxKey)
	case len(a.Labels) > maxLabels:
		return model.Invalid("labels", "has more than %d labels", maxLabels)
	case len(a.Evidence) > maxEvidence:
		return model.Invalid("evidence", "has more than %d items", maxEvidence)
	}
	if a.DedupKey == "" {
		// Without a key, one kind of problem on one asset is one alert.
		a.DedupKey = a.Kind
		if a.AssetID != nil {
			a.DedupKey += ":asset:" + itoa(*a.AssetID)
		}
	}
	if a.Evidence == nil {
		a.Evidence = []Evidence{}
	}
	if a.Labels == nil {
		a.Labels = map[string]string{}
	}
	return nil
}

// Event is one line of an alert's timeline.
type Event struct {
	ID      int64          `json:"id"`
	AlertID int64          `json:"alert_id"`
	At      time.Time      `json:"at"`
	Type    string         `json:"type"`
	Actor   string         `json:"actor"`
	Detail  map[string]any `json:"detail"`
}

// Timeline event types.
const (
	EvRaised         = "raised"
	EvReopened       = "reopened"
	EvSilenced       = "silenced"
	EvUnsilenced     = "unsilenced"
	EvEscalated      = "escalated"
	EvNoRecipient    = "no_recipient"
	EvExhausted      = "escalation_exhausted"
	EvNotified       = "notified"
	EvNotifyFailed   = "notify_failed"
	EvAcknowledged   = "acknowledged"
	EvUnacknowledged = "unacknowledged"
	EvResolved       = "resolved"
	EvSeverity       = "severity_changed"
)
