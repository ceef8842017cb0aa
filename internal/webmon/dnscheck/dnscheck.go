// Package dnscheck watches a website's DNS for hijacking: it records the
// A, AAAA, NS and MX answers for a host and reports how a later lookup
// differs from that baseline. A changed name server set, or addresses that
// no longer overlap the baseline's, is how a hijacked domain shows up
// before anyone notices the website itself.
package dnscheck

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"
)

// Answers is what DNS said about a host at one moment. Each list is
// sorted and lower-cased, so two snapshots compare as sets.
type Answers struct {
	A    []string `json:"a"`
	AAAA []string `json:"aaaa"`
	NS   []string `json:"ns"`
	MX   []string `json:"mx"`
}

// Resolver looks names up through one DNS server, or the system's when
// Server is empty.
type Resolver struct {
	// Server is "host:port" of the DNS server to ask (the province's
	// resolver, or a test server).
	Server  string
	Timeout time.Duration
}

func (r *Resolver) net() *net.Resolver {
	if r.Server == "" {
		return net.DefaultResolver
	}
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, r.Server)
	}}
}

// Snapshot looks up a host's A, AAAA, NS and MX records. NS and MX are
// asked of the registered domain the host belongs to when the host has
// none of its own (www.syt.example.gov.vn → syt.example.gov.vn …). A host
// that does not exist is an error; missing record types are empty lists.
func (r *Resolver) Snapshot(ctx context.Context, host string) (Answers, error) {
	host = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(host)), ".")
	if host == "" {
		return Answers{}, errors.New("dnscheck: empty host name")
	}
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	res := r.net()
	var a Answers
	ips, err := res.LookupIPAddr(ctx, host)
	if err != nil && !notFound(err) {
		return a, fmt.Errorf("look up %s: %w", host, err)
	}
	for _, ip := range ips {
		if ip.IP.To4() != nil {
			a.A = append(a.A, ip.IP.String())
		} else {
			a.AAAA = append(a.AAAA, ip.IP.String())
		}
	}
	for zone := host; zone != ""; zone = parent(zone) {
		nss, err := res.LookupNS(ctx, zone)
		if err != nil && !notFound(err) {
			return a, fmt.Errorf("look up NS of %s: %w", zone, err)
		}
		for _, ns := range nss {
			a.NS = append(a.NS, strings.TrimSuffix(strings.ToLower(ns.Host), "."))
		}
		mxs, err := res.LookupMX(ctx, zone)
		if err != nil && !notFound(err) {
			return a, fmt.Errorf("look up MX of %s: %w", zone, err)
		}
		for _, mx := range mxs {
			a.MX = append(a.MX, strings.TrimSuffix(strings.ToLower(mx.Host), "."))
		}
		if len(a.NS) > 0 || strings.Count(zone, ".") <= 1 {
			break
		}
	}
	if len(a.A) == 0 && len(a.AAAA) == 0 && len(a.NS) == 0 {
		return a, fmt.Errorf("look up %s: no such host", host)
	}
	a.normalize()
	return a, nil
}

func parent(zone string) string {
	_, rest, ok := strings.Cut(zone, ".")
	if !ok || !strings.Contains(rest, ".") {
		return ""
	}
	return rest
}

func notFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

func (a *Answers) normalize() {
	for _, l := range []*[]string{&a.A, &a.AAAA, &a.NS, &a.MX} {
		slices.Sort(*l)
		*l = slices.Compact(*l)
		if *l == nil {
			*l = []string{}
		}
	}
}

// Change is one difference from the baseline.
type Change struct {
	Record  string   `json:"record"` // A, AAAA, NS or MX
	Added   []string `json:"added"`
	Removed []string `json:"removed"`
	// Hijack marks changes that look like a takeover rather than routine
	// work: a new name server set, or addresses with nothing in common
	// with the baseline's.
	Hijack bool `json:"hijack"`
}

func (c Change) String() string {
	return fmt.Sprintf("%s +%v -%v", c.Record, c.Added, c.Removed)
}

// Compare lists how cur differs from base. Adding an address beside the
// old ones (a new server behind the load balancer) is a change; replacing
// them all, or changing name servers, is flagged as a possible hijack.
func Compare(base, cur Answers) []Change {
	base.normalize()
	cur.normalize()
	var out []Change
	for _, r := range []struct {
		name      string
		old, new_ []string
	}{{"A", base.A, cur.A}, {"AAAA", base.AAAA, cur.AAAA}, {"NS", base.NS, cur.NS}, {"MX", base.MX, cur.MX}} {
		added, removed := diff(r.old, r.new_)
		if len(added) == 0 && len(removed) == 0 {
			continue
		}
		c := Change{Record: r.name, Added: added, Removed: removed}
		switch r.name {
		case "NS":
			c.Hijack = true
		case "A", "AAAA":
			c.Hijack = len(r.old) > 0 && len(r.new_) > 0 && !overlaps(r.old, r.new_)
		}
		out = append(out, c)
	}
	return out
}

func diff(old, cur []string) (added, removed []string) {
	for _, x := range cur {
		if !slices.Contains(old, x) {
			added = append(added, x)
		}
	}
	for _, x := range old {
		if !slices.Contains(cur, x) {
			removed = append(removed, x)
		}
	}
	return added, removed
}

func overlaps(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}
