package page

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

const portal = `<html><head><title>Cổng thông tin điện tử tỉnh</title></head><body>
<ul class="news"><li><a href="/tin/1">Hội nghị tổng kết năm 2026</a></li><li><a href="/tin/2">Lịch tiếp công dân tháng 12</a></li><li><a href="/tin/3">Thông báo tuyển dụng viên chức</a></li></ul>
<p>Cổng thông tin điện tử của Ủy ban nhân dân tỉnh cung cấp thông tin chỉ đạo, điều hành, văn bản pháp luật và dịch vụ công trực tuyến cho người dân, doanh nghiệp.</p>
<div class="counter">Lượt truy cập: 1234567</div><div class="date">Thứ Hai, 01/12/2026</div>
<script src="https://www.googletagmanager.com/gtag/js?id=G-1"></script></body></html>`

// TestBaselineSurvivesJSON: a stored baseline judges exactly like the
// learned one.
func TestBaselineSurvivesJSON(t *testing.T) {
	a := mustExtract(t, []byte(portal), "https://tinh.example.gov.vn/")
	b := Learn(a, mustExtract(t, perturb([]byte(portal), 5), "https://tinh.example.gov.vn/"))
	data, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	var back Baseline
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	cur := mustExtract(t, []byte(portal+`<div style="display:none"><a href="https://kq1-vip.top/">x</a><a href="https://kq2-vip.top/">y</a></div>`), "https://tinh.example.gov.vn/")
	r1, r2 := Analyze(cur, b, Options{}), Analyze(cur, &back, Options{})
	if !reflect.DeepEqual(r1, r2) || r1.Verdict != Defaced {
		t.Fatalf("learned %v\nstored  %v", r1, r2)
	}
}

// TestPortalDynamicRegionsStayClean: counters, dates and a rotated news
// list are not changes; the page stays clean against its own baseline.
func TestPortalDynamicRegionsStayClean(t *testing.T) {
	u := "https://tinh.example.gov.vn/"
	b := Learn(mustExtract(t, []byte(portal), u))
	rotated := []byte(`<html><head><title>Cổng thông tin điện tử tỉnh</title></head><body>
<ul class="news"><li><a href="/tin/3">Thông báo tuyển dụng viên chức</a></li><li><a href="/tin/1">Hội nghị tổng kết năm 2026</a></li><li><a href="/tin/2">Lịch tiếp công dân tháng 12</a></li></ul>
<p>Cổng thông tin điện tử của Ủy ban nhân dân tỉnh cung cấp thông tin chỉ đạo, điều hành, văn bản pháp luật và dịch vụ công trực tuyến cho người dân, doanh nghiệp.</p>
<div class="counter">Lượt truy cập: 1234999</div><div class="date">Thứ Ba, 02/12/2026</div>
<script src="https://www.googletagmanager.com/gtag/js?id=G-1"></script></body></html>`)
	if r := Analyze(mustExtract(t, rotated, u), b, Options{}); r.Verdict != Clean {
		t.Fatalf("rotated portal: %v", r)
	}
	// Gambling words a portal legitimately uses do not trip it alone.
	sports := []byte(`<html><head><title>Thể thao</title></head><body><p>Kết quả xổ số kiến thiết và lịch thi đấu bóng đá, chương trình giải trí cuối tuần, tin thể thao trong tỉnh.</p></body></html>`)
	if r := Analyze(mustExtract(t, sports, u), nil, Options{}); r.Verdict != Clean {
		t.Fatalf("portal words: %v", r)
	}
	gambling := []byte(`<html><head><title>Thể thao</title></head><body><p>Nhà cái uy tín, cá cược bóng đá, tài xỉu, nổ hũ, bắn cá đổi thưởng — đăng ký nhận thưởng ngay.</p></body></html>`)
	if r := Analyze(mustExtract(t, gambling, u), nil, Options{}); r.Verdict != Defaced {
		t.Fatalf("gambling page: %v", r)
	}
}

// TestAddLearnsLikeAllAtOnce: folding fetches in one by one (what the
// monitor does, holding only the baseline) gives the baseline learned from
// all of them, and a block missing from any fetch is dynamic.
func TestAddLearnsLikeAllAtOnce(t *testing.T) {
	u := "https://tinh.example.gov.vn/"
	a := mustExtract(t, []byte(portal), u)
	b := mustExtract(t, perturb([]byte(portal), 7), u)
	c := mustExtract(t, []byte(strings.Replace(portal, "Thông báo tuyển dụng viên chức", "Khai mạc hội chợ xuân", 1)), u)
	var inc *Baseline
	for _, f := range []*Features{a, b, c} {
		inc = inc.Add(f)
	}
	all := Learn(a, b, c)
	if !reflect.DeepEqual(inc, all) {
		t.Fatalf("incremental %+v\nall at once %+v", inc, all)
	}
	if inc.Fetches != 3 || len(inc.Dynamic) == 0 {
		t.Fatalf("fetches %d, dynamic %v", inc.Fetches, inc.Dynamic)
	}
	stable := setU64(inc.Stable)
	for _, k := range inc.Dynamic {
		if stable[k] {
			t.Fatalf("block %x both stable and dynamic", k)
		}
	}
	for _, k := range c.Blocks {
		if !stable[k] && !setU64(inc.Dynamic)[k] {
			t.Fatalf("block %x of the last fetch forgotten", k)
		}
	}
}
