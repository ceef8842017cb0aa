package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"canhgac/internal/model"
	"canhgac/internal/storage"
)

// Cookie and token names.
const (
	SessionCookie = "canhgac_session"
	TokenPrefix   = "cgk_"
	sessionPrefix = "cgs_"
)

// Errors from Login and Authenticate.
var (
	ErrBadCredentials = errors.New("wrong username or password")
	ErrNoCredentials  = errors.New("not logged in")
)

// RateLimitedError says a login was refused before checking the password.
type RateLimitedError struct{ RetryAfter time.Duration }

func (e *RateLimitedError) Error() string {
	return fmt.Sprintf("too many failed logins; try again in %s", e.RetryAfter.Round(time.Second))
}

// Config tunes sessions and login limits.
type Config struct {
	SessionTTL time.Duration
	// SecureCookies marks cookies Secure; set whenever TLS is on.
	SecureCookies bool
	// Failed logins allowed per account and per address within LockWindow.
	MaxFailsPerAccount int
	MaxFailsPerIP      int
	LockWindow         time.Duration
}

// DefaultConfig is a 12-hour session (one duty shift) and a lockout after 5
// wrong passwords for an account or 20 from one address within 15 minutes.
func DefaultConfig() Config {
	return Config{SessionTTL: 12 * time.Hour, MaxFailsPerAccount: 5, MaxFailsPerIP: 20, LockWindow: 15 * time.Minute}
}

// Service logs users in and authenticates requests.
type Service struct {
	store     *storage.Store
	cfg       Config
	byAccount *Limiter
	byIP      *Limiter
	now       func() time.Time
}

// New returns a Service over store.
func New(store *storage.Store, cfg Config) *Service {
	return &Service{
		store: store, cfg: cfg,
		byAccount: NewLimiter(cfg.MaxFailsPerAccount, cfg.LockWindow),
		byIP:      NewLimiter(cfg.MaxFailsPerIP, cfg.LockWindow),
		now:       time.Now,
	}
}

// Config returns the service's settings.
func (s *Service) Config() Config { return s.cfg }

// Login checks a username and password and opens a session. It returns the
// cookie value (shown to the browser once, stored only as a hash).
func (s *Service) Login(ctx context.Context, username, password, ip, userAgent string) (string, model.Session, model.User, error) {
	username = strings.ToLower(strings.TrimSpace(username))
	if blocked, wait := s.byIP.Blocked(ip); blocked {
		return "", model.Session{}, model.User{}, &RateLimitedError{wait}
	}
	if blocked, wait := s.byAccount.Blocked(username); blocked {
		s.store.AuditLoginFailure(ctx, ip, username, "locked", 0, nil)
		return "", model.Session{}, model.User{}, &RateLimitedError{wait}
	}
	u, err := s.store.UserByUsername(ctx, username)
	if err != nil && !errors.Is(err, model.ErrNotFound) {
		return "", model.Session{}, model.User{}, err
	}
	hash := u.PasswordHash
	if err != nil {
		hash = dummyHash
	}
	ok := CheckPassword(hash, password)
	if err != nil || !ok || u.Disabled {
		s.byIP.Fail(ip)
		s.byAccount.Fail(username)
		reason := "bad password"
		if err != nil {
			reason = "no such user"
		} else if u.Disabled && ok {
			reason = "disabled"
		}
		s.store.AuditLoginFailure(ctx, ip, username, reason, u.ID, u.AgencyID)
		return "", model.Session{}, model.User{}, ErrBadCredentials
	}
	s.byAccount.Reset(username)
	secret, hashed := NewSecret(sessionPrefix)
	csrf, _ := NewSecret("")
	now := s.now().UTC()
	sess := model.Session{TokenHash: hashed, UserID: u.ID, CSRFToken: csrf, IP: ip, UserAgent: userAgent,
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.SessionTTL)}
	actor := model.Actor{Scope: model.Scope{UserID: u.ID, Username: u.Username, Role: u.Role}, IP: ip}
	if err := s.store.CreateSession(ctx, actor, &sess, u.AgencyID); err != nil {
		return "", model.Session{}, model.User{}, err
	}
	return secret, sess, u, nil
}

// Logout ends the session behind a cookie value.
func (s *Service) Logout(ctx context.Context, p *model.Principal, ip string) error {
	if p == nil || p.Session == nil {
		return nil
	}
	return s.store.DeleteSession(ctx, model.Actor{Scope: p.Scope, IP: ip}, p.Session.TokenHash)
}

// Authenticate finds the caller of r from a bearer token or the session
// cookie. It returns ErrNoCredentials if there are none or they are invalid.
func (s *Service) Authenticate(r *http.Request) (*model.Principal, error) {
	ctx := r.Context()
	now := s.now()
	if h := r.Header.Get("Authorization"); h != "" {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || !strings.HasPrefix(tok, TokenPrefix) {
			return nil, ErrNoCredentials
		}
		_, u, path, err := s.store.TokenByHash(ctx, HashSecret(strings.TrimSpace(tok)), now)
		if errors.Is(err, model.ErrNotFound) {
			return nil, ErrNoCredentials
		}
		if err != nil {
			return nil, err
		}
		return &model.Principal{User: u, Scope: model.ScopeOf(u, path)}, nil
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil || !strings.HasPrefix(c.Value, sessionPrefix) {
		return nil, ErrNoCredentials
	}
	sess, u, path, err := s.store.SessionByHash(ctx, HashSecret(c.Value), now)
	if errors.Is(err, model.ErrNotFound) {
		return nil, ErrNoCredentials
	}
	if err != nil {
		return nil, err
	}
	return &model.Principal{User: u, Scope: model.ScopeOf(u, path), Session: &sess}, nil
}

// SessionCookieFor builds the cookie that carries a session.
func (s *Service) SessionCookieFor(secret string, expires time.Time) *http.Cookie {
	return &http.Cookie{Name: SessionCookie, Value: secret, Path: "/", Expires: expires,
		MaxAge: int(time.Until(expires).Seconds()), HttpOnly: true, Secure: s.cfg.SecureCookies, SameSite: http.SameSiteLaxMode}
}

// ClearCookie removes the session cookie from the browser.
func (s *Service) ClearCookie() *http.Cookie {
	return &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: s.cfg.SecureCookies, SameSite: http.SameSiteLaxMode}
}

// ChangePassword sets the caller's own password after checking the current one.
func (s *Service) ChangePassword(ctx context.Context, p *model.Principal, ip, current, next string) error {
	if !CheckPassword(p.User.PasswordHash, current) {
		return model.Invalid("current_password", "is wrong")
	}
	if err := model.ValidatePassword(next); err != nil {
		return err
	}
	if current == next {
		return model.Invalid("password", "must differ from the current one")
	}
	hash, err := HashPassword(next)
	if err != nil {
		return err
	}
	keep := ""
	if p.Session != nil {
		keep = p.Session.TokenHash
	}
	return s.store.SetPassword(ctx, model.Actor{Scope: p.Scope, IP: ip}, p.User.ID, hash, keep)
}

// CreateToken issues an API token for a user and returns its secret, shown once.
func (s *Service) CreateToken(ctx context.Context, actor model.Actor, userID int64, name string, ttl time.Duration) (string, model.APIToken, error) {
	secret, hash := NewSecret(TokenPrefix)
	t := model.APIToken{UserID: userID, Name: strings.TrimSpace(name), Prefix: secret[:len(TokenPrefix)+6]}
	if len(t.Name) > 100 {
		return "", t, model.Invalid("name", "is longer than 100 bytes")
	}
	if ttl > 0 {
		exp := s.now().UTC().Add(ttl)
		t.ExpiresAt = &exp
	}
	if err := s.store.CreateToken(ctx, actor, &t, hash); err != nil {
		return "", t, err
	}
	return secret, t, nil
}
