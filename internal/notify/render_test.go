package notify

import (
	"fmt"
	"mime"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"canhgac/internal/i18n"
)

func TestRenderVietnameseByDefault(t *testing.T) {
	m := tetAlert()
	m.Step = 2
	subject, text := Render(m)
	if want := "[Nghiêm trọng] Website bị thay đổi giao diện — Cổng TTĐT Sở Y tế (×3) (leo thang bước 2)"; subject != want {
		t.Errorf("subject\n got %q\nwant %q", subject, want)
	}
	want := `Trang chủ chứa nội dung lạ: "Hacked by X".
.
..dòng bắt đầu bằng dấu chấm

Mức độ: Nghiêm trọng
Tài sản: Cổng TTĐT Sở Y tế
Địa chỉ: https://syt.example.gov.vn
Cơ quan, đơn vị: Sở Y tế
Thời điểm: 02:00 29/01/2025
Số lần ghi nhận: 3
Leo thang: bước 2
Mã cảnh báo: #42 (webmon.defaced)

Chi tiết: https://canhgac.example.gov.vn/alerts/42
Xác nhận đã nhận: https://canhgac.example.gov.vn/ack/42?t=abc

—
Tin nhắn tự động từ canhgac, vui lòng không trả lời.
`
	if text != want {
		t.Errorf("text\n got:\n%s\nwant:\n%s", text, want)
	}
}

func TestRenderEnglish(t *testing.T) {
	m := tetAlert()
	m.Lang = "en"
	m.Severity = "high"
	m.Count = 1
	m.AckLink = ""
	subject, text := Render(m)
	if subject != "[High] Website bị thay đổi giao diện — Cổng TTĐT Sở Y tế" {
		t.Errorf("subject %q", subject)
	}
	for _, want := range []string{"Severity: High", "Agency: Sở Y tế", "Time: 02:00 29/01/2025 (UTC+7)", "Details: https://canhgac.example.gov.vn/alerts/42", "please do not reply"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	for _, absent := range []string{"Times seen", "Acknowledge", "Escalation", "Mức độ"} {
		if strings.Contains(text, absent) {
			t.Errorf("text has %q though it should not:\n%s", absent, text)
		}
	}
}

func TestRenderSeverities(t *testing.T) {
	want := map[string]string{"critical": "Nghiêm trọng", "high": "Cao", "medium": "Trung bình", "low": "Thấp", "info": "Thông tin"}
	for sev, label := range want {
		subject, text := Render(Message{Severity: sev, Title: "x"})
		if subject != "["+label+"] x" || !strings.Contains(text, "Mức độ: "+label+"\n") {
			t.Errorf("%s: subject %q, text %q", sev, subject, text)
		}
	}
	if subject, _ := Render(Message{Severity: "weird", Title: "x"}); subject != "[weird] x" {
		t.Errorf("unknown severity: %q", subject)
	}
}

func TestRenderGroupIsCapped(t *testing.T) {
	m := Message{Severity: "high", Title: "12 websites of Sở X down", Lang: "en"}
	for i := range 62 {
		m.Group = append(m.Group, fmt.Sprintf("site-%02d.example.gov.vn down", i))
	}
	_, text := Render(m)
	if !strings.Contains(text, "Alerts (62):\n• site-00.example.gov.vn down\n") {
		t.Errorf("group header or first line missing:\n%s", text)
	}
	if !strings.Contains(text, "• site-49.example.gov.vn down\n… and 12 more\n") || strings.Contains(text, "site-50") {
		t.Errorf("group not cut after 50 lines:\n%s", text)
	}
	m.Lang = "vi"
	if _, text := Render(m); !strings.Contains(text, "… và 12 mục khác") {
		t.Errorf("Vietnamese 'and N more' missing:\n%s", text)
	}
}

func TestRenderTestMessage(t *testing.T) {
	subject, text := Render(Message{Test: true})
	if subject != "[Thử nghiệm] Tin nhắn thử" || !strings.HasPrefix(text, "Đây là tin nhắn thử") {
		t.Errorf("test message: %q\n%s", subject, text)
	}
}

// A defaced page's title is attacker-controlled: it must not add lines,
// reorder text with bidi overrides or smuggle invalid UTF-8.
func TestRenderCleansHostileText(t *testing.T) {
	m := Message{
		Severity:  "critical",
		Title:     "Hacked\r\nBcc: victim@example.com\u202e\x00\xff",
		AssetName: "Cổng\u2028TTĐT",
		Summary:   "line one\r\nline two\x1b[31m\n\n\n\nline three",
		Group:     []string{"a\nb"},
	}
	subject, text := Render(m)
	if strings.ContainsAny(subject, "\r\n\x00\u202e\u2028") || !utf8.ValidString(subject) {
		t.Errorf("subject not clean: %q", subject)
	}
	if subject != "[Nghiêm trọng] Hacked Bcc: victim@example.com \uFFFD — Cổng TTĐT" {
		t.Errorf("subject %q", subject)
	}
	if !strings.HasPrefix(text, "line one\nline two [31m\n\nline three\n\n") {
		t.Errorf("summary not cleaned:\n%q", text)
	}
	if !strings.Contains(text, "• a b\n") {
		t.Errorf("group line not joined:\n%q", text)
	}
}

// Every notify.* key the code uses exists in both catalogs, and no notify.*
// key in the catalogs is unused.
func TestEveryNotifyKeyIsInBothCatalogs(t *testing.T) {
	used := map[string]bool{}
	for _, s := range Severities {
		used["notify.severity."+s] = true
	}
	key := regexp.MustCompile(`"(notify\.[a-z_.]*[a-z_])"`)
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range key.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = true
		}
	}
	if len(used) < 20 {
		t.Fatalf("found only %d keys; the scan is broken", len(used))
	}
	for k := range used {
		for _, lang := range i18n.Langs {
			if !i18n.Has(lang, k) {
				t.Errorf("catalog %s has no key %q", lang, k)
			}
		}
	}
	for _, lang := range i18n.Langs {
		for _, k := range i18n.Keys(lang) {
			if strings.HasPrefix(k, "notify.") && !used[k] {
				t.Errorf("catalog %s has unused key %q", lang, k)
			}
		}
	}
}

func TestEncodeHeader(t *testing.T) {
	for in, want := range map[string]string{
		"Plain ASCII subject":       "Plain ASCII subject",
		"  spaced\tout  ":           "spaced out",
		"a\r\nBcc: x@example.com":   "a Bcc: x@example.com",
		"=?utf-8?q?looks_encoded?=": "=?utf-8?b?PT91dGYtOD9xP2xvb2tzX2VuY29kZWQ/PQ==?=",
	} {
		if got := encodeHeader(in); got != want {
			t.Errorf("encodeHeader(%q) = %q, want %q", in, got, want)
		}
	}
	checkHeader(t, "[Nghiêm trọng] Website không truy cập được — Cổng thông tin điện tử Sở Tài nguyên và Môi trường (×12)")
}

// checkHeader asserts encodeHeader's contract for s: ASCII only, no CR or
// LF except as folding, lines short enough for "Subject: ", and decoding
// gives back exactly the cleaned text.
func checkHeader(t *testing.T, s string) {
	enc := encodeHeader(s)
	lines := strings.Split(enc, "\r\n")
	for i, l := range lines {
		if i > 0 && !strings.HasPrefix(l, " ") {
			t.Fatalf("continuation line %d does not start with a space: %q", i, enc)
		}
		if len("Subject: ")+len(l) > 78 {
			t.Fatalf("line %d is %d characters: %q", i, len(l), l)
		}
		for j := 0; j < len(l); j++ {
			if l[j] < 0x20 || l[j] > 0x7e {
				t.Fatalf("byte %#x in header line %q", l[j], l)
			}
		}
	}
	dec, err := new(mime.WordDecoder).DecodeHeader(strings.ReplaceAll(enc, "\r\n", ""))
	if err != nil {
		t.Fatalf("decode %q: %v", enc, err)
	}
	if want := oneLine(s, maxHeaderRunes); dec != want {
		t.Fatalf("round trip of %q: got %q, want %q", s, dec, want)
	}
}

func FuzzEncodeHeader(f *testing.F) {
	for _, s := range []string{"", "Website không truy cập được", "a\r\nBcc: x", "=?utf-8?b?x?=", "\xff\xfe", strings.Repeat("Sở ", 200), "\u202e\u2028\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) { checkHeader(t, s) })
}

// Render never panics, never puts a line break in the subject, and always
// produces valid UTF-8 free of control characters other than newlines.
func FuzzRender(f *testing.F) {
	f.Add("vi", "critical", "Website không truy cập được", "x\r\ny", "Sở Y tế", 3, 2, "a\nb")
	f.Add("en", "", "", "", "", 0, 0, "")
	f.Add("fr", "\x00", "\u2028", "\xff", "\u202e", -1, -5, strings.Repeat("z\n", 100))
	f.Fuzz(func(t *testing.T, lang, severity, title, summary, agency string, count, step int, group string) {
		m := Message{Lang: lang, Severity: severity, Title: title, Summary: summary, AgencyName: agency,
			Count: count, Step: step, Group: strings.Split(group, "\n"), Link: title, AckLink: summary}
		subject, text := Render(m)
		if strings.ContainsAny(subject, "\r\n") || !utf8.ValidString(subject) || subject == "" {
			t.Fatalf("bad subject %q", subject)
		}
		if !utf8.ValidString(text) {
			t.Fatalf("invalid UTF-8 in text")
		}
		for _, r := range text {
			if r != '\n' && unsafeRune(r) {
				t.Fatalf("unsafe rune %U in text %q", r, text)
			}
		}
		if n := strings.Count(text, "\n• "); n > maxGroupLines {
			t.Fatalf("%d group lines", n)
		}
	})
}
