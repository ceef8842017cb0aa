package page

import (
	"fmt"
	"sort"
	"strings"

	"canhgac/internal/webmon/domainlist"
)

// Verdict is the outcome of analysing one page.
type Verdict string

// Verdicts.
const (
	Clean   Verdict = "clean"
	Changed Verdict = "changed" // a legitimate-looking content change: info only
	Defaced Verdict = "defaced"
)

// Reason is one signal behind a verdict, readable by an operator.
type Reason struct {
	Signal string  `json:"signal"`
	Detail string  `json:"detail"`
	Weight float64 `json:"-"`
}

// Result is a verdict with its score (0..1) and reasons, strongest first.
type Result struct {
	Verdict Verdict  `json:"verdict"`
	Score   float64  `json:"score"`
	Reasons []Reason `json:"reasons"`
}

// Options tune Analyze.
type Options struct {
	// Domains are hosts a page must not link to; nil uses domainlist.Embedded().
	Domains *domainlist.List
}

// threshold is the summed weight at which a page is judged defaced; Score
// reports weight/(2·threshold), capped at 1, so defaced means Score ≥ 0.5.
const threshold = 1.0

// Analyze judges cur, against base when it is not nil, or alone.
func Analyze(cur *Features, base *Baseline, opt Options) Result {
	if cur == nil {
		return Result{Verdict: Clean, Reasons: []Reason{}}
	}
	domains := opt.Domains
	if domains == nil {
		domains = domainlist.Embedded()
	}
	a := &analysis{cur: cur, base: base}
	if base != nil {
		a.ix = base.index()
	}
	a.binary()
	a.vocabulary()
	a.listed(domains)
	a.hidden()
	a.scripts()
	a.bannerCues()
	if base != nil {
		a.title()
		a.text()
		a.hosts()
		a.structure()
	}
	total := 0.0
	for _, r := range a.reasons {
		total += r.Weight
	}
	sort.SliceStable(a.reasons, func(i, j int) bool { return a.reasons[i].Weight > a.reasons[j].Weight })
	res := Result{Verdict: Clean, Score: min(1, total/(2*threshold)), Reasons: a.reasons}
	if res.Reasons == nil {
		res.Reasons = []Reason{}
	}
	switch {
	case total >= threshold:
		res.Verdict = Defaced
	case a.changed:
		res.Verdict = Changed
	}
	res.Score = float64(int(res.Score*1000+0.5)) / 1000
	return res
}

type analysis struct {
	cur     *Features
	base    *Baseline
	ix      *index
	reasons []Reason
	changed bool // a baseline difference worth an info alert
}

func (a *analysis) add(signal string, w float64, format string, args ...any) {
	a.reasons = append(a.reasons, Reason{Signal: signal, Detail: fmt.Sprintf(format, args...), Weight: w})
}

// newHost reports a host whose site the baseline never referenced.
func (a *analysis) newHost(h string) bool {
	return a.ix == nil || !a.ix.hosts[h] && !a.ix.sites[siteKey(h)]
}

func (a *analysis) binary() {
	if a.cur.Cues.Binary && (a.base == nil || !a.base.Binary) {
		a.add("not_html", 1.0, "the page is not text: the document starts with binary content (an image or archive served in place of the page)")
	}
}

// agg is one vocabulary term's weight, places and count on a page.
type agg struct {
	w     float64
	where []string
	count int
}

var whereMult = map[string]float64{"text": 1, "title": 1.5, "meta": 1.2, "hidden": 2, "anchor": 2, "frame": 1.2, "alt": 1}

func (a *analysis) vocabulary() {
	per := map[string]map[string]*agg{"gambling": {}, "defacer": {}, "portal": {}}
	for _, v := range a.cur.Vocab {
		if a.ix != nil && a.ix.terms[v.Term] {
			continue
		}
		m := whereMult[v.Where]
		if v.Kind == "defacer" && v.Where == "hidden" {
			// Hiding is how link farms work; a signature is meant to be
			// seen, and a hidden menu of a long page ("Yahoo-owned") is not one.
			m = 1
		}
		if v.Kind == "defacer" && (v.Where == "text" || v.Where == "alt" || v.Where == "hidden") {
			switch {
			case a.cur.Words > 1500:
				m = 0.4 // one phrase in a long article is news, not a banner
			case a.cur.Words > 600:
				m = 0.7
			}
		}
		g := per[v.Kind][v.Term]
		if g == nil {
			g = &agg{}
			per[v.Kind][v.Term] = g
		}
		g.w = max(g.w, v.Weight*m)
		g.where = append(g.where, v.Where)
		g.count += v.Count
	}
	describe := func(m map[string]*agg) (float64, string, int) {
		type tw struct {
			t string
			a *agg
		}
		var list []tw
		sum := 0.0
		for t, g := range m {
			list = append(list, tw{t, g})
			sum += g.w
		}
		sort.Slice(list, func(i, j int) bool {
			if list[i].a.w != list[j].a.w {
				return list[i].a.w > list[j].a.w
			}
			return list[i].t < list[j].t
		})
		var parts []string
		for i, x := range list {
			if i == 8 {
				parts = append(parts, "…")
				break
			}
			parts = append(parts, fmt.Sprintf("%q×%d (%s)", x.t, x.a.count, strings.Join(uniq(x.a.where), ",")))
		}
		return sum, strings.Join(parts, ", "), len(list)
	}
	// A phrase inside a longer one found as often ("hacked" in "hacked
	// by", "your security" in "your security is low") is the same words:
	// it counts once, through the longer phrase.
	for t, g := range per["defacer"] {
		covered := 0
		for u, h := range per["defacer"] {
			if u != t && len(u) > len(t) && containsWords(u, t) {
				covered += h.count
			}
		}
		if covered >= g.count {
			g.w = 0
		}
	}
	if w, d, n := describe(per["defacer"]); w > 0 {
		if a.cur.Words > 1500 && onlyText(per["defacer"]) {
			w = min(w, 0.8) // a long story quoting a banner is news
		}
		if a.cur.Words <= 250 && a.cur.Cues.InternalLink <= 2 && !a.cur.Cues.Binary {
			// A short page with no navigation is a notice, not an article:
			// "owned by … greetz …" there is the notice of a take-over.
			w *= 1.5
			d += "; on a short page with no navigation"
		}
		w = min(w, 2)
		a.add("defacer_vocabulary", w, "defacement wording: %s", d)
		_ = n
	}
	gw, gd, gn := describe(per["gambling"])
	if gw > 0 {
		hiddenOrAnchor := false
		for _, g := range per["gambling"] {
			for _, w := range g.where {
				if w == "hidden" || w == "anchor" || w == "title" {
					hiddenOrAnchor = true
				}
			}
		}
		if pw, _, _ := describe(per["portal"]); gw >= 0.3 {
			gw += pw
		}
		if gn < 3 && !hiddenOrAnchor {
			gw = min(gw, 0.6) // a couple of words in visible text: an article may mention a casino
		}
		a.add("gambling_vocabulary", min(gw, 2), "gambling wording: %s", gd)
		if a.ix != nil {
			a.changed = true
		}
	}
}

// containsWords reports whether phrase holds sub as whole words.
func containsWords(phrase, sub string) bool {
	return strings.Contains(" "+phrase+" ", " "+sub+" ")
}

// onlyText reports whether every hit is in the visible text.
func onlyText(m map[string]*agg) bool {
	for _, g := range m {
		for _, w := range g.where {
			if w != "text" && w != "alt" && w != "hidden" {
				return false
			}
		}
	}
	return true
}

func uniq(ss []string) []string {
	sort.Strings(ss)
	out := ss[:0]
	for i, s := range ss {
		if i == 0 || s != ss[i-1] {
			out = append(out, s)
		}
	}
	return out
}

func (a *analysis) listed(domains *domainlist.List) {
	type hit struct {
		host, entry string
		n           int
		hidden      bool
		isNew       bool
	}
	hits := map[string]*hit{}
	var order []string
	for _, l := range a.cur.Links {
		if l.Host == "" {
			continue
		}
		entry, ok := domains.Match(l.Host)
		if !ok {
			continue
		}
		h := hits[l.Host]
		if h == nil {
			h = &hit{host: l.Host, entry: entry, isNew: a.newHost(l.Host)}
			hits[l.Host] = h
			order = append(order, l.Host)
		}
		h.n++
		h.hidden = h.hidden || l.Hidden != ""
	}
	if len(hits) == 0 {
		return
	}
	w := 0.0
	var parts []string
	for i, host := range order {
		h := hits[host]
		switch {
		case h.isNew:
			w += 0.8
		default:
			w += 0.4
		}
		if i < 8 {
			s := fmt.Sprintf("%s (%d link(s), listed as %s", host, h.n, h.entry)
			if h.hidden {
				s += ", hidden"
			}
			if !h.isNew {
				s += ", already in baseline"
			}
			parts = append(parts, s+")")
		}
	}
	a.add("listed_domain", min(w, 2), "links to %d domain(s) on the gambling/malicious list: %s", len(hits), strings.Join(parts, "; "))
	a.changed = true
}

func (a *analysis) hidden() {
	var newLinks, newBlocks, extLinks int
	var techs, hosts []string
	for _, hb := range a.cur.Hidden {
		if hb.External == 0 {
			continue
		}
		var fresh []string
		for _, h := range hb.Hosts {
			if a.ix == nil || a.newHost(h) && !a.ix.hiddenHosts[h] {
				fresh = append(fresh, h)
			}
		}
		if a.ix != nil && len(fresh) == 0 {
			continue
		}
		extLinks += hb.External
		if len(fresh) > 0 {
			newBlocks++
			newLinks += hb.External
			techs = append(techs, hb.Technique+" "+hb.Tag)
			for _, h := range fresh {
				if len(hosts) < 10 && !contains(hosts, h) {
					hosts = append(hosts, h)
				}
			}
		}
	}
	if newBlocks == 0 {
		a.hiddenInternal()
		return
	}
	var w float64
	if a.ix != nil {
		// Against a baseline a hidden container linking to hosts the page
		// never linked to is the gambling-SEO injection itself.
		w = 0.6
		if newLinks >= 2 {
			w = 1.0
		}
		a.changed = true
	} else {
		// Alone, hidden menus and share widgets are common: weigh by mass
		// and host diversity; the wording and list signals add the rest.
		switch {
		case newLinks >= 5 && len(hosts) >= 3:
			w = 0.25
		default:
			w = 0.1
		}
	}
	a.add("hidden_links", w, "%d external link(s) in %d hidden container(s) (%s) to %s", newLinks, newBlocks, strings.Join(uniq(techs), ", "), strings.Join(hosts, ", "))
}

// hiddenInternal flags, against a baseline, a new hidden block of links to
// the site's own pages: doorway pages planted on the compromised site.
func (a *analysis) hiddenInternal() {
	if a.ix == nil {
		return
	}
	links, blocks := 0, 0
	var sample []string
	for _, hb := range a.cur.Hidden {
		if hb.Links < 3 || hb.External > 0 || a.ix.hiddenKeys[hb.Key] || hb.Text == "" {
			continue
		}
		links += hb.Links
		blocks++
		if len(sample) < 3 {
			sample = append(sample, fmt.Sprintf("%s %s: %q", hb.Technique, hb.Tag, truncate(hb.Text, 80)))
		}
	}
	if blocks == 0 {
		return
	}
	a.changed = true
	a.add("hidden_links", 0.5, "%d new hidden link(s) to the site's own pages in %d container(s) not in the baseline: %s", links, blocks, strings.Join(sample, "; "))
}

func (a *analysis) scripts() {
	aloneW := map[string]float64{"referrer_check": 0.6, "useragent_check": 0.6, "referrer_check_weak": 0.15, "useragent_check_weak": 0.2, "redirect": 0.2, "document_write_links": 0.1, "eval_decode": 0.1, "charcode": 0.2, "charcode_links": 0.4, "encoded_write": 0.3, "injected_script": 1.0, "script_in_text": 0.2, "opaque_script_body": 0.6, "opaque_script_src": 0.3, "script_markup_in_url": 0.4, "script_markup_in_title": 0.6}
	newW := map[string]float64{"referrer_check": 1.0, "useragent_check": 1.0, "referrer_check_weak": 0.5, "useragent_check_weak": 0.6, "redirect": 1.0, "document_write_links": 0.6, "eval_decode": 0.4, "charcode": 0.5, "charcode_links": 1.0, "encoded_write": 0.5, "injected_script": 1.0, "script_in_text": 0.6, "opaque_script_body": 0.8, "opaque_script_src": 0.5, "script_markup_in_url": 0.6, "script_markup_in_title": 0.8}
	seen := map[string]bool{}
	for _, s := range a.cur.Scripts {
		w := aloneW[s.Kind]
		if a.ix != nil {
			if a.ix.scripts[s.Key] {
				continue
			}
			fresh := len(s.Targets) == 0
			for _, t := range s.Targets {
				if a.newHost(t) {
					fresh = true
				}
			}
			if !fresh {
				continue
			}
			w = newW[s.Kind]
			a.changed = true
		}
		if seen[s.Kind] {
			w = 0 // one kind counts once: ad code repeats the same idiom
		}
		seen[s.Kind] = true
		detail := fmt.Sprintf("script %s: %s", strings.ReplaceAll(s.Kind, "_", " "), s.Detail)
		if len(s.Targets) > 0 {
			detail += " → " + strings.Join(s.Targets, ", ")
		}
		a.add("suspicious_script", w, "%s", detail)
	}
}

// bannerCues weigh the look of a full-page defacement: a tiny page with no
// navigation, scrolling text, music, black background, contact handles, a
// bare line of text with no markup, or an immediate redirect elsewhere.
func (a *analysis) bannerCues() {
	f := a.cur
	c := f.Cues
	if c.Elements == 0 && f.Words > 0 && f.Words <= 80 && !c.Binary {
		a.add("bare_text_page", 1.0, "the page is %d words of plain text with no HTML markup: %q", f.Words, truncate(f.Text, 120))
		return
	}
	for _, l := range f.Links {
		if l.Tag == "meta" && l.External && a.newHost(l.Host) {
			w := 0.5
			if f.Words < 50 {
				w = 1.0
			}
			a.add("meta_refresh", w, "the page redirects visitors to %s (meta refresh) and has %d words of its own", l.Host, f.Words)
			break
		}
	}
	if a.base == nil && (f.TagCounts["html"] >= 2 || f.TagCounts["body"] >= 2) {
		// Templates emit one document; a second <html> or <body> is a page
		// written over or appended to the site's own (alone only: against
		// a baseline the text and structure signals see the change).
		a.add("second_document", 0.35, "the page holds a second HTML document (%d <html>, %d <body> tags)", f.TagCounts["html"], f.TagCounts["body"])
	}
	if f.Words > 250 || c.InternalLink > 8 {
		return
	}
	a.tinyPage()
	var parts []string
	w := 0.0
	if c.Marquee > 0 {
		w += 0.3
		parts = append(parts, "scrolling <marquee> text")
	}
	if c.Sound > 0 {
		w += 0.5
		parts = append(parts, "music playing on load")
	} else if c.Autoplay > 0 {
		w += 0.3
		parts = append(parts, "autoplaying video")
	}
	if c.DarkBG {
		w += 0.15
		parts = append(parts, "black background")
	}
	if c.Contacts > 0 {
		w += 0.2
		parts = append(parts, "messenger contact handles")
	}
	if c.Centered {
		w += 0.05
		parts = append(parts, "one centred block")
	}
	if len(parts) == 0 {
		return
	}
	if f.Words < 80 && c.InternalLink == 0 && (c.Marquee > 0 || c.Autoplay > 0 || c.Contacts > 0) {
		// A home page with no navigation whose content is a few words with
		// music, scrolling text or a messenger handle is a banner.
		w += 0.5
		parts = append(parts, "no navigation")
	}
	if a.base != nil && a.base.Words > 250 {
		w += 0.1
	}
	a.add("banner_page", w, "small page (%d words, %d internal links) with %s", f.Words, c.InternalLink, strings.Join(parts, ", "))
}

// tinyPage weighs a home page reduced to a line or two with no navigation
// at all, signed with a leet-speak handle (7NSY00T, h4x0r): a defacer's
// calling card even without banner styling or signature wording.
func (a *analysis) tinyPage() {
	f := a.cur
	if f.Words == 0 || f.Words > 40 || f.Cues.InternalLink > 0 || f.Cues.Elements == 0 || f.Cues.Forms > 0 {
		return
	}
	h := leetHandles(f.Text)
	if len(h) == 0 {
		return
	}
	a.add("tiny_page", 1.0, "the page is %d words with no navigation, signed %s: %q", f.Words, strings.Join(h, ", "), truncate(f.Text, 120))
}

// leetHandles returns words spelled with digits for letters inside the
// word (7NSY00T, h4x0r, d3f4c3r), not a version or model number at its end
// (web3, win10, mp3).
func leetHandles(text string) []string {
	var out []string
	for _, w := range strings.Fields(text) {
		w = strings.Trim(w, ".,;:!?\"'()[]{}<>|*~_-")
		if len(w) < 4 || len(w) > 24 {
			continue
		}
		letters, inner := 0, false
		ok := true
		for i := 0; i < len(w); i++ {
			c := w[i] | 0x20
			switch {
			case c >= 'a' && c <= 'z':
				letters++
			case strings.IndexByte("013457", w[i]) >= 0:
				if i+1 < len(w) && (w[i+1]|0x20) >= 'a' && (w[i+1]|0x20) <= 'z' {
					inner = true
				}
			default:
				ok = false
			}
		}
		if ok && inner && letters >= 2 && len(out) < 3 {
			out = append(out, w)
		}
	}
	return out
}

func (a *analysis) title() {
	if !a.base.TitleStable || maskDigits(a.cur.Title) == maskDigits(a.base.Title) {
		return
	}
	a.changed = true
	a.add("title_changed", 0.35, "title changed from %q to %q", truncate(a.base.Title, 100), truncate(a.cur.Title, 100))
}

func (a *analysis) text() {
	stableWords := 0
	kept := 0
	for _, w := range a.base.StableWords {
		stableWords += w
	}
	curSet := map[uint64]bool{}
	newWords, curWords := 0, 0
	for i, k := range a.cur.Blocks {
		curSet[k] = true
		curWords += a.cur.BlockWords[i]
		if !a.ix.stable[k] && !a.ix.dynamic[k] {
			newWords += a.cur.BlockWords[i]
		}
	}
	kept = 0
	for i, k := range a.base.Stable {
		if curSet[k] {
			kept += a.base.StableWords[i]
		}
	}
	retained := 1.0
	if stableWords > 0 {
		retained = float64(kept) / float64(stableWords)
	}
	switch {
	case a.base.Words >= 80 && a.cur.Words*5 < a.base.Words:
		a.add("page_gutted", 0.8, "visible text shrank from %d to %d words", a.base.Words, a.cur.Words)
		a.changed = true
	case stableWords >= 40 && retained < 0.3:
		a.add("text_replaced", 0.8, "only %.0f%% of the page's stable text remains; %d of %d words are new", retained*100, newWords, curWords)
		a.changed = true
	case stableWords > 0 && (retained < 0.9 || newWords >= 8):
		// A few new words are a weekday name or a counter label: not news.
		a.add("text_changed", 0.05, "%.0f%% of the stable text remains; %d new words", retained*100, newWords)
		a.changed = true
	}
}

func (a *analysis) hosts() {
	type nh struct {
		tags map[string]int
	}
	fresh := map[string]*nh{}
	var order []string
	for _, l := range a.cur.Links {
		if !l.External || !a.newHost(l.Host) {
			continue
		}
		x := fresh[l.Host]
		if x == nil {
			x = &nh{tags: map[string]int{}}
			fresh[l.Host] = x
			order = append(order, l.Host)
		}
		x.tags[l.Tag]++
	}
	if len(order) == 0 {
		return
	}
	w := 0.0
	var parts []string
	for i, h := range order {
		x := fresh[h]
		switch {
		case x.tags["meta"] > 0:
			w += 0.8
		case x.tags["script"] > 0 || x.tags["iframe"] > 0 || x.tags["form"] > 0 || x.tags["embed"] > 0 || x.tags["object"] > 0 || x.tags["frame"] > 0:
			w += 0.2
		default:
			w += 0.05
		}
		if i < 10 {
			var tags []string
			for t, n := range x.tags {
				tags = append(tags, fmt.Sprintf("%s×%d", t, n))
			}
			sort.Strings(tags)
			parts = append(parts, h+" ("+strings.Join(tags, " ")+")")
		}
	}
	if len(order) > 10 {
		parts = append(parts, fmt.Sprintf("and %d more", len(order)-10))
	}
	a.changed = true
	a.add("new_external_domains", min(w, 0.6), "%d external domain(s) not in the baseline: %s", len(order), strings.Join(parts, ", "))
}

func (a *analysis) structure() {
	if len(a.base.Shingles) == 0 || len(a.cur.Shingles) == 0 {
		return
	}
	inter := 0
	for _, s := range a.cur.Shingles {
		if a.ix.shingles[s] {
			inter++
		}
	}
	union := len(a.base.Shingles) + len(a.cur.Shingles) - inter
	j := float64(inter) / float64(union)
	switch {
	case j < 0.35:
		a.add("structure_changed", 0.5, "the DOM structure changed: %.0f%% of tag paths in common with the baseline", j*100)
		a.changed = true
	case j < 0.7:
		a.add("structure_changed", 0.05, "the DOM structure changed somewhat: %.0f%% of tag paths in common", j*100)
		a.changed = true
	}
}
