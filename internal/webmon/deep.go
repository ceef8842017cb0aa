package webmon

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"canhgac/internal/alert"
	"canhgac/internal/webmon/cloak"
	"canhgac/internal/webmon/crawl"
	"canhgac/internal/webmon/dnscheck"
	"canhgac/internal/webmon/fetch"
	"canhgac/internal/webmon/page"
)

// User agents and the referer of the cloaking probe's three views.
const (
	BrowserUA    = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
	GooglebotUA  = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
	GoogleSearch = "https://www.google.com/"
)

// maxSitemap bounds the sitemap URLs kept per monitor, and maxChildMaps
// the child sitemaps of an index that are read.
const (
	maxSitemap   = 5000
	maxChildMaps = 3
)

// DeepReport is what a deep check found. Deep checks run on their own,
// slower cadence (Config.DeepInterval) beside the availability checks:
// DNS against its baseline, the cloaking probe, and sub-pages (from the
// sitemap, feeds and same-site links, within the monitor's page budget)
// plus the site's 404 page, each judged for defacement on its own.
type DeepReport struct {
	DNS        []dnscheck.Change `json:"dns,omitempty"`
	DNSError   string            `json:"dns_error,omitempty"`
	Cloak      cloak.Result      `json:"cloak"`
	Pages      []PageVerdict     `json:"pages"`
	NewSitemap []string          `json:"new_sitemap,omitempty"`
}

// PageVerdict is one sub-page's judgement.
type PageVerdict struct {
	URL     string        `json:"url"`
	Kind    string        `json:"kind"` // subpage or not_found
	Status  int           `json:"status"`
	Verdict page.Verdict  `json:"verdict"`
	Score   float64       `json:"score"`
	Reasons []page.Reason `json:"reasons,omitempty"`
	Error   string        `json:"error,omitempty"`
}

// DeepChecks is how many deep checks have run.
func (s *Service) DeepChecks() int64 { return s.deepCount.Load() }

// deepDue reports whether a monitor's deep check is due, and if so books
// the next one. First deep checks are spread over DeepInterval.
func (s *Service) deepDue(m Monitor, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	next, ok := s.deepNext[m.ID]
	if !ok {
		next = now.Add(s.cfg.DeepInterval * time.Duration(uint64(m.ID)*104729%1000) / 1000)
		if s.cfg.DeepInterval <= time.Minute {
			next = now // tests: at once
		}
		s.deepNext[m.ID] = next
	}
	if now.Before(next) {
		return false
	}
	s.deepNext[m.ID] = now.Add(s.cfg.DeepInterval)
	return true
}

// Deep runs a monitor's deep checks now and raises or resolves
// dns_changed, website_cloaking and the sub-page website_defaced alert.
func (s *Service) Deep(ctx context.Context, m Monitor) DeepReport {
	s.deepCount.Add(1)
	var rep DeepReport
	u, err := url.Parse(m.URL)
	if err != nil {
		return rep
	}
	rep.DNS, err = s.CheckDNS(ctx, m)
	if err != nil {
		rep.DNSError = err.Error()
	}
	root := s.deepCloak(ctx, m, &rep)
	s.deepPages(ctx, m, u, root, &rep)
	now := s.store.Now()
	if _, err := s.store.DB().ExecContext(ctx, s.store.Rebind(`UPDATE monitors SET deep_checked_at = ? WHERE id = ?`), now, m.ID); err != nil {
		s.log.Error("deep check time", "monitor", m.ID, "err", err)
	}
	return rep
}

func (s *Service) raiseOrRecover(ctx context.Context, m Monitor, raise bool, a alert.Alert) {
	var err error
	if raise {
		a.Source, a.AssetID, a.AgencyID = Source, m.AssetID, &m.AgencyID
		_, err = s.alerts.Raise(ctx, a)
	} else {
		_, err = s.alerts.Recover(ctx, Source, a.DedupKey)
	}
	if err != nil {
		s.log.Error("webmon alert", "monitor", m.ID, "kind", a.Kind, "err", err)
	}
}

// CheckDNS compares the host's A/AAAA/NS/MX answers with the baseline
// taken at the first deep check. A change raises dns_changed (high when it
// looks like a takeover); answers back to the baseline resolve it.
// Accepting the page as the new baseline accepts the DNS answers too.
func (s *Service) CheckDNS(ctx context.Context, m Monitor) ([]dnscheck.Change, error) {
	u, err := url.Parse(m.URL)
	if err != nil {
		return nil, err
	}
	host := u.Hostname()
	if s.cfg.DNS == nil || host == "" || net.ParseIP(host) != nil {
		return nil, nil
	}
	cur, err := s.cfg.DNS.Snapshot(ctx, host)
	if err != nil {
		return nil, err
	}
	var raw string
	if err := s.store.DB().QueryRowContext(ctx, s.store.Rebind(`SELECT dns_baseline FROM monitors WHERE id = ?`), m.ID).Scan(&raw); err != nil {
		return nil, err
	}
	var base dnscheck.Answers
	if raw == "" || json.Unmarshal([]byte(raw), &base) != nil {
		data, _ := json.Marshal(cur)
		_, err := s.store.DB().ExecContext(ctx, s.store.Rebind(`UPDATE monitors SET dns_baseline = ? WHERE id = ?`), string(data), m.ID)
		return nil, err
	}
	changes := dnscheck.Compare(base, cur)
	sev, hijack := alert.Medium, false
	var lines []string
	for _, c := range changes {
		hijack = hijack || c.Hijack
		lines = append(lines, "- "+c.String())
	}
	if hijack {
		sev = alert.High
	}
	s.raiseOrRecover(ctx, m, len(changes) > 0, alert.Alert{Kind: "webmon.dns_changed", Severity: sev,
		DedupKey: fmt.Sprintf("monitor:%d:dns", m.ID), Title: "Bản ghi DNS thay đổi: " + host,
		Details: fmt.Sprintf("%s\nhijack suspected: %v\n%s", host, hijack, strings.Join(lines, "\n"))})
	return changes, nil
}

// view fetches the page one way for the cloaking probe.
func (s *Service) view(ctx context.Context, m Monitor, name, ua, referer string) (cloak.View, []byte) {
	v := cloak.View{Name: name}
	resp, err := s.fetchAs(ctx, m, m.URL, ua, referer)
	if err != nil {
		return v, nil
	}
	v.Status, v.FinalURL = resp.Status, resp.URL
	if f, err := page.Extract(resp.Body, resp.URL); err == nil {
		v.Features = f
	}
	return v, resp.Body
}

// deepCloak fetches the page as a browser, as Googlebot, and as a browser
// arriving from a Google search. Different link sets, content or
// redirects raise website_cloaking. It returns the browser view's
// features for sub-page discovery.
func (s *Service) deepCloak(ctx context.Context, m Monitor, rep *DeepReport) *page.Features {
	browser, _ := s.view(ctx, m, "browser", BrowserUA, "")
	if browser.Features == nil {
		return nil
	}
	bot, botBody := s.view(ctx, m, "googlebot", GooglebotUA, "")
	ref, refBody := s.view(ctx, m, "google_referer", BrowserUA, GoogleSearch)
	rep.Cloak = cloak.Compare(browser, bot, ref)
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", m.URL)
	for _, r := range rep.Cloak.Reasons {
		fmt.Fprintf(&b, "- %s: %s\n", r.Signal, r.Detail)
	}
	if rep.Cloak.Cloaked {
		// Keep what each differing view was served.
		for _, v := range []struct {
			view cloak.View
			body []byte
		}{{bot, botBody}, {ref, refBody}} {
			var own []page.Reason
			for _, r := range rep.Cloak.Reasons {
				if r.View == v.view.Name {
					own = append(own, page.Reason{Signal: r.Signal, Detail: r.Detail})
				}
			}
			if len(own) == 0 || len(v.body) == 0 {
				continue
			}
			res := page.Result{Verdict: page.Defaced, Score: 1, Reasons: own}
			if id := s.snapshot(ctx, m, "cloak_"+v.view.Name, v.view.FinalURL, v.body, res, false); id > 0 {
				fmt.Fprintf(&b, "evidence: /monitors/%d/snapshots/%d\n", m.ID, id)
			}
		}
	}
	s.raiseOrRecover(ctx, m, rep.Cloak.Cloaked, alert.Alert{Kind: "webmon.website_cloaking", Severity: alert.Critical,
		DedupKey: fmt.Sprintf("monitor:%d:cloaking", m.ID), Title: "Website che giấu nội dung với Google (cloaking): " + m.Name,
		Details: b.String()})
	return browser.Features
}

// deepPages discovers sub-pages and judges each on its own, plus the 404
// page. Any defaced one raises website_defaced for the sub-pages; URLs new
// in the sitemap since the last deep check are reported as a change (and
// fetched first).
func (s *Service) deepPages(ctx context.Context, m Monitor, u *url.URL, root *page.Features, rep *DeepReport) {
	origin := u.Scheme + "://" + u.Host
	sitemap := s.readSitemap(ctx, m, origin+"/sitemap.xml")
	var prevRaw string
	_ = s.store.DB().QueryRowContext(ctx, s.store.Rebind(`SELECT sitemap FROM monitors WHERE id = ?`), m.ID).Scan(&prevRaw)
	var prev []string
	if prevRaw != "" {
		_ = json.Unmarshal([]byte(prevRaw), &prev)
		rep.NewSitemap = crawl.NewEntries(prev, sitemap)
	}
	if len(sitemap) > 0 {
		data, _ := json.Marshal(sitemap)
		if _, err := s.store.DB().ExecContext(ctx, s.store.Rebind(`UPDATE monitors SET sitemap = ? WHERE id = ?`), string(data), m.ID); err != nil {
			s.log.Error("store sitemap", "monitor", m.ID, "err", err)
		}
	}
	var feed, links []string
	if root != nil {
		for _, l := range root.Links {
			low := strings.ToLower(l.URL)
			switch {
			case l.Tag == "link" && (strings.Contains(low, "rss") || strings.Contains(low, "feed") || strings.Contains(low, "atom")):
				if len(feed) == 0 {
					feed = s.readFeed(ctx, m, resolve(u, l.URL))
				}
			case l.Tag == "a" && !l.External && l.Hidden == "":
				links = append(links, resolve(u, l.URL))
			}
		}
	}
	plan := crawl.Plan(m.URL, m.PageBudget,
		crawl.Source{Kind: "sitemap", URLs: append(slices.Clone(rep.NewSitemap), sitemap...)},
		crawl.Source{Kind: "feed", URLs: feed}, crawl.Source{Kind: "link", URLs: links})
	for _, p := range plan {
		rep.Pages = append(rep.Pages, s.judgePage(ctx, m, p, "subpage"))
	}
	rep.Pages = append(rep.Pages, s.judgePage(ctx, m, crawl.NotFoundURL(m.URL, uint64(time.Now().Unix()/86400)), "not_found"))

	var b strings.Builder
	defaced := 0
	for _, p := range rep.Pages {
		if p.Verdict != page.Defaced {
			continue
		}
		defaced++
		fmt.Fprintf(&b, "%s (%s, score %.2f)\n", p.URL, p.Kind, p.Score)
		for _, r := range p.Reasons {
			fmt.Fprintf(&b, "  - %s: %s\n", r.Signal, r.Detail)
		}
	}
	s.raiseOrRecover(ctx, m, defaced > 0, alert.Alert{Kind: "webmon.website_defaced", Severity: alert.Critical,
		DedupKey: fmt.Sprintf("monitor:%d:subpages", m.ID),
		Title:    fmt.Sprintf("Trang con bị chèn nội dung (%d trang): %s", defaced, m.Name), Details: b.String()})
	if len(rep.NewSitemap) > 0 {
		list := rep.NewSitemap
		if len(list) > 50 {
			list = list[:50]
		}
		s.raiseOrRecover(ctx, m, true, alert.Alert{Kind: "webmon.website_changed", Severity: alert.Info,
			DedupKey: fmt.Sprintf("monitor:%d:sitemap", m.ID),
			Title:    fmt.Sprintf("Sitemap có %d trang mới: %s", len(rep.NewSitemap), m.Name),
			Details:  "New pages in " + origin + "/sitemap.xml since the last deep check:\n" + strings.Join(list, "\n")})
	}
}

func resolve(base *url.URL, ref string) string {
	r, err := base.Parse(ref)
	if err != nil {
		return ""
	}
	return r.String()
}

// readSitemap reads a site's sitemap, following an index to a few child
// sitemaps. A missing sitemap is simply empty.
func (s *Service) readSitemap(ctx context.Context, m Monitor, at string) []string {
	var out []string
	queue := []string{at}
	for i := 0; i < len(queue) && i <= maxChildMaps && len(out) < maxSitemap; i++ {
		body := s.get(ctx, m, queue[i])
		if body == nil {
			continue
		}
		sm, err := crawl.ParseSitemap(strings.NewReader(string(body)), maxSitemap-len(out))
		if err != nil {
			continue
		}
		out = append(out, sm.URLs...)
		queue = append(queue, sm.Sitemaps...)
	}
	return out
}

func (s *Service) readFeed(ctx context.Context, m Monitor, at string) []string {
	body := s.get(ctx, m, at)
	if body == nil {
		return nil
	}
	links, _ := crawl.ParseFeed(strings.NewReader(string(body)), 200)
	return links
}

// fetchAs fetches a URL of the monitored site within the monitor's
// timeout and address policy, as the given user agent and referer.
func (s *Service) fetchAs(ctx context.Context, m Monitor, at, ua, referer string) (*fetch.Response, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(m.TimeoutSeconds)*time.Second)
	defer cancel()
	return s.fetch.Fetch(ctx, fetch.Request{URL: at, UserAgent: ua, Referer: referer, Policy: s.policy(m)})
}

// get fetches a URL of the monitored site as a browser; nil unless 2xx.
func (s *Service) get(ctx context.Context, m Monitor, at string) []byte {
	resp, err := s.fetchAs(ctx, m, at, BrowserUA, "")
	if err != nil || resp.Status < 200 || resp.Status > 299 {
		return nil
	}
	return resp.Body
}

// judgePage fetches one sub-page and judges it alone (signatures and
// hidden content; sub-pages have no baseline of their own). A 404 page is
// judged like any other: spam is often planted on "not found" handlers.
func (s *Service) judgePage(ctx context.Context, m Monitor, at, kind string) PageVerdict {
	pv := PageVerdict{URL: at, Kind: kind, Verdict: page.Clean}
	resp, err := s.fetchAs(ctx, m, at, BrowserUA, "")
	if err != nil {
		pv.Error = err.Error()
		return pv
	}
	pv.Status = resp.Status
	f, err := page.Extract(resp.Body, resp.URL)
	if err != nil {
		pv.Error = err.Error()
		return pv
	}
	r := page.Analyze(f, nil, page.Options{Domains: s.cfg.Domains})
	if r.Verdict != page.Defaced {
		return pv // alone, a legitimate page is never "changed"
	}
	pv.Verdict, pv.Score, pv.Reasons = r.Verdict, r.Score, r.Reasons
	s.snapshot(ctx, m, kind, resp.URL, resp.Body, r, false)
	return pv
}
