package page

import (
	"fmt"
	"strings"
	"testing"
)

// synthSite builds a small business home page of about `words` words of
// ordinary prose with a navigation menu; extra is placed in the menu, body
// is placed after the prose.
func synthSite(words int, menuExtra, body string) []byte {
	sentences := []string{
		"Our workshop has served families in the valley since 1994 with careful repairs.",
		"We design kitchens, fit windows and restore old timber floors for local homes.",
		"Every quote is free and our engineers visit within two working days of a call.",
		"The team trains apprentices each spring and publishes notes on safe building.",
		"Customers praise the tidy sites, the honest prices and the friendly office staff.",
		"Ask about insulation grants, solar panels and heat pumps for older houses.",
	}
	var b strings.Builder
	b.WriteString(`<!DOCTYPE html><html><head><meta charset="utf-8"><title>Valley Builders</title>` +
		`<script src="/assets/js/jquery.min.js"></script></head><body><header><nav><ul>` +
		`<li><a href="/">Home</a></li><li><a href="/about">About</a></li><li><a href="/services">Services</a></li>`)
	b.WriteString(menuExtra)
	b.WriteString(`<li><a href="/contact">Contact</a></li></ul></nav></header><main>`)
	n := 0
	for i := 0; n < words; i++ {
		s := sentences[i%len(sentences)]
		fmt.Fprintf(&b, "<p>%s Item %d.</p>\n", s, i)
		n += len(strings.Fields(s)) + 2
	}
	b.WriteString(body)
	b.WriteString(`</main><footer><a href="/privacy">Privacy</a> © Valley Builders</footer></body></html>`)
	return []byte(b.String())
}

func analyzeAlone(t *testing.T, raw []byte) Result {
	t.Helper()
	return Analyze(mustExtract(t, raw, "https://valley-builders.example/"), nil, Options{})
}

func hasSignal(r Result, signal, detail string) bool {
	for _, x := range r.Reasons {
		if x.Signal == signal && strings.Contains(x.Detail, detail) {
			return true
		}
	}
	return false
}

// TestStoredXSSScript: a script typed into a CMS text field (a menu label, a
// heading, a paragraph) that loads an opaque or paste-site file is a
// defacement; scripts a template or widget places stay clean.
func TestStoredXSSScript(t *testing.T) {
	defaced := map[string][2]string{
		"menu label, paste raw": {`<li><a href="/p?id=7"><script type="text/javascript" src="https://paste.example.net/raw/~/K3J9QW2ZXP4LM"></script></a></li>`, ""},
		"heading, local token":  {"", `<h2><script src="js/Q7WZ2PLK9XMRT" type="text/javascript"></script></h2>`},
		"paragraph, token":      {"", `<p>Opening hours <script src="/media/ZX81QWERTY7"></script></p>`},
		"div, paste raw":        {"", `<div class="box"><script src="https://paste.example.net/raw/qWe12rTy"></script></div>`},
		"div, token":            {"", `<div class="title"><script src="https://cdn.example.com/x/AB12CD34EF"></script></div>`},
	}
	for name, c := range defaced {
		r := analyzeAlone(t, synthSite(400, c[0], c[1]))
		if r.Verdict != Defaced || !hasSignal(r, "suspicious_script", "injected script") {
			t.Errorf("%s: %s %.2f %v, want defaced by an injected script", name, r.Verdict, r.Score, r.Reasons)
		}
	}
	clean := map[string][2]string{
		"widget in a link":        {`<li><a href="/shop"><script src="/static/js/cart-badge.js"></script>Shop</a></li>`, ""},
		"keyed maps api in text":  {"", `<p>Find us: <script src="https://maps.googleapis.com/maps/api/js?key=AIZAQWERTY123"></script></p>`},
		"ad code in a paragraph":  {"", `<p><script async src="https://ads.example.org/show_ads.js"></script></p>`},
		"raw file on github":      {"", `<p><script src="https://raw.githubusercontent.com/acme/widgets/main/raw/badge.js"></script></p>`},
		"lower-case hashed chunk": {"", `<span><script src="/_next/static/chunks/a8f3k2x9q1"></script></span>`},
	}
	for name, c := range clean {
		if r := analyzeAlone(t, synthSite(400, c[0], c[1])); r.Verdict == Defaced {
			t.Errorf("%s: %s %.2f %v, want not defaced", name, r.Verdict, r.Score, r.Reasons)
		}
	}
}

// TestScriptMarkupInURL: script markup printed into a link address is
// evidence of a stuffed text field, reported but not a verdict on its own.
func TestScriptMarkupInURL(t *testing.T) {
	r := analyzeAlone(t, synthSite(400, `<li><a href="<script src=https://x.example/a.js></script>">News</a></li>`, ""))
	if !hasSignal(r, "suspicious_script", "script markup") {
		t.Errorf("no script-markup finding: %v", r.Reasons)
	}
	if r.Verdict == Defaced {
		t.Errorf("markup in a link address alone: %s %.2f %v, want not defaced", r.Verdict, r.Score, r.Reasons)
	}
}

// TestScriptMarkupInTitle: a title holding script markup comes from a
// stuffed record; reported, not a verdict on its own.
func TestScriptMarkupInTitle(t *testing.T) {
	raw := synthSite(400, "", "")
	raw = []byte(strings.Replace(string(raw), "<title>Valley Builders</title>", `<title><script src="https://x.example/Q1W2E3R4T5"></script> Valley Builders</title>`, 1))
	r := analyzeAlone(t, raw)
	if !hasSignal(r, "suspicious_script", "title holds script markup") {
		t.Errorf("no title-markup finding: %v", r.Reasons)
	}
	if r.Verdict == Defaced {
		t.Errorf("markup in the title alone: %s %.2f %v, want not defaced", r.Verdict, r.Score, r.Reasons)
	}
	bodyLevel := strings.Replace(string(synthSite(400, "", "")), "</body>", `<script src="/lib/QWERTY12AB"></script></body>`, 1)
	opaque := analyzeAlone(t, []byte(bodyLevel))
	if !hasSignal(opaque, "suspicious_script", "opaque script body") || opaque.Verdict == Defaced {
		t.Errorf("opaque loader at body level: %s %.2f %v, want reported, not defaced", opaque.Verdict, opaque.Score, opaque.Reasons)
	}
	head := strings.Replace(string(synthSite(400, "", "")), "</head>", `<script src="https://cdn.example.com/loader/AB12CD34EF"></script></head>`, 1)
	if r := analyzeAlone(t, []byte(head)); r.Verdict == Defaced || !hasSignal(r, "suspicious_script", "opaque script src") {
		t.Errorf("opaque loader in head: %s %.2f %v, want reported, not defaced", r.Verdict, r.Score, r.Reasons)
	}
}

// TestSrcdocFrame: a full-page <iframe srcdoc> carrying a banner is read as
// what the visitor sees, even on a long page; a long article quoting the
// same words, or a benign srcdoc embed, stays clean.
func TestSrcdocFrame(t *testing.T) {
	banner := `<iframe style="width:100%;height:100%" srcdoc="&lt;body bgcolor='black'&gt;&lt;center&gt;&lt;h1&gt;Hacked by Nobody&lt;/h1&gt;&lt;p&gt;your security is low&lt;/p&gt;&lt;/center&gt;&lt;/body&gt;"></iframe>`
	if r := analyzeAlone(t, synthSite(2000, "", banner)); r.Verdict != Defaced {
		t.Errorf("srcdoc banner on a long page: %s %.2f %v, want defaced", r.Verdict, r.Score, r.Reasons)
	}
	quote := `<p>Police said the council site was hacked by a group calling itself a cyber army; the group wrote that your security is low.</p>`
	if r := analyzeAlone(t, synthSite(2000, "", quote)); r.Verdict == Defaced {
		t.Errorf("long article quoting a banner: %s %.2f %v, want not defaced", r.Verdict, r.Score, r.Reasons)
	}
	embed := `<iframe srcdoc="&lt;p&gt;Watch our kitchen tour video&lt;/p&gt;&lt;a href='https://video.example.com/v/42'&gt;Play&lt;/a&gt;"></iframe>`
	if r := analyzeAlone(t, synthSite(400, "", embed)); r.Verdict == Defaced || len(r.Reasons) > 0 {
		t.Errorf("benign srcdoc embed: %s %.2f %v, want clean", r.Verdict, r.Score, r.Reasons)
	}
}

// TestTableColumnLinkFarm: a link farm in an element styled as a table
// column (which renders none of its content) is hidden; Turkish gambling
// wording in it is gambling SEO. A Turkish sports article mentioning
// betting once stays clean.
func TestTableColumnLinkFarm(t *testing.T) {
	farm := `<style>.spons9 { text-align:center; display: table-column; }</style><div class="spons9">`
	for i, a := range []string{"deneme bonusu", "canlı bahis", "güncel giriş", "yenibahis", "slot siteleri", "bahis siteleri"} {
		farm += fmt.Sprintf(`<a href="https://site%d.example.org/">%s</a><br>`, i, a)
	}
	farm += `</div>`
	f := mustExtract(t, synthSite(400, "", farm), "https://valley-builders.example/")
	found := false
	for _, hb := range f.Hidden {
		found = found || hb.Technique == "table_column_css"
	}
	if !found {
		t.Errorf("table-column block not seen as hidden: %+v", f.Hidden)
	}
	if r := Analyze(f, nil, Options{}); r.Verdict != Defaced {
		t.Errorf("table-column gambling farm: %s %.2f %v, want defaced", r.Verdict, r.Score, r.Reasons)
	}
	article := `<p>Federasyon, yasa dışı bahis reklamlarına karşı yeni kurallar açıkladı; kulüpler sezon başında bilgilendirilecek.</p>`
	if r := analyzeAlone(t, synthSite(600, "", article)); r.Verdict == Defaced {
		t.Errorf("Turkish article on betting rules: %s %.2f %v, want not defaced", r.Verdict, r.Score, r.Reasons)
	}
}

// TestDefacerPhrasing: signature lines in several languages turn a short
// take-over page into a defacement; the same line quoted in a long news
// story about a breach does not.
func TestDefacerPhrasing(t *testing.T) {
	lines := []string{
		"Site gehackt von Schattenkrieger",
		"Site invadido por equipe fantasma",
		"Website ini di hack oleh Garuda Muda",
		"Le site a été hacké par Sombre",
		"Sito hackerato da Ombra",
		"Security is an illusion",
		"تم الاختراق من قبل فريق الظل",
		"این سایت هک شد",
		"FuckedBy@nobody.example go to hell",
		"Rooted by 0xShadow",
		"Situs ini diretas oleh Garuda",
		"এই সাইট হ্যাক করেছে টিম",
	}
	for _, l := range lines {
		page := `<html><head><title>!</title></head><body><center><h1>` + l + `</h1><p>2025</p></center></body></html>`
		if r := analyzeAlone(t, []byte(page)); r.Verdict != Defaced {
			t.Errorf("%q banner: %s %.2f %v, want defaced", l, r.Verdict, r.Score, r.Reasons)
		}
		story := `<p>Investigators said the ministry's page showed the line "` + l + `" for two hours before it was restored.</p>`
		if r := analyzeAlone(t, synthSite(2000, "", story)); r.Verdict == Defaced {
			t.Errorf("%q quoted in a long story: %s %.2f %v, want not defaced", l, r.Verdict, r.Score, r.Reasons)
		}
	}
}

// TestTinyPageLeetHandle: a home page reduced to a line with no navigation,
// signed with a leet-speak handle, is a defacement even without banner
// styling; tiny placeholder pages with version numbers or navigation stay
// clean.
func TestTinyPageLeetHandle(t *testing.T) {
	for _, page := range []string{
		`<html><head><title>.</title></head><body><h1>Hello Everyone &lt;3 7NSY00T</h1></body></html>`,
		`<html><body><div><b>Owned</b> - D4rkS1d3 - thanks to my team</div></body></html>`,
		`<!DOCTYPE html><html><body><p>we came, we saw: n3m3s1s &amp; sh4d0w</p></body></html>`,
	} {
		if r := analyzeAlone(t, []byte(page)); r.Verdict != Defaced || !hasSignal(r, "tiny_page", "signed") {
			t.Errorf("%s: %s %.2f %v, want defaced (tiny_page)", page, r.Verdict, r.Score, r.Reasons)
		}
	}
	for _, page := range []string{
		`<html><body><h1>It works!</h1><p>This is the default web page for this server.</p></body></html>`,
		`<html><body><h1>Coming soon</h1><p>Web3 Studio launches in 2026. Win10 and MP3 tools inside.</p></body></html>`,
		`<html><body><h1>Error 404</h1><p>Not found: /img1.png</p></body></html>`,
		`<html><body><h1>H4ck Night 2026</h1><p>Student hackathon.</p><a href="/register">Register</a></body></html>`,
	} {
		if r := analyzeAlone(t, []byte(page)); r.Verdict == Defaced || hasSignal(r, "tiny_page", "") {
			t.Errorf("%s: %s %.2f %v, want clean", page, r.Verdict, r.Score, r.Reasons)
		}
	}
}

// TestShortNoticeWording: weak signature words ("owned by", "greetz",
// "touched by", "was here") add up on a short page with no navigation, the
// shape of a take-over notice; the same words on a short page of a normal
// site, or a parked-domain notice, stay clean.
func TestShortNoticeWording(t *testing.T) {
	for _, body := range []string{
		`<center><h2>Owned by Shadow</h2><p>greetz: all my friends</p></center>`,
		`<div><h1>Touched by Nemesis</h1><p>Nemesis was here</p></div>`,
	} {
		page := `<html><head><title>x</title></head><body>` + body + `</body></html>`
		if r := analyzeAlone(t, []byte(page)); r.Verdict != Defaced {
			t.Errorf("%s: %s %.2f %v, want defaced", body, r.Verdict, r.Score, r.Reasons)
		}
	}
	for _, page := range []string{
		`<html><body><nav><a href="/">Home</a><a href="/menu">Menu</a><a href="/shop">Shop</a></nav><h1>About</h1><p>The bakery is owned by the Smith family. Greetings to all our neighbours; Anna was here first in 1990. Contact me for orders.</p></body></html>`,
		`<html><body><h1>example.net</h1><p>This domain is owned by Example Ltd. Contact me for offers.</p></body></html>`,
	} {
		if r := analyzeAlone(t, []byte(page)); r.Verdict == Defaced {
			t.Errorf("%s: %s %.2f %v, want not defaced", page, r.Verdict, r.Score, r.Reasons)
		}
	}
}

// TestImageAltSignature: a banner image whose alt text is the signature is
// a defacement; a news photo captioned with the same words in a long story
// is not.
func TestImageAltSignature(t *testing.T) {
	page := `<html><body bgcolor="#000"><center><img src="banner.jpg" alt="Hacked by Nobody"></center></body></html>`
	if r := analyzeAlone(t, []byte(page)); r.Verdict != Defaced {
		t.Errorf("signature in a banner image's alt: %s %.2f %v, want defaced", r.Verdict, r.Score, r.Reasons)
	}
	photo := `<figure><img src="shot.png" alt="The council site after it was hacked by activists"><figcaption>Screenshot</figcaption></figure>`
	if r := analyzeAlone(t, synthSite(2000, "", photo)); r.Verdict == Defaced {
		t.Errorf("news photo alt in a long story: %s %.2f %v, want not defaced", r.Verdict, r.Score, r.Reasons)
	}
}

// TestHiddenMenuWordsNotSignature: weak signature words in a hidden menu
// of a long page ("Yahoo-owned", "Cyber Monday") are not doubled as if they
// were hidden link-farm wording.
func TestHiddenMenuWordsNotSignature(t *testing.T) {
	menu := `<div style="opacity:0">A Yahoo-owned site. Cyber Monday deals:`
	for i := 0; i < 6; i++ {
		menu += fmt.Sprintf(` <a href="https://s%d.example%d.com/">Deal %d</a>`, i, i%3, i)
	}
	menu += `</div>`
	r := analyzeAlone(t, synthSite(2000, "", menu))
	if r.Verdict == Defaced {
		t.Errorf("hidden menu: %s %.2f %v, want not defaced", r.Verdict, r.Score, r.Reasons)
	}
	for _, x := range r.Reasons {
		if x.Signal == "defacer_vocabulary" && x.Weight > 0.3 {
			t.Errorf("hidden menu words weigh %.2f: %v", x.Weight, x)
		}
	}
}

// TestFancyLettering: signatures written in "fancy text" (mathematical
// bold, fullwidth, circled letters, small capitals) read as plain words;
// ordinary accented and IPA text folds as before.
func TestFancyLettering(t *testing.T) {
	for in, want := range map[string]string{
		"𝐇𝐚𝐜𝐤𝐞𝐝 𝐁𝐲 X":    "hacked by x",
		"Ｈａｃｋｅｄ ｂｙ":      "hacked by",
		"Ⓗⓐⓒⓚⓔⓓ ⓑⓨ":      "hacked by",
		"ʜᴀᴄᴋᴇᴅ ʙʏ":      "hacked by",
		"nhà cái uy tín": "nha cai uy tin",
	} {
		if got := fold(in); got != want {
			t.Errorf("fold(%q) = %q, want %q", in, got, want)
		}
	}
	page := `<html><body><center><h1>𝐇𝐚𝐜𝐤𝐞𝐝 𝐁𝐲 𝐒𝐡𝐚𝐝𝐨𝐰</h1></center></body></html>`
	if r := analyzeAlone(t, []byte(page)); r.Verdict != Defaced {
		t.Errorf("fancy-lettered banner: %s %.2f %v, want defaced", r.Verdict, r.Score, r.Reasons)
	}
	ipa := `<p>Pronounced /ˈhækɪŋ/ (hacking), the word entered English in the 1950s at MIT.</p>`
	if r := analyzeAlone(t, synthSite(800, "", ipa)); r.Verdict == Defaced {
		t.Errorf("IPA in an article: %s %.2f %v, want not defaced", r.Verdict, r.Score, r.Reasons)
	}
}

// TestSecondDocument: a second <html>/<body> (a banner appended to or
// written over the site's page) is reported and tips a weak banner over the
// verdict; on its own it is not a verdict, and one document stays silent.
func TestSecondDocument(t *testing.T) {
	site := synthSite(400, "", "")
	appended := append(append([]byte(nil), site...), []byte(`<html><body><h2>Touched by Nemesis. Nemesis was here</h2></body></html>`)...)
	r := analyzeAlone(t, appended)
	if !hasSignal(r, "second_document", "second HTML document") || r.Verdict != Defaced {
		t.Errorf("appended banner document: %s %.2f %v, want defaced with second_document", r.Verdict, r.Score, r.Reasons)
	}
	if r := analyzeAlone(t, append(append([]byte(nil), site...), []byte(`<h2>Touched by Nemesis. Nemesis was here</h2>`)...)); r.Verdict == Defaced {
		t.Errorf("the same words in one document: %s %.2f %v, want not defaced", r.Verdict, r.Score, r.Reasons)
	}
	plain := append(append([]byte(nil), site...), []byte(`<html><body><p>Opening hours: 9 to 5.</p></body></html>`)...)
	if r := analyzeAlone(t, plain); r.Verdict == Defaced || !hasSignal(r, "second_document", "") {
		t.Errorf("sloppy duplicate document: %s %.2f %v, want reported, not defaced", r.Verdict, r.Score, r.Reasons)
	}
	if r := analyzeAlone(t, site); hasSignal(r, "second_document", "") {
		t.Errorf("one document: %v", r.Reasons)
	}
}
