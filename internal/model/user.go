package model

import (
	"net/mail"
	"regexp"
	"strings"
	"time"
)

// User is a person who logs in to canhgac.
type User struct {
	ID          int64  `json:"id"`
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	Email       string `json:"email"`
	Role        Role   `json:"role"`
	// AgencyID confines officers and telecom users (and optionally viewers)
	// to that agency's subtree.
	AgencyID *int64 `json:"agency_id"`
	// Language is the UI language: "vi" (default) or "en".
	Language string `json:"language"`
	// Theme is the UI theme: "light" or "dark" (for the duty room's wall screen).
	Theme              string     `json:"theme"`
	Disabled           bool       `json:"disabled"`
	MustChangePassword bool       `json:"must_change_password"`
	PasswordHash       string     `json:"-"`
	CreatedAt          time.Time  `json:"created_at"`
	UpdatedAt          time.Time  `json:"updated_at"`
	LastLoginAt        *time.Time `json:"last_login_at"`
}

var usernameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{1,62}$`)

// Languages are the UI languages canhgac speaks.
var Languages = []string{"vi", "en"}

// Themes are the UI themes.
var Themes = []string{"light", "dark"}

// Validate checks the fields a caller supplies and fills defaults.
func (u *User) Validate() error {
	u.Username = strings.ToLower(strings.TrimSpace(u.Username))
	u.DisplayName = strings.TrimSpace(u.DisplayName)
	u.Email = strings.TrimSpace(u.Email)
	if !usernameRE.MatchString(u.Username) {
		return Invalid("username", "must be 2-63 characters of a-z, 0-9, '.', '_' or '-'")
	}
	if len(u.DisplayName) > 200 {
		return Invalid("display_name", "is longer than 200 bytes")
	}
	if u.Email != "" {
		if _, err := mail.ParseAddress(u.Email); err != nil {
			return Invalid("email", "is not an e-mail address")
		}
	}
	if !u.Role.Valid() {
		return Invalid("role", "must be one of %s", join(Roles))
	}
	if u.Role.NeedsAgency() && u.AgencyID == nil {
		return Invalid("agency_id", "is required for role %s", u.Role)
	}
	if u.Language == "" {
		u.Language = "vi"
	}
	if !oneOf(u.Language, Languages) {
		return Invalid("language", "must be vi or en")
	}
	if u.Theme == "" {
		u.Theme = "light"
	}
	if !oneOf(u.Theme, Themes) {
		return Invalid("theme", "must be light or dark")
	}
	return nil
}

// MinPasswordLength is the shortest password canhgac accepts.
const MinPasswordLength = 10

// ValidatePassword checks a new password.
func ValidatePassword(p string) error {
	if len([]rune(p)) < MinPasswordLength {
		return Invalid("password", "must be at least %d characters", MinPasswordLength)
	}
	if len(p) > 256 {
		return Invalid("password", "is longer than 256 bytes")
	}
	return nil
}
