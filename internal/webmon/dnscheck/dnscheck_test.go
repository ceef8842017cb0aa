package dnscheck_test

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"

	"canhgac/internal/webmon/dnscheck"
)

// zone is a small authoritative DNS server on 127.0.0.1 whose records the
// test can change, standing in for the province's resolver.
type zone struct {
	mu      sync.Mutex
	records map[string][]string // "name TYPE" → values
	addr    string
}

func newZone(t *testing.T) *zone {
	z := &zone{records: map[string][]string{}}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	z.addr = pc.LocalAddr().String()
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(z.serve)}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return z
}

func (z *zone) set(name, typ string, values ...string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	z.records[dns.Fqdn(name)+" "+typ] = values
}

func (z *zone) serve(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	z.mu.Lock()
	defer z.mu.Unlock()
	q := req.Question[0]
	typ := dns.TypeToString[q.Qtype]
	known := false
	for k := range z.records {
		if strings.HasPrefix(k, strings.ToLower(q.Name)+" ") {
			known = true
		}
	}
	for _, v := range z.records[strings.ToLower(q.Name)+" "+typ] {
		rr, err := dns.NewRR(q.Name + " 60 IN " + typ + " " + v)
		if err == nil {
			m.Answer = append(m.Answer, rr)
		}
	}
	if !known {
		m.Rcode = dns.RcodeNameError
	}
	w.WriteMsg(m)
}

func TestSnapshotAndHijack(t *testing.T) {
	z := newZone(t)
	z.set("syt.example.gov.vn", "A", "203.113.131.10", "203.113.131.11")
	z.set("syt.example.gov.vn", "AAAA", "2001:ee0:100::10")
	z.set("syt.example.gov.vn", "NS", "ns1.vnpt.vn.", "ns2.vnpt.vn.")
	z.set("syt.example.gov.vn", "MX", "10 mail.syt.example.gov.vn.")
	z.set("www.syt.example.gov.vn", "A", "203.113.131.10")
	r := &dnscheck.Resolver{Server: z.addr}
	ctx := context.Background()
	base, err := r.Snapshot(ctx, "syt.example.gov.vn")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(base.A, ",") != "203.113.131.10,203.113.131.11" || len(base.AAAA) != 1 || strings.Join(base.NS, ",") != "ns1.vnpt.vn,ns2.vnpt.vn" ||
		strings.Join(base.MX, ",") != "mail.syt.example.gov.vn" {
		t.Fatalf("baseline %+v", base)
	}
	// A www host with no NS of its own takes them from its zone.
	www, err := r.Snapshot(ctx, "www.syt.example.gov.vn.")
	if err != nil || len(www.NS) != 2 || len(www.A) != 1 {
		t.Fatalf("www: %+v %v", www, err)
	}
	// Same answers: no change.
	again, _ := r.Snapshot(ctx, "syt.example.gov.vn")
	if c := dnscheck.Compare(base, again); len(c) != 0 {
		t.Fatalf("unchanged DNS reported %v", c)
	}
	// A server added behind the old ones: a change, not a hijack.
	z.set("syt.example.gov.vn", "A", "203.113.131.10", "203.113.131.11", "203.113.131.12")
	cur, _ := r.Snapshot(ctx, "syt.example.gov.vn")
	c := dnscheck.Compare(base, cur)
	if len(c) != 1 || c[0].Record != "A" || c[0].Hijack || c[0].Added[0] != "203.113.131.12" {
		t.Fatalf("added address: %v", c)
	}
	// All addresses moved abroad and new name servers: a hijack.
	z.set("syt.example.gov.vn", "A", "45.77.1.2")
	z.set("syt.example.gov.vn", "NS", "ns1.evil-dns.example.", "ns2.evil-dns.example.")
	cur, _ = r.Snapshot(ctx, "syt.example.gov.vn")
	c = dnscheck.Compare(base, cur)
	hijacks := map[string]bool{}
	for _, x := range c {
		hijacks[x.Record] = x.Hijack
	}
	if !hijacks["A"] || !hijacks["NS"] {
		t.Fatalf("hijack not flagged: %v", c)
	}
	// A name that does not exist is an error.
	if _, err := r.Snapshot(ctx, "khong-co.example.gov.vn"); err == nil {
		t.Fatal("missing host gave no error")
	}
	if _, err := r.Snapshot(ctx, " "); err == nil {
		t.Fatal("empty host gave no error")
	}
}
