package fetch_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"canhgac/internal/webmon/fetch"
)

var ctx = context.Background()

func server(t *testing.T, h http.HandlerFunc) *httptest.Server {
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}

func TestFetchPassesProbeHeaders(t *testing.T) {
	var ua, ref string
	s := server(t, func(w http.ResponseWriter, r *http.Request) {
		ua, ref = r.UserAgent(), r.Referer()
		fmt.Fprint(w, "<html><title>Cổng thông tin</title></html>")
	})
	f := fetch.New(fetch.Config{})
	resp, err := f.Fetch(ctx, fetch.Request{URL: s.URL, UserAgent: "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		Referer: "https://www.google.com/search?q=so+y+te"})
	if err != nil || resp.Status != 200 || !strings.Contains(string(resp.Body), "Cổng thông tin") {
		t.Fatalf("fetch: %+v %v", resp, err)
	}
	if !strings.Contains(ua, "Googlebot") || !strings.Contains(ref, "google.com") {
		t.Fatalf("probe headers not sent: %q %q", ua, ref)
	}
	// A server error is an answer, not a failure.
	s500 := server(t, func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 503) })
	resp, err = f.Fetch(ctx, fetch.Request{URL: s500.URL})
	if err != nil || resp.Status != 503 {
		t.Fatalf("503: %+v %v", resp, err)
	}
}

func TestBodiesAreCapped(t *testing.T) {
	big := strings.Repeat("a", 3<<20)
	s := server(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, big) })
	f := fetch.New(fetch.Config{MaxBytes: 1 << 20})
	resp, err := f.Fetch(ctx, fetch.Request{URL: s.URL})
	if err != nil || !resp.Truncated || len(resp.Body) != 1<<20 {
		t.Fatalf("plain oversize body: truncated=%v len=%d err=%v", resp != nil && resp.Truncated, len(resp.Body), err)
	}
}

// A small gzip body that inflates to gigabytes is refused, not read.
func TestDecompressionBombRefused(t *testing.T) {
	var bomb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&bomb, gzip.BestCompression)
	zero := make([]byte, 1<<20)
	for i := 0; i < 64; i++ { // 64 MiB of zeros, ~64 KB compressed
		zw.Write(zero)
	}
	zw.Close()
	s := server(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(bomb.Bytes())
	})
	f := fetch.New(fetch.Config{})
	start := time.Now()
	_, err := f.Fetch(ctx, fetch.Request{URL: s.URL})
	if fetch.KindOf(err) != fetch.KindTooLarge {
		t.Fatalf("bomb: %v", err)
	}
	t.Logf("refused a %d-byte bomb in %v", bomb.Len(), time.Since(start))

	// An honest gzip page is decoded.
	var page bytes.Buffer
	zw = gzip.NewWriter(&page)
	fmt.Fprint(zw, "<html><body>Trang chủ</body></html>")
	zw.Close()
	s2 := server(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(page.Bytes())
	})
	resp, err := f.Fetch(ctx, fetch.Request{URL: s2.URL})
	if err != nil || !strings.Contains(string(resp.Body), "Trang chủ") {
		t.Fatalf("gzip page: %v", err)
	}
}

func TestRedirectsAreLimited(t *testing.T) {
	var s *httptest.Server
	s = server(t, func(w http.ResponseWriter, r *http.Request) {
		var n int
		fmt.Sscanf(r.URL.Path, "/r/%d", &n)
		if n < 3 {
			http.Redirect(w, r, fmt.Sprintf("/r/%d", n+1), http.StatusFound)
			return
		}
		if r.URL.Path == "/r/3" {
			fmt.Fprint(w, "arrived")
			return
		}
	})
	f := fetch.New(fetch.Config{MaxRedirects: 3})
	resp, err := f.Fetch(ctx, fetch.Request{URL: s.URL + "/r/0"})
	if err != nil || string(resp.Body) != "arrived" || len(resp.Redirects) != 3 || !strings.HasSuffix(resp.URL, "/r/3") {
		t.Fatalf("3 redirects: %+v %v", resp, err)
	}
	f = fetch.New(fetch.Config{MaxRedirects: 2})
	_, err = f.Fetch(ctx, fetch.Request{URL: s.URL + "/r/0"})
	if fetch.KindOf(err) != fetch.KindRedirects {
		t.Fatalf("over the limit: %v", err)
	}
}

// An officer's monitor may not reach loopback or metadata addresses, even
// through a redirect; an administrator can allow a range.
func TestAddressPolicy(t *testing.T) {
	inner := server(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "internal admin page") })
	f := fetch.New(fetch.Config{})
	_, err := f.Fetch(ctx, fetch.Request{URL: inner.URL, Policy: fetch.Restricted()})
	if fetch.KindOf(err) != fetch.KindBlocked {
		t.Fatalf("loopback under the restricted policy: %v", err)
	}
	for _, ip := range []string{"127.0.0.1", "::1", "169.254.169.254", "0.0.0.0", "224.0.0.1", "::ffff:127.0.0.1", "fe80::1"} {
		if fetch.Restricted().Permits(netip.MustParseAddr(ip)) {
			t.Errorf("%s permitted", ip)
		}
	}
	for _, ip := range []string{"203.113.131.1", "10.20.0.5", "2001:ee0::1"} {
		if !fetch.Restricted().Permits(netip.MustParseAddr(ip)) {
			t.Errorf("%s refused", ip)
		}
	}
	// A redirect from an allowed address to a forbidden one is refused too.
	// 127.0.0.2 stands for the agency's server; 127.0.0.1 for the inside.
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Skipf("cannot listen on 127.0.0.2: %v", err)
	}
	outer := &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, inner.URL, http.StatusFound)
	})}}
	outer.Start()
	defer outer.Close()
	allowOuter := fetch.Restricted(netip.MustParsePrefix("127.0.0.2/32"))
	_, err = f.Fetch(ctx, fetch.Request{URL: outer.URL, Policy: allowOuter})
	if fetch.KindOf(err) != fetch.KindBlocked {
		t.Fatalf("redirect into a forbidden address: %v", err)
	}
	// With the inside allowed as well, the same fetch works.
	both := fetch.Restricted(netip.MustParsePrefix("127.0.0.0/8"))
	resp, err := f.Fetch(ctx, fetch.Request{URL: outer.URL, Policy: both})
	if err != nil || string(resp.Body) != "internal admin page" {
		t.Fatalf("allowed range: %v", err)
	}
}

// At most PerHost fetches reach one host at once.
func TestPerHostConcurrency(t *testing.T) {
	var cur, peak atomic.Int32
	s := server(t, func(w http.ResponseWriter, r *http.Request) {
		n := cur.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
		cur.Add(-1)
	})
	f := fetch.New(fetch.Config{PerHost: 2})
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.Fetch(ctx, fetch.Request{URL: s.URL}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if p := peak.Load(); p > 2 || p < 1 {
		t.Fatalf("peak concurrency %d, want at most 2", p)
	}
}

func TestFailureKinds(t *testing.T) {
	f := fetch.New(fetch.Config{Timeout: 300 * time.Millisecond})
	slow := server(t, func(w http.ResponseWriter, r *http.Request) { time.Sleep(2 * time.Second) })
	if _, err := f.Fetch(ctx, fetch.Request{URL: slow.URL}); fetch.KindOf(err) != fetch.KindTimeout {
		t.Errorf("slow server: %v", err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	if _, err := f.Fetch(ctx, fetch.Request{URL: "http://" + addr}); fetch.KindOf(err) != fetch.KindConnect {
		t.Errorf("closed port: %v", err)
	}
	// .invalid never resolves (RFC 6761); a slow resolver gets time to say so.
	if _, err := fetch.New(fetch.Config{Timeout: 20 * time.Second}).Fetch(ctx, fetch.Request{URL: "http://khong-ton-tai.invalid/"}); fetch.KindOf(err) != fetch.KindDNS {
		t.Errorf("unknown host: %v", err)
	}
	for _, bad := range []string{"ftp://x", "javascript:alert(1)", "", "http://"} {
		if _, err := f.Fetch(ctx, fetch.Request{URL: bad}); fetch.KindOf(err) != fetch.KindBadURL {
			t.Errorf("%q: %v", bad, err)
		}
	}
	// A certificate nobody vouches for is a TLS failure.
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer ts.Close()
	if _, err := f.Fetch(ctx, fetch.Request{URL: ts.URL}); fetch.KindOf(err) != fetch.KindTLS {
		t.Errorf("untrusted certificate: %v", err)
	}
	// Trusted, the fetch reports the certificate's expiry.
	pool := x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	tf := fetch.New(fetch.Config{RootCAs: pool})
	resp, err := tf.Fetch(ctx, fetch.Request{URL: ts.URL})
	if err != nil || !resp.CertNotAfter.Equal(ts.Certificate().NotAfter) {
		t.Fatalf("trusted TLS: %v %v", resp, err)
	}
	var fe *fetch.Error
	_, err = f.Fetch(ctx, fetch.Request{URL: ts.URL})
	if !errors.As(err, &fe) || fe.Error() == "" {
		t.Fatal("fetch errors are *fetch.Error")
	}
}
