// Package page judges a web page's raw HTML for defacement: loud banner
// replacements ("hacked by …") and quiet gambling-SEO injections (links hidden
// from visitors, cloaking scripts). Extract reduces a page to Features, Learn
// builds a Baseline from one or more fetches of the same page, and Analyze
// scores the current page alone or against that baseline.
package page

import (
	"bytes"
	"errors"
	"hash/fnv"
	"sort"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// Bounds on hostile input: Extract reads at most MaxBytes of the document and
// walks at most maxTokens tokens, so its cost is bounded whatever it is fed.
const (
	MaxBytes   = 8 << 20
	maxTokens  = 400000
	maxDepth   = 512
	maxText    = 512 << 10 // visible text kept
	maxHidden  = 64 << 10  // hidden text kept
	maxLinks   = 20000
	maxScript  = 256 << 10 // script bytes inspected per script
	maxAnchor  = 200
	maxBlocks  = 20000
	maxShingle = 8000
)

// Link is one URL the page references.
type Link struct {
	Tag  string `json:"tag"`  // a, script, iframe, img, link, meta, form, …
	URL  string `json:"url"`  // as written, truncated
	Host string `json:"host"` // lower-cased host of an absolute URL; "" for relative
	// External is set for hosts outside the page's site.
	External bool `json:"external,omitempty"`
	// Hidden names the hiding technique of the enclosing container, if any.
	Hidden string `json:"hidden,omitempty"`
	Text   string `json:"text,omitempty"` // anchor text (a only), truncated
	block  int    // index of the enclosing hidden block, -1 if none
}

// HiddenBlock is a container invisible to visitors that holds links.
type HiddenBlock struct {
	Technique string   `json:"technique"`
	Tag       string   `json:"tag"`
	Links     int      `json:"links"`
	External  int      `json:"external"`
	Hosts     []string `json:"hosts,omitempty"`
	Text      string   `json:"text,omitempty"`
	// Key identifies the block across fetches (technique and its link URLs as
	// a bag, digits masked).
	Key uint64 `json:"key"`
}

// ScriptFinding is a suspicious construct in an inline script or handler.
type ScriptFinding struct {
	Kind    string   `json:"kind"` // document_write_links, redirect, referrer_check, useragent_check, eval_decode, charcode
	Detail  string   `json:"detail"`
	Key     uint64   `json:"key"` // identity for baseline comparison
	Targets []string `json:"targets,omitempty"`
}

// Features is what analysis needs from one page.
type Features struct {
	URL        string          `json:"url,omitempty"`
	Host       string          `json:"host,omitempty"` // the page's host (from URL, canonical or og:url)
	Title      string          `json:"title"`
	Meta       string          `json:"meta,omitempty"` // description and keywords
	Text       string          `json:"-"`              // visible text
	Folded     string          `json:"-"`              // visible text folded (lower-case, no diacritics)
	HiddenText string          `json:"-"`              // text inside hidden containers
	Alt        string          `json:"-"`              // alternative text of visible images
	Words      int             `json:"words"`
	Links      []Link          `json:"links,omitempty"`
	Hosts      []string        `json:"hosts,omitempty"` // external hosts, sorted
	Hidden     []HiddenBlock   `json:"hidden,omitempty"`
	Scripts    []ScriptFinding `json:"scripts,omitempty"`
	Vocab      []VocabHit      `json:"vocab,omitempty"`
	// Blocks are hashes of the page's text blocks with digits masked, so dates
	// and counters hash alike; BlockWords holds each block's word count.
	Blocks     []uint64 `json:"-"`
	BlockWords []int    `json:"-"`
	// Shingles are hashes of tag paths (grandparent>parent>tag), sorted, unique.
	Shingles  []uint64       `json:"-"`
	TagCounts map[string]int `json:"tags,omitempty"`
	Cues      Cues           `json:"cues"`
	Truncated bool           `json:"truncated,omitempty"`
}

// Cues are page-level oddities typical of banner defacements.
type Cues struct {
	Binary       bool `json:"binary,omitempty"`   // not text at all
	Marquee      int  `json:"marquee,omitempty"`  // <marquee> elements
	Autoplay     int  `json:"autoplay,omitempty"` // autoplaying audio/video/bgsound/embed
	Sound        int  `json:"sound,omitempty"`    // of which with sound (audio, bgsound, unmuted video)
	DarkBG       bool `json:"dark_bg,omitempty"`  // black page background
	Contacts     int  `json:"contacts,omitempty"` // telegram/whatsapp/instagram handles and links
	Elements     int  `json:"elements"`
	InternalLink int  `json:"internal_links"`
	Forms        int  `json:"forms,omitempty"`
	Scripts      int  `json:"scripts,omitempty"`
	Headings     int  `json:"headings,omitempty"`
	Centered     bool `json:"centered,omitempty"` // <center> or text-align:center on body-level block
}

var voidTags = map[string]bool{
	"area": true, "base": true, "br": true, "col": true, "embed": true, "hr": true, "img": true,
	"input": true, "link": true, "meta": true, "param": true, "source": true, "track": true,
	"wbr": true, "keygen": true, "bgsound": true,
}

// blockTags end a text block.
var blockTags = map[string]bool{
	"p": true, "div": true, "li": true, "td": true, "th": true, "tr": true, "h1": true, "h2": true,
	"h3": true, "h4": true, "h5": true, "h6": true, "section": true, "article": true, "header": true,
	"footer": true, "nav": true, "ul": true, "ol": true, "table": true, "br": true, "blockquote": true,
	"pre": true, "dd": true, "dt": true, "form": true, "main": true, "aside": true, "center": true,
	"marquee": true, "body": true, "figcaption": true, "option": true, "title": true, "hr": true,
}

type frame struct {
	tag    string
	hidden string // technique hiding this element (own or inherited)
	own    int    // index into hidden blocks when this element starts hiding; -1 otherwise
	bg     string // effective background colour
	anchor int    // index of the open <a> link, -1 otherwise
	skip   bool   // script/style/noscript/template content: not visible text
}

type extractor struct {
	f          *Features
	stack      []frame
	css        cssRules
	text       strings.Builder
	hidden     strings.Builder
	alt        strings.Builder
	block      strings.Builder
	blockWords int
	shingles   map[uint64]struct{}
	blocks     map[uint64]int
	metaHost   string
	depth      int         // nesting of decoded document.write payloads
	inline     []*Features // documents decoded from scripts
	frames     []*Features // documents of <iframe srcdoc>, shown to visitors
	pending    int         // hidden block of the element being opened, -1 if none
	noscripts  []*Features // <noscript> contents holding links
	budget     *int        // decoded bytes left, shared with nested extractions
}

// Extract parses raw HTML. It never panics and does bounded work on hostile
// input: at most MaxBytes are read and at most a fixed number of tokens walked.
func Extract(raw []byte, pageURL string) (*Features, error) {
	budget := maxDecoded
	return extract(raw, pageURL, 0, &budget)
}

// maxDecoded bounds the markup decoded from scripts and <noscript> across
// all nesting levels of one Extract.
const maxDecoded = 1 << 20

// sub extracts markup found inside the page (decoded script output,
// <noscript>), charging it to the shared budget.
func (e *extractor) sub(raw []byte) (*Features, error) {
	if e.depth >= 3 || len(raw) > *e.budget {
		return nil, errBudget
	}
	*e.budget -= len(raw)
	return extract(raw, e.f.URL, e.depth+1, e.budget)
}

var errBudget = errors.New("decoded markup budget spent")

func extract(raw []byte, pageURL string, depth int, budget *int) (f *Features, err error) {
	f = &Features{URL: pageURL, Host: hostOf(pageURL), TagCounts: map[string]int{}}
	defer func() {
		if r := recover(); r != nil { // defensive: a parser bug must not take the monitor down
			f.Truncated = true
			err = nil
		}
	}()
	if len(raw) > MaxBytes {
		raw = raw[:MaxBytes]
		f.Truncated = true
	}
	f.Cues.Binary = isBinary(raw)
	e := &extractor{f: f, shingles: map[uint64]struct{}{}, blocks: map[uint64]int{}, depth: depth, pending: -1, budget: budget}
	e.css = parseStyleBlocks(raw)
	e.text.Grow(min(len(raw)/3, maxText))
	e.block.Grow(1024)
	e.stack = append(e.stack, frame{tag: "#root", own: -1, anchor: -1})
	z := html.NewTokenizer(bytes.NewReader(raw))
	z.SetMaxBuf(1 << 20)
	tokens := 0
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		tokens++
		if tokens > maxTokens {
			f.Truncated = true
			break
		}
		switch tt {
		case html.TextToken:
			e.onText(z.Text())
		case html.StartTagToken, html.SelfClosingTagToken:
			e.onStart(z, tt == html.SelfClosingTagToken)
		case html.EndTagToken:
			name, _ := z.TagName()
			e.onEnd(string(name))
		}
	}
	e.flushBlock()
	e.finish()
	return f, nil
}

func (e *extractor) top() *frame { return &e.stack[len(e.stack)-1] }

func (e *extractor) onText(b []byte) {
	t := e.top()
	switch t.tag {
	case "title":
		if e.f.Title == "" {
			e.f.Title = strings.TrimSpace(collapse(string(b)))
			e.titleMarkup(e.f.Title)
		}
		return
	case "script":
		e.inspectScript(b)
		return
	case "noscript":
		// Raw text to the tokenizer; shown only to clients without
		// JavaScript, that is crawlers: its links are hidden from visitors.
		if e.depth < 3 && len(e.noscripts) < 32 && indexFold(b, "<a") >= 0 {
			if sub, err := e.sub(b); err == nil {
				e.noscripts = append(e.noscripts, sub)
			}
		}
		return
	case "style", "template", "textarea", "#skip":
		return
	}
	if t.skip {
		return
	}
	if blank(b) {
		return
	}
	s := string(b)
	if t.anchor >= 0 {
		l := &e.f.Links[t.anchor]
		if len(l.Text) < maxAnchor {
			l.Text += " " + s[:min(len(s), maxAnchor)]
		}
	}
	if t.hidden != "" {
		if e.hidden.Len() < maxHidden {
			e.hidden.WriteString(s)
			e.hidden.WriteByte(' ')
		}
		if t.own >= 0 || e.hiddenOwner() >= 0 {
			hb := &e.f.Hidden[e.hiddenOwner()]
			if len(hb.Text) < 160 {
				hb.Text = truncate(collapse(hb.Text+" "+s), 160)
			}
		}
		return
	}
	if e.text.Len() < maxText {
		e.text.WriteString(s)
		e.text.WriteByte(' ')
	}
	if e.block.Len() < 4096 {
		e.block.WriteString(s)
		e.block.WriteByte(' ')
	}
}

// hiddenOwner is the innermost hidden block index on the stack, or -1.
func (e *extractor) hiddenOwner() int {
	for i := len(e.stack) - 1; i >= 0; i-- {
		if e.stack[i].own >= 0 {
			return e.stack[i].own
		}
	}
	return -1
}

func (e *extractor) onStart(z *html.Tokenizer, selfClosing bool) {
	name, hasAttr := z.TagName()
	tag := string(name)
	f := e.f
	f.Cues.Elements++
	f.TagCounts[tag]++
	var attrs map[string]string
	if hasAttr {
		attrs = make(map[string]string, 4)
		for n := 0; n < 64; n++ {
			k, v, more := z.TagAttr()
			if len(k) > 2 && k[0] == 'o' && k[1] == 'n' {
				e.inspectScript(v) // event handler
			} else if wantAttr(k) {
				if _, dup := attrs[string(k)]; !dup {
					attrs[string(k)] = string(v)
				}
			}
			if !more {
				break
			}
		}
	}
	parent := e.top()
	if blockTags[tag] {
		e.flushBlock()
	}
	// Structure shingle: grandparent>parent>tag.
	if len(e.shingles) < maxShingle {
		gp := ""
		if len(e.stack) >= 2 {
			gp = e.stack[len(e.stack)-2].tag
		}
		e.shingles[hash3(gp, parent.tag, tag)] = struct{}{}
	}
	fr := frame{tag: tag, hidden: parent.hidden, own: -1, bg: parent.bg, anchor: -1, skip: parent.skip}
	switch tag {
	case "script", "style", "noscript", "template", "textarea", "select", "option":
		if tag != "option" && tag != "select" {
			fr.skip = true
		}
	}
	style := attrs["style"]
	decl := parseDecls(style)
	if bg := decl.background(); bg != "" {
		fr.bg = bg
	}
	if c := attrs["bgcolor"]; c != "" {
		fr.bg = normColor(c)
	}
	if tag == "body" {
		if isDark(fr.bg) {
			f.Cues.DarkBG = true
		}
		if c := e.css.bodyBG; c != "" && fr.bg == "" {
			fr.bg = c
			if isDark(c) {
				f.Cues.DarkBG = true
			}
		}
	}
	if decl["text-align"] == "center" && len(e.stack) <= 4 {
		f.Cues.Centered = true
	}
	// Hiding technique introduced by this element.
	if fr.hidden == "" {
		tech := hiddenTechnique(decl, attrs, parent.bg)
		if tech == "" {
			tech = e.css.technique(attrs["class"], attrs["id"])
		}
		if tech == "" && tag == "marquee" && (tiny(attrs["width"]) || tiny(attrs["height"])) {
			tech = "tiny_marquee"
		}
		if tech == "" {
			tech = e.css.technique("", attrs["id"]) // hidden by a script
		}
		if tech != "" && tag != "head" && tag != "html" {
			fr.hidden = tech
			f.Hidden = append(f.Hidden, HiddenBlock{Technique: tech, Tag: tag})
			fr.own = len(f.Hidden) - 1
		}
	}
	switch tag {
	case "marquee":
		f.Cues.Marquee++
	case "center":
		f.Cues.Centered = true
	case "audio", "video":
		if _, ok := attrs["autoplay"]; ok {
			f.Cues.Autoplay++
			if _, muted := attrs["muted"]; tag == "audio" || !muted {
				f.Cues.Sound++
			}
		}
	case "bgsound":
		f.Cues.Autoplay++
		f.Cues.Sound++
	case "embed", "iframe":
		if strings.Contains(strings.ToLower(attrs["src"]), "autoplay=1") || attrs["autostart"] == "true" {
			f.Cues.Autoplay++
		}
	case "form":
		f.Cues.Forms++
	case "script":
		f.Cues.Scripts++
	case "h1", "h2", "h3":
		f.Cues.Headings++
	case "meta":
		e.onMeta(attrs)
	case "base":
		if h := hostOf(attrs["href"]); h != "" && e.metaHost == "" {
			e.metaHost = h
		}
	}
	// URLs. An element hidden by its own style owns its links.
	e.pending = fr.own
	defer func() { e.pending = -1 }()
	switch tag {
	case "a", "area":
		if h, ok := attrs["href"]; ok {
			if idx := e.addLink(tag, h, fr.hidden); idx >= 0 && tag == "a" {
				fr.anchor = idx
			}
		}
	case "script", "iframe", "img", "embed", "source", "frame", "audio", "video", "input":
		if a := attrs["alt"]; tag == "img" && a != "" && fr.hidden == "" && e.alt.Len() < 16<<10 {
			// A banner defacement is often one big image whose alt text
			// carries the signature.
			e.alt.WriteString(a)
			e.alt.WriteString(" | ")
		}
		if s := attrs["src"]; s != "" {
			e.addLink(tag, s, fr.hidden)
			if tag == "script" {
				e.scriptSrc(parent.tag, s)
			}
		}
		if doc := attrs["srcdoc"]; tag == "iframe" && doc != "" && fr.hidden == "" {
			e.srcdoc(doc)
		}
	case "link":
		rel := strings.ToLower(attrs["rel"])
		if rel == "canonical" {
			if h := hostOf(attrs["href"]); h != "" && e.metaHost == "" {
				e.metaHost = h
			}
		} else if h := attrs["href"]; h != "" && !strings.Contains(rel, "alternate") {
			e.addLink(tag, h, fr.hidden)
		}
	case "form":
		if a := attrs["action"]; a != "" {
			e.addLink(tag, a, fr.hidden)
		}
	case "object":
		if d := attrs["data"]; d != "" {
			e.addLink(tag, d, fr.hidden)
		}
	}
	if selfClosing || voidTags[tag] {
		if fr.own >= 0 && f.Hidden[fr.own].Links == 0 {
			// A hidden void element (an image) holds no links: drop the block.
			f.Hidden = f.Hidden[:fr.own]
		}
		return
	}
	if len(e.stack) >= maxDepth {
		// Too deep: treat as closed so the stack stays bounded.
		if fr.own >= 0 && f.Hidden[fr.own].Links == 0 {
			f.Hidden = f.Hidden[:fr.own]
		}
		return
	}
	e.stack = append(e.stack, fr)
}

func (e *extractor) onEnd(tag string) {
	if blockTags[tag] {
		e.flushBlock()
	}
	// Pop to the innermost open element of that name, if it is near.
	for i := len(e.stack) - 1; i >= 1 && i >= len(e.stack)-64; i-- {
		if e.stack[i].tag == tag {
			for j := len(e.stack) - 1; j >= i; j-- {
				e.closeFrame(&e.stack[j])
			}
			e.stack = e.stack[:i]
			return
		}
	}
}

func (e *extractor) closeFrame(fr *frame) {
	if fr.own >= 0 && fr.own == len(e.f.Hidden)-1 && e.f.Hidden[fr.own].Links == 0 && e.f.Hidden[fr.own].Text == "" {
		// Hidden containers with neither links nor text are noise (icons, templates).
		e.f.Hidden = e.f.Hidden[:fr.own]
	}
}

func (e *extractor) onMeta(attrs map[string]string) {
	f := e.f
	name := strings.ToLower(attrs["name"] + attrs["property"])
	content := attrs["content"]
	switch {
	case name == "description" || name == "keywords":
		if len(f.Meta) < 2048 {
			f.Meta = truncate(strings.TrimSpace(f.Meta+" "+content), 2048)
		}
	case name == "og:url":
		if h := hostOf(content); h != "" && e.metaHost == "" {
			e.metaHost = h
		}
	case strings.EqualFold(attrs["http-equiv"], "refresh"):
		lc := strings.ToLower(content)
		if i := strings.Index(lc, "url="); i >= 0 {
			u := strings.Trim(strings.TrimSpace(content[i+4:]), `'"`)
			e.addLink("meta", u, "")
		}
	}
}

// addLink records a URL and returns its index, or -1 when it is not a
// navigable URL (javascript:, mailto:, data:, fragments) or over the cap.
func (e *extractor) addLink(tag, raw, hidden string) int {
	u := strings.TrimSpace(raw)
	if u == "" || u[0] == '#' {
		return -1
	}
	lu := strings.ToLower(u[:min(len(u), 16)])
	if strings.HasPrefix(lu, "javascript:") {
		e.inspectScript([]byte(u))
		return -1
	}
	if strings.HasPrefix(lu, "mailto:") || strings.HasPrefix(lu, "tel:") || strings.HasPrefix(lu, "data:") {
		return -1
	}
	if strings.IndexByte(u, '<') >= 0 {
		e.markupInURL(u)
	}
	if len(e.f.Links) >= maxLinks {
		e.f.Truncated = true
		return -1
	}
	h := hostOf(u)
	if tag == "a" && (h == "t.me" || h == "wa.me" || h == "telegram.me" || strings.HasSuffix(h, "instagram.com")) {
		e.f.Cues.Contacts++
	}
	l := Link{Tag: tag, URL: truncate(u, 300), Host: h, Hidden: hidden, block: -1}
	if hidden != "" {
		o := e.pending
		if o < 0 {
			o = e.hiddenOwner()
		}
		if o >= 0 {
			e.f.Hidden[o].Links++
			l.block = o
		}
	}
	e.f.Links = append(e.f.Links, l)
	return len(e.f.Links) - 1
}

func (e *extractor) flushBlock() {
	if e.block.Len() == 0 {
		return
	}
	s := e.block.String()
	e.block.Reset()
	h := fnv.New64a()
	words := 0
	inWord := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == 0xa0:
			if inWord {
				h.Write([]byte{' '})
			}
			inWord = false
		case c >= '0' && c <= '9':
			if !inWord {
				words++
			}
			inWord = true
			h.Write([]byte{'0'})
		default:
			if !inWord {
				words++
			}
			inWord = true
			h.Write([]byte{c})
		}
	}
	if words == 0 || len(e.blocks) >= maxBlocks {
		return
	}
	e.blocks[h.Sum64()] += words
}

func (e *extractor) finish() {
	f := e.f
	if f.Host == "" {
		f.Host = e.metaHost
	}
	for _, sub := range e.inline {
		e.text.WriteString(" " + sub.Text)
		e.hidden.WriteString(" " + sub.HiddenText)
		e.alt.WriteString(" " + sub.Alt)
		if f.Title == "" {
			f.Title = sub.Title
		}
		for _, l := range sub.Links {
			if len(f.Links) < maxLinks {
				l.block = -1
				f.Links = append(f.Links, l)
			}
		}
		f.Hidden = append(f.Hidden, sub.Hidden...)
		f.Scripts = append(f.Scripts, sub.Scripts...)
		c := sub.Cues
		f.Cues.Marquee += c.Marquee
		f.Cues.Autoplay += c.Autoplay
		f.Cues.Sound += c.Sound
		f.Cues.Contacts += c.Contacts
		f.Cues.DarkBG = f.Cues.DarkBG || c.DarkBG
		f.Cues.Centered = f.Cues.Centered || c.Centered
		f.Cues.Elements += c.Elements
	}
	for _, sub := range e.noscripts {
		f.Hidden = append(f.Hidden, HiddenBlock{Technique: "noscript", Tag: "noscript", Text: truncate(sub.Text, 160)})
		bi := len(f.Hidden) - 1
		for _, l := range sub.Links {
			if len(f.Links) < maxLinks {
				l.Hidden, l.block = "noscript", bi
				f.Links = append(f.Links, l)
				f.Hidden[bi].Links++
			}
		}
		e.hidden.WriteString(" " + sub.Text)
	}
	f.Text = collapse(e.text.String())
	f.HiddenText = collapse(e.hidden.String())
	f.Alt = collapse(e.alt.String())
	f.Folded = fold(f.Text)
	f.Words = countWords(f.Text)
	site := siteOf(f.Host)
	seen := map[string]bool{}
	for i := range f.Links {
		l := &f.Links[i]
		if l.Text != "" {
			l.Text = truncate(collapse(l.Text), maxAnchor)
		}
		if l.Host == "" {
			if l.Tag == "a" {
				f.Cues.InternalLink++
			}
			continue
		}
		if site != "" && siteOf(l.Host) == site {
			if l.Tag == "a" {
				f.Cues.InternalLink++
			}
			continue
		}
		l.External = true
		if !seen[l.Host] {
			seen[l.Host] = true
			f.Hosts = append(f.Hosts, l.Host)
		}
	}
	sort.Strings(f.Hosts)
	for i := range f.Links {
		l := &f.Links[i]
		if l.block < 0 || l.block >= len(f.Hidden) {
			continue
		}
		hb := &f.Hidden[l.block]
		hb.Key += bagKey("", l.URL) // links as a bag: rotation keeps the key
		if l.External {
			hb.External++
			if len(hb.Hosts) < 20 && !contains(hb.Hosts, l.Host) {
				hb.Hosts = append(hb.Hosts, l.Host)
			}
		}
	}
	// Drop hidden blocks without links.
	kept := f.Hidden[:0]
	for _, hb := range f.Hidden {
		if hb.Links > 0 {
			hb.Key += bagKey(hb.Technique, "")
			kept = append(kept, hb)
		}
	}
	f.Hidden = kept
	for k, w := range e.blocks {
		f.Blocks = append(f.Blocks, k)
		f.BlockWords = append(f.BlockWords, w)
	}
	for k := range e.shingles {
		f.Shingles = append(f.Shingles, k)
	}
	sort.Slice(f.Shingles, func(i, j int) bool { return f.Shingles[i] < f.Shingles[j] })
	if strings.Contains(f.Folded, "telegram") || strings.Contains(f.Folded, "whatsapp") {
		f.Cues.Contacts++
	}
	f.Vocab = scanVocab(f)
	for _, sub := range e.frames {
		// A framed document fills the visitor's screen like the page itself:
		// its wording is not a quote inside a long article.
		for _, v := range sub.Vocab {
			v.Where = "frame"
			f.Vocab = append(f.Vocab, v)
		}
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func hash3(a, b, c string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(a))
	h.Write([]byte{'>'})
	h.Write([]byte(b))
	h.Write([]byte{'>'})
	h.Write([]byte(c))
	return h.Sum64()
}

// isBinary reports whether the start of the document is not text: a page
// replaced by an image or archive.
func isBinary(raw []byte) bool {
	n := min(len(raw), 4096)
	if n < 64 {
		return false
	}
	bad := 0
	b := raw[:n]
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		if r == utf8.RuneError && size == 1 && len(b) > 3 {
			bad++
		} else if r < 0x20 && r != '\n' && r != '\r' && r != '\t' && r != '\f' {
			bad++
		}
		b = b[size:]
	}
	return bad*10 > n
}

// hostOf returns the lower-cased host of an absolute (or scheme-relative) URL.
func hostOf(u string) string {
	u = strings.TrimSpace(u)
	i := strings.Index(u, "//")
	if i < 0 {
		return ""
	}
	if i > 0 {
		scheme := strings.ToLower(u[:i])
		if scheme != "http:" && scheme != "https:" && scheme != "ftp:" {
			return ""
		}
	}
	rest := u[i+2:]
	if j := strings.IndexAny(rest, "/?#\\"); j >= 0 {
		rest = rest[:j]
	}
	if j := strings.LastIndexByte(rest, '@'); j >= 0 {
		rest = rest[j+1:]
	}
	if strings.HasPrefix(rest, "[") {
		if j := strings.IndexByte(rest, ']'); j >= 0 {
			return strings.ToLower(rest[:j+1])
		}
	}
	if j := strings.IndexByte(rest, ':'); j >= 0 {
		rest = rest[:j]
	}
	rest = strings.TrimSuffix(strings.ToLower(rest), ".")
	if len(rest) > 253 {
		return ""
	}
	return rest
}

// siteOf approximates the registrable domain: the last two labels, or three
// under common second-level suffixes of country domains (gov.vn, co.uk).
func siteOf(host string) string {
	host = strings.TrimPrefix(host, "www.")
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

// collapse trims s and turns ASCII whitespace runs into single spaces.
func collapse(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' || c == '\n' || c == '\t' || c == '\r' || c == '\f' || c == '\v' {
			space = b.Len() > 0
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteByte(c)
	}
	return b.String()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func countWords(s string) int {
	n := 0
	in := false
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			in = false
		} else if !in {
			in = true
			n++
		}
	}
	return n
}

func tiny(v string) bool {
	v = strings.TrimSuffix(strings.TrimSpace(v), "px")
	return v == "0" || v == "1"
}

// wantAttr reports the attributes analysis reads; others are not copied.
func wantAttr(k []byte) bool {
	switch string(k) {
	case "style", "bgcolor", "class", "id", "hidden", "aria-hidden", "href", "src", "rel", "action",
		"data", "name", "property", "content", "http-equiv", "width", "height", "autoplay", "muted", "autostart", "srcdoc", "alt":
		return true
	}
	return false
}

func blank(b []byte) bool {
	for _, c := range b {
		if c != ' ' && c != '\n' && c != '\t' && c != '\r' && c != '\f' {
			return false
		}
	}
	return true
}

// bagKey hashes a technique and the words of a text as a bag (order and
// digits ignored), so a rotated list inside a hidden menu keeps its key.
func bagKey(tech, text string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(tech))
	key := h.Sum64()
	for _, w := range strings.Fields(maskDigits(text)) {
		h := fnv.New64a()
		h.Write([]byte(w))
		key += h.Sum64()
	}
	return key
}
