package model

import (
	"encoding/json"
	"time"
)

// AuditEvent records one state change: who did what to which object, when,
// from where, and the object before and after.
type AuditEvent struct {
	ID           int64     `json:"id"`
	At           time.Time `json:"at"`
	ActorID      *int64    `json:"actor_id"`
	ActorName    string    `json:"actor_name"`
	Action       string    `json:"action"`
	ResourceType string    `json:"resource_type"`
	ResourceID   int64     `json:"resource_id"`
	// AgencyID is the agency the changed object belongs to, for scoping reads.
	AgencyID *int64          `json:"agency_id"`
	IP       string          `json:"ip"`
	Before   json.RawMessage `json:"before"`
	After    json.RawMessage `json:"after"`
}

// Actor is who is making a change and from where; every store write takes one.
type Actor struct {
	Scope
	IP string
}
