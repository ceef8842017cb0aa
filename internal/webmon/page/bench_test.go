package page

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// page200KB builds a ~200 KB page by repeating a benign article's body.
func page200KB(b testing.TB) []byte {
	raw, err := os.ReadFile(filepath.Join(sharedDir, "benign", "nytimes-1.html"))
	if err != nil {
		b.Skipf("shared web data not available (%v); skipping", err)
	}
	if len(raw) >= 200<<10 {
		return raw[:200<<10]
	}
	var buf bytes.Buffer
	for buf.Len() < 200<<10 {
		buf.Write(raw)
	}
	return buf.Bytes()[:200<<10]
}

// BenchmarkAnalyze200KB: Extract and Analyze of a 200 KB page against a
// baseline of two fetches (the per-check cost of a monitor).
func BenchmarkAnalyze200KB(b *testing.B) {
	raw := page200KB(b)
	base := Learn(mustExtract(b, perturb(raw, 1), "https://www.nytimes.com/"), mustExtract(b, perturb(raw, 2), "https://www.nytimes.com/"))
	cur := perturb(raw, 3)
	b.SetBytes(int64(len(cur)))
	b.ReportAllocs()
	for b.Loop() {
		f, _ := Extract(cur, "https://www.nytimes.com/")
		Analyze(f, base, Options{})
	}
}

func FuzzExtract(f *testing.F) {
	f.Add([]byte(`<div style="display:none"><a href="http://x.com">nhà cái</a></div>`), "")
	f.Add([]byte(`<style>.a{left:-9999px;position:absolute}</style><p class=a><marquee><a href=//b.c>x`), "http://gov.vn/")
	f.Add([]byte(`<script>if(document.referrer.indexOf('google')>0)location.href='http://a.b/'</script>`), "")
	f.Add([]byte(`<script>document.write(unescape('%3Ca href=http://x.y%3Ehacked by%3C/a%3E'))</script>`), "")
	f.Add([]byte(strings.Repeat("<div>", 2000)), "")
	f.Fuzz(func(t *testing.T, raw []byte, u string) {
		start := time.Now()
		feat, err := Extract(raw, u)
		if err != nil || feat == nil {
			t.Fatalf("Extract: %v", err)
		}
		r := Analyze(feat, Learn(feat), Options{})
		if r.Verdict == "" || r.Score < 0 || r.Score > 1 {
			t.Fatalf("bad result %+v", r)
		}
		Analyze(feat, nil, Options{})
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("took %v on %d bytes", d, len(raw))
		}
	})
}
