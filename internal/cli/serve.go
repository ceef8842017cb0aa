package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"canhgac/internal/alert"
	"canhgac/internal/api"
	"canhgac/internal/auth"
	"canhgac/internal/fleet"
	"canhgac/internal/httpd"
	"canhgac/internal/model"
	"canhgac/internal/ransom"
	"canhgac/internal/storage"
	"canhgac/internal/ui"
	"canhgac/internal/webmon"
	"canhgac/internal/webmon/dnscheck"
	"canhgac/internal/webmon/domainlist"
	"canhgac/internal/webmon/evidence"
	"canhgac/internal/webmon/fetch"
	"canhgac/internal/webmon/render"
)

func runServe(env *Env, args []string) error {
	fs := newFlags(env, "serve")
	var sf storageFlags
	sf.register(env, fs)
	listen := fs.String("listen", envDefault(env, "listen", "127.0.0.1:8080"), "address to listen on")
	tlsCert := fs.String("tls-cert", envDefault(env, "tls-cert", ""), "TLS certificate file (PEM)")
	tlsKey := fs.String("tls-key", envDefault(env, "tls-key", ""), "TLS key file (PEM)")
	tlsAuto := fs.Bool("tls-auto", envBool(env, "tls-auto"), "serve HTTPS with a self-signed certificate kept in the data directory")
	maxBody := fs.Int64("max-body", envInt(env, "max-body", 1<<20), "largest request body in bytes")
	rate := fs.Float64("rate", float64(envInt(env, "rate", 50)), "requests per second allowed per client address (0: unlimited)")
	sessionTTL := fs.Duration("session-ttl", envDuration(env, "session-ttl", 12*time.Hour), "how long a login lasts")
	logLevel := fs.String("log-level", envDefault(env, "log-level", "info"), "debug, info, warn or error")
	publicURL := fs.String("public-url", envDefault(env, "public-url", ""), "canhgac's address as users reach it, for links in notifications (default: from --listen)")
	groupWait := fs.Duration("group-wait", envDuration(env, "group-wait", 10*time.Second), "how long a first notification waits so that alerts of one agency and kind go out together")
	tick := fs.Duration("alert-interval", envDuration(env, "alert-interval", 5*time.Second), "how often escalations and the notification outbox are checked")
	monitorAllow := fs.String("monitor-allow", envDefault(env, "monitor-allow", ""), "comma-separated address ranges (CIDR) every website monitor may reach although they are loopback or link-local")
	dnsServer := fs.String("dns-server", envDefault(env, "dns-server", ""), "DNS server (host:port) the DNS hijack check asks (default: the system resolver)")
	deepInterval := fs.Duration("deep-interval", envDuration(env, "deep-interval", time.Hour), "how often each website gets the deep check: DNS, cloaking probe, sub-pages and 404 page")
	retention := fs.Duration("evidence-retention", envDuration(env, "evidence-retention", 90*24*time.Hour), "how long page snapshots are kept as evidence")
	domainFiles := fs.String("domain-lists", envDefault(env, "domain-lists", ""), "comma-separated gambling/malicious domain list files (hosts format or one domain a line) added to the shipped list")
	agentHeartbeat := fs.Duration("agent-heartbeat", envDuration(env, "agent-heartbeat", time.Minute), "heartbeat interval agents are told to use (late after 2 missed, offline after 5)")
	pollSlots := fs.Int64("agent-poll-slots", envInt(env, "agent-poll-slots", fleet.DefaultPollSlots), "task long-polls held open at once (each an open connection); agents beyond it get tasks at their next heartbeat")
	debugListen := fs.String("debug-listen", envDefault(env, "debug-listen", ""), "loopback address (e.g. 127.0.0.1:6060) serving Go's profiler (/debug/pprof/) for performance work; off by default")
	chromiumPath := fs.String("chromium", envDefault(env, "chromium", ""), "Chromium binary for JavaScript-rendered monitors and screenshots (default: found on PATH; none disables them)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var allow []netip.Prefix
	for _, c := range strings.Split(*monitorAllow, ",") {
		if c = strings.TrimSpace(c); c == "" {
			continue
		}
		p, err := netip.ParsePrefix(c)
		if err != nil {
			return usageError(fmt.Sprintf("--monitor-allow: %q is not a CIDR range (e.g. 10.20.0.0/16)", c))
		}
		allow = append(allow, p)
	}
	if fs.NArg() > 0 {
		return usageError(fmt.Sprintf("unexpected argument %q", fs.Arg(0)))
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		return usageError("--tls-cert and --tls-key go together")
	}
	if *tlsAuto && *tlsCert != "" {
		return usageError("use either --tls-auto or --tls-cert/--tls-key")
	}
	if *pollSlots < 1 || *pollSlots > 1_000_000 {
		return usageError("--agent-poll-slots must be 1 to 1000000")
	}
	if *debugListen != "" {
		if err := startDebug(*debugListen); err != nil {
			return err
		}
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return usageError("--log-level must be debug, info, warn or error")
	}
	log := slog.New(slog.NewJSONHandler(env.Stderr, &slog.HandlerOptions{Level: level}))
	slog.SetDefault(log)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	store, err := storage.Open(ctx, sf.data, sf.db)
	if err != nil {
		return err
	}
	defer store.Close()
	log.Info("database ready", "backend", store.Backend(), "schema_version", store.SchemaVersion())

	scheme := "http"
	if *tlsAuto {
		cert, key, fp, err := httpd.AutoTLS(sf.data, certHosts(*listen))
		if err != nil {
			return err
		}
		*tlsCert, *tlsKey = cert, key
		fmt.Fprintf(env.Stdout, "TLS certificate %s\nSHA-256 fingerprint: %s\n", cert, fp)
	}
	if *tlsCert != "" {
		scheme = "https"
	}
	firstPassword, err := firstStart(ctx, store)
	if err != nil {
		return err
	}

	acfg := auth.DefaultConfig()
	acfg.SessionTTL = *sessionTTL
	acfg.SecureCookies = *tlsCert != ""
	authn := auth.New(store, acfg)
	srv := httpd.New(httpd.Config{Addr: *listen, MaxBodyBytes: *maxBody, RatePerIP: *rate, BurstPerIP: int(max(*rate*4, 20)),
		TLSCert: *tlsCert, TLSKey: *tlsKey, Version: version()}, store, authn, log)
	if clockFile := env.Getenv("CANHGAC_TEST_CLOCK_FILE"); clockFile != "" {
		// Tests drive hours of escalation in seconds by writing the time here.
		store.SetClock(fileClock(clockFile))
	}
	if *publicURL == "" {
		*publicURL = scheme + "://" + listenDisplay(*listen)
	}
	acfgAlerts := alert.DefaultConfig()
	acfgAlerts.PublicURL = *publicURL
	acfgAlerts.GroupWait = *groupWait
	alerts, err := alert.New(ctx, store, acfgAlerts)
	if err != nil {
		return err
	}
	api.Register(srv)
	api.RegisterAlerts(srv, alerts)
	wcfg := webmon.Config{Allow: allow, DeepInterval: *deepInterval, Retention: *retention, DNS: &dnscheck.Resolver{Server: *dnsServer}}
	if *domainFiles != "" {
		if wcfg.Domains, err = domainlist.LoadFiles(strings.Split(*domainFiles, ",")...); err != nil {
			return err
		}
		log.Info("domain lists loaded", "domains", wcfg.Domains.Len())
	}
	if wcfg.Evidence, err = evidence.Open(filepath.Join(sf.data, "evidence")); err != nil {
		return err
	}
	if *chromiumPath != "none" {
		policy := fetch.Restricted(allow...)
		pool, err := render.New(render.Config{Exec: *chromiumPath, Allow: policy.PermitsHost})
		if err != nil {
			log.Info("JavaScript rendering and screenshots unavailable", "reason", err)
		} else {
			defer pool.Close()
			wcfg.Render = pool
		}
	}
	monitors := webmon.New(store, alerts, wcfg, log)
	api.RegisterMonitors(srv, monitors)
	slots := fitPollSlots(int(*pollSlots), log)
	agents, err := fleet.New(store, alerts, fleet.Config{KeyFile: filepath.Join(sf.data, "fleet-task-signing.key"), Heartbeat: *agentHeartbeat, PollSlots: slots}, log)
	if err != nil {
		return err
	}
	agents.HandleEvents(ransom.EventKind, ransom.AlertOnDetection(alerts))
	agents.HandleEvents(ransom.WebshellEventKind, ransom.AlertOnWebshell(alerts))
	agents.HandleEvents(ransom.FIMEventKind, ransom.AlertOnFIMChange(alerts))
	api.RegisterFleet(srv, agents)
	ui.Register(srv)
	ui.RegisterAlerts(srv, alerts)
	ui.RegisterMonitors(srv, monitors)
	ui.RegisterFleet(srv, agents)
	go sweepSessions(ctx, store, log)
	go agents.Run(ctx)
	go alerts.Run(ctx, *tick, log)
	go func() {
		if err := monitors.Run(ctx); err != nil {
			log.Error("website monitoring stopped", "err", err)
		}
	}()

	err = srv.Serve(ctx, func(addr net.Addr) {
		url := fmt.Sprintf("%s://%s/", scheme, displayAddr(addr))
		log.Info("listening", "url", url, "version", version())
		if firstPassword != "" {
			// Printed once to the terminal, never logged.
			fmt.Fprintf(env.Stdout, "\n  canhgac is running at %s\n  First start: log in as  admin  with password  %s\n  (you will be asked to change it)\n\n", url, firstPassword)
		} else {
			fmt.Fprintf(env.Stdout, "canhgac is running at %s\n", url)
		}
	})
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	log.Info("stopped")
	return err
}

// listenDisplay turns a listen address into one users can reach.
func listenDisplay(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		if name, err := os.Hostname(); err == nil {
			host = name
		}
	}
	return net.JoinHostPort(host, port)
}

// fileClock reads the current time (RFC 3339) from a file; for tests only.
//
// A file it cannot read or parse (caught mid-write) keeps the last time
// read: falling back to the real time for one reading once put a Tết-night
// escalation in December, when no one was on the roster.
func fileClock(path string) func() time.Time {
	var mu sync.Mutex
	var last time.Time
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		b, err := os.ReadFile(path)
		if err == nil {
			if t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(b))); err == nil {
				last = t
			}
		}
		if last.IsZero() {
			return time.Now()
		}
		return last
	}
}

func displayAddr(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return addr.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// firstStart creates the province root agency and an admin with a random
// password on an empty database, returning the password to print.
func firstStart(ctx context.Context, store *storage.Store) (string, error) {
	actor := model.Actor{Scope: model.System}
	if n, err := store.AgencyCount(ctx); err != nil {
		return "", err
	} else if n == 0 {
		root := model.Agency{Name: "Sở Thông tin và Truyền thông", Code: "STTTT", Kind: model.AgencyProvince}
		if err := store.CreateAgency(ctx, actor, &root); err != nil {
			return "", fmt.Errorf("first start: %w", err)
		}
	}
	if n, err := store.UserCount(ctx); err != nil || n > 0 {
		return "", err
	}
	pw := auth.RandomPassword()
	hash, err := auth.HashPassword(pw)
	if err != nil {
		return "", err
	}
	admin := model.User{Username: "admin", DisplayName: "Quản trị viên", Role: model.RoleAdmin, PasswordHash: hash, MustChangePassword: true}
	if err := store.CreateUser(ctx, actor, &admin); err != nil {
		return "", fmt.Errorf("first start: create admin: %w", err)
	}
	return pw, nil
}

func sweepSessions(ctx context.Context, store *storage.Store, log *slog.Logger) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if n, err := store.DeleteExpiredSessions(ctx, now); err != nil {
				log.Warn("sweep sessions", "err", err)
			} else if n > 0 {
				log.Info("expired sessions removed", "count", n)
			}
		}
	}
}

// fitPollSlots keeps the held long-polls to half of the open-file limit
// (each is a connection; the rest is for everything else), saying so when
// it has to lower them.
func fitPollSlots(slots int, log *slog.Logger) int {
	limit, ok := openFileLimit()
	if !ok {
		return slots
	}
	if room := int((min(limit, 1<<30) - min(limit, 256)) / 2); slots > room {
		log.Warn("agent long-poll slots lowered to fit the open-file limit; raise the limit (LimitNOFILE= in the systemd unit) for more",
			"asked", slots, "slots", max(room, 1), "open_file_limit", limit)
		return max(room, 1)
	}
	return slots
}

func envInt(env *Env, name string, def int64) int64 {
	if v := envDefault(env, name, ""); v != "" {
		if n, err := strconv.ParseInt(v, 10, 64); err == nil {
			return n
		}
	}
	return def
}

func envDuration(env *Env, name string, def time.Duration) time.Duration {
	if v := envDefault(env, name, ""); v != "" {
		if d, err := time.ParseDuration(v); err == nil {
			return d
		}
	}
	return def
}

// envBool reads CANHGAC_<NAME> as a boolean (1, t, true, yes, on).
func envBool(env *Env, name string) bool {
	v := strings.ToLower(envDefault(env, name, ""))
	if b, err := strconv.ParseBool(v); err == nil {
		return b
	}
	return v == "yes" || v == "on"
}

// certHosts are the names a self-signed certificate should cover: the
// listen host, this machine's hostname and, when listening on every
// interface, each of its addresses, so users reaching it by name or IP
// see a certificate that at least names what they typed.
func certHosts(listen string) []string {
	host, _, _ := net.SplitHostPort(listen)
	hosts := []string{}
	if host != "" && host != "0.0.0.0" && host != "::" {
		hosts = append(hosts, host)
	}
	if name, err := os.Hostname(); err == nil && name != "" {
		hosts = append(hosts, name)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		if addrs, err := net.InterfaceAddrs(); err == nil {
			for _, a := range addrs {
				if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && !ipn.IP.IsLinkLocalUnicast() {
					hosts = append(hosts, ipn.IP.String())
				}
			}
		}
	}
	return hosts
}
