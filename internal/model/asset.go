package model

import (
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"time"
)

// AssetKind is what sort of system an asset is.
type AssetKind string

// Asset kinds.
const (
	AssetWebsite     AssetKind = "website"
	AssetServer      AssetKind = "server"
	AssetWorkstation AssetKind = "workstation"
	AssetNetwork     AssetKind = "network"
	AssetOther       AssetKind = "other"
)

// AssetKinds lists the valid kinds in display order.
var AssetKinds = []AssetKind{AssetWebsite, AssetServer, AssetWorkstation, AssetNetwork, AssetOther}

// Asset is a system an agency owns and canhgac watches.
type Asset struct {
	ID       int64     `json:"id"`
	AgencyID int64     `json:"agency_id"`
	Kind     AssetKind `json:"kind"`
	Name     string    `json:"name"`
	// Address is a URL for websites, a hostname or IP for the others.
	Address string `json:"address"`
	// SecurityLevel is the information system's level, 1 to 5, under Decree 85/2016 (cấp độ).
	SecurityLevel int      `json:"security_level"`
	Tags          []string `json:"tags"`
	ContactName   string   `json:"contact_name"`
	ContactEmail  string   `json:"contact_email"`
	ContactPhone  string   `json:"contact_phone"`
	Description   string   `json:"description"`
	// AgencyName is filled on reads for display.
	AgencyName string    `json:"agency_name,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

var (
	tagRE   = regexp.MustCompile(`^[\p{L}\p{N}._:-]{1,40}$`)
	phoneRE = regexp.MustCompile(`^\+?[0-9 ().-]{6,20}$`)
)

// Validate normalizes and checks the fields a caller supplies.
func (a *Asset) Validate() error {
	a.Name = strings.TrimSpace(a.Name)
	a.Address = strings.TrimSpace(a.Address)
	a.ContactName = strings.TrimSpace(a.ContactName)
	a.ContactEmail = strings.TrimSpace(a.ContactEmail)
	a.ContactPhone = strings.TrimSpace(a.ContactPhone)
	if a.AgencyID <= 0 {
		return Invalid("agency_id", "is required")
	}
	if !oneOf(a.Kind, AssetKinds) {
		return Invalid("kind", "must be one of %s", join(AssetKinds))
	}
	if a.Name == "" {
		return Invalid("name", "is required")
	}
	if len(a.Name) > 200 {
		return Invalid("name", "is longer than 200 bytes")
	}
	if len(a.Address) > 500 {
		return Invalid("address", "is longer than 500 bytes")
	}
	if a.Kind == AssetWebsite && a.Address != "" &&
		!strings.HasPrefix(a.Address, "http://") && !strings.HasPrefix(a.Address, "https://") {
		return Invalid("address", "must be an http:// or https:// URL for a website")
	}
	if a.SecurityLevel == 0 {
		a.SecurityLevel = 1
	}
	if a.SecurityLevel < 1 || a.SecurityLevel > 5 {
		return Invalid("security_level", "must be 1 to 5 (Decree 85/2016)")
	}
	tags := make([]string, 0, len(a.Tags))
	for _, t := range a.Tags {
		t = strings.ToLower(strings.TrimSpace(t))
		if t == "" {
			continue
		}
		if !tagRE.MatchString(t) {
			return Invalid("tags", "tag %q may hold only letters, digits, '.', '_', ':' or '-' (at most 40)", t)
		}
		if !slices.Contains(tags, t) {
			tags = append(tags, t)
		}
	}
	if len(tags) > 20 {
		return Invalid("tags", "at most 20 tags")
	}
	slices.Sort(tags)
	a.Tags = tags
	if len(a.ContactName) > 200 {
		return Invalid("contact_name", "is longer than 200 bytes")
	}
	if a.ContactEmail != "" {
		if _, err := mail.ParseAddress(a.ContactEmail); err != nil {
			return Invalid("contact_email", "is not an e-mail address")
		}
	}
	if a.ContactPhone != "" && !phoneRE.MatchString(a.ContactPhone) {
		return Invalid("contact_phone", "is not a phone number")
	}
	if len(a.Description) > 4000 {
		return Invalid("description", "is longer than 4000 bytes")
	}
	return nil
}
