// Package crawl discovers a site's sub-pages for defacement monitoring: it
// reads XML sitemaps (plain or gzipped, urlset or sitemapindex) and RSS/Atom
// feeds, keeps same-site page URLs, plans a fair, budgeted fetch list from
// several sources, names a surely-missing path to probe the site's 404
// handler, and reports sitemap entries that appeared since the last visit.
//
// All parsers are bounded: input is read through a decompressed-size cap
// (MaxDecoded) and at most a caller-given number of items is returned.
package crawl

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"golang.org/x/net/html/charset"
)

// MaxDecoded is the most bytes a parser reads from a document, after
// gunzipping: a larger (or decompression-bomb) document is refused.
const MaxDecoded = 5 << 20

// DefaultMax is the item cap used when a parser is given max <= 0; it is the
// sitemap protocol's own limit per file.
const DefaultMax = 50000

// maxURLLen bounds one URL taken from a document; longer ones are skipped.
const maxURLLen = 2048

// ErrTooLarge reports a document that exceeds MaxDecoded once decompressed.
var ErrTooLarge = errors.New("crawl: document exceeds 5 MiB decompressed")

// ErrNotSitemap reports XML or HTML whose root is not a sitemap.
var ErrNotSitemap = errors.New("crawl: not a sitemap")

// ErrNotFeed reports a document whose root is not an RSS or Atom feed.
var ErrNotFeed = errors.New("crawl: not an RSS or Atom feed")

// Sitemap is what one sitemap file lists.
type Sitemap struct {
	// URLs are the page locations of a <urlset>.
	URLs []string
	// Sitemaps are the child sitemaps of a <sitemapindex>.
	Sitemaps []string
}

// capReader returns ErrTooLarge once more than n bytes have been read.
type capReader struct {
	r io.Reader
	n int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.n <= 0 {
		// Probe for one more byte: exactly n bytes is fine.
		var one [1]byte
		k, err := c.r.Read(one[:])
		if k > 0 {
			return 0, ErrTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > c.n {
		p = p[:c.n]
	}
	k, err := c.r.Read(p)
	c.n -= int64(k)
	return k, err
}

// open returns a reader over r's content, gunzipped when r starts with the
// gzip magic, capped at MaxDecoded bytes, with a leading byte-order mark and
// white space skipped.
func open(r io.Reader) (io.Reader, error) {
	br := bufio.NewReader(r)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("crawl: bad gzip stream: %w", err)
		}
		zr.Multistream(false)
		br = bufio.NewReader(&capReader{r: zr, n: MaxDecoded})
	} else {
		br = bufio.NewReader(&capReader{r: br, n: MaxDecoded})
	}
	// Junk before the document: BOM, white space, stray NULs.
	for {
		c, size, err := br.ReadRune()
		if err != nil {
			if err == io.EOF {
				return br, nil
			}
			return nil, err
		}
		if c == '\uFEFF' || c == 0 || c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v' {
			continue
		}
		if size > 0 {
			_ = br.UnreadRune()
		}
		return br, nil
	}
}

// newDecoder returns a lenient XML decoder: HTML entities, unquoted
// attributes and mismatched end tags are tolerated and any declared charset
// is decoded. (No HTML auto-closing: RSS <link> has content.)
func newDecoder(r io.Reader) *xml.Decoder {
	d := xml.NewDecoder(r)
	d.Strict = false
	d.Entity = xml.HTMLEntity
	d.CharsetReader = func(label string, in io.Reader) (io.Reader, error) {
		if cr, err := charset.NewReaderLabel(label, in); err == nil {
			return cr, nil
		}
		return in, nil // unknown label: URLs are ASCII anyway
	}
	return d
}

// collector gathers distinct, well-formed absolute http(s) URLs up to a cap.
type collector struct {
	max  int
	n    int
	seen map[string]bool
}

func newCollector(max int) *collector {
	if max <= 0 {
		max = DefaultMax
	}
	return &collector{max: max, seen: map[string]bool{}}
}

func (c *collector) full() bool { return c.n >= c.max }

// add appends s to *dst when it is a new absolute http(s) URL.
func (c *collector) add(dst *[]string, s string) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > maxURLLen || c.full() || c.seen[s] {
		return
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return
	}
	c.seen[s] = true
	c.n++
	*dst = append(*dst, s)
}

// ParseSitemap reads an XML sitemap, a <urlset> of pages or a <sitemapindex>
// of child sitemaps, with or without the sitemaps.org namespace. A stream
// starting with the gzip magic is gunzipped. At most max items in total (URLs
// plus Sitemaps; DefaultMax when max <= 0) are returned, duplicates and
// malformed or non-http(s) locations dropped. A document larger than
// MaxDecoded fails with ErrTooLarge, one whose root element is not a sitemap
// (an HTML error page, say) with ErrNotSitemap; on other errors the items read
// so far are returned with the error.
func ParseSitemap(r io.Reader, max int) (Sitemap, error) {
	var sm Sitemap
	in, err := open(r)
	if err != nil {
		return sm, err
	}
	d := newDecoder(in)
	c := newCollector(max)
	var stack []string
	var text bytes.Buffer
	root := ""
	for !c.full() {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			if root == "" && !errors.Is(err, ErrTooLarge) {
				return sm, fmt.Errorf("%w: %v", ErrNotSitemap, err)
			}
			return sm, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			name := strings.ToLower(t.Name.Local)
			if root == "" {
				if name != "urlset" && name != "sitemapindex" {
					return sm, fmt.Errorf("%w: root element <%s>", ErrNotSitemap, t.Name.Local)
				}
				root = name
			}
			stack = append(stack, name)
			if name == "loc" {
				text.Reset()
			}
		case xml.CharData:
			if len(stack) > 0 && stack[len(stack)-1] == "loc" && text.Len() <= maxURLLen {
				text.Write(t)
			}
		case xml.EndElement:
			if len(stack) == 0 {
				continue
			}
			name := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if name != "loc" || len(stack) == 0 {
				continue
			}
			switch parent := stack[len(stack)-1]; {
			case parent == "url" && root == "urlset":
				c.add(&sm.URLs, text.String())
			case parent == "sitemap" && root == "sitemapindex":
				c.add(&sm.Sitemaps, text.String())
			}
		}
	}
	if root == "" {
		return sm, fmt.Errorf("%w: no root element", ErrNotSitemap)
	}
	return sm, nil
}
