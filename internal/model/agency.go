package model

import (
	"strings"
	"time"
)

// AgencyKind places an agency in the province's tree.
type AgencyKind string

// Agency kinds: the province (Sở TTTT at the root), departments and districts
// (Sở, ban ngành, UBND huyện), their units, and telecom operators.
const (
	AgencyProvince   AgencyKind = "province"
	AgencyDepartment AgencyKind = "department"
	AgencyDistrict   AgencyKind = "district"
	AgencyUnit       AgencyKind = "unit"
	AgencyTelecom    AgencyKind = "telecom"
)

// AgencyKinds lists the valid kinds in display order.
var AgencyKinds = []AgencyKind{AgencyProvince, AgencyDepartment, AgencyDistrict, AgencyUnit, AgencyTelecom}

// Agency is an organisation that owns assets: a node in the agency tree.
type Agency struct {
	ID       int64      `json:"id"`
	ParentID *int64     `json:"parent_id"`
	Name     string     `json:"name"`
	Code     string     `json:"code"`
	Kind     AgencyKind `json:"kind"`
	// Path is the materialized path of IDs from the root, e.g. "/1/4/".
	Path      string    `json:"path"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Normalize trims whitespace before validation and storage.
func (a *Agency) Normalize() {
	a.Name = strings.TrimSpace(a.Name)
	a.Code = strings.TrimSpace(a.Code)
}

// Validate checks the fields a caller supplies.
func (a *Agency) Validate() error {
	a.Normalize()
	if a.Name == "" {
		return Invalid("name", "is required")
	}
	if len(a.Name) > 200 {
		return Invalid("name", "is longer than 200 bytes")
	}
	if len(a.Code) > 50 {
		return Invalid("code", "is longer than 50 bytes")
	}
	if !oneOf(a.Kind, AgencyKinds) {
		return Invalid("kind", "must be one of %s", join(AgencyKinds))
	}
	if a.Kind == AgencyProvince && a.ParentID != nil {
		return Invalid("kind", "a province cannot have a parent")
	}
	return nil
}

// Depth is the number of levels above this agency (0 for a root).
func (a *Agency) Depth() int { return strings.Count(a.Path, "/") - 2 }

func oneOf[T comparable](v T, list []T) bool {
	for _, x := range list {
		if v == x {
			return true
		}
	}
	return false
}

func join[T ~string](list []T) string {
	s := make([]string, len(list))
	for i, x := range list {
		s[i] = string(x)
	}
	return strings.Join(s, ", ")
}
