package crawl

import (
	"bytes"
	"compress/gzip"
	"testing"
)

func FuzzParseSitemap(f *testing.F) {
	f.Add([]byte(urlset), 3)
	f.Add([]byte(`<sitemapindex><sitemap><loc>https://x.vn/s.xml</loc></sitemap></sitemapindex>`), 0)
	f.Add([]byte("<html><body>x</body></html>"), 1)
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write([]byte(urlset))
	w.Close()
	f.Add(buf.Bytes(), 2)
	f.Fuzz(func(t *testing.T, data []byte, max int) {
		sm, _ := ParseSitemap(bytes.NewReader(data), max)
		limit := max
		if limit <= 0 {
			limit = DefaultMax
		}
		if n := len(sm.URLs) + len(sm.Sitemaps); n > limit {
			t.Fatalf("%d items over cap %d", n, limit)
		}
		for _, u := range append(sm.URLs, sm.Sitemaps...) {
			if len(u) > maxURLLen || u == "" {
				t.Fatalf("bad item %q", u)
			}
		}
	})
}

func FuzzParseFeed(f *testing.F) {
	f.Add([]byte(`<rss><channel><item><link>https://x.vn/a</link></item></channel></rss>`), 1)
	f.Add([]byte(`<feed><entry><link href="https://x.vn/a"/></entry></feed>`), 0)
	f.Add([]byte(`<rdf:RDF><item><link>https://x.vn/a</link></item></rdf:RDF>`), 5)
	f.Fuzz(func(t *testing.T, data []byte, max int) {
		links, _ := ParseFeed(bytes.NewReader(data), max)
		limit := max
		if limit <= 0 {
			limit = DefaultMax
		}
		if len(links) > limit {
			t.Fatalf("%d links over cap %d", len(links), limit)
		}
		for _, u := range links {
			if len(u) > maxURLLen || u == "" {
				t.Fatalf("bad link %q", u)
			}
		}
	})
}
