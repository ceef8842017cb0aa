// Package oncall computes who is on duty (trực) from a schedule of rotating
// layers and one-off overrides, lists the resulting shifts and the gaps in
// cover, and exports shifts as an iCalendar feed.
//
// The package is pure: it neither stores schedules nor notifies anyone.
//
// # Semantics
//
// A Layer hands over at its Start and then every shift length after it, in
// wall-clock time of Location: a daily layer starting at 07:30 hands over at
// 07:30 every day, a 12h layer at 07:30 and 19:30, a weekly layer at 07:30 on
// the same weekday. Shift k (counted from 0 at Start) is taken by
// Users[(k*PerShift+j) % len(Users)] for j = 0..PerShift-1.
//
// Layers stack as in PagerDuty: a later layer in Schedule.Layers takes
// precedence over earlier ones wherever it has a shift (between its Start and
// End), and earlier layers show through only where later ones have none.
//
// Overrides take precedence over every layer during [Start, End). Among
// overlapping overrides the later one in Schedule.Overrides wins, so a swap
// can be laid on top of a holiday override. A plain override puts all its
// Users on duty for its whole span; an override with a Rotation rotates among
// its Users exactly as a layer starting at the override's Start would (e.g.
// 12h shifts with PerShift 2 over Tết).
package oncall

import (
	"strconv"
	"time"
	_ "time/tzdata" // offline government machines may lack a zoneinfo database

	"canhgac/internal/model"
)

// Location is Asia/Ho_Chi_Minh, the zone in which handoffs are computed and
// in which returned times are expressed.
var Location = loadLocation()

func loadLocation() *time.Location {
	loc, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	if err != nil {
		// Unreachable with time/tzdata linked in; keep Vietnam's offset.
		return time.FixedZone("ICT", 7*3600)
	}
	return loc
}

// Rotation is the length of the shifts of a layer or override.
type Rotation string

// Rotations: 24-hour shifts, two 12-hour shifts a day (day and night), and
// week-long shifts.
const (
	Daily      Rotation = "daily"
	TwelveHour Rotation = "12h"
	Weekly     Rotation = "weekly"
)

// MaxOverride is the longest span an override may cover: a holiday or a
// campaign, not a second schedule.
const MaxOverride = 62 * 24 * time.Hour

// Layer is a rotation of users: shifts of the rotation's length starting at
// Start (the handoff time, e.g. 07:30 local), each taken by the next PerShift
// users in order.
type Layer struct {
	Name     string     `json:"name"`
	Rotation Rotation   `json:"rotation"`
	Start    time.Time  `json:"start"` // first handoff; shifts before Start are empty
	End      *time.Time `json:"end,omitempty"`
	// Users lists user IDs in rotation order. A user may appear more than
	// once to take more turns; within one shift duplicates collapse.
	Users    []int64 `json:"users"`
	PerShift int     `json:"per_shift"` // people on duty at once, default 1
}

// Override replaces who is on duty in [Start, End), e.g. "Tết 2025: 29 Tết to
// mùng 6, two people per shift".
//
// With Rotation empty all Users are on duty for the whole span and PerShift
// must be 0. With a Rotation the override rotates among Users like a layer
// whose first handoff is Start (PerShift defaults to 1).
type Override struct {
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Users    []int64   `json:"users"`
	Note     string    `json:"note"`
	Rotation Rotation  `json:"rotation,omitempty"`
	PerShift int       `json:"per_shift,omitempty"`
}

// Schedule is a named stack of layers with overrides on top.
type Schedule struct {
	ID        int64      `json:"id"`
	Name      string     `json:"name"`
	Layers    []Layer    `json:"layers"`
	Overrides []Override `json:"overrides"`
}

// Shift is a stretch of the final timeline during which the same users are on
// duty for the same reason: a layer (Layer names it) or an override
// (Override is true and Note is the override's note).
type Shift struct {
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Users    []int64   `json:"users"`
	Layer    string    `json:"layer,omitempty"`
	Override bool      `json:"override,omitempty"`
	Note     string    `json:"note,omitempty"`
}

// Gap is a period in which nobody is on duty.
type Gap struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// Limits on what a caller may submit, so that one schedule cannot make the
// timeline computations expensive.
const (
	maxLayers    = 20
	maxOverrides = 500
	maxUsers     = 200
	maxName      = 200
	maxNote      = 1000
)

// Validate checks a schedule as a caller submits it. The error is a
// *model.ValidationError naming the first offending field, e.g.
// "layers[0].rotation".
func (s *Schedule) Validate() error {
	if s.Name == "" {
		return model.Invalid("name", "is required")
	}
	if len(s.Name) > maxName {
		return model.Invalid("name", "is longer than %d bytes", maxName)
	}
	if len(s.Layers) > maxLayers {
		return model.Invalid("layers", "has more than %d layers", maxLayers)
	}
	if len(s.Overrides) > maxOverrides {
		return model.Invalid("overrides", "has more than %d overrides", maxOverrides)
	}
	for i, l := range s.Layers {
		if err := l.validate(prefix("layers", i)); err != nil {
			return err
		}
	}
	for i, o := range s.Overrides {
		if err := o.validate(prefix("overrides", i)); err != nil {
			return err
		}
	}
	return nil
}

func (l *Layer) validate(p string) error {
	if l.Name == "" {
		return model.Invalid(p+".name", "is required")
	}
	if len(l.Name) > maxName {
		return model.Invalid(p+".name", "is longer than %d bytes", maxName)
	}
	if !l.Rotation.valid() {
		return model.Invalid(p+".rotation", "must be daily, 12h or weekly")
	}
	if l.Start.IsZero() {
		return model.Invalid(p+".start", "is required")
	}
	if l.End != nil && !l.End.After(l.Start) {
		return model.Invalid(p+".end", "must be after start")
	}
	if err := validateUsers(p, l.Users, true); err != nil {
		return err
	}
	return validatePerShift(p, l.PerShift, len(l.Users))
}

func (o *Override) validate(p string) error {
	if o.Start.IsZero() {
		return model.Invalid(p+".start", "is required")
	}
	if !o.End.After(o.Start) {
		return model.Invalid(p+".end", "must be after start")
	}
	if o.End.Sub(o.Start) > MaxOverride {
		return model.Invalid(p+".end", "must be at most 62 days after start")
	}
	if len(o.Note) > maxNote {
		return model.Invalid(p+".note", "is longer than %d bytes", maxNote)
	}
	if err := validateUsers(p, o.Users, false); err != nil {
		return err
	}
	if o.Rotation == "" {
		if o.PerShift != 0 {
			return model.Invalid(p+".per_shift", "needs a rotation; without one all users are on duty")
		}
		return nil
	}
	if !o.Rotation.valid() {
		return model.Invalid(p+".rotation", "must be empty, daily, 12h or weekly")
	}
	return validatePerShift(p, o.PerShift, len(o.Users))
}

func validateUsers(p string, users []int64, repeatsAllowed bool) error {
	if len(users) == 0 {
		return model.Invalid(p+".users", "must name at least one user")
	}
	if len(users) > maxUsers {
		return model.Invalid(p+".users", "has more than %d users", maxUsers)
	}
	seen := make(map[int64]bool, len(users))
	for j, u := range users {
		if u <= 0 {
			return model.Invalid(prefix(p+".users", j), "must be a user ID")
		}
		if seen[u] && !repeatsAllowed {
			return model.Invalid(prefix(p+".users", j), "repeats user %d", u)
		}
		seen[u] = true
	}
	return nil
}

func validatePerShift(p string, per, users int) error {
	if per < 0 || per > users {
		return model.Invalid(p+".per_shift", "must be between 1 and the number of users (%d)", users)
	}
	return nil
}

func (r Rotation) valid() bool {
	return r == Daily || r == TwelveHour || r == Weekly
}

func prefix(name string, i int) string {
	return name + "[" + strconv.Itoa(i) + "]"
}
