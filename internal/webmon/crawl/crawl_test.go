package crawl

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

const urlset = `<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
  <url><loc>https://sotp.hanoi.gov.vn/</loc><lastmod>2026-01-01</lastmod></url>
  <url>
    <loc>
      https://sotp.hanoi.gov.vn/tin-tuc/a-1.html
    </loc>
    <image:image><image:loc>https://sotp.hanoi.gov.vn/img/a.jpg</image:loc></image:image>
  </url>
  <url><loc>https://sotp.hanoi.gov.vn/tin-tuc?id=2&amp;p=1</loc></url>
  <url><loc>https://sotp.hanoi.gov.vn/tin-tuc/a-1.html</loc></url>
  <url><loc>javascript:alert(1)</loc></url>
  <url><loc></loc></url>
</urlset>`

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var wantURLs = []string{
	"https://sotp.hanoi.gov.vn/",
	"https://sotp.hanoi.gov.vn/tin-tuc/a-1.html",
	"https://sotp.hanoi.gov.vn/tin-tuc?id=2&p=1",
}

func TestParseSitemapURLSet(t *testing.T) {
	sm, err := ParseSitemap(strings.NewReader(urlset), 0)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(sm.URLs, wantURLs) || len(sm.Sitemaps) != 0 {
		t.Fatalf("got %+v", sm)
	}
}

func TestParseSitemapGzip(t *testing.T) {
	sm, err := ParseSitemap(bytes.NewReader(gz(t, []byte(urlset))), 0)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(sm.URLs, wantURLs) {
		t.Fatalf("got %+v", sm)
	}
}

func TestParseSitemapIndex(t *testing.T) {
	doc := "\ufeff\n\n  <?xml version='1.0' encoding='ISO-8859-1'?>\n" +
		`<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>https://x.gov.vn/sitemap-posts.xml</loc><lastmod>2026-01-01</lastmod></sitemap>
  <sitemap><loc> https://x.gov.vn/sitemap-pages.xml.gz </loc></sitemap>
</sitemapindex>`
	sm, err := ParseSitemap(strings.NewReader(doc), 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"https://x.gov.vn/sitemap-posts.xml", "https://x.gov.vn/sitemap-pages.xml.gz"}
	if !reflect.DeepEqual(sm.Sitemaps, want) || len(sm.URLs) != 0 {
		t.Fatalf("got %+v", sm)
	}
}

func TestParseSitemapNoNamespace(t *testing.T) {
	doc := `<urlset><url><loc>http://x.gov.vn/a</loc></url><URL><LOC>http://x.gov.vn/b</LOC></URL></urlset>`
	sm, err := ParseSitemap(strings.NewReader(doc), 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"http://x.gov.vn/a", "http://x.gov.vn/b"}; !reflect.DeepEqual(sm.URLs, want) {
		t.Fatalf("got %v", sm.URLs)
	}
}

func TestParseSitemapItemCap(t *testing.T) {
	var b strings.Builder
	b.WriteString("<urlset>")
	for i := range 1000 {
		fmt.Fprintf(&b, "<url><loc>https://x.gov.vn/p%d</loc></url>", i)
	}
	b.WriteString("</urlset>")
	sm, err := ParseSitemap(strings.NewReader(b.String()), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(sm.URLs) != 10 || sm.URLs[9] != "https://x.gov.vn/p9" {
		t.Fatalf("got %d URLs: %v", len(sm.URLs), sm.URLs)
	}
}

func TestParseSitemapGzipBombRefused(t *testing.T) {
	// 16 MiB of white space inside the urlset compresses to ~16 KiB.
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	io.WriteString(w, "<urlset><url><loc>https://x.gov.vn/a</loc></url>")
	chunk := bytes.Repeat([]byte(" "), 1<<20)
	for range 16 {
		w.Write(chunk)
	}
	io.WriteString(w, "<url><loc>https://x.gov.vn/b</loc></url></urlset>")
	w.Close()
	if buf.Len() > 1<<20 {
		t.Fatalf("bomb is %d bytes compressed", buf.Len())
	}
	sm, err := ParseSitemap(&buf, 0)
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if len(sm.URLs) > 1 {
		t.Fatalf("read past the cap: %v", sm.URLs)
	}
}

func TestParseSitemapPlainTooLarge(t *testing.T) {
	r := io.MultiReader(strings.NewReader("<urlset>"), bytes.NewReader(bytes.Repeat([]byte(" "), MaxDecoded)))
	if _, err := ParseSitemap(r, 0); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}

func TestParseSitemapRejectsOtherDocuments(t *testing.T) {
	for name, doc := range map[string]string{
		"html":    "<!DOCTYPE html><html><head><title>404</title></head><body>Not found</body></html>",
		"rss":     `<?xml version="1.0"?><rss><channel></channel></rss>`,
		"text":    "User-agent: *\nDisallow:\n",
		"empty":   "",
		"badgzip": "\x1f\x8bnot gzip",
	} {
		if _, err := ParseSitemap(strings.NewReader(doc), 0); err == nil {
			t.Errorf("%s: no error", name)
		} else if name != "badgzip" && !errors.Is(err, ErrNotSitemap) {
			t.Errorf("%s: err = %v, want ErrNotSitemap", name, err)
		}
	}
}

func TestParseFeedRSS(t *testing.T) {
	doc := `<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel>
  <title>Tin tức</title><link>https://x.gov.vn/</link>
  <atom:link href="https://x.gov.vn/rss" rel="self"/>
  <item><title>A</title><link>https://x.gov.vn/a.html</link><guid>1</guid></item>
  <item><title>B</title><link><![CDATA[ https://x.gov.vn/b.html ]]></link></item>
  <item><title>C</title></item>
</channel></rss>`
	got, err := ParseFeed(strings.NewReader(doc), 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"https://x.gov.vn/a.html", "https://x.gov.vn/b.html"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v", got)
	}
}

func TestParseFeedAtom(t *testing.T) {
	doc := `<feed xmlns="http://www.w3.org/2005/Atom">
  <link rel="self" href="https://x.gov.vn/atom.xml"/>
  <entry><link rel="alternate" type="text/html" href="https://x.gov.vn/a"/><link rel="edit" href="https://x.gov.vn/edit/a"/></entry>
  <entry><link href="https://x.gov.vn/b"/></entry>
  <entry><link rel="enclosure" href="https://x.gov.vn/c.mp3"/></entry>
</feed>`
	got, err := ParseFeed(bytes.NewReader(gz(t, []byte(doc))), 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"https://x.gov.vn/a", "https://x.gov.vn/b"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v", got)
	}
}

func TestParseFeedCapAndErrors(t *testing.T) {
	var b strings.Builder
	b.WriteString("<rss><channel>")
	for i := range 100 {
		fmt.Fprintf(&b, "<item><link>https://x.gov.vn/%d</link></item>", i)
	}
	b.WriteString("</channel></rss>")
	got, err := ParseFeed(strings.NewReader(b.String()), 5)
	if err != nil || len(got) != 5 {
		t.Fatalf("got %d links, err %v", len(got), err)
	}
	if _, err := ParseFeed(strings.NewReader("<html><body>hi</body></html>"), 0); !errors.Is(err, ErrNotFeed) {
		t.Fatalf("html: err = %v", err)
	}
}

func TestSameSite(t *testing.T) {
	base, _ := url.Parse("https://www.Sotp.Hanoi.gov.vn/tin-tuc/index.html")
	cases := []struct {
		raw, want string
	}{
		{"/gioi-thieu", "https://www.sotp.hanoi.gov.vn/gioi-thieu"},
		{"a-1.html#top", "https://www.sotp.hanoi.gov.vn/tin-tuc/a-1.html"},
		{"../lien-he?x=1", "https://www.sotp.hanoi.gov.vn/lien-he?x=1"},
		{"//sotp.hanoi.gov.vn/a", "https://sotp.hanoi.gov.vn/a"},
		{"http://SOTP.hanoi.gov.vn:80", "http://sotp.hanoi.gov.vn/"},
		{"https://www.sotp.hanoi.gov.vn:443/b", "https://www.sotp.hanoi.gov.vn/b"},
		{"  /trang.aspx  ", "https://www.sotp.hanoi.gov.vn/trang.aspx"},
		{"https://hanoi.gov.vn/", ""},            // parent site
		{"https://cdn.sotp.hanoi.gov.vn/a", ""},  // subdomain
		{"https://kq-vip.top/", ""},              // other site
		{"//kq-vip.top/x", ""},                   // protocol-relative other site
		{"https://sotp.hanoi.gov.vn:8443/a", ""}, // other port
		{"https://u:p@sotp.hanoi.gov.vn/a", ""},  // user info
		{"/img/logo.PNG", ""},                    // assets
		{"/static/site.css?v=3", ""},
		{"/js/app.js", ""},
		{"/files/quyet-dinh.pdf", ""},
		{"/files/bieu-mau.docx", ""},
		{"/files/data.xls", ""},
		{"/files/a.zip", ""},
		{"mailto:vanthu@hanoi.gov.vn", ""},
		{"javascript:void(0)", ""},
		{"JavaScript:void(0)", ""},
		{"tel:0241234567", ""},
		{"ftp://sotp.hanoi.gov.vn/a", ""},
		{"", ""},
		{"http://[::1", ""},
	}
	for _, c := range cases {
		u, ok := SameSite(base, c.raw)
		got := ""
		if ok {
			got = u.String()
		}
		if got != c.want {
			t.Errorf("SameSite(%q) = %q, %v; want %q", c.raw, got, ok, c.want)
		}
	}
	if _, ok := SameSite(nil, "/a"); ok {
		t.Error("nil base accepted")
	}
}

func TestPlanFairnessAndBudget(t *testing.T) {
	var big []string
	for i := range 500 {
		big = append(big, fmt.Sprintf("https://x.gov.vn/sm/%d", i))
	}
	links := Source{Kind: "link", URLs: []string{"/", "/l1", "https://other.vn/x", "/l2#frag", "/l1", "/logo.png", "/l3"}}
	feed := Source{Kind: "feed", URLs: []string{"https://www.x.gov.vn/f1", "http://x.gov.vn/sm/0", "https://x.gov.vn/f2"}}
	sm := Source{Kind: "sitemap", URLs: big}
	got := Plan("https://X.gov.vn", 9, links, feed, sm)
	want := []string{
		"https://x.gov.vn/sm/0", "https://www.x.gov.vn/f1", "https://x.gov.vn/l1",
		"https://x.gov.vn/sm/1", "https://x.gov.vn/f2", "https://x.gov.vn/l2",
		"https://x.gov.vn/sm/2", "https://x.gov.vn/l3", "https://x.gov.vn/sm/3",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Plan =\n%q\nwant\n%q", got, want)
	}
	if again := Plan("https://X.gov.vn", 9, links, feed, sm); !reflect.DeepEqual(again, got) {
		t.Fatal("Plan is not deterministic")
	}
	if got := Plan("https://x.gov.vn/", 3, sm); len(got) != 3 {
		t.Fatalf("budget: %v", got)
	}
	if got := Plan("https://x.gov.vn/", 100, links); len(got) != 3 {
		t.Fatalf("exhausted sources: %v", got)
	}
	if Plan("https://x.gov.vn/", 0, sm) != nil || Plan("not a url", 5, sm) != nil {
		t.Fatal("degenerate arguments planned pages")
	}
}

func TestNotFoundURL(t *testing.T) {
	a := NotFoundURL("https://WWW.x.gov.vn:443/trang-chu", 1)
	if !strings.HasPrefix(a, "https://www.x.gov.vn/canhgac-404-") || len(a) != len("https://www.x.gov.vn/canhgac-404-")+16 {
		t.Fatalf("got %q", a)
	}
	if a != NotFoundURL("https://www.x.gov.vn/", 1) {
		t.Fatal("not deterministic")
	}
	if a == NotFoundURL("https://www.x.gov.vn/", 2) {
		t.Fatal("seed ignored")
	}
	if NotFoundURL("x.gov.vn", 1) != "" {
		t.Fatal("relative root accepted")
	}
}

func TestNewEntries(t *testing.T) {
	prev := []string{"https://x.gov.vn/a", "https://x.gov.vn/b#x", "junk"}
	cur := []string{"https://x.gov.vn/b", "http://www.x.gov.vn/a", "https://X.gov.vn/slot-gacor", "https://x.gov.vn/c", "https://x.gov.vn/c", "mailto:a@b"}
	got := NewEntries(prev, cur)
	if want := []string{"https://x.gov.vn/c", "https://x.gov.vn/slot-gacor"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v", got)
	}
	if got := NewEntries(cur, prev); len(got) != 0 {
		t.Fatalf("reverse: %v", got)
	}
}
