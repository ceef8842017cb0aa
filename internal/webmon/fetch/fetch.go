// Package fetch is website monitoring's HTTP client: it fetches a page the
// way a careful monitor must. Responses are capped (and decompression
// bombs refused), redirects are limited, every address dialled (including
// after a redirect or a DNS change) is checked against the monitor's
// address policy, and each host gets only a few connections at a time so
// that a small agency server is never hammered.
package fetch

import (
	"compress/flate"
	"compress/gzip"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Config tunes a Fetcher.
type Config struct {
	MaxBytes     int64         // largest body kept, after decompression (default 5 MiB)
	MaxRedirects int           // redirects followed (default 5)
	Timeout      time.Duration // whole fetch, redirects included (default 30 s)
	PerHost      int           // concurrent fetches per host (default 2)
	UserAgent    string        // default "canhgac-webmon/1 (+https://github.com/canhgac)"
	// RootCAs, if set, replaces the system roots (tests, private CAs).
	RootCAs *x509.CertPool
}

// DefaultMaxBytes caps a page.
const DefaultMaxBytes = 5 << 20

// maxRatio refuses bodies that inflate more than this: no real page does.
const maxRatio = 200

// Policy says which addresses a monitor may reach. Monitors created by
// agency officers get Restricted(): no loopback, link-local, cloud
// metadata, unspecified or multicast addresses, unless an administrator
// allowed a range.
type Policy struct {
	// BlockSpecial refuses loopback, link-local (incl. 169.254.169.254),
	// unspecified, multicast and the IPv4-mapped forms of those.
	BlockSpecial bool
	// Allow lists ranges reachable even when BlockSpecial would refuse them.
	Allow []netip.Prefix
}

// Restricted is the policy for monitors an agency officer creates.
func Restricted(allow ...netip.Prefix) *Policy { return &Policy{BlockSpecial: true, Allow: allow} }

// Permits reports whether an address may be dialled.
func (p *Policy) Permits(ip netip.Addr) bool {
	if p == nil || !p.BlockSpecial {
		return true
	}
	ip = ip.Unmap()
	for _, a := range p.Allow {
		if a.Contains(ip) {
			return true
		}
	}
	return !(ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() ||
		ip.IsMulticast() || ip.IsUnspecified() || metadata.Contains(ip))
}

// PermitsHost reports whether every address a host name (or literal)
// resolves to may be reached. It is for clients that dial on their own,
// such as the headless browser; a name that does not resolve is refused.
func (p *Policy) PermitsHost(host string) bool {
	if p == nil || !p.BlockSpecial {
		return true
	}
	host = strings.Trim(host, "[]")
	if ip, err := netip.ParseAddr(host); err == nil {
		return p.Permits(ip)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(ips) == 0 {
		return false
	}
	for _, ip := range ips {
		if !p.Permits(ip) {
			return false
		}
	}
	return true
}

func (p *Policy) key() string {
	if p == nil || !p.BlockSpecial {
		return "open"
	}
	parts := []string{"restricted"}
	for _, a := range p.Allow {
		parts = append(parts, a.String())
	}
	return strings.Join(parts, ",")
}

// metadata is the cloud metadata service range (also link-local).
var metadata = netip.MustParsePrefix("169.254.0.0/16")

// Request is one fetch. UserAgent and Referer let the cloaking probe look
// like Googlebot, or like a visitor arriving from a Google search.
type Request struct {
	URL       string
	UserAgent string
	Referer   string
	Policy    *Policy
}

// Response is what a fetch saw.
type Response struct {
	URL       string // final URL after redirects
	Status    int
	Header    http.Header
	Body      []byte
	Truncated bool // the body was longer than MaxBytes and was cut
	Redirects []string
	RemoteIP  string
	Duration  time.Duration
	// CertNotAfter is the leaf certificate's expiry for HTTPS pages.
	CertNotAfter time.Time
	CertSubject  string
}

// Kind classifies a failed fetch for availability reports.
type Kind string

// Failure kinds.
const (
	KindDNS       Kind = "dns"
	KindConnect   Kind = "connect"
	KindTLS       Kind = "tls"
	KindTimeout   Kind = "timeout"
	KindBlocked   Kind = "blocked_address"
	KindRedirects Kind = "too_many_redirects"
	KindTooLarge  Kind = "too_large"
	KindProtocol  Kind = "protocol"
	KindBadURL    Kind = "bad_url"
)

// Error is a failed fetch with its kind.
type Error struct {
	Kind Kind
	Err  error
}

func (e *Error) Error() string { return string(e.Kind) + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the kind of a fetch error ("" for nil).
func KindOf(err error) Kind {
	if err == nil {
		return ""
	}
	var fe *Error
	if errors.As(err, &fe) {
		return fe.Kind
	}
	return KindProtocol
}

// Fetcher fetches pages; it is safe for concurrent use.
type Fetcher struct {
	cfg   Config
	mu    sync.Mutex
	hosts map[string]chan struct{}
	tr    map[string]*http.Transport // one per distinct policy
}

// New returns a Fetcher.
func New(cfg Config) *Fetcher {
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.MaxRedirects <= 0 {
		cfg.MaxRedirects = 5
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.PerHost <= 0 {
		cfg.PerHost = 2
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = "canhgac-webmon/1"
	}
	return &Fetcher{cfg: cfg, hosts: map[string]chan struct{}{}, tr: map[string]*http.Transport{}}
}

// transport returns the transport for a policy, dialling through Dialer.
func (f *Fetcher) transport(p *Policy) *http.Transport {
	key := p.key()
	f.mu.Lock()
	defer f.mu.Unlock()
	if t, ok := f.tr[key]; ok {
		return t
	}
	t := &http.Transport{
		DialContext:           Dialer(p),
		TLSClientConfig:       &tls.Config{RootCAs: f.cfg.RootCAs, MinVersion: tls.VersionTLS10},
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 20 * time.Second,
		MaxIdleConnsPerHost:   f.cfg.PerHost,
		MaxConnsPerHost:       f.cfg.PerHost,
		IdleConnTimeout:       90 * time.Second,
		// Bodies are decompressed here, with a bound on the output.
		DisableCompression: true,
		ForceAttemptHTTP2:  true,
	}
	f.tr[key] = t
	return t
}

// Dialer returns a dial function that enforces a policy: it resolves the
// host, checks each address, and dials that very address, so a DNS answer
// cannot change between the check and the connection. Other checks that
// open their own connections (certificates) use it too.
func Dialer(p *Policy) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return nil, &Error{Kind: KindDNS, Err: err}
		}
		var last error
		for _, ip := range ips {
			if !p.Permits(ip) {
				last = &Error{Kind: KindBlocked, Err: fmt.Errorf("%s resolves to %s, which this monitor may not reach", host, ip)}
				continue
			}
			c, err := d.DialContext(ctx, network, net.JoinHostPort(ip.Unmap().String(), port))
			if err == nil {
				return c, nil
			}
			last = &Error{Kind: KindConnect, Err: err}
		}
		if last == nil {
			last = &Error{Kind: KindDNS, Err: fmt.Errorf("%s has no address", host)}
		}
		return nil, last
	}
}

// slot waits for one of the host's PerHost fetch slots.
func (f *Fetcher) slot(ctx context.Context, host string) (func(), error) {
	f.mu.Lock()
	ch, ok := f.hosts[host]
	if !ok {
		ch = make(chan struct{}, f.cfg.PerHost)
		f.hosts[host] = ch
	}
	f.mu.Unlock()
	select {
	case ch <- struct{}{}:
		return func() { <-ch }, nil
	case <-ctx.Done():
		return nil, &Error{Kind: KindTimeout, Err: ctx.Err()}
	}
}

// Fetch gets a page. A non-2xx status is not an error: the Response says
// what the server answered; errors are for when there was no answer.
func (f *Fetcher) Fetch(ctx context.Context, req Request) (*Response, error) {
	u, err := url.Parse(req.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, &Error{Kind: KindBadURL, Err: fmt.Errorf("%q is not an http(s) URL", req.URL)}
	}
	ctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	release, err := f.slot(ctx, strings.ToLower(u.Hostname()))
	if err != nil {
		return nil, err
	}
	defer release()

	resp := &Response{}
	client := &http.Client{Transport: f.transport(req.Policy), CheckRedirect: func(r *http.Request, via []*http.Request) error {
		if len(via) > f.cfg.MaxRedirects {
			return &Error{Kind: KindRedirects, Err: fmt.Errorf("more than %d redirects", f.cfg.MaxRedirects)}
		}
		resp.Redirects = append(resp.Redirects, r.URL.String())
		if r.URL.Scheme != "http" && r.URL.Scheme != "https" {
			return &Error{Kind: KindBadURL, Err: fmt.Errorf("redirect to %q", r.URL)}
		}
		return nil
	}}
	hr, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, &Error{Kind: KindBadURL, Err: err}
	}
	ua := req.UserAgent
	if ua == "" {
		ua = f.cfg.UserAgent
	}
	hr.Header.Set("User-Agent", ua)
	hr.Header.Set("Accept", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8")
	hr.Header.Set("Accept-Encoding", "gzip, deflate")
	hr.Header.Set("Accept-Language", "vi-VN,vi;q=0.9,en;q=0.5")
	if req.Referer != "" {
		hr.Header.Set("Referer", req.Referer)
	}
	start := time.Now()
	r, err := client.Do(hr)
	if err != nil {
		return nil, classify(ctx, err)
	}
	defer r.Body.Close()
	resp.URL, resp.Status, resp.Header = r.Request.URL.String(), r.StatusCode, r.Header
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		leaf := r.TLS.PeerCertificates[0]
		resp.CertNotAfter, resp.CertSubject = leaf.NotAfter, leaf.Subject.CommonName
	}
	body, truncated, err := f.readBody(r)
	resp.Duration = time.Since(start)
	if err != nil {
		return resp, classify(ctx, err)
	}
	resp.Body, resp.Truncated = body, truncated
	return resp, nil
}

// readBody reads at most MaxBytes of the decoded body. A compressed body
// that inflates past MaxBytes, or by more than maxRatio, is refused.
func (f *Fetcher) readBody(r *http.Response) ([]byte, bool, error) {
	raw := &countingReader{r: io.LimitReader(r.Body, f.cfg.MaxBytes+1)}
	var body io.Reader = raw
	enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding")))
	switch enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(raw)
		if err != nil {
			return nil, false, &Error{Kind: KindProtocol, Err: fmt.Errorf("bad gzip body: %w", err)}
		}
		defer zr.Close()
		body = zr
	case "deflate":
		body = flate.NewReader(raw)
	default:
		return nil, false, &Error{Kind: KindProtocol, Err: fmt.Errorf("unsupported Content-Encoding %q", enc)}
	}
	out := make([]byte, 0, 64<<10)
	buf := make([]byte, 32<<10)
	for {
		n, err := body.Read(buf)
		out = append(out, buf[:n]...)
		if int64(len(out)) > f.cfg.MaxBytes {
			if enc != "" && enc != "identity" {
				return nil, false, &Error{Kind: KindTooLarge, Err: fmt.Errorf("compressed body inflates past %d bytes", f.cfg.MaxBytes)}
			}
			return out[:f.cfg.MaxBytes], true, nil
		}
		if enc != "" && enc != "identity" && raw.n > 0 && int64(len(out)) > maxRatio*raw.n && len(out) > 1<<20 {
			return nil, false, &Error{Kind: KindTooLarge, Err: fmt.Errorf("compressed body inflates more than %d times: a decompression bomb", maxRatio)}
		}
		if err == io.EOF {
			return out, false, nil
		}
		if err != nil {
			return nil, false, err
		}
	}
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// classify turns a client error into a fetch error kind.
func classify(ctx context.Context, err error) error {
	var fe *Error
	if errors.As(err, &fe) {
		return fe
	}
	if ctx.Err() != nil || errors.Is(err, context.DeadlineExceeded) {
		return &Error{Kind: KindTimeout, Err: err}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &Error{Kind: KindTimeout, Err: err}
	}
	var ce *tls.CertificateVerificationError
	var ue x509.UnknownAuthorityError
	var he x509.HostnameError
	var ie x509.CertificateInvalidError
	var re tls.RecordHeaderError
	if errors.As(err, &ce) || errors.As(err, &ue) || errors.As(err, &he) || errors.As(err, &ie) || errors.As(err, &re) {
		return &Error{Kind: KindTLS, Err: err}
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return &Error{Kind: KindConnect, Err: err}
	}
	return &Error{Kind: KindProtocol, Err: err}
}
