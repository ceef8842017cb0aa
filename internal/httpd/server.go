// Package httpd is canhgac's HTTP server: the router, the middleware every
// request passes (recovery, logging, metrics, rate and body limits,
// authentication, CSRF), health and metrics endpoints, TLS and graceful
// shutdown. The JSON API and the web UI register their routes on it.
package httpd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"canhgac/internal/auth"
	"canhgac/internal/metrics"
	"canhgac/internal/storage"
)

// Config tunes the server.
type Config struct {
	Addr string
	// MaxBodyBytes bounds every request body (default 1 MiB).
	MaxBodyBytes int64
	// RatePerIP and BurstPerIP bound requests per client address.
	RatePerIP  float64
	BurstPerIP int
	TLSCert    string
	TLSKey     string
	Version    string
}

// Server is the control plane's HTTP server.
type Server struct {
	cfg     Config
	Store   *storage.Store
	Auth    *auth.Service
	Metrics *metrics.Registry
	Router  *Router
	log     *slog.Logger
	limit   *ipLimiter
	root    http.Handler
}

// New builds the server with its health and metrics routes.
func New(cfg Config, store *storage.Store, authn *auth.Service, log *slog.Logger) *Server {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	s := &Server{cfg: cfg, Store: store, Auth: authn, Metrics: metrics.NewRegistry(), log: log,
		limit: newIPLimiter(cfg.RatePerIP, cfg.BurstPerIP)}
	s.Router = &Router{mux: http.NewServeMux(), srv: s}
	s.registerPoolGauges()
	s.Router.Public("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ok", "version": cfg.Version})
	})
	s.Router.Public("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := store.Ping(ctx); err != nil {
			WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "database unreachable"})
			return
		}
		WriteJSON(w, http.StatusOK, map[string]string{"status": "ready", "database": string(store.Backend())})
	})
	s.Router.Public("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		s.Metrics.WriteTo(w)
	})
	cop := http.NewCrossOriginProtection()
	s.root = s.recoverer(s.logged(cop.Handler(s.guard(s.Router.mux))))
	return s
}

func (s *Server) registerPoolGauges() {
	db := s.Store.DB()
	s.Metrics.Gauge("canhgac_db_open_connections", "Open database connections.", func() float64 { return float64(db.Stats().OpenConnections) })
	s.Metrics.Gauge("canhgac_db_in_use_connections", "Database connections in use.", func() float64 { return float64(db.Stats().InUse) })
	s.Metrics.Gauge("canhgac_db_idle_connections", "Idle database connections.", func() float64 { return float64(db.Stats().Idle) })
	s.Metrics.Gauge("canhgac_db_wait_count_total", "Waits for a database connection.", func() float64 { return float64(db.Stats().WaitCount) })
	s.Metrics.Gauge("canhgac_db_wait_seconds_total", "Time spent waiting for a database connection.", func() float64 { return db.Stats().WaitDuration.Seconds() })
}

// Handler is the whole server as an http.Handler.
func (s *Server) Handler() http.Handler { return s.root }

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// instrument counts and times requests per route pattern.
func (s *Server) instrument(pattern string, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		s.Metrics.Add("canhgac_http_requests_total", "HTTP requests by route and status.",
			metrics.Labels("route", pattern, "code", strconv.Itoa(sw.status)), 1)
		s.Metrics.ObserveDuration("canhgac_http_request_duration_seconds", "HTTP request latency by route.",
			metrics.Labels("route", pattern), time.Since(start))
	})
}

func (s *Server) recoverer(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic in handler", "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				WriteError(w, http.StatusInternalServerError, CodeInternal, "", "internal error")
			}
		}()
		h.ServeHTTP(w, r)
	})
}

// logged writes one JSON log line per request. It never logs headers, bodies
// or query strings, which may carry secrets.
func (s *Server) logged(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if r.URL.Path == "/healthz" || r.URL.Path == "/metrics" || r.URL.Path == "/readyz" {
			return
		}
		user := ""
		if p := Principal(r); p != nil {
			user = p.User.Username
		}
		// Agents' routine traffic (20,000 agents are hundreds of requests
		// a second) is logged at debug level unless it went wrong.
		level := slog.LevelInfo
		if strings.HasPrefix(r.URL.Path, "/agent/") && sw.status < 400 {
			level = slog.LevelDebug
		}
		s.log.Log(r.Context(), level, "request", "method", r.Method, "path", r.URL.Path, "status", sw.status,
			"duration_ms", time.Since(start).Milliseconds(), "ip", ClientIP(r), "user", user)
	})
}

// guard applies per-address rate limits, the body limit, security headers and
// authentication before routing.
func (s *Server) guard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr := w.Header()
		hdr.Set("X-Content-Type-Options", "nosniff")
		hdr.Set("X-Frame-Options", "DENY")
		hdr.Set("Referrer-Policy", "same-origin")
		hdr.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'")
		if r.TLS != nil {
			hdr.Set("Strict-Transport-Security", "max-age=31536000")
		}
		// Enrolled agents are exempt: a whole agency's machines often share
		// one NAT address; the agent channel has its own admission control.
		agentCall := strings.HasPrefix(r.URL.Path, "/agent/v1/") && r.URL.Path != "/agent/v1/enroll"
		if r.URL.Path != "/healthz" && r.URL.Path != "/readyz" && !agentCall && !s.limit.allow(ClientIP(r)) {
			hdr.Set("Retry-After", "1")
			WriteError(w, http.StatusTooManyRequests, CodeRateLimited, "", "too many requests from %s", ClientIP(r))
			return
		}
		p, err := s.Auth.Authenticate(r)
		if err != nil && !errors.Is(err, auth.ErrNoCredentials) {
			s.log.Error("authenticate", "err", err)
			WriteError(w, http.StatusServiceUnavailable, CodeInternal, "", "authentication backend unavailable")
			return
		}
		if p != nil {
			r = WithPrincipal(r, p)
		}
		h.ServeHTTP(w, r)
	})
}

// Serve listens on cfg.Addr until ctx ends, then finishes in-flight requests
// (up to 30 s) before returning. ready, if not nil, receives the bound address.
func (s *Server) Serve(ctx context.Context, ready func(addr net.Addr)) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.Addr, err)
	}
	srv := &http.Server{
		Handler:           s.root,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      120 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	if s.cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(s.cfg.TLSCert, s.cfg.TLSKey)
		if err != nil {
			return fmt.Errorf("load TLS certificate: %w", err)
		}
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}}
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	if ready != nil {
		ready(ln.Addr())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
