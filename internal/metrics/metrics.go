// Package metrics keeps request counters and latency histograms and writes
// them, with any registered gauges, in the Prometheus text exposition format.
// It is small on purpose: canhgac needs a few series, not a client library.
package metrics

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultBuckets are latency bucket bounds in seconds.
var DefaultBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Registry holds every series canhgac exports.
type Registry struct {
	mu         sync.Mutex
	counters   map[string]*counter
	histograms map[string]*histogram
	gauges     []gaugeFunc
}

type counter struct {
	name, help string
	values     map[string]float64 // by rendered label set
}

type histogram struct {
	name, help string
	buckets    []float64
	series     map[string]*hseries
}

type hseries struct {
	counts []uint64
	sum    float64
	count  uint64
}

type gaugeFunc struct {
	name, help string
	fn         func() float64
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{counters: map[string]*counter{}, histograms: map[string]*histogram{}}
}

// Labels renders label pairs ("route", "/x", "code", "200") in Prometheus syntax.
func Labels(kv ...string) string {
	if len(kv) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(kv[i])
		b.WriteString(`="`)
		b.WriteString(strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(kv[i+1]))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// Add increments counter name with the given rendered labels.
func (r *Registry) Add(name, help, labels string, v float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c := r.counters[name]
	if c == nil {
		c = &counter{name: name, help: help, values: map[string]float64{}}
		r.counters[name] = c
	}
	c.values[labels] += v
}

// Observe records one observation in histogram name.
func (r *Registry) Observe(name, help, labels string, v float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h := r.histograms[name]
	if h == nil {
		h = &histogram{name: name, help: help, buckets: DefaultBuckets, series: map[string]*hseries{}}
		r.histograms[name] = h
	}
	s := h.series[labels]
	if s == nil {
		s = &hseries{counts: make([]uint64, len(h.buckets))}
		h.series[labels] = s
	}
	for i, ub := range h.buckets {
		if v <= ub {
			s.counts[i]++
		}
	}
	s.sum += v
	s.count++
}

// ObserveDuration records d in seconds.
func (r *Registry) ObserveDuration(name, help, labels string, d time.Duration) {
	r.Observe(name, help, labels, d.Seconds())
}

// Gauge registers a value read at scrape time.
func (r *Registry) Gauge(name, help string, fn func() float64) {
	r.mu.Lock()
	r.gauges = append(r.gauges, gaugeFunc{name, help, fn})
	r.mu.Unlock()
}

// WriteTo writes every series in the text exposition format.
func (r *Registry) WriteTo(w io.Writer) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	for _, name := range sortedKeys(r.counters) {
		c := r.counters[name]
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s counter\n", name, c.help, name)
		for _, l := range sortedKeys(c.values) {
			fmt.Fprintf(&b, "%s%s %s\n", name, l, num(c.values[l]))
		}
	}
	for _, name := range sortedKeys(r.histograms) {
		h := r.histograms[name]
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s histogram\n", name, h.help, name)
		for _, l := range sortedKeys(h.series) {
			s := h.series[l]
			inner := strings.TrimSuffix(strings.TrimPrefix(l, "{"), "}")
			if inner != "" {
				inner += ","
			}
			for i, ub := range h.buckets {
				fmt.Fprintf(&b, "%s_bucket{%sle=\"%s\"} %d\n", name, inner, num(ub), s.counts[i])
			}
			fmt.Fprintf(&b, "%s_bucket{%sle=\"+Inf\"} %d\n", name, inner, s.count)
			fmt.Fprintf(&b, "%s_sum%s %s\n%s_count%s %d\n", name, l, num(s.sum), name, l, s.count)
		}
	}
	for _, g := range r.gauges {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s gauge\n%s %s\n", g.name, g.help, g.name, g.name, num(g.fn()))
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

func num(v float64) string {
	if math.IsInf(v, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
