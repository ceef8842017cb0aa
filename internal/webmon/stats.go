package webmon

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"time"
)

// bucketsMS are the upper bounds of the response-time histogram, in
// milliseconds; the last bucket is everything slower.
var bucketsMS = []int64{50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000, 30000}

// vietnam is the time zone days are counted in.
var vietnam = time.FixedZone("ICT", 7*3600)

type dayKey struct {
	monitor int64
	day     string // 2006-01-02 in Vietnam
}

// dayStats is one monitor's day: checks, failures and response times.
type dayStats struct {
	Checks   int     `json:"checks"`
	Failures int     `json:"failures"`
	Hist     []int64 `json:"histogram"`
	dirty    bool
}

func (s *Service) dayFor(id int64, at time.Time) *dayStats {
	k := dayKey{id, at.In(vietnam).Format(time.DateOnly)}
	d, ok := s.days[k]
	if !ok {
		d = &dayStats{Hist: make([]int64, len(bucketsMS)+1)}
		s.days[k] = d
		// Keep only today's and yesterday's aggregates in memory.
		for old := range s.days {
			if old.day < at.In(vietnam).AddDate(0, 0, -1).Format(time.DateOnly) {
				delete(s.days, old)
			}
		}
	}
	return d
}

func (d *dayStats) add(o Outcome) {
	d.Checks++
	d.dirty = true
	if !o.Up {
		d.Failures++
		return
	}
	ms := o.Duration.Milliseconds()
	i, _ := slices.BinarySearch(bucketsMS, ms)
	d.Hist[i]++
}

// Day is a monitor's availability on one day.
type Day struct {
	Day      string  `json:"day"`
	Checks   int     `json:"checks"`
	Failures int     `json:"failures"`
	Uptime   float64 `json:"uptime"` // share of successful checks, 0..1
	P50MS    int64   `json:"p50_ms"` // upper bound of the bucket holding the median
	P95MS    int64   `json:"p95_ms"`
	P99MS    int64   `json:"p99_ms"`
}

// percentile returns the upper bound of the bucket holding quantile q.
func percentile(hist []int64, q float64) int64 {
	var total int64
	for _, n := range hist {
		total += n
	}
	if total == 0 {
		return 0
	}
	want := int64(q*float64(total) + 0.999999)
	var seen int64
	for i, n := range hist {
		seen += n
		if seen >= want {
			if i < len(bucketsMS) {
				return bucketsMS[i]
			}
			return bucketsMS[len(bucketsMS)-1] * 2
		}
	}
	return 0
}

// History returns a monitor's last days of availability, newest first.
func (s *Service) History(ctx context.Context, id int64, days int) ([]Day, error) {
	rows, err := s.store.DB().QueryContext(ctx, s.store.Rebind(`SELECT day, checks, failures, histogram FROM monitor_days
		WHERE monitor_id = ? ORDER BY day DESC LIMIT ?`), id, days)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Day{}
	for rows.Next() {
		var d Day
		var hist string
		if err := rows.Scan(&d.Day, &d.Checks, &d.Failures, &hist); err != nil {
			return nil, err
		}
		var h []int64
		json.Unmarshal([]byte(hist), &h)
		if d.Checks > 0 {
			d.Uptime = float64(d.Checks-d.Failures) / float64(d.Checks)
		}
		d.P50MS, d.P95MS, d.P99MS = percentile(h, 0.5), percentile(h, 0.95), percentile(h, 0.99)
		out = append(out, d)
	}
	return out, rows.Err()
}

// lagStats samples how late checks started against their schedule.
type lagStats struct {
	mu      sync.Mutex
	samples []time.Duration
	checks  int64
}

func (l *lagStats) observe(d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.checks++
	if len(l.samples) < 100000 {
		l.samples = append(l.samples, d)
	} else {
		l.samples[l.checks%100000] = d
	}
}

// Lag is how late scheduled checks ran.
type Lag struct {
	Checks   int64         `json:"checks"`
	P50, P99 time.Duration `json:"-"`
	Max      time.Duration `json:"-"`
}

// Lag reports how many checks ran and how late they started.
func (s *Service) Lag() Lag {
	s.stats.mu.Lock()
	defer s.stats.mu.Unlock()
	l := Lag{Checks: s.stats.checks}
	if len(s.stats.samples) == 0 {
		return l
	}
	x := slices.Clone(s.stats.samples)
	slices.Sort(x)
	l.P50, l.P99, l.Max = x[len(x)/2], x[len(x)*99/100], x[len(x)-1]
	return l
}
