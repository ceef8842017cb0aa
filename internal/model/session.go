package model

import "time"

// Session is a browser login. Only a hash of its cookie value is stored.
type Session struct {
	ID        int64
	TokenHash string
	UserID    int64
	// CSRFToken must accompany every state-changing request made with this session.
	CSRFToken string
	IP        string
	UserAgent string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// APIToken is a bearer credential for scripts. Only its hash is stored; the
// prefix lets a user recognise it in lists.
type APIToken struct {
	ID         int64      `json:"id"`
	UserID     int64      `json:"user_id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

// Principal is an authenticated caller: the user and the scope derived from them.
type Principal struct {
	User    User
	Scope   Scope
	Session *Session // nil for bearer tokens
}

// ScopeOf derives a user's scope from their role and their agency's path.
func ScopeOf(u User, agencyPath string) Scope {
	sc := Scope{UserID: u.ID, Username: u.Username, Role: u.Role}
	switch u.Role {
	case RoleAdmin, RoleAnalyst:
		// The province-wide roles ignore any agency they are filed under.
	default:
		sc.AgencyPath = agencyPath
		if sc.AgencyPath == "" && u.Role.NeedsAgency() {
			// An officer without an agency must see nothing, not everything.
			sc.AgencyPath = "/none/"
		}
	}
	return sc
}
