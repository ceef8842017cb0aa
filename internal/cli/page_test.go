package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
	code = Main(env, args)
	return code, out.String(), errb.String()
}

const cleanPage = `<!doctype html><html><head><title>Sở Thông tin và Truyền thông</title></head><body>
<nav><a href="/">Trang chủ</a> <a href="/gioi-thieu">Giới thiệu</a> <a href="/tin-tuc">Tin tức</a></nav>
<article><h1>Thông báo lịch tiếp công dân</h1><p>Sở Thông tin và Truyền thông thông báo lịch tiếp công dân định kỳ tháng 12 năm 2026 tại trụ sở cơ quan. Công dân có nhu cầu phản ánh, kiến nghị liên hệ văn phòng Sở.</p></article>
<footer>Bản quyền © 2026 Sở Thông tin và Truyền thông</footer></body></html>`

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func verdictOf(t *testing.T, out string) string {
	t.Helper()
	var res struct {
		Verdict string  `json:"verdict"`
		Score   float64 `json:"score"`
		Reasons []struct {
			Signal, Detail string
		} `json:"reasons"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("output is not one JSON object: %v\n%s", err, out)
	}
	if res.Reasons == nil {
		t.Fatalf("reasons missing: %s", out)
	}
	return res.Verdict
}

func TestPageCheckDefacedAndClean(t *testing.T) {
	clean := writeFile(t, "clean.html", cleanPage)
	defaced := writeFile(t, "defaced.html", `<html><head><title>Hacked by Ghost Team</title></head><body bgcolor="black"><center><h1>Hacked By Ghost Team</h1><marquee>Your security is a myth. Greetz to all</marquee></center></body></html>`)
	code, out, errs := runCLI(t, "", "page", "check", "--current", defaced, "--json")
	if code != 0 || verdictOf(t, out) != "defaced" {
		t.Fatalf("defaced page: exit %d, %s %s", code, out, errs)
	}
	code, out, _ = runCLI(t, "", "page", "check", "--current", clean, "--json")
	if code != 0 || verdictOf(t, out) != "clean" {
		t.Fatalf("clean page: exit %d, %s", code, out)
	}
	// Against its own baseline, with hidden gambling links injected.
	injected := strings.Replace(cleanPage, "<footer>", `<div style="display:none"><a href="https://nhacai-uytin-vip9.top/">nhà cái uy tín</a> <a href="https://fb88.com/">cá cược bóng đá</a></div><footer>`, 1)
	code, out, _ = runCLI(t, injected, "page", "check", "--baseline", clean, "--baseline", clean, "--current", "-", "--url", "https://stttt.example.gov.vn/", "--json")
	if code != 0 || verdictOf(t, out) != "defaced" {
		t.Fatalf("injected page from stdin: exit %d, %s", code, out)
	}
	code, out, _ = runCLI(t, "", "page", "check", "--current", clean)
	if code != 0 || !strings.Contains(out, "clean") {
		t.Fatalf("human summary: exit %d, %s", code, out)
	}
}

func TestPageCheckUnreadableInput(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.html")
	code, out, errs := runCLI(t, "", "page", "check", "--current", missing, "--json")
	if code == 0 || out != "" || !strings.Contains(errs, "nope.html") {
		t.Fatalf("missing file: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	code, _, errs = runCLI(t, "", "page", "check", "--baseline", missing, "--current", writeFile(t, "c.html", cleanPage))
	if code == 0 || !strings.Contains(errs, "nope.html") {
		t.Fatalf("missing baseline: exit %d, stderr %q", code, errs)
	}
	code, _, errs = runCLI(t, "", "page", "check", "--json")
	if code != 2 || !strings.Contains(errs, "--current") {
		t.Fatalf("no --current: exit %d, stderr %q", code, errs)
	}
	code, out, _ = runCLI(t, "", "page")
	if code != 0 || !strings.Contains(out, "page check") {
		t.Fatalf("usage: exit %d, %q", code, out)
	}
}

// An operator's domain list is used: a link to a listed domain becomes a
// reason; a missing list file is an error, not a silent fallback.
func TestPageCheckDomainList(t *testing.T) {
	linked := strings.Replace(cleanPage, "<footer>", `<p><a href="https://vay-tien-nhanh.example/">Vay tiền</a></p><footer>`, 1)
	page := writeFile(t, "linked.html", linked)
	list := writeFile(t, "list.txt", "0.0.0.0 vay-tien-nhanh.example\n")
	_, out, _ := runCLI(t, "", "page", "check", "--current", page, "--json")
	if strings.Contains(out, "listed_domain") {
		t.Fatalf("listed without the list: %s", out)
	}
	code, out, errs := runCLI(t, "", "page", "check", "--current", page, "--domains", list, "--json")
	verdictOf(t, out)
	if code != 0 || !strings.Contains(out, "listed_domain") || !strings.Contains(out, "vay-tien-nhanh.example") {
		t.Fatalf("with the list: exit %d, %s %s", code, out, errs)
	}
	if code, _, errs := runCLI(t, "", "page", "check", "--current", page, "--domains", list+".missing"); code == 0 || !strings.Contains(errs, "domain list") {
		t.Fatalf("missing list file: exit %d, %s", code, errs)
	}
}
