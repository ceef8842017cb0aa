package webmon

import (
	"container/heap"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"canhgac/internal/alert"
	"canhgac/internal/model"
	"canhgac/internal/storage"
	"canhgac/internal/textfold"
	"canhgac/internal/webmon/dnscheck"
	"canhgac/internal/webmon/domainlist"
	"canhgac/internal/webmon/evidence"
	"canhgac/internal/webmon/fetch"
	"canhgac/internal/webmon/page"
	"canhgac/internal/webmon/render"
)

// Alerter is the part of the alert pipeline monitoring uses.
type Alerter interface {
	Raise(ctx context.Context, a alert.Alert) (alert.RaiseResult, error)
	Recover(ctx context.Context, source, key string) (bool, error)
}

// Source is the alert source name of website monitoring.
const Source = "webmon"

// Config tunes the service.
type Config struct {
	Workers int // concurrent checks (default 64)
	// RecheckDelay is the pause before the re-check that confirms a
	// failure (default 2 s): one lost packet must not page anyone.
	RecheckDelay time.Duration
	// Interval, if set, replaces every monitor's interval (tests and
	// benchmarks run minutes of schedule in seconds).
	Interval time.Duration
	// FlushEvery is how often check results are written (default 1 s).
	FlushEvery time.Duration
	Fetch      fetch.Config
	// AdminAllow lists ranges monitors with AllowPrivate may reach beyond
	// the public Internet; nil allows everything for them.
	AdminAllow []netip.Prefix
	// Allow lists ranges an administrator lets every monitor reach
	// although they are loopback or link-local (serve --monitor-allow).
	// The headless browser is held to these too.
	Allow []netip.Prefix

	// DeepInterval is the cadence of deep checks (DNS, cloaking probe,
	// sub-pages and the 404 page; default 1 hour), run by DeepWorkers
	// (default 4) beside the availability checks.
	DeepInterval time.Duration
	DeepWorkers  int
	// DNS answers deep checks' DNS questions; nil skips DNS checks.
	DNS *dnscheck.Resolver
	// Evidence stores snapshots of judged pages; nil keeps none.
	Evidence *evidence.Store
	// Retention is how long snapshots are kept (default 90 days), and
	// EvidenceMaxBytes caps the evidence store (0: no cap).
	Retention        time.Duration
	EvidenceMaxBytes int64
	// Domains is the gambling/malicious domain list pages are checked
	// against; nil uses the embedded one.
	Domains *domainlist.List
	// Render renders JavaScript pages (monitors with RenderJS) and takes
	// screenshots of defaced pages; nil analyses raw HTML only.
	Render *render.Pool
}

// Service checks monitors on schedule.
type Service struct {
	store  *storage.Store
	alerts Alerter
	cfg    Config
	fetch  *fetch.Fetcher
	log    *slog.Logger

	reload chan struct{}

	mu      sync.Mutex
	days    map[dayKey]*dayStats // today's aggregates, flushed with the results
	out     []result             // results waiting to be written
	current map[int64]Monitor    // the scheduler's monitors, for its workers
	stats   lagStats

	baselines map[int64]*page.Baseline // loaded baselines; nil while learning
	learning  map[int64]*page.Baseline // baselines still being learned
	verdicts  map[int64]string         // content verdicts waiting to be written

	deepNext  map[int64]time.Time // when each monitor's next deep check is due
	deepJobs  chan Monitor
	deepCount atomic.Int64
	tlsWarn   map[int64]int      // last certificate warning raised per monitor (-1: invalid)
	lastSnap  map[string]snapRef // last evidence per monitor, kind and URL
}

// New returns the monitoring service.
func New(store *storage.Store, alerts Alerter, cfg Config, log *slog.Logger) *Service {
	if cfg.Workers <= 0 {
		cfg.Workers = 64
	}
	if cfg.RecheckDelay == 0 {
		cfg.RecheckDelay = 2 * time.Second
	}
	if cfg.FlushEvery <= 0 {
		cfg.FlushEvery = time.Second
	}
	if log == nil {
		log = slog.Default()
	}
	if cfg.DeepInterval <= 0 {
		cfg.DeepInterval = time.Hour
	}
	if cfg.DeepWorkers <= 0 {
		cfg.DeepWorkers = 4
	}
	if cfg.Retention <= 0 {
		cfg.Retention = 90 * 24 * time.Hour
	}
	return &Service{store: store, alerts: alerts, cfg: cfg, fetch: fetch.New(cfg.Fetch), log: log,
		reload: make(chan struct{}, 1), days: map[dayKey]*dayStats{},
		baselines: map[int64]*page.Baseline{}, learning: map[int64]*page.Baseline{}, verdicts: map[int64]string{},
		deepNext: map[int64]time.Time{}, deepJobs: make(chan Monitor, cfg.DeepWorkers), tlsWarn: map[int64]int{}, lastSnap: map[string]snapRef{}}
}

// Reload makes the scheduler pick up added, changed or removed monitors.
func (s *Service) Reload() {
	select {
	case s.reload <- struct{}{}:
	default:
	}
}

// Outcome is one check's verdict on availability.
type Outcome struct {
	Up       bool
	Status   int
	Duration time.Duration
	// Reason says why the check failed: a fetch failure kind and detail,
	// an unexpected status, or a keyword rule.
	Reason string
	Body   []byte
	// Kind classifies a failed fetch (dns, connect, tls, timeout, …).
	Kind fetch.Kind
	// URL is the final URL after redirects; CertNotAfter the certificate's
	// expiry for HTTPS pages.
	URL          string
	CertNotAfter time.Time
}

// Check fetches a monitor's page once and judges availability. A failure
// is confirmed by a second fetch after RecheckDelay before it counts.
func (s *Service) Check(ctx context.Context, m Monitor) Outcome {
	o := s.checkOnce(ctx, m)
	if o.Up {
		return o
	}
	select {
	case <-time.After(s.cfg.RecheckDelay):
	case <-ctx.Done():
		return o
	}
	return s.checkOnce(ctx, m)
}

// CheckNow checks a monitor at once, outside the schedule, with the same
// consequences as a scheduled check (alerts, content analysis, history),
// and writes the result.
func (s *Service) CheckNow(ctx context.Context, m Monitor) (Outcome, error) {
	o := s.Check(ctx, m)
	s.apply(ctx, m, o, s.store.Now())
	return o, s.Flush(ctx)
}

func (s *Service) policy(m Monitor) *fetch.Policy {
	if m.AllowPrivate {
		if s.cfg.AdminAllow == nil {
			return nil
		}
		return fetch.Restricted(append(slices.Clone(s.cfg.AdminAllow), s.cfg.Allow...)...)
	}
	return fetch.Restricted(s.cfg.Allow...)
}

func (s *Service) checkOnce(ctx context.Context, m Monitor) Outcome {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(m.TimeoutSeconds)*time.Second)
	defer cancel()
	start := time.Now()
	resp, err := s.fetch.Fetch(ctx, fetch.Request{URL: m.URL, Policy: s.policy(m)})
	o := Outcome{Duration: time.Since(start)}
	if err != nil {
		o.Reason, o.Kind = err.Error(), fetch.KindOf(err)
		return o
	}
	o.Status, o.Body, o.URL, o.CertNotAfter = resp.Status, resp.Body, resp.URL, resp.CertNotAfter
	switch {
	case m.ExpectedStatus != 0 && resp.Status != m.ExpectedStatus:
		o.Reason = fmt.Sprintf("status %d, expected %d", resp.Status, m.ExpectedStatus)
		return o
	case m.ExpectedStatus == 0 && resp.Status >= 400:
		o.Reason = fmt.Sprintf("status %d %s", resp.Status, http.StatusText(resp.Status))
		return o
	}
	if m.MustContain != "" || m.MustNotContain != "" {
		page := textfold.Fold(string(resp.Body))
		for _, k := range keywords(m.MustContain) {
			if !strings.Contains(page, k) {
				o.Reason = fmt.Sprintf("the page no longer contains %q", k)
				return o
			}
		}
		for _, k := range keywords(m.MustNotContain) {
			if strings.Contains(page, k) {
				o.Reason = fmt.Sprintf("the page contains %q", k)
				return o
			}
		}
	}
	o.Up = true
	return o
}

func keywords(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, textfold.Fold(l))
		}
	}
	return out
}

// result is a finished check waiting to be written.
type result struct {
	m  Monitor
	o  Outcome
	at time.Time
}

// apply raises or resolves the availability alert on a state change, and
// queues the result for the next flush.
func (s *Service) apply(ctx context.Context, m Monitor, o Outcome, at time.Time) {
	key := fmt.Sprintf("monitor:%d:down", m.ID)
	switch {
	case !o.Up && m.State != Down:
		_, err := s.alerts.Raise(ctx, alert.Alert{Source: Source, Kind: "webmon.website_down", Severity: alert.High, DedupKey: key,
			AssetID: m.AssetID, AgencyID: &m.AgencyID, Title: "Website không truy cập được: " + m.Name,
			Details: fmt.Sprintf("%s\n%s (confirmed by a second check)", m.URL, o.Reason)})
		if err != nil {
			s.log.Error("raise website_down", "monitor", m.ID, "err", err)
		}
	case o.Up && m.State == Down:
		if _, err := s.alerts.Recover(ctx, Source, key); err != nil {
			s.log.Error("recover website_down", "monitor", m.ID, "err", err)
		}
	}
	s.certificate(ctx, m, o)
	if o.Up && len(o.Body) > 0 {
		s.content(ctx, m, o)
	}
	s.mu.Lock()
	s.out = append(s.out, result{m: m, o: o, at: at})
	d := s.dayFor(m.ID, at)
	d.add(o)
	s.mu.Unlock()
}

// Flush writes queued results and today's aggregates in one transaction.
func (s *Service) Flush(ctx context.Context) error {
	s.mu.Lock()
	out := s.out
	s.out = nil
	verdicts := s.verdicts
	s.verdicts = map[int64]string{}
	days := make(map[dayKey]dayStats, len(s.days))
	for k, d := range s.days {
		if d.dirty {
			c := *d
			c.Hist = slices.Clone(d.Hist) // apply keeps counting into d
			days[k] = c
			d.dirty = false
		}
	}
	s.mu.Unlock()
	if len(out) == 0 && len(days) == 0 && len(verdicts) == 0 {
		return nil
	}
	return s.store.InTx(ctx, func(tx *sql.Tx) error {
		for _, r := range out {
			state := Up
			if !r.o.Up {
				state = Down
			}
			if _, err := tx.ExecContext(ctx, s.store.Rebind(`UPDATE monitors SET state = ?, state_since = CASE WHEN state = ? THEN state_since ELSE ? END,
				last_checked_at = ?, last_status = ?, last_error = ?, last_duration_ms = ? WHERE id = ?`),
				state, state, r.at, r.at, r.o.Status, truncate(r.o.Reason, 500), r.o.Duration.Milliseconds(), r.m.ID); err != nil {
				return err
			}
		}
		for id, v := range verdicts {
			if _, err := tx.ExecContext(ctx, s.store.Rebind(`UPDATE monitors SET content_state = ? WHERE id = ?`), v, id); err != nil {
				return err
			}
		}
		for k, d := range days {
			hist, _ := json.Marshal(d.Hist)
			if _, err := tx.ExecContext(ctx, s.store.Rebind(`INSERT INTO monitor_days (monitor_id, day, checks, failures, histogram) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (monitor_id, day) DO UPDATE SET checks = excluded.checks, failures = excluded.failures, histogram = excluded.histogram`),
				k.monitor, k.day, d.Checks, d.Failures, string(hist)); err != nil && !storage.IsForeignKeyViolation(err) {
				return err
			}
		}
		return nil
	})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// scheduled is a monitor's next check time, for the heap.
type scheduled struct {
	at time.Time
	id int64
}

type queue []scheduled

func (q queue) Len() int           { return len(q) }
func (q queue) Less(i, j int) bool { return q[i].at.Before(q[j].at) }
func (q queue) Swap(i, j int)      { q[i], q[j] = q[j], q[i] }
func (q *queue) Push(x any)        { *q = append(*q, x.(scheduled)) }
func (q *queue) Pop() any          { old := *q; x := old[len(old)-1]; *q = old[:len(old)-1]; return x }

// Run checks every enabled monitor on its interval until ctx ends. First
// checks are spread over each monitor's interval so that a restart does
// not fetch every site at once. Checks that come due while all workers
// are busy run as soon as one is free; Lag reports how late they ran.
func (s *Service) Run(ctx context.Context) error {
	monitors := map[int64]Monitor{}
	var q queue
	load := func() error {
		ms, err := s.List(ctx, model.System)
		if err != nil {
			return err
		}
		now := time.Now()
		known := map[int64]bool{}
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, m := range ms {
			if !m.Enabled {
				continue
			}
			known[m.ID] = true
			if _, ok := monitors[m.ID]; !ok {
				// Spread first checks over the interval, the same way for
				// a monitor on every start.
				iv := s.interval(m)
				offset := iv * time.Duration(uint64(m.ID)*7919%1000) / 1000
				heap.Push(&q, scheduled{at: now.Add(offset), id: m.ID})
			}
			monitors[m.ID] = m
		}
		for id := range monitors {
			if !known[id] {
				delete(monitors, id)
			}
		}
		return nil
	}
	s.mu.Lock()
	s.current = monitors
	s.mu.Unlock()
	if err := load(); err != nil {
		return err
	}
	jobs := make(chan scheduled)
	done := make(chan Monitor, s.cfg.Workers)
	var wg sync.WaitGroup
	for i := 0; i < s.cfg.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				s.mu.Lock()
				m := s.current[j.id]
				s.mu.Unlock()
				lag := time.Since(j.at)
				o := s.Check(ctx, m)
				s.stats.observe(lag)
				s.apply(ctx, m, o, s.store.Now())
				if o.Up && s.deepDue(m, time.Now()) {
					select {
					case s.deepJobs <- m:
					default: // deep workers busy: try again next interval
						s.mu.Lock()
						delete(s.deepNext, m.ID)
						s.mu.Unlock()
					}
				}
				if o.Up {
					m.State = Up
				} else {
					m.State = Down
				}
				done <- m
			}
		}()
	}
	var deepWG sync.WaitGroup
	deepCtx, stopDeep := context.WithCancel(ctx)
	for i := 0; i < s.cfg.DeepWorkers; i++ {
		deepWG.Add(1)
		go func() {
			defer deepWG.Done()
			for {
				select {
				case <-deepCtx.Done():
					return
				case m := <-s.deepJobs:
					s.Deep(deepCtx, m)
				}
			}
		}()
	}
	defer func() { stopDeep(); deepWG.Wait() }()
	prune := time.NewTicker(6 * time.Hour)
	defer prune.Stop()
	flush := time.NewTicker(s.cfg.FlushEvery)
	defer flush.Stop()
	timer := time.NewTimer(0)
	defer timer.Stop()
	defer func() { close(jobs); wg.Wait(); s.Flush(context.Background()) }()
	for {
		var next <-chan time.Time
		var send chan scheduled
		var head scheduled
		if len(q) > 0 {
			head = q[0]
			if d := time.Until(head.at); d > 0 {
				timer.Reset(d)
				next = timer.C
			} else {
				send = jobs
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-next:
		case send <- head:
			heap.Pop(&q)
			if m, ok := monitors[head.id]; ok {
				// Scheduled from the planned time, not the finish, so that
				// checks keep their cadence.
				heap.Push(&q, scheduled{at: head.at.Add(s.interval(m)), id: head.id})
			}
		case m := <-done:
			s.mu.Lock()
			if cur, ok := monitors[m.ID]; ok {
				cur.State = m.State
				monitors[m.ID] = cur
			}
			s.mu.Unlock()
		case <-prune.C:
			if err := s.Prune(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("webmon evidence prune", "err", err)
			}
		case <-flush.C:
			if err := s.Flush(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("webmon flush", "err", err)
			}
		case <-s.reload:
			if err := load(); err != nil && ctx.Err() == nil {
				s.log.Error("webmon reload", "err", err)
			}
			q = slices.DeleteFunc(q, func(x scheduled) bool { _, ok := monitors[x.id]; return !ok })
			heap.Init(&q)
		}
	}
}

func (s *Service) interval(m Monitor) time.Duration {
	if s.cfg.Interval > 0 {
		return s.cfg.Interval
	}
	return time.Duration(m.IntervalSeconds) * time.Second
}
