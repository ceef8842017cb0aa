package page

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sharedDir holds the shared evaluation pages (real defacements from the
// unit500 mirror and normal articles from mozilla/readability's test pages).
const sharedDir = "/work/shared/data/web"

type sample struct {
	name, label string
	raw         []byte
}

func sharedPages(t testing.TB, label string) []sample {
	t.Helper()
	mf, err := os.Open(filepath.Join(sharedDir, "manifest.tsv"))
	if err != nil {
		t.Skipf("shared web data not available (%v); skipping", err)
	}
	defer mf.Close()
	var out []sample
	sc := bufio.NewScanner(mf)
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) < 2 || cols[1] != label {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(sharedDir, cols[0]))
		if err != nil {
			t.Fatalf("read %s: %v", cols[0], err)
		}
		out = append(out, sample{name: cols[0], label: cols[1], raw: raw})
	}
	if len(out) == 0 {
		t.Skipf("no %s pages in %s; skipping", label, sharedDir)
	}
	return out
}

func mustExtract(t testing.TB, raw []byte, u string) *Features {
	t.Helper()
	f, err := Extract(raw, u)
	if err != nil {
		t.Fatalf("extract: %v", err)
	}
	return f
}

// TestSharedDefacedRecall: real defaced home pages are judged defaced on
// their own, without a baseline (the first fetch of a monitored page).
// The target is 99%. Most defacements in the mirror are banners, gambling
// link farms or redirects; a 2025 campaign stores a <script src> in text
// fields (menu labels, headings), framed banners sit in <iframe srcdoc>, and
// Turkish link farms hide in display:table-column boxes. One mirrored page
// (a municipal news item) shows no trace of the defacement in its captured
// text, markup, links or scripts, so alone it cannot be told apart.
func TestSharedDefacedRecall(t *testing.T) {
	pages := sharedPages(t, "defaced")
	hit := 0
	for _, p := range pages {
		r := Analyze(mustExtract(t, p.raw, ""), nil, Options{})
		if r.Verdict == Defaced {
			hit++
		} else {
			t.Logf("missed %s: %s %.2f %v", p.name, r.Verdict, r.Score, r.Reasons)
		}
	}
	recall := float64(hit) / float64(len(pages))
	t.Logf("defaced recall without baseline: %d/%d = %.4f", hit, len(pages), recall)
	if recall < 0.99 {
		t.Errorf("recall %.4f < 0.99", recall)
	}
}

// TestSharedBenignNoFalseAlarm: normal article pages are never judged
// defaced, alone or against a baseline learned from perturbed fetches.
func TestSharedBenignNoFalseAlarm(t *testing.T) {
	pages := matrixPages(t)
	alone, vsBase, changed := 0, 0, 0
	for i, p := range pages {
		u := "" // as an operator would run it: no URL, the page's host comes from canonical/og:url
		f := mustExtract(t, p.raw, u)
		if r := Analyze(f, nil, Options{}); r.Verdict == Defaced {
			alone++
			t.Errorf("%s alone: %s %.2f %v", p.name, r.Verdict, r.Score, r.Reasons)
		}
		b := Learn(mustExtract(t, perturb(p.raw, int64(i*3+1)), u), mustExtract(t, perturb(p.raw, int64(i*3+2)), u))
		cur := mustExtract(t, perturb(p.raw, int64(i*3+3)), u)
		r := Analyze(cur, b, Options{})
		if r.Verdict == Defaced {
			vsBase++
			t.Errorf("%s vs baseline: %s %.2f %v", p.name, r.Verdict, r.Score, r.Reasons)
		}
		if r.Verdict == Changed {
			changed++
		}
	}
	t.Logf("benign false alarms: alone %d/%d, vs own perturbed baseline %d/%d (changed: %d)", alone, len(pages), vsBase, len(pages), changed)
}
