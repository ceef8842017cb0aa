package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"canhgac/internal/agent"
	"canhgac/internal/alert"
	"canhgac/internal/model"
	"canhgac/internal/storage"
	"canhgac/internal/webmon"
	"canhgac/internal/webmon/evidence"
)

// runBench measures a capability on this machine: `canhgac bench webmon`
// serves N realistic agency home pages on 127.0.0.1, monitors them all
// with a fresh SQLite store, and reports checks per second, how late
// checks started against their schedule, CPU time and peak memory.
func runBench(env *Env, args []string) error {
	if len(args) > 0 && args[0] == "agents" {
		return benchAgents(env, args[1:])
	}
	if len(args) == 0 || args[0] != "webmon" {
		return usageError("bench needs a subject: bench webmon [--sites N] [--interval D] [--duration D], or bench agents [--count N] [--duration D] [--restart]")
	}
	fs := newFlags(env, "bench webmon")
	sites := fs.Int("sites", 1000, "how many sites to serve and monitor")
	interval := fs.Duration("interval", time.Minute, "check interval of every monitor")
	duration := fs.Duration("duration", 2*time.Minute, "how long to run")
	workers := fs.Int("workers", 256, "concurrent checks")
	deepInterval := fs.Duration("deep-interval", time.Hour, "deep-check cadence (DNS, cloaking probe, sub-pages, 404 page), as in serve")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if *sites < 1 || *sites > 100000 {
		return usageError("--sites must be 1 to 100000")
	}
	dir, err := os.MkdirTemp("", "canhgac-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	store, err := storage.Open(ctx, dir, "")
	if err != nil {
		return err
	}
	defer store.Close()

	// The sites: one listener, a page per path, each a ~40 KB home page
	// with a news list and a date, like a provincial portal.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, benchPage(r.URL.Path))
	}), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()

	sys := model.Actor{Scope: model.System}
	root := model.Agency{Name: "Sở Thông tin và Truyền thông", Kind: model.AgencyProvince}
	if err := store.CreateAgency(ctx, sys, &root); err != nil {
		return err
	}
	alerts, err := alert.New(ctx, store, alert.DefaultConfig())
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ev, err := evidence.Open(filepath.Join(dir, "evidence"))
	if err != nil {
		return err
	}
	svc := webmon.New(store, alerts, webmon.Config{Workers: *workers, Interval: *interval, DeepInterval: *deepInterval, Evidence: ev}, log)
	admin := model.Actor{Scope: model.Scope{Role: model.RoleAdmin, Username: "bench"}}
	fmt.Fprintf(env.Stderr, "creating %d monitors…\n", *sites)
	for i := 0; i < *sites; i++ {
		m := webmon.Monitor{AgencyID: root.ID, Name: fmt.Sprintf("site %d", i), URL: fmt.Sprintf("http://%s/site/%d/", ln.Addr(), i),
			AllowPrivate: true, MustContain: "Cổng thông tin điện tử"}
		if err := svc.Create(ctx, admin, &m); err != nil {
			return err
		}
	}
	fmt.Fprintf(env.Stderr, "monitoring %d sites every %s for %s…\n", *sites, *interval, *duration)
	before, _ := agent.ProcessCPUTime()
	start := time.Now()
	runCtx, cancel := context.WithTimeout(ctx, *duration)
	defer cancel()
	if err := svc.Run(runCtx); err != nil {
		return err
	}
	elapsed := time.Since(start)
	after, _ := agent.ProcessCPUTime()
	lag := svc.Lag()
	cpu := after - before
	res := map[string]any{
		"sites": *sites, "interval": interval.String(), "duration": elapsed.Round(time.Millisecond).String(),
		"checks": lag.Checks, "checks_per_second": float64(lag.Checks) / elapsed.Seconds(),
		"expected_checks_per_second": float64(*sites) / interval.Seconds(),
		"lag_p50":                    lag.P50.String(), "lag_p99": lag.P99.String(), "lag_max": lag.Max.String(),
		"cpu_seconds": cpu.Seconds(), "cpu_cores_used": cpu.Seconds() / elapsed.Seconds(), "cores": runtime.NumCPU(),
		"peak_rss_mb": peakRSSMB(), "deep_checks": svc.DeepChecks(),
	}
	if *asJSON {
		return json.NewEncoder(env.Stdout).Encode(res)
	}
	fmt.Fprintf(env.Stdout, "sites %d, interval %s, ran %s\nchecks %d (%.1f/s; schedule needs %.1f/s), deep checks %d\nstart lag p50 %s, p99 %s, max %s\nCPU %.1f s (%.2f of %d cores), peak RSS %.0f MB\n",
		*sites, *interval, res["duration"], lag.Checks, res["checks_per_second"], res["expected_checks_per_second"], svc.DeepChecks(), lag.P50, lag.P99, lag.Max,
		cpu.Seconds(), res["cpu_cores_used"], runtime.NumCPU(), res["peak_rss_mb"])
	return nil
}

// peakRSSMB reads the process's peak resident memory (Linux).
func peakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			f := strings.Fields(l)
			if len(f) >= 2 {
				kb, _ := strconv.ParseFloat(f[1], 64)
				return kb / 1024
			}
		}
	}
	return 0
}

// benchPage is a realistic portal home page for path p, with a date and a
// news list that change from fetch to fetch.
func benchPage(p string) string {
	var b strings.Builder
	b.Grow(48 << 10)
	b.WriteString(`<!doctype html><html lang="vi"><head><meta charset="utf-8"><title>Cổng thông tin điện tử ` + p + `</title>`)
	b.WriteString(`<link rel="stylesheet" href="/static/site.css"><script src="/static/site.js"></script></head><body>`)
	b.WriteString(`<header><h1>Cổng thông tin điện tử</h1><p class="date">` + time.Now().Format("Monday, 02/01/2006 15:04:05") + `</p>`)
	b.WriteString(`<nav><a href="/">Trang chủ</a> <a href="/gioi-thieu">Giới thiệu</a> <a href="/tin-tuc">Tin tức</a> <a href="/van-ban">Văn bản</a></nav></header><main>`)
	for i := 0; i < 60; i++ {
		fmt.Fprintf(&b, `<article><h2><a href="/tin-tuc/%d">Hội nghị triển khai nhiệm vụ chuyển đổi số năm %d, lần %d</a></h2>`+
			`<p>Sáng nay, Sở Thông tin và Truyền thông tổ chức hội nghị tổng kết công tác bảo đảm an toàn thông tin mạng, triển khai nhiệm vụ trọng tâm.</p>`+
			`<img src="/images/%d.jpg" alt="Ảnh hội nghị"></article>`, (time.Now().Nanosecond()/1000+i)%10000, 2027, i, i)
	}
	b.WriteString(`</main><footer>Bản quyền thuộc về Ủy ban nhân dân tỉnh. Lượt truy cập: ` + strconv.Itoa(time.Now().Nanosecond()) + `</footer></body></html>`)
	return b.String()
}
