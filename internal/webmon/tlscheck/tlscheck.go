// Package tlscheck inspects a website's certificate: whether browsers will
// trust it (chain, host name, validity dates) and how soon it expires, with
// warnings at 30, 14 and 7 days.
package tlscheck

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"time"
)

// Problem names why a certificate is not trusted.
type Problem string

// Problems.
const (
	OK               Problem = ""
	Expired          Problem = "expired"
	NotYetValid      Problem = "not_yet_valid"
	UnknownAuthority Problem = "unknown_authority" // self-signed or incomplete chain
	HostnameMismatch Problem = "hostname_mismatch"
	Invalid          Problem = "invalid"
)

// WarnDays are the thresholds at which an expiring certificate is reported.
var WarnDays = []int{30, 14, 7}

// Result is what the check found.
type Result struct {
	Host     string    `json:"host"`
	Subject  string    `json:"subject"`
	Issuer   string    `json:"issuer"`
	DNSNames []string  `json:"dns_names"`
	NotAfter time.Time `json:"not_after"`
	DaysLeft int       `json:"days_left"`
	// Warn is the smallest threshold in WarnDays the certificate is within
	// (30, 14 or 7), or 0 when it is not yet near expiry.
	Warn    int     `json:"warn"`
	Problem Problem `json:"problem"`
	Detail  string  `json:"detail,omitempty"`
}

// Checker dials sites and checks their certificates.
type Checker struct {
	Roots   *x509.CertPool // nil: the system roots
	Timeout time.Duration
	Now     func() time.Time
	// Dial, if set, opens the TCP connection (website monitoring passes
	// its address policy's dialer, so certificate checks cannot reach
	// addresses the monitor may not).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
}

// Check connects to addr ("host:port") and checks the certificate for
// serverName. A connection failure is an error; an untrusted certificate
// is a Result with a Problem.
func (c *Checker) Check(ctx context.Context, addr, serverName string) (Result, error) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: timeout},
		// Verification happens below, so that an untrusted certificate can
		// still be described.
		Config: &tls.Config{ServerName: serverName, InsecureSkipVerify: true, MinVersion: tls.VersionTLS10}}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var conn net.Conn
	var err error
	if c.Dial != nil {
		var raw net.Conn
		if raw, err = c.Dial(ctx, "tcp", addr); err == nil {
			tc := tls.Client(raw, d.Config)
			if err = tc.HandshakeContext(ctx); err != nil {
				raw.Close()
			}
			conn = tc
		}
	} else {
		conn, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return Result{Host: serverName}, fmt.Errorf("TLS connection to %s: %w", addr, err)
	}
	defer conn.Close()
	state := conn.(*tls.Conn).ConnectionState()
	if len(state.PeerCertificates) == 0 {
		return Result{Host: serverName}, errors.New("the server sent no certificate")
	}
	return Inspect(serverName, state.PeerCertificates, c.Roots, now()), nil
}

// Inspect judges a certificate chain as sent by a server, at time now.
func Inspect(serverName string, chain []*x509.Certificate, roots *x509.CertPool, now time.Time) Result {
	leaf := chain[0]
	r := Result{Host: serverName, Subject: leaf.Subject.CommonName, Issuer: leaf.Issuer.CommonName, DNSNames: leaf.DNSNames, NotAfter: leaf.NotAfter}
	r.DaysLeft = int(leaf.NotAfter.Sub(now).Hours() / 24)
	for _, d := range WarnDays {
		if leaf.NotAfter.Sub(now) <= time.Duration(d)*24*time.Hour {
			r.Warn = d
		}
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{DNSName: serverName, Roots: roots, Intermediates: inter, CurrentTime: now})
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ie x509.CertificateInvalidError
	switch {
	case err == nil:
	case now.After(leaf.NotAfter):
		r.Problem, r.Detail = Expired, fmt.Sprintf("expired on %s", leaf.NotAfter.Format(time.DateOnly))
	case now.Before(leaf.NotBefore):
		r.Problem, r.Detail = NotYetValid, fmt.Sprintf("valid only from %s", leaf.NotBefore.Format(time.DateOnly))
	case errors.As(err, &he):
		r.Problem, r.Detail = HostnameMismatch, err.Error()
	case errors.As(err, &ua):
		r.Problem, r.Detail = UnknownAuthority, err.Error()
	case errors.As(err, &ie) && ie.Reason == x509.Expired:
		r.Problem, r.Detail = Expired, err.Error()
	default:
		r.Problem, r.Detail = Invalid, err.Error()
	}
	return r
}
