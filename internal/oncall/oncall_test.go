package oncall

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"canhgac/internal/lunar"
	"canhgac/internal/model"
)

// at is a wall-clock time in Vietnam.
func at(y int, m time.Month, d, hh, mm, ss int) time.Time {
	return time.Date(y, m, d, hh, mm, ss, 0, Location)
}

func ptr[T any](v T) *T { return &v }

type dutyCase struct {
	name string
	t    time.Time
	want []int64
}

func checkOnDuty(t *testing.T, s *Schedule, cases []dutyCase) {
	t.Helper()
	for _, c := range cases {
		if got := s.OnDuty(c.t); !slices.Equal(got, c.want) {
			t.Errorf("%s: OnDuty(%s) = %v, want %v", c.name, c.t.Format(time.RFC3339Nano), got, c.want)
		}
	}
}

func TestLocationIsHoChiMinh(t *testing.T) {
	if Location.String() != "Asia/Ho_Chi_Minh" {
		t.Fatalf("Location = %s", Location)
	}
	if _, off := at(2025, 1, 1, 0, 0, 0).Zone(); off != 7*3600 {
		t.Fatalf("offset = %d s, want UTC+7", off)
	}
}

func TestDailyRotationHandsOverAt0730(t *testing.T) {
	s := &Schedule{Name: "SOC", Layers: []Layer{{
		Name: "chính", Rotation: Daily, Start: at(2025, 3, 3, 7, 30, 0), Users: []int64{1, 2, 3},
	}}}
	checkOnDuty(t, s, []dutyCase{
		{"before the first handoff", at(2025, 3, 3, 7, 29, 59), nil},
		{"first handoff", at(2025, 3, 3, 7, 30, 0), []int64{1}},
		{"last second of day one", at(2025, 3, 4, 7, 29, 59), []int64{1}},
		{"last nanosecond of day one", at(2025, 3, 4, 7, 30, 0).Add(-1), []int64{1}},
		{"second handoff", at(2025, 3, 4, 7, 30, 0), []int64{2}},
		{"same instant written in UTC", time.Date(2025, 3, 4, 0, 30, 0, 0, time.UTC), []int64{2}},
		{"third day", at(2025, 3, 5, 12, 0, 0), []int64{3}},
		{"rotation wraps", at(2025, 3, 6, 7, 30, 0), []int64{1}},
		{"a year on: 365 shifts later", at(2026, 3, 3, 7, 30, 0), []int64{(365%3 + 1)}},
	})
}

func TestTwelveHourRotationHasDayAndNightShifts(t *testing.T) {
	s := &Schedule{Name: "SOC", Layers: []Layer{{
		Name: "ca", Rotation: TwelveHour, Start: at(2025, 3, 3, 7, 30, 0), Users: []int64{1, 2, 3},
	}}}
	checkOnDuty(t, s, []dutyCase{
		{"day shift", at(2025, 3, 3, 12, 0, 0), []int64{1}},
		{"end of the day shift", at(2025, 3, 3, 19, 29, 59), []int64{1}},
		{"night shift starts at 19:30", at(2025, 3, 3, 19, 30, 0), []int64{2}},
		{"night shift past midnight", at(2025, 3, 4, 2, 0, 0), []int64{2}},
		{"end of the night shift", at(2025, 3, 4, 7, 29, 59), []int64{2}},
		{"next day shift", at(2025, 3, 4, 7, 30, 0), []int64{3}},
		{"next night shift", at(2025, 3, 4, 19, 30, 0), []int64{1}},
	})
}

func TestWeeklyRotation(t *testing.T) {
	s := &Schedule{Name: "SOC", Layers: []Layer{{
		Name: "tuần", Rotation: Weekly, Start: at(2025, 3, 3, 8, 0, 0), Users: []int64{10, 20}, // a Monday
	}}}
	checkOnDuty(t, s, []dutyCase{
		{"Sunday night", at(2025, 3, 9, 23, 59, 59), []int64{10}},
		{"Monday before handoff", at(2025, 3, 10, 7, 59, 59), []int64{10}},
		{"Monday handoff", at(2025, 3, 10, 8, 0, 0), []int64{20}},
		{"third week", at(2025, 3, 17, 8, 0, 0), []int64{10}},
	})
}

func TestPerShiftTwoTakesTheNextTwoUsers(t *testing.T) {
	s := &Schedule{Name: "SOC", Layers: []Layer{{
		Name: "đôi", Rotation: Daily, Start: at(2025, 3, 3, 7, 30, 0), Users: []int64{1, 2, 3}, PerShift: 2,
	}}}
	checkOnDuty(t, s, []dutyCase{
		{"shift 0", at(2025, 3, 3, 8, 0, 0), []int64{1, 2}},
		{"shift 1 wraps", at(2025, 3, 4, 8, 0, 0), []int64{3, 1}},
		{"shift 2", at(2025, 3, 5, 8, 0, 0), []int64{2, 3}},
		{"shift 3 repeats shift 0", at(2025, 3, 6, 8, 0, 0), []int64{1, 2}},
	})
}

func TestRepeatedUserCollapsesWithinAShift(t *testing.T) {
	s := &Schedule{Name: "SOC", Layers: []Layer{{
		Name: "trưởng ca", Rotation: Daily, Start: at(2025, 3, 3, 7, 30, 0), Users: []int64{1, 2, 1, 3}, PerShift: 2,
	}}}
	checkOnDuty(t, s, []dutyCase{
		{"shift 0", at(2025, 3, 3, 8, 0, 0), []int64{1, 2}},
		{"shift 1", at(2025, 3, 4, 8, 0, 0), []int64{1, 3}},
	})
	s.Layers[0].Users = []int64{1, 1}
	checkOnDuty(t, s, []dutyCase{{"only user 1", at(2025, 3, 3, 8, 0, 0), []int64{1}}})
}

func TestLayerEnd(t *testing.T) {
	s := &Schedule{Name: "SOC", Layers: []Layer{{
		Name: "tạm", Rotation: Daily, Start: at(2025, 3, 3, 7, 30, 0), End: ptr(at(2025, 3, 5, 7, 30, 0)), Users: []int64{1, 2},
	}}}
	checkOnDuty(t, s, []dutyCase{
		{"last shift", at(2025, 3, 5, 7, 29, 59), []int64{2}},
		{"at End", at(2025, 3, 5, 7, 30, 0), nil},
		{"after End", at(2025, 4, 1, 0, 0, 0), nil},
	})
}

func TestLaterLayersTakePrecedenceWhereTheyHaveShifts(t *testing.T) {
	s := &Schedule{Name: "SOC", Layers: []Layer{
		{Name: "nền", Rotation: Daily, Start: at(2025, 3, 1, 7, 30, 0), Users: []int64{1, 2}},
		// A reinforcement week: a higher layer covering 10–17 March only.
		{Name: "tăng cường", Rotation: TwelveHour, Start: at(2025, 3, 10, 7, 30, 0), End: ptr(at(2025, 3, 17, 7, 30, 0)), Users: []int64{7, 8}},
	}}
	checkOnDuty(t, s, []dutyCase{
		{"base layer before the higher one starts", at(2025, 3, 10, 7, 29, 59), []int64{1}},
		{"higher layer hides the base, no union", at(2025, 3, 10, 7, 30, 0), []int64{7}},
		{"higher layer night shift", at(2025, 3, 10, 20, 0, 0), []int64{8}},
		{"higher layer's last second", at(2025, 3, 17, 7, 29, 59), []int64{8}},
		{"base layer shows through again", at(2025, 3, 17, 7, 30, 0), []int64{1}},
	})
	sh := s.Shifts(at(2025, 3, 16, 7, 30, 0), at(2025, 3, 18, 7, 30, 0))
	if len(sh) != 3 || sh[0].Layer != "tăng cường" || sh[2].Layer != "nền" || !sh[2].Start.Equal(at(2025, 3, 17, 7, 30, 0)) {
		t.Errorf("shifts across the end of the higher layer = %+v", sh)
	}
}

func TestOverridesBeatLayersWithExactBoundaries(t *testing.T) {
	s := &Schedule{
		Name:   "SOC",
		Layers: []Layer{{Name: "chính", Rotation: Daily, Start: at(2025, 3, 1, 7, 30, 0), Users: []int64{1, 2}}},
		Overrides: []Override{
			{Start: at(2025, 3, 4, 12, 0, 0), End: at(2025, 3, 4, 18, 0, 0), Users: []int64{9}, Note: "đổi ca"},
			// A later override laid on top of the first one wins where they overlap.
			{Start: at(2025, 3, 4, 14, 0, 0), End: at(2025, 3, 4, 15, 0, 0), Users: []int64{5, 6, 5}, Note: "họp"},
		},
	}
	checkOnDuty(t, s, []dutyCase{
		{"layer just before", at(2025, 3, 4, 11, 59, 59), []int64{2}},
		{"override from its Start", at(2025, 3, 4, 12, 0, 0), []int64{9}},
		{"later override wins", at(2025, 3, 4, 14, 0, 0), []int64{5, 6}},
		{"first override resumes", at(2025, 3, 4, 15, 0, 0), []int64{9}},
		{"override's last second", at(2025, 3, 4, 17, 59, 59), []int64{9}},
		{"layer again at End", at(2025, 3, 4, 18, 0, 0), []int64{2}},
	})
	got := s.Shifts(at(2025, 3, 4, 7, 30, 0), at(2025, 3, 5, 7, 30, 0))
	want := []Shift{
		{Start: at(2025, 3, 4, 7, 30, 0), End: at(2025, 3, 4, 12, 0, 0), Users: []int64{2}, Layer: "chính"},
		{Start: at(2025, 3, 4, 12, 0, 0), End: at(2025, 3, 4, 14, 0, 0), Users: []int64{9}, Override: true, Note: "đổi ca"},
		{Start: at(2025, 3, 4, 14, 0, 0), End: at(2025, 3, 4, 15, 0, 0), Users: []int64{5, 6}, Override: true, Note: "họp"},
		{Start: at(2025, 3, 4, 15, 0, 0), End: at(2025, 3, 4, 18, 0, 0), Users: []int64{9}, Override: true, Note: "đổi ca"},
		{Start: at(2025, 3, 4, 18, 0, 0), End: at(2025, 3, 5, 7, 30, 0), Users: []int64{2}, Layer: "chính"},
	}
	checkShifts(t, got, want)
}

// TestTetOverride staffs Tết 2027 from 29 Tết (the last day of lunar year
// 2026, whose month 12 has 29 days) to the end of mùng 6: 12-hour shifts,
// two people each, among six volunteers.
func TestTetOverride(t *testing.T) {
	y, m, d, ok := lunar.ToSolar(lunar.Date{Day: 29, Month: 12, Year: 2026})
	if !ok {
		t.Fatal("29/12/2026 does not exist")
	}
	start := at(y, m, d, 7, 30, 0)
	if !start.Equal(lunar.LastDayOfYear(2026).Add(7*time.Hour + 30*time.Minute)) {
		t.Fatalf("29 Tết 2027 = %s is not the last day of lunar 2026", start)
	}
	tet := lunar.Tet(2027)
	end := tet.AddDate(0, 0, 6).Add(7*time.Hour + 30*time.Minute) // handoff on the morning of mùng 7
	s := &Schedule{
		Name:   "SOC",
		Layers: []Layer{{Name: "chính", Rotation: Daily, Start: at(2027, 1, 1, 7, 30, 0), Users: []int64{1, 2, 3}}},
		Overrides: []Override{{
			Start: start, End: end, Note: "Tết Đinh Mùi 2027",
			Users: []int64{11, 12, 13, 14, 15, 16}, Rotation: TwelveHour, PerShift: 2,
		}},
	}
	if err := s.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	checkOnDuty(t, s, []dutyCase{
		{"the layer until 29 Tết 07:30", start.Add(-time.Second), []int64{2}}, // shift 34 since 1 January
		{"29 Tết day shift", start, []int64{11, 12}},
		{"giao thừa: the stroke of the new year", tet, []int64{13, 14}},
		{"mùng 1 day shift", tet.Add(7*time.Hour + 30*time.Minute), []int64{15, 16}},
		{"mùng 1 night shift", tet.Add(19*time.Hour + 30*time.Minute), []int64{11, 12}},
		{"last night shift, mùng 6", end.Add(-time.Second), []int64{13, 14}},
	})
	if got := s.OnDuty(end); len(got) != 1 {
		t.Errorf("after Tết OnDuty = %v, want the one-person layer back", got)
	}
	shifts := s.Shifts(start, end)
	if len(shifts) != 14 { // seven days of two shifts
		t.Fatalf("got %d Tết shifts, want 14: %+v", len(shifts), shifts)
	}
	for i, sh := range shifts {
		if !sh.Override || sh.Note != "Tết Đinh Mùi 2027" || len(sh.Users) != 2 || sh.End.Sub(sh.Start) != 12*time.Hour {
			t.Errorf("Tết shift %d = %+v", i, sh)
		}
	}
	if gaps := s.Gaps(start.AddDate(0, 0, -3), end.AddDate(0, 0, 3)); len(gaps) != 0 {
		t.Errorf("Tết cover has gaps %+v", gaps)
	}
}

func checkShifts(t *testing.T, got, want []Shift) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d shifts, want %d:\n got %+v\nwant %+v", len(got), len(want), got, want)
	}
	for i := range got {
		g, w := got[i], want[i]
		if !g.Start.Equal(w.Start) || !g.End.Equal(w.End) || !slices.Equal(g.Users, w.Users) ||
			g.Layer != w.Layer || g.Override != w.Override || g.Note != w.Note {
			t.Errorf("shift %d:\n got %s–%s %v %q %v %q\nwant %s–%s %v %q %v %q", i,
				g.Start.Format(time.DateTime), g.End.Format(time.DateTime), g.Users, g.Layer, g.Override, g.Note,
				w.Start.Format(time.DateTime), w.End.Format(time.DateTime), w.Users, w.Layer, w.Override, w.Note)
		}
		if g.Start.Location() != Location || g.End.Location() != Location {
			t.Errorf("shift %d is not in Location: %s", i, g.Start.Location())
		}
	}
}

func TestShiftsMergeAndClip(t *testing.T) {
	daily := Layer{Name: "chính", Rotation: Daily, Start: at(2025, 3, 1, 7, 30, 0), Users: []int64{1, 2}}
	cases := []struct {
		name     string
		s        Schedule
		from, to time.Time
		want     []Shift
	}{
		{
			name: "clipped to the window on both sides",
			s:    Schedule{Layers: []Layer{daily}},
			from: at(2025, 3, 3, 12, 0, 0), to: at(2025, 3, 5, 9, 0, 0),
			want: []Shift{
				{Start: at(2025, 3, 3, 12, 0, 0), End: at(2025, 3, 4, 7, 30, 0), Users: []int64{1}, Layer: "chính"},
				{Start: at(2025, 3, 4, 7, 30, 0), End: at(2025, 3, 5, 7, 30, 0), Users: []int64{2}, Layer: "chính"},
				{Start: at(2025, 3, 5, 7, 30, 0), End: at(2025, 3, 5, 9, 0, 0), Users: []int64{1}, Layer: "chính"},
			},
		},
		{
			name: "one person on every shift is one shift",
			s:    Schedule{Layers: []Layer{{Name: "một mình", Rotation: TwelveHour, Start: at(2025, 3, 1, 7, 30, 0), Users: []int64{4}}}},
			from: at(2025, 3, 3, 0, 0, 0), to: at(2025, 3, 17, 0, 0, 0),
			want: []Shift{{Start: at(2025, 3, 3, 0, 0, 0), End: at(2025, 3, 17, 0, 0, 0), Users: []int64{4}, Layer: "một mình"}},
		},
		{
			name: "an override with the layer's own user stays separate",
			s: Schedule{
				Layers:    []Layer{{Name: "một mình", Rotation: Daily, Start: at(2025, 3, 1, 7, 30, 0), Users: []int64{4}}},
				Overrides: []Override{{Start: at(2025, 3, 3, 8, 0, 0), End: at(2025, 3, 3, 9, 0, 0), Users: []int64{4}, Note: "xác nhận"}},
			},
			from: at(2025, 3, 3, 0, 0, 0), to: at(2025, 3, 4, 0, 0, 0),
			want: []Shift{
				{Start: at(2025, 3, 3, 0, 0, 0), End: at(2025, 3, 3, 8, 0, 0), Users: []int64{4}, Layer: "một mình"},
				{Start: at(2025, 3, 3, 8, 0, 0), End: at(2025, 3, 3, 9, 0, 0), Users: []int64{4}, Override: true, Note: "xác nhận"},
				{Start: at(2025, 3, 3, 9, 0, 0), End: at(2025, 3, 4, 0, 0, 0), Users: []int64{4}, Layer: "một mình"},
			},
		},
		{
			name: "adjacent overrides with the same users and note merge",
			s: Schedule{Overrides: []Override{
				{Start: at(2025, 3, 3, 8, 0, 0), End: at(2025, 3, 3, 9, 0, 0), Users: []int64{4}, Note: "trực"},
				{Start: at(2025, 3, 3, 9, 0, 0), End: at(2025, 3, 3, 10, 0, 0), Users: []int64{4}, Note: "trực"},
			}},
			from: at(2025, 3, 3, 0, 0, 0), to: at(2025, 3, 4, 0, 0, 0),
			want: []Shift{{Start: at(2025, 3, 3, 8, 0, 0), End: at(2025, 3, 3, 10, 0, 0), Users: []int64{4}, Override: true, Note: "trực"}},
		},
		{
			name: "window before the layer starts",
			s:    Schedule{Layers: []Layer{daily}},
			from: at(2025, 2, 1, 0, 0, 0), to: at(2025, 3, 1, 7, 30, 0),
			want: nil,
		},
		{
			name: "empty window",
			s:    Schedule{Layers: []Layer{daily}},
			from: at(2025, 3, 3, 0, 0, 0), to: at(2025, 3, 3, 0, 0, 0),
			want: nil,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkShifts(t, c.s.Shifts(c.from, c.to), c.want)
		})
	}
}

func TestGapsOverTheNextFourteenDays(t *testing.T) {
	now := at(2025, 3, 3, 9, 15, 0)
	to := now.AddDate(0, 0, 14)
	cases := []struct {
		name string
		s    Schedule
		want []Gap
	}{
		{
			name: "no layers: one gap covering everything",
			s:    Schedule{},
			want: []Gap{{now, to}},
		},
		{
			name: "a layer that ends in 10 days leaves the last 4 uncovered",
			s:    Schedule{Layers: []Layer{{Name: "a", Rotation: Daily, Start: at(2025, 1, 1, 7, 30, 0), End: ptr(now.AddDate(0, 0, 10)), Users: []int64{1, 2}}}},
			want: []Gap{{now.AddDate(0, 0, 10), to}},
		},
		{
			name: "a layer starting in two days leaves the first two uncovered",
			s:    Schedule{Layers: []Layer{{Name: "a", Rotation: Weekly, Start: at(2025, 3, 5, 9, 15, 0), Users: []int64{1}}}},
			want: []Gap{{now, at(2025, 3, 5, 9, 15, 0)}},
		},
		{
			name: "an override fills part of a gap",
			s: Schedule{
				Layers:    []Layer{{Name: "a", Rotation: Daily, Start: at(2025, 1, 1, 7, 30, 0), End: ptr(now.AddDate(0, 0, 10)), Users: []int64{1}}},
				Overrides: []Override{{Start: now.AddDate(0, 0, 11), End: now.AddDate(0, 0, 12), Users: []int64{3}}},
			},
			want: []Gap{{now.AddDate(0, 0, 10), now.AddDate(0, 0, 11)}, {now.AddDate(0, 0, 12), to}},
		},
		{
			name: "full cover",
			s:    Schedule{Layers: []Layer{{Name: "a", Rotation: TwelveHour, Start: at(2025, 1, 1, 7, 30, 0), Users: []int64{1, 2}}}},
			want: nil,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := c.s.Gaps(now, to)
			if len(got) != len(c.want) {
				t.Fatalf("Gaps = %+v, want %+v", got, c.want)
			}
			for i := range got {
				if !got[i].Start.Equal(c.want[i].Start) || !got[i].End.Equal(c.want[i].End) {
					t.Errorf("gap %d = %s–%s, want %s–%s", i, got[i].Start, got[i].End, c.want[i].Start, c.want[i].End)
				}
			}
		})
	}
}

// TestHandoffsFollowTheWallClock checks that handoffs are counted in local
// days, not 24-hour blocks, in a zone with daylight saving: the Vietnamese
// zone has none today, but the arithmetic should not depend on that.
func TestHandoffsFollowTheWallClock(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	defer func(l *time.Location) { Location = l }(Location)
	Location = berlin
	// Clocks went forward at 02:00 on 30 March 2025 in Berlin.
	s := &Schedule{Layers: []Layer{
		{Name: "ngày", Rotation: Daily, Start: time.Date(2025, 3, 28, 7, 30, 0, 0, berlin), Users: []int64{1, 2, 3, 4}},
	}}
	for _, c := range []dutyCase{
		{"day before the change", time.Date(2025, 3, 29, 7, 30, 0, 0, berlin), []int64{2}},
		{"just before 07:30 after the change", time.Date(2025, 3, 30, 7, 29, 59, 0, berlin), []int64{2}},
		{"07:30 after the change", time.Date(2025, 3, 30, 7, 30, 0, 0, berlin), []int64{3}},
		{"07:30 a day later", time.Date(2025, 3, 31, 7, 30, 0, 0, berlin), []int64{4}},
	} {
		if got := s.OnDuty(c.t); !slices.Equal(got, c.want) {
			t.Errorf("%s: OnDuty = %v, want %v", c.name, got, c.want)
		}
	}
	sh := s.Shifts(time.Date(2025, 3, 29, 7, 30, 0, 0, berlin), time.Date(2025, 3, 31, 7, 30, 0, 0, berlin))
	if len(sh) != 2 || sh[0].End.Sub(sh[0].Start) != 23*time.Hour || sh[1].End.Sub(sh[1].Start) != 24*time.Hour {
		t.Errorf("shifts across the change = %+v, want a 23 h shift then a 24 h one", sh)
	}
}

func TestScheduleFromJSON(t *testing.T) {
	var s Schedule
	err := json.Unmarshal([]byte(`{
		"id": 3, "name": "Trực SOC",
		"layers": [{"name": "chính", "rotation": "12h", "start": "2025-03-03T07:30:00+07:00", "users": [5, 6], "per_shift": 1}],
		"overrides": [{"start": "2025-03-04T00:30:00Z", "end": "2025-03-04T12:30:00Z", "users": [9], "note": "nghỉ phép"}]
	}`), &s)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	checkOnDuty(t, &s, []dutyCase{
		{"night shift", at(2025, 3, 3, 20, 0, 0), []int64{6}},
		{"override given in UTC starts at 07:30 local", at(2025, 3, 4, 7, 30, 0), []int64{9}},
	})
}

func TestValidate(t *testing.T) {
	start := at(2025, 3, 3, 7, 30, 0)
	good := func() Schedule {
		return Schedule{
			Name:      "SOC",
			Layers:    []Layer{{Name: "chính", Rotation: Daily, Start: start, Users: []int64{1, 2}, PerShift: 2}},
			Overrides: []Override{{Start: start, End: start.AddDate(0, 0, 62), Users: []int64{3}}},
		}
	}
	g := good()
	if err := g.Validate(); err != nil {
		t.Fatalf("valid schedule: %v", err)
	}
	cases := []struct {
		field  string
		change func(*Schedule)
	}{
		{"name", func(s *Schedule) { s.Name = "" }},
		{"name", func(s *Schedule) { s.Name = strings.Repeat("ư", 101) }},
		{"layers", func(s *Schedule) { s.Layers = slices.Repeat(s.Layers, 21) }},
		{"layers[0].name", func(s *Schedule) { s.Layers[0].Name = "" }},
		{"layers[0].users", func(s *Schedule) { s.Layers[0].Users = make([]int64, 201) }},
		{"layers[0].rotation", func(s *Schedule) { s.Layers[0].Rotation = "hourly" }},
		{"layers[0].rotation", func(s *Schedule) { s.Layers[0].Rotation = "" }},
		{"layers[0].start", func(s *Schedule) { s.Layers[0].Start = time.Time{} }},
		{"layers[0].end", func(s *Schedule) { s.Layers[0].End = ptr(start) }},
		{"layers[0].users", func(s *Schedule) { s.Layers[0].Users = nil }},
		{"layers[0].users[1]", func(s *Schedule) { s.Layers[0].Users[1] = 0 }},
		{"layers[0].per_shift", func(s *Schedule) { s.Layers[0].PerShift = 3 }},
		{"layers[0].per_shift", func(s *Schedule) { s.Layers[0].PerShift = -1 }},
		{"layers[1].users", func(s *Schedule) { s.Layers = append(s.Layers, Layer{Name: "b", Rotation: Weekly, Start: start}) }},
		{"overrides[0].start", func(s *Schedule) { s.Overrides[0].Start = time.Time{} }},
		{"overrides[0].end", func(s *Schedule) { s.Overrides[0].End = s.Overrides[0].Start }},
		{"overrides[0].end", func(s *Schedule) { s.Overrides[0].End = start.Add(-time.Hour) }},
		{"overrides[0].end", func(s *Schedule) { s.Overrides[0].End = start.AddDate(0, 0, 62).Add(time.Second) }},
		{"overrides[0].note", func(s *Schedule) { s.Overrides[0].Note = strings.Repeat("x", 1001) }},
		{"overrides[0].users", func(s *Schedule) { s.Overrides[0].Users = []int64{} }},
		{"overrides[0].users[1]", func(s *Schedule) { s.Overrides[0].Users = []int64{3, 3} }},
		{"overrides[0].per_shift", func(s *Schedule) { s.Overrides[0].PerShift = 1 }},
		{"overrides[0].rotation", func(s *Schedule) { s.Overrides[0].Rotation = "monthly" }},
		{"overrides[0].per_shift", func(s *Schedule) {
			s.Overrides[0].Rotation = TwelveHour
			s.Overrides[0].PerShift = 2
		}},
	}
	for _, c := range cases {
		s := good()
		c.change(&s)
		err := s.Validate()
		var ve *model.ValidationError
		if !errors.As(err, &ve) {
			t.Errorf("%s: Validate() = %v, want a *model.ValidationError", c.field, err)
			continue
		}
		if ve.Field != c.field {
			t.Errorf("Validate() field = %q (%v), want %q", ve.Field, err, c.field)
		}
	}
	// The message says what is wanted.
	s := good()
	s.Layers[0].Rotation = "hourly"
	if err := s.Validate(); err == nil || err.Error() != "layers[0].rotation: must be daily, 12h or weekly" {
		t.Errorf("Validate() = %v", err)
	}
}

// TestInvalidSchedulesDoNotPanic runs the timeline on schedules Validate
// would refuse; a stored schedule from an older version must not crash a
// request.
func TestInvalidSchedulesDoNotPanic(t *testing.T) {
	start := at(2025, 3, 3, 7, 30, 0)
	s := &Schedule{
		Layers: []Layer{
			{Name: "x", Rotation: "hourly", Start: start, Users: []int64{1}},
			{Name: "y", Rotation: Daily, Start: start},
			{Name: "z", Rotation: Daily, Start: start, End: ptr(start.Add(-time.Hour)), Users: []int64{1}},
			{Name: "w", Rotation: Daily, Start: start, Users: []int64{1}, PerShift: 5},
		},
		Overrides: []Override{
			{Start: start, End: start.Add(-time.Hour), Users: []int64{2}},
			{Start: start, End: start.Add(time.Hour), Users: nil},
			{Start: start, End: start.Add(time.Hour), Users: []int64{3}, Rotation: "hourly"},
		},
	}
	if got := s.OnDuty(start.Add(time.Minute)); !slices.Equal(got, []int64{1}) {
		t.Errorf("OnDuty = %v, want layer w's only user", got)
	}
	if sh := s.Shifts(start.AddDate(0, 0, -1), start.AddDate(0, 0, 2)); len(sh) != 1 {
		t.Errorf("Shifts = %+v", sh)
	}
}

func BenchmarkOnDuty(b *testing.B) {
	s := benchSchedule()
	t0 := at(2025, 6, 1, 0, 0, 0)
	for i := 0; b.Loop(); i++ {
		s.OnDuty(t0.Add(time.Duration(i%10000) * 7 * time.Minute))
	}
}

func BenchmarkShifts14Days(b *testing.B) {
	s := benchSchedule()
	from := at(2025, 6, 1, 0, 0, 0)
	to := from.AddDate(0, 0, 14)
	for b.Loop() {
		s.Shifts(from, to)
	}
}

// benchSchedule is a busy but realistic schedule: three layers and a year of
// overrides.
func benchSchedule() *Schedule {
	start := at(2025, 1, 1, 7, 30, 0)
	s := &Schedule{ID: 1, Name: "SOC", Layers: []Layer{
		{Name: "nền", Rotation: Weekly, Start: start, Users: []int64{1, 2, 3, 4, 5}},
		{Name: "ca", Rotation: TwelveHour, Start: start, Users: []int64{6, 7, 8, 9, 10, 11}, PerShift: 2},
		{Name: "cuối tuần", Rotation: Daily, Start: start, End: ptr(start.AddDate(1, 0, 0)), Users: []int64{12, 13}},
	}}
	for d := 0; d < 365; d += 7 {
		o := start.AddDate(0, 0, d).Add(3 * time.Hour)
		s.Overrides = append(s.Overrides, Override{Start: o, End: o.Add(5 * time.Hour), Users: []int64{20}, Note: "họp"})
	}
	return s
}
