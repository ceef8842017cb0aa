package oncall

import (
	"slices"
	"time"
)

// OnDuty returns who is on duty at t, or nil if nobody is: the users of the
// last override covering t, else of the last layer with a shift at t (see the
// package documentation). The slice is the caller's to keep.
func (s *Schedule) OnDuty(t time.Time) []int64 {
	d, _ := s.at(t)
	return d.users
}

// Shifts returns the final on-duty timeline in [from, to), in order and
// clipped to that window. Consecutive stretches with the same users from the
// same layer, or from overrides with the same note, are merged into one
// shift; so a one-person layer yields one long shift rather than one per
// handoff. Periods with nobody on duty are absent (see Gaps). Times are in
// Location.
func (s *Schedule) Shifts(from, to time.Time) []Shift {
	if !from.Before(to) {
		return nil
	}
	// Who is on duty can only change at a handoff or at the start or end of a
	// layer or override; collect those instants inside the window.
	var cuts []time.Time
	add := func(t time.Time) {
		if t.After(from) && t.Before(to) {
			cuts = append(cuts, t)
		}
	}
	for i := range s.Layers {
		r := s.Layers[i].rota()
		r.handoffs(from, to, add)
	}
	for i := range s.Overrides {
		o := &s.Overrides[i]
		add(o.Start)
		add(o.End)
		if o.Rotation != "" {
			r := o.rota()
			r.handoffs(from, to, add)
		}
	}
	slices.SortFunc(cuts, time.Time.Compare)
	cuts = slices.CompactFunc(cuts, time.Time.Equal)
	cuts = append(cuts, to)

	var out []Shift
	start := from
	for _, end := range cuts {
		if d, ok := s.at(start); ok {
			n := len(out)
			if n > 0 && out[n-1].End.Equal(start) && d.continues(&out[n-1]) {
				out[n-1].End = end.In(Location)
			} else {
				out = append(out, Shift{
					Start:    start.In(Location),
					End:      end.In(Location),
					Users:    d.users,
					Layer:    d.layer,
					Override: d.override,
					Note:     d.note,
				})
			}
		}
		start = end
	}
	return out
}

// Gaps returns the periods in [from, to) in which nobody is on duty, in
// order. A schedule with no layers and no overrides has one gap covering the
// whole window.
func (s *Schedule) Gaps(from, to time.Time) []Gap {
	if !from.Before(to) {
		return nil
	}
	var gaps []Gap
	cur := from.In(Location)
	for _, sh := range s.Shifts(from, to) {
		if sh.Start.After(cur) {
			gaps = append(gaps, Gap{Start: cur, End: sh.Start})
		}
		cur = sh.End
	}
	if cur.Before(to) {
		gaps = append(gaps, Gap{Start: cur, End: to.In(Location)})
	}
	return gaps
}

// duty is who is on duty at an instant and why.
type duty struct {
	users    []int64
	layer    string
	override bool
	note     string
}

// continues reports whether d is the same duty as the shift sh, so that the
// two can be one shift.
func (d *duty) continues(sh *Shift) bool {
	return slices.Equal(d.users, sh.Users) && d.layer == sh.Layer &&
		d.override == sh.Override && d.note == sh.Note
}

// at resolves who is on duty at t: the last override covering t wins, then
// the last layer with a shift at t.
func (s *Schedule) at(t time.Time) (duty, bool) {
	for i := len(s.Overrides) - 1; i >= 0; i-- {
		o := &s.Overrides[i]
		if t.Before(o.Start) || !t.Before(o.End) || len(o.Users) == 0 {
			continue
		}
		if o.Rotation == "" {
			return duty{users: distinct(o.Users), override: true, note: o.Note}, true
		}
		r := o.rota()
		if k := r.index(t); k >= 0 {
			return duty{users: r.on(k), override: true, note: o.Note}, true
		}
	}
	for i := len(s.Layers) - 1; i >= 0; i-- {
		l := &s.Layers[i]
		r := l.rota()
		if k := r.index(t); k >= 0 {
			return duty{users: r.on(k), layer: l.Name}, true
		}
	}
	return duty{}, false
}

// rota is a rotation in effect: a layer, or an override with a Rotation.
type rota struct {
	start time.Time // first handoff, in Location
	end   time.Time // no shifts from here on; zero if open-ended
	kind  Rotation
	users []int64
	per   int
}

func (l *Layer) rota() rota {
	r := rota{start: l.Start.In(Location), kind: l.Rotation, users: l.Users, per: l.PerShift}
	if l.End != nil {
		r.end = *l.End
	}
	return r
}

func (o *Override) rota() rota {
	return rota{start: o.Start.In(Location), end: o.End, kind: o.Rotation, users: o.Users, per: o.PerShift}
}

// nominal is the usual length of a shift in seconds (a shift spanning a
// daylight-saving change is an hour longer or shorter), or 0 for a rotation
// this package does not know.
func (r *rota) nominal() int64 {
	switch r.kind {
	case Daily:
		return 24 * 3600
	case TwelveHour:
		return 12 * 3600
	case Weekly:
		return 7 * 24 * 3600
	}
	return 0
}

// handoff returns the start of shift k (k ≥ 0). It counts on the wall clock
// of Location, as AddDate does, so that a 07:30 handoff stays at 07:30 even
// across a daylight-saving change.
func (r *rota) handoff(k int64) time.Time {
	y, m, d := r.start.Date()
	hh, mm, ss := r.start.Clock()
	switch r.kind {
	case Daily:
		d += int(k)
	case Weekly:
		d += 7 * int(k)
	case TwelveHour:
		d += int(k / 2)
		hh += 12 * int(k%2)
	}
	return time.Date(y, m, d, hh, mm, ss, r.start.Nanosecond(), Location)
}

// index returns the number of whole shifts between the first handoff and t,
// i.e. the shift in progress at t, or -1 if the rotation has no shift at t.
func (r *rota) index(t time.Time) int64 {
	n := r.nominal()
	if n == 0 || len(r.users) == 0 || t.Before(r.start) || (!r.end.IsZero() && !t.Before(r.end)) {
		return -1
	}
	// Estimate from elapsed seconds, then correct for shifts that were not
	// of nominal length.
	k := (t.Unix() - r.start.Unix()) / n
	for k > 0 && r.handoff(k).After(t) {
		k--
	}
	for !r.handoff(k + 1).After(t) {
		k++
	}
	return k
}

// on returns the users of shift k: PerShift users onward from position
// k*PerShift in the rotation, without repeats.
func (r *rota) on(k int64) []int64 {
	n := int64(len(r.users))
	per := int64(max(r.per, 1))
	per = min(per, n)
	out := make([]int64, 0, per)
	first := (k % n) * per % n // (k*per) mod n without overflow
	for j := int64(0); j < per; j++ {
		if u := r.users[(first+j)%n]; !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	return out
}

// handoffs calls add with the rotation's start, its end and every handoff in
// between that lies in [from, to).
func (r *rota) handoffs(from, to time.Time, add func(time.Time)) {
	if r.nominal() == 0 || len(r.users) == 0 {
		return
	}
	add(r.start)
	if !r.end.IsZero() {
		add(r.end)
		if !from.Before(r.end) {
			return
		}
	}
	k := int64(0)
	if from.After(r.start) {
		k = r.index(from)
	}
	for k++; ; k++ {
		h := r.handoff(k)
		if !h.Before(to) || (!r.end.IsZero() && !h.Before(r.end)) {
			return
		}
		add(h)
	}
}

// distinct returns a copy of users without repeats, in order.
func distinct(users []int64) []int64 {
	out := make([]int64, 0, len(users))
	for _, u := range users {
		if !slices.Contains(out, u) {
			out = append(out, u)
		}
	}
	return out
}
