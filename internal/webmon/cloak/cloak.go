// Package cloak compares one page fetched three ways, as a normal browser,
// as Googlebot and as a visitor arriving from a Google search, to catch
// cloaking: gambling-SEO spam that a hacked site serves only to the search
// engine's crawler (so it ranks) or only to visitors from search results
// (so they are sent to the gambling site), while the site's own staff,
// opening it directly, see nothing wrong.
//
// Compare is tuned to ignore the legitimate differences between fetches made
// seconds apart: rotating news lists on the site itself, an ad or analytics
// host or two, A/B test scripts, and bot blocking (a 403 for Googlebot).
package cloak

import (
	"fmt"
	"net/url"
	"sort"
	"strings"

	"canhgac/internal/webmon/page"
)

// View names.
const (
	Browser       = "browser"        // a normal browser opening the page directly
	Googlebot     = "googlebot"      // Googlebot's user agent
	GoogleReferer = "google_referer" // a browser with Referer https://www.google.com/
)

// Signals.
const (
	SignalRedirect = "cloaking_redirect" // the view is sent to another site
	SignalLinks    = "cloaking_links"    // the view links to sites the browser's page does not
	SignalContent  = "cloaking_content"  // the view carries gambling vocabulary the browser's page does not
)

// Thresholds. They are variables so an integrator can tune them in one
// place; Compare only reads them.
var (
	// MinNewSites is how many sites, linked from <a> tags in a view but
	// not from the browser's page, trip SignalLinks on their own. Fewer
	// trip it only together with gambling vocabulary.
	MinNewSites = 3
	// MinContentScore is the gambling vocabulary score, counted over terms
	// absent from the browser's page, that trips SignalContent. A term
	// scores its weight (0.1–0.4) per occurrence, at most three
	// occurrences, doubled when hidden or in link text: one news headline
	// about a gambling ring scores about 0.3, a spam block several points.
	MinContentScore = 1.0
	// MinLinkVocabScore is the score of new gambling vocabulary outside the
	// visible text (hidden blocks, link text, title, meta) that, with at
	// least one newly linked site, trips SignalLinks. Visible text is left
	// out: a rotating news list may carry a headline about a gambling ring.
	MinLinkVocabScore = 0.3
)

// View is one fetch of the page.
type View struct {
	// Name is Browser, Googlebot or GoogleReferer.
	Name string
	// Status is the final HTTP status; 0 if unknown.
	Status int
	// FinalURL is the URL after redirects.
	FinalURL string
	// Features of the fetched body; nil when the fetch failed, and then
	// the view is skipped.
	Features *page.Features
}

// Reason is one piece of evidence of cloaking.
type Reason struct {
	// Signal is SignalRedirect, SignalLinks or SignalContent.
	Signal string
	// Detail is a sentence for the operator.
	Detail string
	// View names the view that differs from the browser's.
	View string
}

// Result is the outcome of Compare.
type Result struct {
	// Cloaked is set when at least one Reason was found.
	Cloaked bool
	Reasons []Reason
	// Notes explain views that were not compared (failed fetches, bots
	// blocked); they are not evidence of cloaking.
	Notes []string
}

// Compare compares each view other than the browser's with the browser
// view (the first view named Browser with Features). It reports:
//
//   - SignalRedirect when the view ends on another site than the browser
//     (FinalURL), or its page redirects (meta refresh or script) to a site
//     the browser's page does not redirect to;
//   - SignalLinks when the view's <a> links reach sites that are neither the
//     page's own nor linked in any way by the browser's page, and there are
//     at least MinNewSites of them, or their host names or link texts carry
//     gambling vocabulary, or the view has new gambling vocabulary outside
//     its visible text scoring MinLinkVocabScore;
//   - SignalContent when gambling vocabulary absent from the browser's page
//     scores at least MinContentScore in the view.
//
// A view answered with an error status (4xx, 5xx) while the browser got a
// page is not compared: sites commonly block bots, and that is not
// cloaking. Views without Features are skipped. Without a browser view
// nothing is compared.
func Compare(views ...View) Result {
	var res Result
	var base *View
	for i := range views {
		if views[i].Name == Browser && views[i].Features != nil {
			base = &views[i]
			break
		}
	}
	if base == nil {
		res.Notes = append(res.Notes, "no browser view: nothing to compare against")
		return res
	}
	b := summarize(base)
	for i := range views {
		v := &views[i]
		if v == base || v.Name == Browser {
			continue
		}
		who := label(v.Name)
		if v.Features == nil {
			res.Notes = append(res.Notes, fmt.Sprintf("%s: fetch failed, not compared", who))
			continue
		}
		if v.Status >= 400 && (base.Status == 0 || base.Status < 400) {
			res.Notes = append(res.Notes, fmt.Sprintf("%s gets HTTP %d while the browser gets %d: bots or referrers blocked, not compared", who, v.Status, base.Status))
			continue
		}
		for _, r := range compareView(b, v) {
			r.View = v.Name
			res.Reasons = append(res.Reasons, r)
		}
	}
	res.Cloaked = len(res.Reasons) > 0
	return res
}

// label names a view for operators.
func label(name string) string {
	switch name {
	case Googlebot:
		return "Googlebot"
	case GoogleReferer:
		return "A visitor from Google search"
	case Browser:
		return "The browser"
	}
	if name == "" {
		return "An unnamed view"
	}
	return fmt.Sprintf("View %q", name)
}

// summary is what a view is compared on.
type summary struct {
	site      string             // the page's own site
	finalHost string             // host of the final URL
	linked    map[string]bool    // sites referenced by any link
	redirects map[string]bool    // sites redirected to by meta refresh or script
	vocab     map[string]float64 // gambling terms → score
	quiet     map[string]float64 // their score outside visible text (hidden, link text, title, meta)
}

func summarize(v *View) summary {
	f := v.Features
	s := summary{linked: map[string]bool{}, redirects: map[string]bool{}, vocab: map[string]float64{}, quiet: map[string]float64{}}
	s.finalHost = hostOf(v.FinalURL)
	if s.finalHost == "" {
		s.finalHost = hostOf(f.URL)
	}
	if s.finalHost == "" {
		s.finalHost = f.Host
	}
	s.site = siteOf(s.finalHost)
	for _, l := range f.Links {
		if l.Host == "" {
			continue
		}
		s.linked[siteOf(l.Host)] = true
		if l.Tag == "meta" && siteOf(l.Host) != s.site {
			s.redirects[siteOf(l.Host)] = true
		}
	}
	for _, sc := range f.Scripts {
		if sc.Kind != "redirect" {
			continue
		}
		for _, t := range sc.Targets {
			if h := hostOf(t); h != "" {
				t = h
			}
			if site := siteOf(strings.ToLower(t)); site != "" && site != s.site {
				s.redirects[site] = true
			}
		}
	}
	for _, h := range f.Vocab {
		if h.Kind != "gambling" {
			continue
		}
		n := min(h.Count, 3)
		w := h.Weight * float64(n)
		if h.Where == "hidden" || h.Where == "anchor" {
			w *= 2
		}
		s.vocab[h.Term] += w
		if h.Where != "text" {
			s.quiet[h.Term] += w
		}
	}
	return s
}

// compareView returns the reasons view v differs suspiciously from b.
func compareView(b summary, v *View) []Reason {
	var out []Reason
	who := label(v.Name)
	s := summarize(v)
	own := func(site string) bool { return site == "" || site == b.site || site == s.site }

	// (a) Sent to another site.
	if b.site != "" && s.site != "" && s.site != b.site {
		out = append(out, Reason{Signal: SignalRedirect, Detail: fmt.Sprintf("%s is redirected to %s (%s) while the browser stays on %s",
			who, s.finalHost, clip(v.FinalURL, 120), b.finalHost)})
		// The page is another site's: its links and words say nothing
		// about this one, and the redirect is the finding.
		return out
	}
	var redir []string
	for site := range s.redirects {
		if !own(site) && !b.redirects[site] {
			redir = append(redir, site)
		}
	}
	if len(redir) > 0 {
		sort.Strings(redir)
		out = append(out, Reason{Signal: SignalRedirect, Detail: fmt.Sprintf("%s gets a page that redirects (meta refresh or script) to %s; the browser's does not",
			who, list(redir))})
	}

	// New gambling vocabulary.
	var newTerms []string
	score, quiet := 0.0, 0.0
	for t, w := range s.vocab {
		if _, ok := b.vocab[t]; !ok {
			newTerms = append(newTerms, t)
			score += w
			quiet += s.quiet[t]
		}
	}
	sort.Slice(newTerms, func(i, j int) bool {
		if s.vocab[newTerms[i]] != s.vocab[newTerms[j]] {
			return s.vocab[newTerms[i]] > s.vocab[newTerms[j]]
		}
		return newTerms[i] < newTerms[j]
	})

	// (b) Links to sites the browser's page does not reference.
	var hosts, sites []string
	seenHost, seenSite := map[string]bool{}, map[string]bool{}
	links, hidden := 0, 0
	var words strings.Builder
	for _, l := range v.Features.Links {
		if l.Tag != "a" || l.Host == "" {
			continue
		}
		site := siteOf(l.Host)
		if own(site) || b.linked[site] {
			continue
		}
		links++
		if l.Hidden != "" {
			hidden++
		}
		if !seenHost[l.Host] {
			seenHost[l.Host] = true
			hosts = append(hosts, l.Host)
			if words.Len() < 32<<10 {
				words.WriteString(l.Host + " | ")
			}
		}
		if !seenSite[site] {
			seenSite[site] = true
			sites = append(sites, site)
		}
		if l.Text != "" && words.Len() < 32<<10 {
			words.WriteString(l.Text + " | ")
		}
	}
	if len(sites) > 0 {
		gamblingNames := gamblingTerms(words.String())
		var why string
		switch {
		case len(gamblingNames) > 0:
			why = "gambling terms in their names or link text: " + list(gamblingNames)
		case quiet >= MinLinkVocabScore:
			why = "with gambling terms the browser's page lacks: " + list(newTerms)
		case len(sites) >= MinNewSites:
		default:
			sites = nil // an ad or partner link or two: not evidence
		}
		if len(sites) > 0 {
			d := fmt.Sprintf("%s sees %s to %s the browser does not: %s", who, plural(links, "link"), plural(len(sites), "site"), list(hosts))
			if hidden > 0 {
				d += fmt.Sprintf(" (%d hidden from view)", hidden)
			}
			if why != "" {
				d += "; " + why
			}
			out = append(out, Reason{Signal: SignalLinks, Detail: d})
		}
	}

	// (c) Gambling words only this view carries.
	if score >= MinContentScore {
		out = append(out, Reason{Signal: SignalContent, Detail: fmt.Sprintf("%s sees gambling terms the browser does not: %s", who, list(newTerms))})
	}
	return out
}

// gamblingTerms returns the gambling vocabulary in free text such as host
// names ("fb88-vip.com" reads "fb88 vip com") and link texts, using the page
// package's vocabulary.
func gamblingTerms(text string) []string {
	if text == "" {
		return nil
	}
	r := strings.NewReplacer(".", " ", "-", " ", "_", " ", "<", " ", ">", " ", "&", " ")
	f, err := page.Extract([]byte("<p>"+r.Replace(text)+"</p>"), "")
	if err != nil || f == nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, h := range f.Vocab {
		if h.Kind == "gambling" && !seen[h.Term] {
			seen[h.Term] = true
			out = append(out, h.Term)
		}
	}
	sort.Strings(out)
	return out
}

// list joins up to five items, then "…".
func list(items []string) string {
	const show = 5
	if len(items) <= show {
		return strings.Join(items, ", ")
	}
	return strings.Join(items[:show], ", ") + fmt.Sprintf(", … (%d in all)", len(items))
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// hostOf returns the lower-cased host of an absolute URL, "" otherwise.
func hostOf(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || u.Host == "" {
		return ""
	}
	return strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
}

// siteOf approximates the registrable domain: the last two labels, or three
// under common second-level suffixes of country domains (gov.vn, co.uk). It
// mirrors the page package's rule, so "same site" means the same in both.
func siteOf(host string) string {
	host = strings.TrimPrefix(strings.ToLower(host), "www.")
	parts := strings.Split(host, ".")
	if len(parts) <= 2 {
		return host
	}
	n := len(parts)
	sld := parts[n-2]
	if len(parts[n-1]) == 2 {
		switch sld {
		case "com", "gov", "edu", "org", "net", "ac", "co", "or", "ne", "go", "gob", "nic", "mil", "info", "int", "health", "name", "biz", "pro", "sch", "web", "in", "nhs", "ltd", "plc", "id", "my":
			return strings.Join(parts[n-3:], ".")
		}
	}
	return strings.Join(parts[n-2:], ".")
}
