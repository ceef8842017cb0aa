package lunar

import (
	"testing"
	"time"
)

func date(y int, m time.Month, d int) string {
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Format("2006-01-02")
}

func TestTetFallsOnTheVietnameseDate(t *testing.T) {
	cases := []struct {
		year int
		want string
		why  string
	}{
		{1968, "1968-01-29", "North Vietnam moved to UTC+7 in 1968; the South, on UTC+8, celebrated on the 30th"},
		{1985, "1985-01-21", "Vietnam's Tết was a month before China's (20 February) because the leap month differs"},
		{1999, "1999-02-16", ""},
		{2000, "2000-02-05", ""},
		{2007, "2007-02-17", "new moon at 23:15 in Vietnam, 00:15 on the 18th in China (UTC+8)"},
		{2012, "2012-01-23", ""},
		{2017, "2017-01-28", ""},
		{2019, "2019-02-05", ""},
		{2020, "2020-01-25", ""},
		{2021, "2021-02-12", ""},
		{2022, "2022-02-01", ""},
		{2023, "2023-01-22", ""},
		{2024, "2024-02-10", ""},
		{2025, "2025-01-29", ""},
		{2026, "2026-02-17", ""},
		{2027, "2027-02-06", ""},
		{2028, "2028-01-26", ""},
		{2029, "2029-02-13", ""},
		{2030, "2030-02-02", "new moon at 16:08 UTC on 2 February: 23:08 in Vietnam, already the 3rd in China"},
		{2031, "2031-01-23", ""},
	}
	for _, c := range cases {
		got := Tet(c.year)
		if s := got.Format("2006-01-02"); s != c.want {
			t.Errorf("Tet(%d) = %s, want %s %s", c.year, s, c.want, c.why)
		}
	}
}

func TestTetIsLocalMidnight(t *testing.T) {
	got := Tet(2025)
	if got.Location().String() != "Asia/Ho_Chi_Minh" {
		t.Errorf("Tet location = %s, want Asia/Ho_Chi_Minh", got.Location())
	}
	want := time.Date(2025, 1, 28, 17, 0, 0, 0, time.UTC) // 00:00 at UTC+7
	if !got.Equal(want) {
		t.Errorf("Tet(2025) = %s, want %s", got, want)
	}
}

func TestLeapMonth(t *testing.T) {
	cases := map[int]int{
		1984: 0, // China had a leap month 10 in 1984; Vietnam had its leap month in 1985
		1985: 2,
		2012: 4,
		2014: 9,
		2017: 6,
		2020: 4,
		2021: 0,
		2022: 0,
		2023: 2,
		2024: 0,
		2025: 6,
		2028: 5,
		2033: 11,
	}
	for year, want := range cases {
		if got := LeapMonth(year); got != want {
			t.Errorf("LeapMonth(%d) = %d, want %d", year, got, want)
		}
	}
}

func TestToSolarKnownDates(t *testing.T) {
	cases := []struct {
		d    Date
		want string
	}{
		{Date{1, 2, 2023, false}, "2023-02-20"},
		{Date{1, 2, 2023, true}, "2023-03-22"}, // tháng 2 nhuận (leap second month)
		{Date{1, 3, 2023, false}, "2023-04-20"},
		{Date{1, 4, 2020, false}, "2020-04-23"},
		{Date{1, 4, 2020, true}, "2020-05-23"},
		{Date{1, 5, 2020, false}, "2020-06-21"},
		{Date{1, 6, 2025, false}, "2025-06-25"},
		{Date{1, 6, 2025, true}, "2025-07-25"},
		{Date{1, 7, 2025, false}, "2025-08-23"},
		{Date{10, 3, 2025, false}, "2025-04-07"},  // Giỗ Tổ Hùng Vương (Hung Kings' day)
		{Date{15, 8, 2024, false}, "2024-09-17"},  // Tết Trung thu (mid-autumn)
		{Date{23, 12, 2024, false}, "2025-01-22"}, // ông Công ông Táo (kitchen gods)
		{Date{29, 12, 2026, false}, "2027-02-05"}, // 29 Tết before Tết 2027
		{Date{1, 11, 2033, true}, "2033-12-22"},   // the leap month 11 of 2033
	}
	for _, c := range cases {
		y, m, d, ok := ToSolar(c.d)
		if !ok || date(y, m, d) != c.want {
			t.Errorf("ToSolar(%+v) = %s, %v; want %s", c.d, date(y, m, d), ok, c.want)
		}
		// And back again.
		if got := FromSolar(y, m, d); got != c.d {
			t.Errorf("FromSolar(%s) = %+v, want %+v", c.want, got, c.d)
		}
	}
}

func TestToSolarRejectsDatesThatDoNotExist(t *testing.T) {
	cases := map[string]Date{
		"month 0":                       {1, 0, 2025, false},
		"month 13":                      {1, 13, 2025, false},
		"day 0":                         {0, 1, 2025, false},
		"day 31":                        {31, 1, 2025, false},
		"30th of a 29-day month":        {30, 12, 2024, false},
		"leap month in a 12-month year": {1, 1, 2024, true},
		"leap flag on the wrong month":  {1, 5, 2025, true},
	}
	for name, d := range cases {
		if y, m, dd, ok := ToSolar(d); ok {
			t.Errorf("%s: ToSolar(%+v) = %s, want ok=false", name, d, date(y, m, dd))
		}
	}
}

func TestMonthLength(t *testing.T) {
	if n, ok := MonthLength(2024, 12, false); !ok || n != 29 {
		t.Errorf("MonthLength(2024, 12) = %d, %v; want 29", n, ok)
	}
	if n, ok := MonthLength(2023, 12, false); !ok || n != 30 {
		t.Errorf("MonthLength(2023, 12) = %d, %v; want 30", n, ok)
	}
	if n, ok := MonthLength(2023, 2, true); !ok || n != 29 {
		t.Errorf("MonthLength(2023, leap 2) = %d, %v; want 29", n, ok)
	}
	if _, ok := MonthLength(2024, 2, true); ok {
		t.Errorf("MonthLength(2024, leap 2) exists, want ok=false")
	}
}

func TestLastDayOfYear(t *testing.T) {
	cases := []struct {
		lunarYear int
		want      string
		day       int // 29 for "29 Tết", 30 for "30 Tết"
	}{
		{2021, "2022-01-31", 29},
		{2022, "2023-01-21", 30},
		{2023, "2024-02-09", 30},
		{2024, "2025-01-28", 29}, // month 12 of Giáp Thìn had 29 days: no "30 Tết" in 2025
		{2026, "2027-02-05", 29},
	}
	for _, c := range cases {
		got := LastDayOfYear(c.lunarYear)
		if s := got.Format("2006-01-02"); s != c.want {
			t.Errorf("LastDayOfYear(%d) = %s, want %s", c.lunarYear, s, c.want)
		}
		if h, m, s := got.Clock(); h != 0 || m != 0 || s != 0 || got.Location() != location {
			t.Errorf("LastDayOfYear(%d) = %s, want local midnight", c.lunarYear, got)
		}
		y, m, d := got.Date()
		if l := FromSolar(y, m, d); l != (Date{c.day, 12, c.lunarYear, false}) {
			t.Errorf("LastDayOfYear(%d) is lunar %+v, want %d/12/%d", c.lunarYear, l, c.day, c.lunarYear)
		}
	}
}

func TestFromSolarNormalisesLikeTimeDate(t *testing.T) {
	if got, want := FromSolar(2025, time.January, 32), FromSolar(2025, time.February, 1); got != want {
		t.Errorf("FromSolar(2025-01-32) = %+v, want %+v", got, want)
	}
	if got, want := FromSolar(2024, time.Month(13), 1), FromSolar(2025, time.January, 1); got != want {
		t.Errorf("FromSolar(2024-13-01) = %+v, want %+v", got, want)
	}
}

// TestEveryDay1900To2100 walks every day of two centuries and checks that the
// calendar is a calendar: each day converts back to itself, lunar days count
// up by one, months are 29 or 30 days and follow each other in order (a leap
// month after the month it repeats), and each lunar year starts on Tết with
// month 1 and has 12 or 13 months.
func TestEveryDay1900To2100(t *testing.T) {
	day := time.Date(1900, 1, 31, 12, 0, 0, 0, time.UTC) // Tết 1900
	end := time.Date(2101, 1, 1, 12, 0, 0, 0, time.UTC)
	prev := FromSolar(day.Date())
	if prev != (Date{1, 1, 1900, false}) {
		t.Fatalf("1900-01-31 = %+v, want Tết 1900", prev)
	}
	months := 1
	for day = day.AddDate(0, 0, 1); day.Before(end); day = day.AddDate(0, 0, 1) {
		y, m, d := day.Date()
		cur := FromSolar(y, m, d)
		if gy, gm, gd, ok := ToSolar(cur); !ok || gy != y || gm != m || gd != d {
			t.Fatalf("%s -> %+v -> %s, %v", date(y, m, d), cur, date(gy, gm, gd), ok)
		}
		if cur.Day != 1 {
			if cur.Day != prev.Day+1 || cur.Month != prev.Month || cur.Year != prev.Year || cur.Leap != prev.Leap {
				t.Fatalf("%s: %+v follows %+v", date(y, m, d), cur, prev)
			}
			prev = cur
			continue
		}
		if prev.Day != 29 && prev.Day != 30 {
			t.Fatalf("%s: month %+v ended after %d days", date(y, m, d), prev, prev.Day)
		}
		switch {
		case cur.Leap:
			if cur.Month != prev.Month || prev.Leap || cur.Year != prev.Year {
				t.Fatalf("%s: leap month %+v follows %+v", date(y, m, d), cur, prev)
			}
		case cur.Month == 1:
			if prev.Month != 12 || cur.Year != prev.Year+1 {
				t.Fatalf("%s: new year %+v follows %+v", date(y, m, d), cur, prev)
			}
			if months != 12 && months != 13 {
				t.Fatalf("lunar year %d had %d months", prev.Year, months)
			}
			if tet := Tet(y); tet.Year() != y || tet.YearDay() != day.YearDay() {
				t.Fatalf("%s is lunar new year but Tet(%d) = %s", date(y, m, d), y, tet)
			}
			months = 0
		default:
			if cur.Month != prev.Month+1 || cur.Year != prev.Year {
				t.Fatalf("%s: month %+v follows %+v", date(y, m, d), cur, prev)
			}
		}
		months++
		prev = cur
	}
}

func TestSpansCloseOnTheNextMonth11(t *testing.T) {
	for year := 1850; year < 2150; year++ {
		s := computeSpan(year)
		n := len(s.months)
		if got := newMoonDay(lunationNear(s.starts[0]) + n); got != s.starts[n] {
			t.Fatalf("span ending %d: the %d-th new moon after month 11 is day %d, next month 11 is day %d", year, n, got, s.starts[n])
		}
		if s.months[0].month != 11 || s.months[n-1].month != 10 {
			t.Fatalf("span ending %d runs from month %d to %d", year, s.months[0].month, s.months[n-1].month)
		}
	}
}

func TestJulianDayNumbers(t *testing.T) {
	// 2000-01-01 is JDN 2451545; the Unix epoch is JDN 2440588.
	if got := jdn(2000, 1, 1); got != 2451545 {
		t.Errorf("jdn(2000-01-01) = %d", got)
	}
	epoch := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, days := range []int{-1000000, -719162, -1, 0, 1, 10957, 47482, 2000000} {
		tm := epoch.AddDate(0, 0, days)
		y, m, d := tm.Date()
		if got := jdn(y, int(m), d); got != 2440588+days {
			t.Errorf("jdn(%s) = %d, want %d", tm.Format("2006-01-02"), got, 2440588+days)
		}
		if cy, cm, cd := civil(2440588 + days); cy != y || time.Month(cm) != m || cd != d {
			t.Errorf("civil(%d) = %d-%d-%d, want %s", 2440588+days, cy, cm, cd, tm.Format("2006-01-02"))
		}
	}
}

func BenchmarkFromSolar(b *testing.B) {
	for i := 0; b.Loop(); i++ {
		FromSolar(2000+i%50, time.Month(1+i%12), 1+i%28)
	}
}
