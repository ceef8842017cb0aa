package lunar

import "math"

// The astronomy below follows the method Hồ Ngọc Đức describes for the
// Vietnamese calendar ("Lịch Việt Nam"): Julian day numbers, the instant of a
// new moon from Jean Meeus' series ("Astronomical Algorithms", ch. 47/49 in
// the short form with the largest terms) and the sun's ecliptic longitude from
// Meeus' low-precision solar theory (ch. 25). The results are good to a few
// minutes for 1800–2200, which is what the calendar needs: it only asks on
// which local day a new moon falls and in which 30° sector the sun stands at
// local midnight.

// synodicMonth is the mean length of a lunation in days.
const synodicMonth = 29.530588853

// newMoonEpoch is the Julian date (UT) of the mean new moon of 1900-01-01,
// the k = 0 of newMoon.
const newMoonEpoch = 2415021.076998695

// tz is the calendar's time zone in hours: Vietnam has used UTC+7 for its
// lunar calendar since 1968 (before that the North and South sometimes
// differed, which is why Tết Mậu Thân fell on different days).
const tz = 7.0

// jdn returns the Julian day number (the integer day that starts at noon UT)
// of a proleptic Gregorian date.
func jdn(year, month, day int) int {
	a := (14 - month) / 12
	y := year + 4800 - a
	m := month + 12*a - 3
	return day + (153*m+2)/5 + 365*y + floorDiv(y, 4) - floorDiv(y, 100) + floorDiv(y, 400) - 32045
}

// civil is the inverse of jdn: the proleptic Gregorian date of a day number.
func civil(jd int) (year, month, day int) {
	a := jd + 32044
	b := floorDiv(4*a+3, 146097)
	c := a - 146097*b/4
	d := floorDiv(4*c+3, 1461)
	e := c - 1461*d/4
	m := (5*e + 2) / 153
	day = e - (153*m+2)/5 + 1
	month = m + 3 - 12*(m/10)
	year = 100*b + d - 4800 + m/10
	return year, month, day
}

// floorDiv divides rounding towards minus infinity, so that day numbers
// before the epochs of the formulas still map to the right dates.
func floorDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// newMoon returns the Julian date (UT, fractional) of the k-th new moon after
// the one of 1900-01-01 (k may be negative).
func newMoon(k int) float64 {
	const dr = math.Pi / 180
	kf := float64(k)
	t := kf / 1236.85 // Julian centuries since 1900-01-00.5
	t2 := t * t
	t3 := t2 * t
	jd := 2415020.75933 + 29.53058868*kf + 0.0001178*t2 - 0.000000155*t3
	jd += 0.00033 * math.Sin((166.56+132.87*t-0.009173*t2)*dr)
	m := (359.2242 + 29.10535608*kf - 0.0000333*t2 - 0.00000347*t3) * dr   // sun's mean anomaly
	mp := (306.0253 + 385.81691806*kf + 0.0107306*t2 + 0.00001236*t3) * dr // moon's mean anomaly
	f := (21.2964 + 390.67050646*kf - 0.0016528*t2 - 0.00000239*t3) * dr   // moon's argument of latitude
	c := (0.1734-0.000393*t)*math.Sin(m) + 0.0021*math.Sin(2*m)
	c += -0.4068*math.Sin(mp) + 0.0161*math.Sin(2*mp) - 0.0004*math.Sin(3*mp)
	c += 0.0104*math.Sin(2*f) - 0.0051*math.Sin(m+mp) - 0.0074*math.Sin(m-mp)
	c += 0.0004*math.Sin(2*f+m) - 0.0004*math.Sin(2*f-m) - 0.0006*math.Sin(2*f+mp)
	c += 0.0010*math.Sin(2*f-mp) + 0.0005*math.Sin(2*mp+m)
	// ΔT (ephemeris minus universal time), in days.
	var deltaT float64
	if t < -11 {
		deltaT = 0.001 + 0.000839*t + 0.0002261*t2 - 0.00000845*t3 - 0.000000081*t*t3
	} else {
		deltaT = -0.000278 + 0.000265*t + 0.000262*t2
	}
	return jd + c - deltaT
}

// sunLongitude returns the sun's true ecliptic longitude, in radians within
// [0, 2π), at the Julian date jd (UT).
func sunLongitude(jd float64) float64 {
	const dr = math.Pi / 180
	t := (jd - 2451545.0) / 36525 // Julian centuries since J2000.0
	t2 := t * t
	m := 357.52910 + 35999.05030*t - 0.0001559*t2 - 0.00000048*t*t2 // mean anomaly, degrees
	l0 := 280.46645 + 36000.76983*t + 0.0003032*t2                  // mean longitude, degrees
	c := (1.914600-0.004817*t-0.000014*t2)*math.Sin(dr*m) +
		(0.019993-0.000101*t)*math.Sin(2*dr*m) + 0.000290*math.Sin(3*dr*m) // equation of centre
	l := math.Mod((l0+c)*dr, 2*math.Pi)
	if l < 0 {
		l += 2 * math.Pi
	}
	return l
}

// newMoonDay is the day number of the local (UTC+7) day on which the k-th new
// moon falls: that day is the first of a lunar month.
func newMoonDay(k int) int {
	return int(math.Floor(newMoon(k) + 0.5 + tz/24))
}

// sunSector returns which 30° sector (0–11, sector 0 starting at the vernal
// equinox) the sun is in at local midnight starting day number jd. Each
// sector boundary is a major solar term (trung khí); the winter solstice
// opens sector 9.
func sunSector(jd int) int {
	return int(sunLongitude(float64(jd)-0.5-tz/24) / math.Pi * 6)
}

// lunationNear returns the k of the new moon closest to day number jd.
func lunationNear(jd int) int {
	return int(math.Floor((float64(jd)-newMoonEpoch)/synodicMonth + 0.5))
}

// month11 returns the day number on which lunar month 11 of the given
// Gregorian year begins: the month containing the winter solstice, i.e. the
// last new moon before the sun enters sector 9 at or after local midnight.
func month11(year int) int {
	off := jdn(year, 12, 31) - 2415021
	k := int(math.Floor(float64(off) / synodicMonth))
	nm := newMoonDay(k)
	if sunSector(nm) >= 9 {
		// The sun has already passed the solstice when this month starts, so
		// the solstice lies in the previous month.
		nm = newMoonDay(k - 1)
	}
	return nm
}

// leapOffset returns, for a 13-month span starting with month 11 at day
// number a11, the position (1–12 months after a11) of the leap month: the
// first month in which the sun crosses no sector boundary, i.e. which holds
// no major solar term.
func leapOffset(a11 int) int {
	k := lunationNear(a11)
	i := 1
	last := sunSector(newMoonDay(k + i))
	for {
		i++
		arc := sunSector(newMoonDay(k + i))
		if arc == last || i >= 14 {
			break
		}
		last = arc
	}
	return i - 1
}
