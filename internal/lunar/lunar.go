// Package lunar converts between the Gregorian calendar and the Vietnamese
// lunar calendar (âm lịch), so that duty rosters can be planned around Tết,
// the lunar new year.
//
// The calendar is computed, not tabulated, with the astronomical method
// described by Hồ Ngọc Đức ("Lịch Việt Nam"): a lunar month begins on the
// local day of a new moon; month 11 is the month containing the winter
// solstice; when thirteen new moons separate two months 11, the first month
// without a major solar term (trung khí) is the leap month (tháng nhuận) and
// repeats the number of the month before it. Days are counted in UTC+7, which
// is what makes Vietnam's calendar differ from China's (UTC+8) in some years,
// e.g. Tết 1985 fell on 21 January in Vietnam and 20 February in China.
//
// Gregorian dates are proleptic (as in package time). The astronomy is
// accurate enough for 1800–2199; outside that range results drift.
package lunar

import (
	"sync"
	"time"
	_ "time/tzdata" // offline machines may lack a zoneinfo database
)

// Date is a lunar date: Day 1-30, Month 1-12, Leap for a leap month.
// Year is the number of the Gregorian year in which the lunar year begins,
// so lunar 1/1/2025 is Tết 2025 (29 January 2025).
type Date struct {
	Day, Month, Year int
	Leap             bool
}

// location is Asia/Ho_Chi_Minh, in which Tet reports its midnights.
var location = loadLocation()

func loadLocation() *time.Location {
	loc, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	if err != nil {
		// Unreachable with time/tzdata linked in; keep the calendar's offset.
		return time.FixedZone("ICT", 7*3600)
	}
	return loc
}

// FromSolar returns the lunar date of a Gregorian date. Out-of-range months
// and days are normalised as time.Date does (e.g. 32 January is 1 February).
func FromSolar(year int, month time.Month, day int) Date {
	year, month, day = time.Date(year, month, day, 12, 0, 0, 0, time.UTC).Date()
	jd := jdn(year, int(month), day)
	// The span whose month 11 starts in December of this year or the span
	// before it holds jd.
	s := spanEnding(year + 1)
	if jd < s.starts[0] {
		s = spanEnding(year)
	}
	i := len(s.months) - 1
	for s.starts[i] > jd {
		i--
	}
	m := s.months[i]
	d := Date{Day: jd - s.starts[i] + 1, Month: m.month, Year: s.year, Leap: m.leap}
	if m.month >= 11 {
		// Months 11 and 12 at the head of the span close the previous lunar year.
		d.Year--
	}
	return d
}

// ToSolar returns the Gregorian date of a lunar date. ok is false if no such
// lunar date exists: a month out of 1–12, a day beyond the month's 29 or 30
// days, or Leap set for a month that is not that year's leap month.
func ToSolar(d Date) (year int, month time.Month, day int, ok bool) {
	start, length, ok := monthStart(d.Year, d.Month, d.Leap)
	if !ok || d.Day < 1 || d.Day > length {
		return 0, 0, 0, false
	}
	y, m, dd := civil(start + d.Day - 1)
	return y, time.Month(m), dd, true
}

// MonthLength returns the number of days (29 or 30) of a lunar month, or
// ok=false if the month does not exist (see ToSolar).
func MonthLength(year, month int, leap bool) (days int, ok bool) {
	_, days, ok = monthStart(year, month, leap)
	return days, ok
}

// LeapMonth returns the number of the leap month of a lunar year (the
// leap month repeats that number, e.g. 2 for the "tháng 2 nhuận" of 2023),
// or 0 if the year has twelve months.
func LeapMonth(year int) int {
	for _, s := range []*span{spanEnding(year), spanEnding(year + 1)} {
		for _, m := range s.months {
			if !m.leap {
				continue
			}
			// Months 11 and 12 at the head of a span belong to the lunar
			// year before the span's year.
			y := s.year
			if m.month >= 11 {
				y--
			}
			if y == year {
				return m.month
			}
		}
	}
	return 0
}

// Tet returns midnight, in Asia/Ho_Chi_Minh, of mùng 1 Tết (lunar 1/1) of a
// Gregorian year.
func Tet(year int) time.Time {
	y, m, d, _ := ToSolar(Date{Day: 1, Month: 1, Year: year})
	return time.Date(y, m, d, 0, 0, 0, 0, location)
}

// LastDayOfYear returns midnight, in Asia/Ho_Chi_Minh, of the last day of
// lunar year lunarYear: the eve of Tết lunarYear+1 (ngày giao thừa). It is
// the 30th of month 12 ("30 Tết") when that month is long and the 29th
// ("29 Tết") when it is short, as in lunar year 2024, whose last day was
// 28 January 2025.
func LastDayOfYear(lunarYear int) time.Time {
	return Tet(lunarYear+1).AddDate(0, 0, -1)
}

// monthStart returns the day number on which a lunar month begins and its
// length in days.
func monthStart(year, month int, leap bool) (start, length int, ok bool) {
	if month < 1 || month > 12 {
		return 0, 0, false
	}
	s := spanEnding(year)
	if month >= 11 {
		s = spanEnding(year + 1)
	}
	for i, m := range s.months {
		if m.month == month && m.leap == leap {
			return s.starts[i], s.starts[i+1] - s.starts[i], true
		}
	}
	return 0, 0, false
}

// span is the run of lunar months from month 11 of one year up to, not
// including, month 11 of the next: twelve months, or thirteen with a leap
// month. It is the unit in which the calendar decides leap months.
type span struct {
	year   int     // Gregorian year in which the span ends; months 1–10 belong to lunar year `year`
	starts []int   // day numbers of the months' first days, plus the next month 11
	months []month // labels of the months, len(starts)-1 of them
}

type month struct {
	month int
	leap  bool
}

// spans caches computed spans by year; the astronomy costs a few dozen
// trigonometric series per span and rosters ask about the same few years.
var spans sync.Map // int -> *span

// cacheYears bounds the years kept in spans so that arbitrary inputs cannot
// grow the cache without limit.
const cacheFrom, cacheTo = 1700, 2400

// spanEnding returns the span from month 11 of year-1 to month 11 of year.
func spanEnding(year int) *span {
	if year >= cacheFrom && year < cacheTo {
		if s, ok := spans.Load(year); ok {
			return s.(*span)
		}
	}
	s := computeSpan(year)
	if year >= cacheFrom && year < cacheTo {
		spans.Store(year, s)
	}
	return s
}

func computeSpan(year int) *span {
	a11 := month11(year - 1)
	b11 := month11(year)
	k := lunationNear(a11)
	n := 12
	leapAt := -1
	if b11-a11 > 365 {
		n = 13
		leapAt = leapOffset(a11)
	}
	s := &span{year: year, starts: make([]int, n+1), months: make([]month, n)}
	label := 11
	for i := 0; i < n; i++ {
		s.starts[i] = newMoonDay(k + i)
		if i == leapAt {
			// The leap month repeats the number of the month before it.
			s.months[i] = month{month: s.months[i-1].month, leap: true}
			continue
		}
		s.months[i] = month{month: label}
		label = label%12 + 1
	}
	s.starts[n] = b11
	return s
}
