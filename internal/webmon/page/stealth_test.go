package page

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"canhgac/internal/webmon/domainlist"
)

// technique is one way gambling-SEO injections hide links from visitors.
// wrap returns the injected markup around the links.
type technique struct {
	name string
	wrap func(links string) string
}

var techniques = []technique{
	{"display_none", func(l string) string { return `<div style="display:none">` + l + `</div>` }},
	{"display_none_spaced", func(l string) string { return `<div style="DISPLAY : NONE !important">` + l + `</div>` }},
	{"visibility_hidden", func(l string) string { return `<div style="visibility:hidden">` + l + `</div>` }},
	{"offscreen_left", func(l string) string {
		return `<div style="position:absolute;left:-9999px;top:-9999px">` + l + `</div>`
	}},
	{"offscreen_fixed_top", func(l string) string { return `<p style="position: fixed; top: -3000px">` + l + `</p>` }},
	{"text_indent", func(l string) string { return `<div style="text-indent:-9999px;overflow:hidden">` + l + `</div>` }},
	{"font_size_zero", func(l string) string { return `<span style="font-size:0px">` + l + `</span>` }},
	{"font_size_1px", func(l string) string { return `<div style="font-size:1px;line-height:1px">` + l + `</div>` }},
	{"zero_size_overflow", func(l string) string {
		return `<div style="height:0;width:0;overflow:hidden">` + l + `</div>`
	}},
	{"opacity_zero", func(l string) string { return `<div style="opacity:0">` + l + `</div>` }},
	{"color_as_background", func(l string) string {
		return `<div style="color:#ffffff;background-color:#fff"><font>` + strings.ReplaceAll(l, "<a ", `<a style="color:#fff" `) + `</font></div>`
	}},
	{"transparent_text", func(l string) string { return `<div style="color:transparent">` + l + `</div>` }},
	{"marquee_in_hidden", func(l string) string {
		return `<div style="display:none"><marquee scrollamount="3">` + l + `</marquee></div>`
	}},
	{"tiny_marquee", func(l string) string { return `<marquee width="1" height="1">` + l + `</marquee>` }},
	{"hidden_attribute", func(l string) string { return `<div hidden>` + l + `</div>` }},
	{"aria_hidden", func(l string) string { return `<div aria-hidden="true">` + l + `</div>` }},
	{"style_block_class", func(l string) string {
		return `<style>.ft-links-x{display:none}</style><div class="clearfix ft-links-x">` + l + `</div>`
	}},
	{"style_block_id", func(l string) string {
		return `<style type="text/css">/* footer */ #seo9 { position:absolute; left:-5000px; }</style><div id="seo9">` + l + `</div>`
	}},
	{"link_level_display_none", func(l string) string {
		return `<p>` + strings.ReplaceAll(l, "<a ", `<a style="display:none" `) + `</p>`
	}},
	{"noscript", func(l string) string { return `<noscript>` + l + `</noscript>` }},
	{"script_hidden_id", func(l string) string {
		return `<div id="lk-2026">` + l + `</div><script>document.getElementById('lk-2026').style.display = 'none';</script>`
	}},
	{"clip_rect", func(l string) string {
		return `<div style="position:absolute;clip:rect(0,0,0,0);width:1px;height:1px;overflow:hidden">` + l + `</div>`
	}},
}

var reBodyOpen = regexp.MustCompile(`(?i)<body[^>]*>`)

// inject places markup right after <body>, before </body> or after the
// middle </p>, as attackers do in templates, headers and footers.
// A position inside a comment or script (conditional-comment <body> tags,
// markup in JS strings) does not render, so the next position is tried.
func inject(raw []byte, markup string, where int) []byte {
	for k := 0; k < 3; k++ {
		out := injectAt(raw, markup, where+k)
		if renders(out, markup) {
			return out
		}
	}
	return injectAt(raw, markup, 1)
}

var reHref = regexp.MustCompile(`href="https?://([^/"]+)`)

// renders reports whether the injected links reach the parsed page.
func renders(page []byte, markup string) bool {
	m := reHref.FindStringSubmatch(markup)
	if m == nil {
		return true
	}
	f, _ := Extract(page, "")
	for _, l := range f.Links {
		if l.Host == m[1] {
			return true
		}
	}
	return false
}

func injectAt(raw []byte, markup string, where int) []byte {
	var at int
	switch where % 3 {
	case 0:
		if locs := reBodyOpen.FindAllIndex(raw, -1); locs != nil {
			at = locs[len(locs)-1][1]
		}
	case 1:
		at = bytes.LastIndex(bytes.ToLower(raw), []byte("</body"))
	case 2:
		ps := regexp.MustCompile(`(?i)</p>`).FindAllIndex(raw, -1)
		if len(ps) > 0 {
			at = ps[len(ps)/2][1]
		}
	}
	if at <= 0 {
		at = len(raw)
	}
	out := append([]byte(nil), raw[:at]...)
	out = append(out, markup...)
	return append(out, raw[at:]...)
}

// gamblingLinks builds n links. listed: hosts from the embedded list;
// otherwise fresh hosts the list does not know. neutral anchors carry no
// gambling wording, so only the hidden-container signal can catch them.
func gamblingLinks(t testing.TB, n, seed int, listed, neutral bool) string {
	t.Helper()
	listedHosts := []string{"fb88.com", "m.lucky88.com", "nhanthuong88.com", "bong99.com", "978bet3.com", "mibet.com"}
	anchors := []string{"nhà cái uy tín", "cá cược bóng đá", "tài xỉu online", "nổ hũ đổi thưởng", "bắn cá", "soi kèo nhà cái", "game bài đổi thưởng", "xoc dia online"}
	neutralAnchors := []string{"xem thêm", "trang chủ", "tin mới", "chi tiết", "liên kết", "tham khảo"}
	var b strings.Builder
	for i := 0; i < n; i++ {
		host := listedHosts[(seed+i)%len(listedHosts)]
		if !listed {
			host = fmt.Sprintf("kq%d-vip%d.top", seed*7+i, i+3)
			if _, ok := domainlist.Embedded().Match(host); ok {
				t.Fatalf("fixture host %s is listed", host)
			}
		}
		text := anchors[(seed+i)%len(anchors)]
		if neutral {
			text = neutralAnchors[(seed+i)%len(neutralAnchors)]
		}
		fmt.Fprintf(&b, `<a href="https://%s/?ref=%d" title="%s">%s</a> `, host, i, text, text)
	}
	return b.String()
}

// TestStealthTechniques: for every hiding technique, ~5 hidden links
// injected into every benign page are judged defaced against the page's
// own baseline — with listed domains, with unknown domains, and with
// unknown domains and innocuous anchor text.
func TestStealthTechniques(t *testing.T) {
	pages := matrixPages(t)
	variants := []struct {
		name            string
		listed, neutral bool
	}{{"listed", true, false}, {"unlisted", false, false}, {"unlisted_neutral", false, true}}
	bases := make([]*Baseline, len(pages))
	curs := make([][]byte, len(pages))
	for pi, p := range pages {
		bases[pi] = Learn(mustExtract(t, perturb(p.raw, int64(pi+1)), ""), mustExtract(t, perturb(p.raw, int64(pi+100)), ""))
		curs[pi] = perturb(p.raw, int64(pi+7))
	}
	for ti, tech := range techniques {
		caught, total := 0, 0
		for pi, p := range pages {
			base := bases[pi]
			for vi, v := range variants {
				seed := ti*1000 + pi*3 + vi
				inj := inject(curs[pi], tech.wrap(gamblingLinks(t, 5, seed, v.listed, v.neutral)), pi+vi+ti)
				r := Analyze(mustExtract(t, inj, ""), base, Options{})
				total++
				if r.Verdict == Defaced {
					caught++
				} else {
					t.Errorf("%s/%s in %s: %s %.2f %v", tech.name, v.name, p.name, r.Verdict, r.Score, r.Reasons)
				}
			}
		}
		t.Logf("technique %-22s caught %d/%d against baseline", tech.name, caught, total)
	}
}

// TestStealthAlone: without a baseline, hidden gambling links are still
// judged defaced when their anchors or domains say gambling.
func TestStealthAlone(t *testing.T) {
	pages := matrixPages(t)
	for ti, tech := range techniques {
		caught, total := 0, 0
		for pi, p := range pages {
			for vi, listed := range []bool{true, false} {
				inj := inject(p.raw, tech.wrap(gamblingLinks(t, 5, ti+pi+vi, listed, false)), pi+vi)
				r := Analyze(mustExtract(t, inj, ""), nil, Options{})
				total++
				if r.Verdict == Defaced {
					caught++
				} else {
					t.Errorf("%s alone (listed=%v) in %s: %s %.2f %v", tech.name, listed, p.name, r.Verdict, r.Score, r.Reasons)
				}
			}
		}
		t.Logf("technique %-22s caught alone %d/%d", tech.name, caught, total)
	}
}

var reFirstP = regexp.MustCompile(`(?is)<p[^>]*>([^<]{40,})`)

// TestLegitimateChange: an editor rewording a paragraph and adding one is a
// change worth an info note, not a defacement.
func TestLegitimateChange(t *testing.T) {
	pages := matrixPages(t)
	tested := 0
	for pi, p := range pages {
		loc := reFirstP.FindSubmatchIndex(p.raw)
		if loc == nil {
			continue
		}
		edited := append([]byte(nil), p.raw[:loc[2]]...)
		edited = append(edited, "Cập nhật lúc 9 giờ: UBND tỉnh đã điều chỉnh nội dung thông báo theo góp ý của người dân. "...)
		edited = append(edited, p.raw[loc[3]:]...)
		edited = inject(edited, `<p>Thông tin bổ sung: lịch tiếp công dân tuần sau được giữ nguyên, đề nghị các cơ quan phối hợp thực hiện.</p>`, 2)
		cur := mustExtract(t, edited, "")
		if !strings.Contains(cur.Text, "UBND tỉnh") {
			continue // the first <p> is in a script or template, not the article
		}
		tested++
		base := Learn(mustExtract(t, perturb(p.raw, int64(pi+1)), ""), mustExtract(t, perturb(p.raw, int64(pi+2)), ""))
		r := Analyze(cur, base, Options{})
		if r.Verdict != Changed {
			t.Errorf("%s: edited article judged %s %.2f %v, want changed", p.name, r.Verdict, r.Score, r.Reasons)
		}
	}
	t.Logf("legitimate edits judged changed on %d pages", tested)
}

// TestCloakingScripts: scripts injected to redirect search visitors or
// crawlers, or to write gambling links, are judged defaced against the
// page's baseline.
func TestCloakingScripts(t *testing.T) {
	pages := matrixPages(t)
	scripts := map[string]string{
		"referrer_redirect": `<script>var r=document.referrer;if(r.indexOf("google")>-1||r.indexOf("bing")>-1){window.location.href="https://kq77-vip.top/?from=seo";}</script>`,
		"useragent_write":   `<script>if(/googlebot|bingbot/i.test(navigator.userAgent)){document.write('<a href="https://kq78-vip.top/">xem them</a>');}</script>`,
		"document_write":    `<script type="text/javascript">document.write("<div style='position:absolute;left:-8000px'><a href='https://kq79-vip.top/'>link</a></div>");</script>`,
		"location_replace":  `<script>setTimeout(function(){location.replace('https://kq80-vip.top/landing')},3000)</script>`,
		"eval_atob":         `<script>eval(atob("d2luZG93LmxvY2F0aW9uPSJodHRwczovL2txODEtdmlwLnRvcC8iOw=="))</script>`,
		"charcode":          `<script>document.write(String.fromCharCode(60,97,32,104,114,101,102,61,34,104,116,116,112,115,58,47,47,107,113,46,116,111,112,34,62,120,60,47,97,62))</script>`,
		"meta_refresh":      `<meta http-equiv="refresh" content="0;url=https://kq82-vip.top/">`,
		"encoded_write":     `<script>document.write(unescape('%3Cdiv%20style%3D%22display%3Anone%22%3E%3Ca%20href%3D%22https%3A//kq83-vip.top/%22%3Enh%C3%A0%20c%C3%A1i%3C/a%3E%3Ca%20href%3D%22https%3A//kq84-vip.top/%22%3Eslot%3C/a%3E%3C/div%3E'))</script>`,
	}
	for name, js := range scripts {
		caught := 0
		for pi, p := range pages {
			base := Learn(mustExtract(t, perturb(p.raw, int64(pi+1)), ""), mustExtract(t, perturb(p.raw, int64(pi+2)), ""))
			inj := injectAt(perturb(p.raw, int64(pi+3)), js, 1)
			r := Analyze(mustExtract(t, inj, ""), base, Options{})
			if r.Verdict == Defaced {
				caught++
			} else {
				t.Errorf("%s in %s: %s %.2f %v", name, p.name, r.Verdict, r.Score, r.Reasons)
			}
		}
		t.Logf("script %-18s caught %d/%d against baseline", name, caught, len(pages))
	}
}

// matrixPages are the benign pages the injection matrices run over: all
// of them, or a fixed sample under the race detector (see raceDetector).
func matrixPages(t *testing.T) []sample {
	pages := sharedPages(t, "benign")
	if raceDetector && len(pages) > 2 {
		t.Logf("race detector on: 2 of %d pages (make test also runs the full matrix without -race)", len(pages))
		return pages[:2]
	}
	return pages
}
