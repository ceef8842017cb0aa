package webmon_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"canhgac/internal/model"
	"canhgac/internal/storage"
	"canhgac/internal/storage/storagetest"
	"canhgac/internal/webmon"
)

// 5,000 agency websites from one file: strict by default, every bad row
// reported with its line, partial on request.
func TestImport5000Sites(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		e := newEnv(t, s, webmon.Config{})
		refs, err := s.AgencyRefs(ctx, model.System)
		must(t, err)
		var b strings.Builder
		b.WriteString("\xef\xbb\xbfCơ quan;Địa chỉ;Tên;Chu kỳ;Phải chứa\n")
		for i := 0; i < 5000; i++ {
			agency := "Sở Y tế"
			if i%2 == 1 {
				agency = "so tai chinh"
			}
			fmt.Fprintf(&b, "%s;https://site%d.example.gov.vn/;Trang %d;60;Cổng thông tin|Sở\n", agency, i, i)
		}
		b.WriteString("Sở Không Có;https://x.example.gov.vn/;X;60;\n")     // line 5002: unknown agency
		b.WriteString("Sở Y tế;ftp://bad.example.gov.vn/;Y;60;\n")         // line 5003: bad URL
		b.WriteString("Sở Y tế;https://site0.example.gov.vn/;Trùng;60;\n") // line 5004: duplicate
		rows, err := webmon.ParseCSV(strings.NewReader(b.String()), refs)
		must(t, err)
		start := time.Now()
		res, err := e.svc.Import(ctx, e.admin, rows, false)
		must(t, err)
		if res.Imported != 0 || len(res.Errors) != 2 || res.Errors[0].Line != 5002 || res.Errors[0].Field != "agency" || res.Errors[1].Line != 5003 {
			t.Fatalf("strict import: %d imported, errors %+v", res.Imported, res.Errors)
		}
		if ms, _ := e.svc.List(ctx, model.System); len(ms) != 0 {
			t.Fatal("a strict import with bad rows created monitors")
		}
		res, err = e.svc.Import(ctx, e.admin, rows, true)
		must(t, err)
		t.Logf("imported %d monitors in %v", res.Imported, time.Since(start))
		if res.Imported != 5000 || len(res.Errors) != 3 || res.Errors[2].Line != 5004 {
			t.Fatalf("partial import: %d imported, errors %+v", res.Imported, res.Errors)
		}
		ms, _ := e.svc.List(ctx, model.System)
		if len(ms) != 5000 || ms[0].IntervalSeconds != 60 || !strings.Contains(ms[0].MustContain, "\n") {
			t.Fatalf("imported monitors: %d, first %+v", len(ms), ms[0])
		}
		for _, bad := range []string{"", "agency\nSở Y tế\n", "url,name\nhttps://a/,b\n"} {
			if _, err := webmon.ParseCSV(strings.NewReader(bad), refs); err == nil {
				t.Errorf("%q accepted", bad)
			}
		}
	})
}

// FuzzParseImport: any upload, CSV or YAML, is parsed without panicking,
// and every row it yields either validated or carries its error.
func FuzzParseImport(f *testing.F) {
	f.Add([]byte("agency,url\nSYT,https://a.example.gov.vn/\n"))
	f.Add([]byte("monitors:\n  - agency: SYT\n    url: https://a.example.gov.vn/\n    interval: 1m\n    must_contain: [a, b]\n"))
	f.Add([]byte("- agency: 1\n  url: http://x/\n  timeout: [1]\n"))
	f.Add([]byte("---\n&a [*a]\n"))
	refs := map[string]int64{"syt": 1, "1": 1}
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, err := webmon.ParseImport(strings.NewReader(string(data)), refs)
		if err != nil {
			return
		}
		for _, r := range rows {
			if r.Err == nil && (r.Monitor.AgencyID != 1 || r.Monitor.Validate() != nil) {
				t.Fatalf("row %d accepted but invalid: %+v", r.Line, r.Monitor)
			}
		}
	})
}
