package model

import "strings"

// Role is what a user may do in canhgac.
type Role string

// The roles of DESIGN.md. Admin and analyst (the duty team) see the whole
// province; officer and telecom users are confined to one agency subtree;
// a viewer reads, within an agency subtree if one is set.
const (
	RoleAdmin   Role = "admin"
	RoleAnalyst Role = "analyst"
	RoleOfficer Role = "officer"
	RoleTelecom Role = "telecom"
	RoleViewer  Role = "viewer"
)

// Roles lists every valid role in display order.
var Roles = []Role{RoleAdmin, RoleAnalyst, RoleOfficer, RoleTelecom, RoleViewer}

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	for _, x := range Roles {
		if r == x {
			return true
		}
	}
	return false
}

// NeedsAgency reports whether users of this role must belong to an agency.
func (r Role) NeedsAgency() bool { return r == RoleOfficer || r == RoleTelecom }

// Scope is who is asking and which part of the agency tree they may reach.
// Every store read and write takes one; the store turns it into a WHERE clause.
type Scope struct {
	UserID   int64
	Username string
	Role     Role
	// AgencyPath is the materialized path ("/1/4/") of the agency subtree the
	// caller is confined to; empty means the whole province.
	AgencyPath string
}

// System is the scope of the server itself (first-start setup, CLI commands).
var System = Scope{Role: RoleAdmin, Username: "system"}

// Global reports whether the scope covers every agency.
func (s Scope) Global() bool { return s.AgencyPath == "" }

// Covers reports whether the agency at path lies inside the scope.
func (s Scope) Covers(path string) bool {
	return s.Global() || strings.HasPrefix(path, s.AgencyPath)
}

// Can reports whether the role may perform action on a kind of resource.
// Scope (which agencies) is checked separately, in the store.
func (s Scope) Can(action Action, resource Resource) bool {
	switch s.Role {
	case RoleAdmin:
		return true
	case RoleAnalyst:
		// The duty team works on everything except who may log in.
		return resource != ResourceUser || action == ActionRead
	case RoleOfficer, RoleTelecom:
		switch resource {
		case ResourceAsset, ResourceAlert, ResourceSilence, ResourceAgent:
			return true
		case ResourceAgency, ResourceUser, ResourceAudit, ResourceOncall:
			return action == ActionRead
		}
	case RoleViewer:
		return action == ActionRead && resource != ResourceUser
	}
	return false
}

// Action is a kind of operation, for role checks.
type Action int

// Actions checked by Scope.Can.
const (
	ActionRead Action = iota
	ActionWrite
)

// Resource is a kind of object, for role checks.
type Resource string

// Resources checked by Scope.Can.
const (
	ResourceAgency Resource = "agency"
	ResourceUser   Resource = "user"
	ResourceAsset  Resource = "asset"
	ResourceAudit  Resource = "audit"
	// ResourceAlert is alerts: reading them, acknowledging and resolving.
	ResourceAlert Resource = "alert"
	// ResourceSilence is silences (maintenance windows), scoped like alerts.
	ResourceSilence Resource = "silence"
	// ResourceOncall is the duty roster, escalation chains, notification
	// channels and inbound alert sources: the duty team's configuration.
	ResourceOncall Resource = "oncall"
	// ResourceAgent is endpoint agents, their enrollment tokens and tasks,
	// scoped to agencies like assets.
	ResourceAgent Resource = "agent"
)
