package webmon_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"canhgac/internal/alert"
	"canhgac/internal/model"
	"canhgac/internal/storage"
	"canhgac/internal/storage/storagetest"
	"canhgac/internal/webmon"
	"canhgac/internal/webmon/dnscheck"
	"canhgac/internal/webmon/evidence"
	"canhgac/internal/webmon/fetch"
	"canhgac/internal/webmon/page"
)

func openAlerts(t *testing.T, e *env, kind string) []alert.Alert {
	t.Helper()
	p, err := e.alerts.List(ctx, model.System, alert.Filter{Kind: kind, States: []alert.State{alert.StateOpen}})
	must(t, err)
	return p.Items
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// testCA issues certificates for local TLS servers.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newCA(t *testing.T) *testCA {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "canhgac test CA"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(365 * 24 * time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	must(t, err)
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

func (ca *testCA) issue(t *testing.T, notAfter time.Time, ips []net.IP, names ...string) tls.Certificate {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: "site"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: notAfter, IPAddresses: ips, DNSNames: names, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	must(t, err)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// A certificate 10 days from expiry raises tls_expiring at the 14-day
// threshold; one for another name raises tls_invalid saying why; a good
// certificate resolves both.
func TestCertificateAlerts(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ca := newCA(t)
		e := newEnv(t, s, webmon.Config{Fetch: fetch.Config{RootCAs: ca.pool}})
		var mu sync.Mutex
		// A host name, so that the client sends SNI and the server's
		// GetCertificate picks the test's certificate.
		current := ca.issue(t, time.Now().Add(10*24*time.Hour), nil, "localhost")
		srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, "<html><title>Sở Y tế</title><body><p>Cổng thông tin</p></body></html>")
		}))
		srv.TLS = &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			mu.Lock()
			defer mu.Unlock()
			c := current
			return &c, nil
		}}
		srv.StartTLS()
		defer srv.Close()
		m := e.monitor(t, e.deptA, strings.Replace(srv.URL, "127.0.0.1", "localhost", 1), nil)

		if o, err := e.svc.CheckNow(ctx, m); err != nil || !o.Up {
			t.Fatalf("check: %+v %v", o, err)
		}
		a := openAlerts(t, e, "webmon.tls_expiring")
		if len(a) != 1 || !strings.HasSuffix(a[0].DedupKey, ":14") || !strings.Contains(a[0].Title, "14") {
			t.Fatalf("expiring certificate: %+v", a)
		}

		mu.Lock()
		current = ca.issue(t, time.Now().Add(200*24*time.Hour), nil, "other.example.gov.vn")
		mu.Unlock()
		srv.CloseClientConnections()
		m, _ = e.svc.Get(ctx, model.System, m.ID)
		if o, _ := e.svc.CheckNow(ctx, m); o.Up || o.Kind != fetch.KindTLS {
			t.Fatalf("a certificate for another name passed: %+v", o)
		}
		a = openAlerts(t, e, "webmon.tls_invalid")
		if len(a) != 1 || a[0].Severity != alert.High {
			t.Fatalf("invalid certificate: %+v", a)
		}
		full, _ := e.alerts.Get(ctx, model.System, a[0].ID)
		if !strings.Contains(full.Details, "hostname_mismatch") {
			t.Fatalf("the alert does not say what is wrong: %s", full.Details)
		}

		mu.Lock()
		current = ca.issue(t, time.Now().Add(200*24*time.Hour), nil, "localhost")
		mu.Unlock()
		srv.CloseClientConnections()
		m, _ = e.svc.Get(ctx, model.System, m.ID)
		if o, _ := e.svc.CheckNow(ctx, m); !o.Up {
			t.Fatalf("renewed certificate: %+v", o)
		}
		if a := openAlerts(t, e, "webmon.tls_"); len(a) != 0 {
			t.Fatalf("a renewed certificate left alerts open: %+v", a)
		}
	})
}

// zone is an authoritative DNS server on 127.0.0.1 whose answers the test
// changes.
type zone struct {
	mu sync.Mutex
	a  []string
	ns []string
}

func (z *zone) serve(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	z.mu.Lock()
	defer z.mu.Unlock()
	q := req.Question[0]
	var vals []string
	switch q.Qtype {
	case dns.TypeA:
		vals = z.a
	case dns.TypeNS:
		vals = z.ns
	}
	for _, v := range vals {
		if rr, err := dns.NewRR(fmt.Sprintf("%s 60 IN %s %s", q.Name, dns.TypeToString[q.Qtype], v)); err == nil {
			m.Answer = append(m.Answer, rr)
		}
	}
	w.WriteMsg(m)
}

// The first DNS check learns the answers; replacing every address and the
// name servers raises dns_changed as a suspected hijack; going back
// resolves it.
func TestDNSChangeIsReported(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		z := &zone{a: []string{"203.0.113.10"}, ns: []string{"ns1.vnpt.vn."}}
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		must(t, err)
		srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(z.serve)}
		go srv.ActivateAndServe()
		defer srv.Shutdown()
		e := newEnv(t, s, webmon.Config{DNS: &dnscheck.Resolver{Server: pc.LocalAddr().String(), Timeout: 2 * time.Second}})
		m := e.monitor(t, e.deptA, "https://syt.example.gov.vn/", nil)

		if ch, err := e.svc.CheckDNS(ctx, m); err != nil || len(ch) != 0 {
			t.Fatalf("first check: %v %v", ch, err)
		}
		if ch, _ := e.svc.CheckDNS(ctx, m); len(ch) != 0 {
			t.Fatalf("unchanged answers reported: %v", ch)
		}
		z.mu.Lock()
		z.a, z.ns = []string{"198.51.100.66"}, []string{"ns1.attacker.example."}
		z.mu.Unlock()
		ch, err := e.svc.CheckDNS(ctx, m)
		must(t, err)
		if len(ch) != 2 {
			t.Fatalf("changes: %v", ch)
		}
		a := openAlerts(t, e, "webmon.dns_changed")
		if len(a) != 1 || a[0].Severity != alert.High {
			t.Fatalf("dns_changed: %+v", a)
		}
		z.mu.Lock()
		z.a, z.ns = []string{"203.0.113.10"}, []string{"ns1.vnpt.vn."}
		z.mu.Unlock()
		if _, err := e.svc.CheckDNS(ctx, m); err != nil {
			t.Fatal(err)
		}
		if a := openAlerts(t, e, "webmon.dns_changed"); len(a) != 0 {
			t.Fatalf("answers back to the baseline left the alert open: %+v", a)
		}
	})
}

const portalBody = `<html><head><title>Cổng thông tin Sở Y tế</title><link rel="alternate" type="application/rss+xml" href="/rss"></head><body>
<h1>Cổng thông tin điện tử Sở Y tế</h1><ul><li><a href="/tin/1">Hội nghị chuyển đổi số</a></li><li><a href="/tin/2">Thông báo tiêm chủng</a></li></ul>
<p>Sở Y tế tổ chức hội nghị triển khai công tác phòng chống dịch bệnh mùa đông xuân, bảo đảm an toàn cho người dân trong tỉnh.</p>`

const linkFarm = `<div style="display:none"><a href="https://nhacai-uytin-88.top/">nhà cái uy tín</a> <a href="https://keo-nha-cai.top/">kèo nhà cái</a>
<a href="https://tai-xiu-online.top/">tài xỉu online</a> <a href="https://no-hu-doi-thuong.vip/">nổ hũ đổi thưởng</a></div>`

const gamblingPage = `<html><head><title>Nhà cái uy tín - Cá cược bóng đá</title></head><body><h1>Top nhà cái uy tín nhất 2026</h1>
<p>Cá cược bóng đá, tài xỉu, nổ hũ, bắn cá đổi thưởng, đá gà trực tuyến, xóc đĩa online — đăng ký nhận thưởng ngay hôm nay.</p>
<a href="https://nhacai-uytin-88.top/">Đăng ký</a> <a href="https://keo-nha-cai.top/">Soi kèo</a></body></html>`

// site is a small agency website on 127.0.0.1: a portal, a sitemap, a
// feed, article pages, and switches to plant gambling spam on a sub-page,
// the 404 handler, or only for Googlebot.
type site struct {
	cloak, subpage, notFound atomic.Bool
	doorway                  atomic.Bool
	srv                      *httptest.Server
}

func newSite(t *testing.T) *site {
	st := &site{}
	st.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		base := "http://" + r.Host
		switch r.URL.Path {
		case "/":
			fmt.Fprint(w, portalBody)
			if st.cloak.Load() && strings.Contains(r.UserAgent(), "Googlebot") {
				fmt.Fprint(w, linkFarm)
			}
			fmt.Fprint(w, "</body></html>")
		case "/sitemap.xml":
			fmt.Fprintf(w, `<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>%s/tin/1</loc></url><url><loc>%s/gioi-thieu</loc></url>`, base, base)
			if st.doorway.Load() {
				fmt.Fprintf(w, `<url><loc>%s/nha-cai-uy-tin</loc></url>`, base)
			}
			fmt.Fprint(w, `</urlset>`)
		case "/rss":
			fmt.Fprintf(w, `<?xml version="1.0"?><rss version="2.0"><channel><title>Tin</title><item><title>Tin 2</title><link>%s/tin/2</link></item></channel></rss>`, base)
		case "/gioi-thieu":
			if st.subpage.Load() {
				fmt.Fprint(w, gamblingPage)
				return
			}
			fmt.Fprint(w, `<html><title>Giới thiệu</title><body><p>Sở Y tế là cơ quan chuyên môn thuộc Ủy ban nhân dân tỉnh, tham mưu về y tế.</p></body></html>`)
		case "/nha-cai-uy-tin":
			fmt.Fprint(w, gamblingPage)
		case "/tin/1", "/tin/2":
			fmt.Fprintf(w, `<html><title>Tin %s</title><body><p>Nội dung bài viết về hoạt động của ngành y tế trong tỉnh.</p></body></html>`, r.URL.Path)
		default:
			w.WriteHeader(http.StatusNotFound)
			if st.notFound.Load() {
				fmt.Fprint(w, gamblingPage)
				return
			}
			fmt.Fprint(w, `<html><title>Không tìm thấy</title><body><p>Trang không tồn tại.</p></body></html>`)
		}
	}))
	t.Cleanup(st.srv.Close)
	return st
}

// Googlebot sees a hidden link farm the browser does not: the cloaking
// probe raises website_cloaking with evidence, and resolves it when the
// site is clean.
func TestCloakingProbe(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ev, err := evidence.Open(t.TempDir())
		must(t, err)
		e := newEnv(t, s, webmon.Config{Evidence: ev})
		st := newSite(t)
		m := e.monitor(t, e.deptA, st.srv.URL+"/", nil)

		if rep := e.svc.Deep(ctx, m); rep.Cloak.Cloaked {
			t.Fatalf("a clean site was called cloaking: %+v", rep.Cloak)
		}
		st.cloak.Store(true)
		rep := e.svc.Deep(ctx, m)
		if !rep.Cloak.Cloaked {
			t.Fatalf("Googlebot-only link farm missed: %+v", rep.Cloak)
		}
		a := openAlerts(t, e, "webmon.website_cloaking")
		if len(a) != 1 || a[0].Severity != alert.Critical {
			t.Fatalf("website_cloaking: %+v", a)
		}
		snaps, err := e.svc.Snapshots(ctx, model.System, m.ID, 10)
		must(t, err)
		if len(snaps) == 0 || snaps[0].Kind != "cloak_googlebot" {
			t.Fatalf("no evidence of what Googlebot saw: %+v", snaps)
		}
		html, err := e.svc.Evidence(snaps[0].HTMLKey)
		if err != nil || !strings.Contains(string(html), "nhacai-uytin-88.top") {
			t.Fatalf("evidence: %v", err)
		}
		st.cloak.Store(false)
		e.svc.Deep(ctx, m)
		if a := openAlerts(t, e, "webmon.website_cloaking"); len(a) != 0 {
			t.Fatal("the cleaned site left website_cloaking open")
		}
	})
}

// Sub-pages come from the sitemap, the feed and same-site links; gambling
// spam planted on one of them or on the 404 handler raises
// website_defaced; a doorway page new in the sitemap is reported.
func TestSubpagesAndNotFound(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		e := newEnv(t, s, webmon.Config{})
		st := newSite(t)
		m := e.monitor(t, e.deptA, st.srv.URL+"/", nil)

		rep := e.svc.Deep(ctx, m)
		seen := map[string]bool{}
		for _, p := range rep.Pages {
			seen[strings.TrimPrefix(p.URL, st.srv.URL)] = true
			if p.Verdict == page.Defaced {
				t.Fatalf("clean sub-page judged defaced: %+v", p)
			}
		}
		for _, want := range []string{"/gioi-thieu", "/tin/1", "/tin/2"} {
			if !seen[want] {
				t.Fatalf("sub-page %s not checked (checked %v)", want, seen)
			}
		}
		if p := rep.Pages[len(rep.Pages)-1]; p.Kind != "not_found" || p.Status != http.StatusNotFound {
			t.Fatalf("404 page not fetched: %+v", p)
		}

		st.subpage.Store(true)
		st.notFound.Store(true)
		rep = e.svc.Deep(ctx, m)
		var bad []string
		for _, p := range rep.Pages {
			if p.Verdict == page.Defaced {
				bad = append(bad, p.Kind+" "+strings.TrimPrefix(p.URL, st.srv.URL))
			}
		}
		if len(bad) != 2 || !strings.Contains(strings.Join(bad, ","), "/gioi-thieu") || !strings.Contains(strings.Join(bad, ","), "not_found") {
			t.Fatalf("defaced sub-pages: %v", bad)
		}
		a := openAlerts(t, e, "webmon.website_defaced")
		if len(a) != 1 || !strings.Contains(a[0].Title, "2") {
			t.Fatalf("sub-page alert: %+v", a)
		}

		st.subpage.Store(false)
		st.notFound.Store(false)
		st.doorway.Store(true)
		rep = e.svc.Deep(ctx, m)
		if len(rep.NewSitemap) != 1 || !strings.HasSuffix(rep.NewSitemap[0], "/nha-cai-uy-tin") {
			t.Fatalf("new sitemap entries: %v", rep.NewSitemap)
		}
		if a := openAlerts(t, e, "webmon.website_changed"); len(a) != 1 || !strings.Contains(a[0].Title, "1") {
			t.Fatalf("new doorway page not reported: %+v", a)
		}
		// The new entry is fetched first, and it is a gambling page.
		a = openAlerts(t, e, "webmon.website_defaced")
		if len(a) != 1 {
			t.Fatalf("the doorway page itself was not judged defaced: %+v", rep.Pages)
		}
	})
}

// A defaced fetch is kept as evidence beside the baseline it was learned
// from; the diff lists the added hidden links; a page that stays defaced
// is one snapshot, not one per check; retention prunes old snapshots and
// their objects but keeps the baseline.
func TestEvidenceDiffAndRetention(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		ev, err := evidence.Open(t.TempDir())
		must(t, err)
		e := newEnv(t, s, webmon.Config{Evidence: ev, Retention: time.Hour})
		var injected atomic.Bool
		var n atomic.Int64
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, portalBody)
			fmt.Fprintf(w, "<p>Lượt truy cập: %d</p>", n.Add(1))
			if injected.Load() {
				fmt.Fprint(w, linkFarm)
			}
			fmt.Fprint(w, "</body></html>")
		}))
		defer srv.Close()
		m := e.monitor(t, e.deptA, srv.URL+"/", nil)
		for range webmon.LearnFetches {
			_, err := e.svc.CheckNow(ctx, m)
			must(t, err)
		}
		injected.Store(true)
		for range 3 {
			_, err := e.svc.CheckNow(ctx, m)
			must(t, err)
		}
		snaps, err := e.svc.Snapshots(ctx, model.System, m.ID, 10)
		must(t, err)
		if len(snaps) != 2 || snaps[0].Kind != "page" || snaps[0].Verdict != "defaced" || snaps[1].Kind != "baseline" {
			t.Fatalf("snapshots: %+v", snaps)
		}
		d, err := e.svc.Diff(ctx, model.System, m.ID, snaps[0].ID)
		must(t, err)
		if d.Baseline == nil || len(d.AddedHidden) != 1 || len(d.AddedLinks) != 4 || d.AddedLinks[0].Hidden == "" {
			t.Fatalf("diff: baseline %v, hidden %+v, links %+v", d.Baseline, d.AddedHidden, d.AddedLinks)
		}
		full := openAlerts(t, e, "webmon.website_defaced")
		if len(full) != 1 {
			t.Fatalf("alerts %+v", full)
		}
		got, _ := e.alerts.Get(ctx, model.System, full[0].ID)
		if !strings.Contains(got.Details, fmt.Sprintf("/monitors/%d/snapshots/%d", m.ID, snaps[0].ID)) {
			t.Fatalf("the alert does not link the evidence: %s", got.Details)
		}
		// Another agency's officer cannot reach it.
		officer := model.Scope{Role: model.RoleOfficer, Username: "officer", AgencyPath: agencyPath(t, s, e.deptB.ID)}
		if _, err := e.svc.Diff(ctx, officer, m.ID, snaps[0].ID); err == nil {
			t.Fatal("an officer of another agency read the evidence")
		}

		// Two hours later, retention drops the defaced snapshot, keeps the baseline.
		s.SetClock(func() time.Time { return time.Now().Add(2 * time.Hour) })
		defer s.SetClock(time.Now)
		must(t, e.svc.Prune(ctx))
		snaps, _ = e.svc.Snapshots(ctx, model.System, m.ID, 10)
		if len(snaps) != 1 || snaps[0].Kind != "baseline" {
			t.Fatalf("after retention: %+v", snaps)
		}
		if _, err := e.svc.Evidence(snaps[0].HTMLKey); err != nil {
			t.Fatalf("the baseline's HTML was pruned: %v", err)
		}
	})
}

func agencyPath(t *testing.T, s *storage.Store, id int64) string {
	a, err := s.GetAgency(ctx, model.System, id)
	must(t, err)
	return a.Path
}
