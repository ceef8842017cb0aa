// Package agent is canhgac's endpoint agent: it enrolls with the server
// once, then keeps a heartbeat, long-polls for signed tasks and runs the
// typed ones it knows, and uploads its queued events. It talks HTTPS only
// to the server it enrolled with, pinning that server's certificate.
package agent

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// State is what an enrolled agent keeps on disk (mode 0600): whom it
// talks to and how it proves who it is.
type State struct {
	Server string `json:"server"`
	// Fingerprint is the pinned SHA-256 of the server's certificate (hex);
	// empty only for plain-HTTP test servers.
	Fingerprint      string `json:"fingerprint"`
	AgentID          int64  `json:"agent_id"`
	AgencyID         int64  `json:"agency_id"`
	Secret           string `json:"secret"`
	TaskKey          string `json:"task_key"`
	HeartbeatSeconds int    `json:"heartbeat_seconds"`
	MachineID        string `json:"machine_id"`
}

// LoadState reads the state file; a file others can read is refused, since
// it holds the agent's secret.
func LoadState(path string) (*State, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("agent state: %w (enroll first: canhgac agent enroll)", err)
	}
	if st.Mode().Perm()&0o077 != 0 && os.PathSeparator == '/' {
		return nil, fmt.Errorf("agent state %s: mode %v lets others read the agent's secret; chmod 600 it", path, st.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(data, &s); err != nil || s.Secret == "" || s.Server == "" {
		return nil, fmt.Errorf("agent state %s is damaged; enroll again", path)
	}
	return &s, nil
}

// Save writes the state file atomically with mode 0600.
func (s *State) Save(path string) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// NormalizeFingerprint accepts "AB:CD:…" or "abcd…" and returns lower-case
// hex without separators, or an error.
func NormalizeFingerprint(fp string) (string, error) {
	fp = strings.ToLower(strings.NewReplacer(":", "", " ", "").Replace(strings.TrimSpace(fp)))
	if b, err := hex.DecodeString(fp); err != nil || len(b) != sha256.Size {
		return "", errors.New("a server fingerprint is the SHA-256 of its certificate: 64 hex digits, colons allowed")
	}
	return fp, nil
}

// Client talks to the server over the agent channel.
type Client struct {
	base   string
	secret string
	hc     *http.Client
	// seen is the fingerprint of the server certificate on the last
	// connection (what enrollment pins); connections verify concurrently.
	mu   sync.Mutex
	seen string
}

func (c *Client) saw(fp string) {
	c.mu.Lock()
	c.seen = fp
	c.mu.Unlock()
}

// Seen is the fingerprint of the server's certificate on the last
// connection.
func (c *Client) Seen() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.seen
}

// NewClient returns a client for server. With a fingerprint the server's
// certificate must have exactly that SHA-256, whoever signed it; without
// one (first contact) it must be trusted by roots (nil: the system's).
// Plain http:// is allowed only with allowHTTP, for tests.
func NewClient(server, fingerprint, secret string, roots *x509.CertPool, allowHTTP bool) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(server, "/"))
	if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && allowHTTP)) {
		return nil, fmt.Errorf("server %q: must be an https:// URL", server)
	}
	c := &Client{base: u.String(), secret: secret}
	tc := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: roots, ClientSessionCache: tls.NewLRUClientSessionCache(2)}
	if fingerprint != "" {
		fp, err := NormalizeFingerprint(fingerprint)
		if err != nil {
			return nil, err
		}
		// Pinned: the certificate itself is the trust, not a CA.
		tc.InsecureSkipVerify = true
		tc.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("the server sent no certificate")
			}
			sum := sha256.Sum256(raw[0])
			if got := hex.EncodeToString(sum[:]); got != fp {
				return fmt.Errorf("server certificate %s is not the pinned %s", got, fp)
			}
			c.saw(fp)
			return nil
		}
	} else {
		tc.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) > 0 {
				sum := sha256.Sum256(cs.PeerCertificates[0].Raw)
				c.saw(hex.EncodeToString(sum[:]))
			}
			return nil
		}
	}
	tr := &http.Transport{TLSClientConfig: tc, Proxy: http.ProxyFromEnvironment, MaxIdleConnsPerHost: 2, IdleConnTimeout: 5 * time.Minute,
		TLSHandshakeTimeout: 15 * time.Second, ResponseHeaderTimeout: 90 * time.Second, ForceAttemptHTTP2: true,
		// Big uploads ask first (Expect: 100-continue), so a busy server's
		// 503 costs no body.
		ExpectContinueTimeout: 5 * time.Second}
	c.hc = &http.Client{Transport: tr, Timeout: 2 * time.Minute}
	return c, nil
}

// Close releases idle connections.
func (c *Client) Close() { c.hc.CloseIdleConnections() }

// CloseIdle closes connections not in use, so an agent between heartbeats
// holds none open; the next request resumes the TLS session cheaply.
func (c *Client) CloseIdle() { c.hc.CloseIdleConnections() }

// ErrRevoked means the server no longer accepts this agent's secret.
var ErrRevoked = errors.New("the server refused this agent's credential (revoked or unknown); enroll again")

// APIError is a non-2xx answer.
type APIError struct {
	Status  int
	Message string
	// RetryAfter is the server's Retry-After on 503 (busy) answers.
	RetryAfter time.Duration
}

func (e *APIError) Error() string { return fmt.Sprintf("server answered %d: %s", e.Status, e.Message) }

// call sends v as JSON (gzip-compressed when large) and decodes the answer
// into out.
func (c *Client) call(ctx context.Context, method, path string, v, out any) error {
	var body *encoded
	if v != nil {
		var err error
		if body, err = encode(v); err != nil {
			return err
		}
	}
	return c.send(ctx, method, path, body, out)
}

// encoded is a request body ready to send: JSON, gzip-compressed when
// large. An upload retried after a busy answer is sent from it again, not
// encoded again.
type encoded struct {
	data []byte
	gz   bool
}

func encode(v any) (*encoded, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	if len(data) <= 4<<10 {
		return &encoded{data: data}, nil
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(data)
	zw.Close()
	return &encoded{data: buf.Bytes(), gz: true}, nil
}

// send sends a prepared body (nil: none) and decodes the answer into out.
func (c *Client) send(ctx context.Context, method, path string, enc *encoded, out any) error {
	var body io.Reader
	gz := false
	if enc != nil {
		body, gz = bytes.NewReader(enc.data), enc.gz
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return err
	}
	if enc != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
		req.Header.Set("Expect", "100-continue")
	}
	if c.secret != "" {
		req.Header.Set("Authorization", "Bearer "+c.secret)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode == http.StatusUnauthorized && c.secret != "" {
		return ErrRevoked
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error struct{ Message string } `json:"error"`
		}
		json.Unmarshal(data, &e)
		ae := &APIError{Status: resp.StatusCode, Message: e.Error.Message}
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 && secs <= 3600 {
			ae.RetryAfter = time.Duration(secs) * time.Second
		}
		return ae
	}
	if out != nil && resp.StatusCode != http.StatusNoContent {
		return json.Unmarshal(data, out)
	}
	return nil
}
