package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"
)

// Watchdog keeps the agent light: it samples the process's own CPU time
// and resident memory every Interval and, while either is over its limit,
// reports that it is shedding load so that optional work (inventory
// collection, task runs) waits. Over the memory limit it also hands freed
// heap back to the operating system (debug.FreeOSMemory).
//
// The zero value is ready to use with the defaults below; set the fields
// before Run.
type Watchdog struct {
	// CPUPercent is the CPU limit in percent of one core, averaged over
	// Window (default 10: a tenth of one core).
	CPUPercent float64
	// MemoryMB is the resident memory limit in MiB (default 150).
	MemoryMB int
	// Interval is how often to sample (default 5 s).
	Interval time.Duration
	// Window is what the CPU figure is averaged over (default 1 min).
	Window time.Duration

	mu       sync.Mutex
	samples  []cpuSample // within Window, oldest first
	cpuPct   float64
	rssBytes uint64
	sampled  bool
	shedding bool
	reason   string
	calm     chan struct{} // closed while not shedding
	freed    int64         // FreeOSMemory calls
}

type cpuSample struct {
	at  time.Time
	cpu time.Duration
}

func (w *Watchdog) limits() (cpu float64, memMB int, iv, win time.Duration) {
	cpu, memMB, iv, win = w.CPUPercent, w.MemoryMB, w.Interval, w.Window
	if cpu <= 0 {
		cpu = 10
	}
	if memMB <= 0 {
		memMB = 150
	}
	if iv <= 0 {
		iv = 5 * time.Second
	}
	if win <= 0 {
		win = time.Minute
	}
	return
}

// Run samples until ctx ends. Call it once, typically in its own
// goroutine.
func (w *Watchdog) Run(ctx context.Context) error {
	_, _, iv, _ := w.limits()
	w.Sample()
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			w.Sample()
		}
	}
}

// Sample takes one measurement now and updates the shedding state. Run
// calls it every Interval; tests may call it directly.
func (w *Watchdog) Sample() {
	cpuLimit, memMB, _, win := w.limits()
	now := time.Now()
	cpu, cpuErr := ProcessCPUTime()
	rss := residentBytes()

	w.mu.Lock()
	defer w.mu.Unlock()
	if cpuErr == nil {
		w.samples = append(w.samples, cpuSample{now, cpu})
		// Keep the newest sample at or before the window's start as the
		// base, so the average covers a whole window once one has passed.
		cut := 0
		for cut+1 < len(w.samples) && now.Sub(w.samples[cut+1].at) >= win {
			cut++
		}
		w.samples = w.samples[cut:]
		if first := w.samples[0]; len(w.samples) > 1 {
			if wall := now.Sub(first.at); wall > 0 {
				w.cpuPct = 100 * float64(cpu-first.cpu) / float64(wall)
			}
		}
	}
	w.rssBytes = rss
	w.sampled = true

	var reasons []string
	if w.cpuPct > cpuLimit {
		reasons = append(reasons, fmt.Sprintf("cpu %.1f%% of a core is over the %.4g%% limit", w.cpuPct, cpuLimit))
	}
	memLimit := uint64(memMB) << 20
	if rss > memLimit {
		debug.FreeOSMemory()
		w.freed++
		if after := residentBytes(); after > 0 {
			rss = after
			w.rssBytes = after
		}
		if rss > memLimit {
			reasons = append(reasons, fmt.Sprintf("memory %.1f MiB resident is over the %d MiB limit", mib(rss), memMB))
		}
	}
	w.setShedding(len(reasons) > 0, joinReasons(reasons))
}

func (w *Watchdog) setShedding(on bool, reason string) {
	if w.calm == nil {
		w.calm = make(chan struct{})
		close(w.calm)
	}
	switch {
	case on && !w.shedding:
		w.calm = make(chan struct{})
	case !on && w.shedding:
		close(w.calm)
	}
	w.shedding, w.reason = on, reason
}

func joinReasons(r []string) string {
	s := ""
	for i, x := range r {
		if i > 0 {
			s += "; "
		}
		s += x
	}
	return s
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }

// Over reports whether the last sample was over a limit, and why.
func (w *Watchdog) Over() (bool, string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.shedding, w.reason
}

// Shedding reports whether optional work should wait.
func (w *Watchdog) Shedding() bool {
	over, _ := w.Over()
	return over
}

// Status is the watchdog's part of the agent's heartbeat status.
func (w *Watchdog) Status() map[string]any {
	cpuLimit, memMB, _, _ := w.limits()
	w.mu.Lock()
	defer w.mu.Unlock()
	st := map[string]any{
		"cpu_percent":       math.Round(w.cpuPct*100) / 100,
		"rss_mb":            math.Round(mib(w.rssBytes)*10) / 10,
		"cpu_limit_percent": cpuLimit,
		"memory_limit_mb":   memMB,
		"shedding":          w.shedding,
	}
	if w.reason != "" {
		st["reason"] = w.reason
	}
	return st
}

// Wait returns once the watchdog is not shedding, or with ctx's error.
func (w *Watchdog) Wait(ctx context.Context) error {
	w.mu.Lock()
	if w.calm == nil {
		w.setShedding(w.shedding, w.reason)
	}
	calm := w.calm
	w.mu.Unlock()
	select {
	case <-calm:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Gate returns a function that, before each call of fn, waits while the
// watchdog is shedding. Use it for optional work such as inventory
// collection.
func Gate[T any](w *Watchdog, fn func(context.Context) (T, error)) func(context.Context) (T, error) {
	return func(ctx context.Context) (T, error) {
		if err := w.Wait(ctx); err != nil {
			var zero T
			return zero, fmt.Errorf("paused by the resource watchdog: %w", err)
		}
		return fn(ctx)
	}
}

// GateTasks wraps each task so that it waits while the watchdog is
// shedding; a task whose deadline passes while waiting fails with the
// watchdog's reason.
func (w *Watchdog) GateTasks(tasks map[string]TaskFunc) map[string]TaskFunc {
	out := make(map[string]TaskFunc, len(tasks))
	for kind, fn := range tasks {
		out[kind] = func(ctx context.Context, payload json.RawMessage) (any, error) {
			if err := w.Wait(ctx); err != nil {
				_, why := w.Over()
				return nil, errors.New("not run: the agent is over its resource limits (" + why + ")")
			}
			return fn(ctx, payload)
		}
	}
	return out
}

// residentBytes is the process's resident memory: /proc/self/statm where
// there is one, the operating system's own figure on Windows, else what
// the Go runtime has mapped and not released.
func residentBytes() uint64 {
	if b, err := osResidentBytes(); err == nil && b > 0 {
		return b
	}
	return runtimeMappedBytes()
}

func runtimeMappedBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/total:bytes"}, {Name: "/memory/classes/heap/released:bytes"}}
	metrics.Read(s)
	var total, released uint64
	if s[0].Value.Kind() == metrics.KindUint64 {
		total = s[0].Value.Uint64()
	}
	if s[1].Value.Kind() == metrics.KindUint64 {
		released = s[1].Value.Uint64()
	}
	if released > total {
		return 0
	}
	return total - released
}
