package tlscheck_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"

	"canhgac/internal/webmon/tlscheck"
)

var now = time.Date(2027, 2, 6, 2, 0, 0, 0, time.UTC)

// ca issues certificates for the test servers.
type ca struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newCA(t *testing.T) *ca {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test CA tỉnh"}, NotBefore: now.AddDate(-1, 0, 0),
		NotAfter: now.AddDate(5, 0, 0), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return &ca{cert: c, key: key, pool: pool}
}

func (c *ca) issue(t *testing.T, name string, notBefore, notAfter time.Time) tls.Certificate {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: notBefore, NotAfter: notAfter, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, &key.PublicKey, c.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// serve runs a TLS server on 127.0.0.1 presenting cert.
func serve(t *testing.T, cert tls.Certificate) string {
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				c.(*tls.Conn).Handshake()
				c.Close()
			}(c)
		}
	}()
	return ln.Addr().String()
}

func TestCertificateChecks(t *testing.T) {
	authority := newCA(t)
	other := newCA(t)
	chk := &tlscheck.Checker{Roots: authority.pool, Now: func() time.Time { return now }}
	for _, c := range []struct {
		name    string
		cert    tls.Certificate
		problem tlscheck.Problem
		warn    int
	}{
		{"valid for a year", authority.issue(t, "syt.example.gov.vn", now.AddDate(0, -1, 0), now.AddDate(1, 0, 0)), tlscheck.OK, 0},
		{"29 days left", authority.issue(t, "syt.example.gov.vn", now.AddDate(0, -1, 0), now.Add(29*24*time.Hour)), tlscheck.OK, 30},
		{"10 days left", authority.issue(t, "syt.example.gov.vn", now.AddDate(0, -1, 0), now.Add(10*24*time.Hour)), tlscheck.OK, 14},
		{"3 days left", authority.issue(t, "syt.example.gov.vn", now.AddDate(0, -1, 0), now.Add(3*24*time.Hour)), tlscheck.OK, 7},
		{"expired", authority.issue(t, "syt.example.gov.vn", now.AddDate(-1, 0, 0), now.Add(-24*time.Hour)), tlscheck.Expired, 7},
		{"not yet valid", authority.issue(t, "syt.example.gov.vn", now.Add(24*time.Hour), now.AddDate(1, 0, 0)), tlscheck.NotYetValid, 0},
		{"other host's certificate", authority.issue(t, "stc.example.gov.vn", now.AddDate(0, -1, 0), now.AddDate(1, 0, 0)), tlscheck.HostnameMismatch, 0},
		{"untrusted issuer", other.issue(t, "syt.example.gov.vn", now.AddDate(0, -1, 0), now.AddDate(1, 0, 0)), tlscheck.UnknownAuthority, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			addr := serve(t, c.cert)
			r, err := chk.Check(context.Background(), addr, "syt.example.gov.vn")
			if err != nil {
				t.Fatal(err)
			}
			if r.Problem != c.problem || r.Warn != c.warn {
				t.Fatalf("problem %q warn %d (detail %q), want %q and %d", r.Problem, r.Warn, r.Detail, c.problem, c.warn)
			}
		})
	}
	// No TLS at all is a connection error, not a verdict.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go func() {
		c, err := ln.Accept()
		if err == nil {
			c.Write([]byte("HTTP/1.0 400 Bad Request\r\n\r\n"))
			c.Close()
		}
	}()
	defer ln.Close()
	if _, err := chk.Check(context.Background(), ln.Addr().String(), "syt.example.gov.vn"); err == nil {
		t.Fatal("a plain-text server gave no error")
	}
}
