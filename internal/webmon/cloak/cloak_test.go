package cloak

import (
	"fmt"
	"strings"
	"testing"

	"canhgac/internal/webmon/page"
)

const pageURL = "https://sotp.hanoi.gov.vn/"

// portal renders a government home page with the given news items, extra
// body markup and an ad host.
func portal(news []int, adHost, extra string) string {
	var b strings.Builder
	b.WriteString(`<!DOCTYPE html><html><head><title>Sở Tư pháp Hà Nội</title>
<meta name="description" content="Cổng thông tin điện tử Sở Tư pháp thành phố Hà Nội">
<script async src="https://www.googletagmanager.com/gtag/js?id=G-1"></script>
<script>window.ab = Math.random() < 0.5 ? "a" : "b";</script>
</head><body><header><nav><a href="/">Trang chủ</a> <a href="/gioi-thieu">Giới thiệu</a>
<a href="/thu-tuc-hanh-chinh">Thủ tục hành chính</a></nav></header><main><h2>Tin tức</h2><ul>`)
	for _, n := range news {
		fmt.Fprintf(&b, `<li><a href="/tin-tuc/bai-%d.html">Hội nghị triển khai công tác tư pháp số %d năm 2026</a></li>`, n, n)
	}
	b.WriteString(`</ul>`)
	if adHost != "" {
		fmt.Fprintf(&b, `<div class="banner"><a href="https://%s/click?id=1"><img src="https://%s/b.png"></a></div>`, adHost, adHost)
	}
	b.WriteString(extra)
	b.WriteString(`</main><footer>Liên kết: <a href="https://chinhphu.vn/">Chính phủ</a>
<a href="https://moj.gov.vn/">Bộ Tư pháp</a> <a href="https://hanoi.gov.vn/">Hà Nội</a></footer></body></html>`)
	return b.String()
}

func view(t *testing.T, name string, status int, final, html string) View {
	t.Helper()
	f, err := page.Extract([]byte(html), final)
	if err != nil {
		t.Fatal(err)
	}
	return View{Name: name, Status: status, FinalURL: final, Features: f}
}

func signals(r Result) []string {
	var s []string
	for _, x := range r.Reasons {
		s = append(s, x.View+":"+x.Signal)
	}
	return s
}

func has(r Result, view, signal string) bool {
	for _, x := range r.Reasons {
		if x.View == view && x.Signal == signal {
			return true
		}
	}
	return false
}

func TestIdenticalViewsClean(t *testing.T) {
	h := portal([]int{1, 2, 3, 4, 5}, "", "")
	r := Compare(view(t, Browser, 200, pageURL, h), view(t, Googlebot, 200, pageURL, h), view(t, GoogleReferer, 200, pageURL, h))
	if r.Cloaked || len(r.Reasons) != 0 {
		t.Fatalf("clean views flagged: %+v", r)
	}
}

func TestRotatedNewsAndAdHostNotCloaked(t *testing.T) {
	r := Compare(
		view(t, Browser, 200, pageURL, portal([]int{1, 2, 3, 4, 5}, "ads.adnet-one.vn", "")),
		view(t, Googlebot, 200, "https://www.sotp.hanoi.gov.vn/", portal([]int{6, 7, 8, 9, 10}, "track.othernet.com", `<p><a href="https://sokhdt.hanoi.gov.vn/">Sở KH-ĐT</a></p>`)),
		view(t, GoogleReferer, 200, pageURL, portal([]int{3, 4, 5, 6, 7}, "banner.partner-ads.net",
			`<p>Triệt phá đường dây cá độ bóng đá qua mạng</p>`)),
	)
	if r.Cloaked {
		t.Fatalf("legitimate dynamics flagged: %v", r.Reasons)
	}
}

func TestGooglebotOnlyHiddenLinkFarm(t *testing.T) {
	farm := `<div style="position:absolute;left:-9999px">`
	for i, h := range []string{"kq-vip.top", "fb88-vn.com", "nhacai-uytin.net", "slot-gacor.xyz", "keonhacai.bet"} {
		farm += fmt.Sprintf(`<a href="https://%s/?r=%d">nhà cái uy tín</a> <a href="https://%s/dang-ky">đăng ký nhận thưởng</a> `, h, i, h)
	}
	farm += `</div>`
	browser := view(t, Browser, 200, pageURL, portal([]int{1, 2, 3}, "", ""))
	bot := view(t, Googlebot, 200, pageURL, portal([]int{1, 2, 3}, "", farm))
	r := Compare(browser, bot, view(t, GoogleReferer, 200, pageURL, portal([]int{1, 2, 3}, "", "")))
	if !r.Cloaked || !has(r, Googlebot, SignalLinks) {
		t.Fatalf("link farm missed: %v", signals(r))
	}
	if has(r, GoogleReferer, SignalLinks) || has(r, GoogleReferer, SignalContent) {
		t.Fatalf("referer view flagged: %v", signals(r))
	}
	var d string
	for _, x := range r.Reasons {
		if x.Signal == SignalLinks {
			d = x.Detail
		}
	}
	for _, want := range []string{"Googlebot sees 10 links to 5 sites the browser does not", "kq-vip.top", "hidden"} {
		if !strings.Contains(d, want) {
			t.Errorf("detail %q lacks %q", d, want)
		}
	}
	t.Log(d)
}

func TestFewGamblingLinksStillCloaked(t *testing.T) {
	// One link, but to a gambling brand: trips despite being below
	// MinNewSites.
	extra := `<span style="display:none"><a href="https://fb88.com/">link vào fb88</a></span>`
	r := Compare(view(t, Browser, 200, pageURL, portal([]int{1}, "", "")), view(t, Googlebot, 200, pageURL, portal([]int{1}, "", extra)))
	if !has(r, Googlebot, SignalLinks) {
		t.Fatalf("gambling link missed: %v", signals(r))
	}
}

func TestGooglebotOnlyGamblingText(t *testing.T) {
	extra := `<p>Nhà cái uy tín, kèo nhà cái hôm nay, tài xỉu, xóc đĩa, game bài đổi thưởng, nổ hũ.</p>`
	r := Compare(view(t, Browser, 200, pageURL, portal([]int{1}, "", "")), view(t, Googlebot, 200, pageURL, portal([]int{1}, "", extra)))
	if !has(r, Googlebot, SignalContent) {
		t.Fatalf("gambling content missed: %v", signals(r))
	}
}

func TestRefererOnlyRedirect(t *testing.T) {
	gambling := `<html><head><title>KQ VIP - nhà cái uy tín</title></head><body><a href="/dang-ky">Đăng ký nhận thưởng</a></body></html>`
	r := Compare(
		view(t, Browser, 200, pageURL, portal([]int{1, 2}, "", "")),
		view(t, Googlebot, 200, pageURL, portal([]int{1, 2}, "", "")),
		view(t, GoogleReferer, 200, "https://kq-vip.top/?ref=gov", gambling),
	)
	if !r.Cloaked || !has(r, GoogleReferer, SignalRedirect) || len(r.Reasons) != 1 {
		t.Fatalf("redirect: %v", signals(r))
	}
	if d := r.Reasons[0].Detail; !strings.Contains(d, "kq-vip.top") || !strings.Contains(d, "visitor from Google") {
		t.Fatalf("detail %q", d)
	}
}

func TestRefererOnlyMetaRefresh(t *testing.T) {
	extra := `<meta http-equiv="refresh" content="0; url=https://kq-vip.top/">`
	r := Compare(
		view(t, Browser, 200, pageURL, portal([]int{1, 2}, "", "")),
		view(t, GoogleReferer, 200, pageURL, strings.Replace(portal([]int{1, 2}, "", ""), "</head>", extra+"</head>", 1)),
	)
	if !has(r, GoogleReferer, SignalRedirect) {
		t.Fatalf("meta refresh missed: %v", signals(r))
	}
}

func TestBlockedBotNotCloaked(t *testing.T) {
	forbidden := `<html><head><title>403 Forbidden</title></head><body><h1>Forbidden</h1><a href="https://www.cloudflare.com/">Cloudflare</a></body></html>`
	r := Compare(view(t, Browser, 200, pageURL, portal([]int{1}, "", "")), view(t, Googlebot, 403, pageURL, forbidden))
	if r.Cloaked || len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "403") {
		t.Fatalf("403 flagged: %+v", r)
	}
}

func TestNilFeaturesSkipped(t *testing.T) {
	h := portal([]int{1}, "", "")
	r := Compare(view(t, Browser, 200, pageURL, h), View{Name: Googlebot}, View{Name: GoogleReferer, Status: 502})
	if r.Cloaked || len(r.Notes) != 2 {
		t.Fatalf("got %+v", r)
	}
	// No browser view (failed): nothing is compared.
	r = Compare(View{Name: Browser}, view(t, Googlebot, 200, pageURL, h))
	if r.Cloaked || len(r.Notes) != 1 {
		t.Fatalf("got %+v", r)
	}
	if r := Compare(); r.Cloaked {
		t.Fatal("empty compare cloaked")
	}
}

func TestNeutralLinksThreshold(t *testing.T) {
	two := `<p><a href="https://a-partner.com/">A</a> <a href="https://b-partner.org/">B</a></p>`
	three := `<p><a href="https://a-partner.com/">A</a> <a href="https://b-partner.org/">B</a> <a href="https://c-partner.net/x">C</a></p>`
	base := view(t, Browser, 200, pageURL, portal([]int{1}, "", ""))
	if r := Compare(base, view(t, Googlebot, 200, pageURL, portal([]int{1}, "", two))); r.Cloaked {
		t.Fatalf("two neutral sites flagged: %v", r.Reasons)
	}
	if r := Compare(base, view(t, Googlebot, 200, pageURL, portal([]int{1}, "", three))); !has(r, Googlebot, SignalLinks) {
		t.Fatalf("three new sites missed: %v", signals(r))
	}
	// One neutral-looking site, but hidden gambling text beside it.
	quiet := `<div style="display:none">Nhà cái uy tín <a href="https://kq-vip.top/">xem thêm</a></div>`
	if r := Compare(base, view(t, Googlebot, 200, pageURL, portal([]int{1}, "", quiet))); !has(r, Googlebot, SignalLinks) {
		t.Fatalf("hidden gambling link missed: %v", signals(r))
	}
}
