package textfold

import "testing"

func TestFold(t *testing.T) {
	cases := map[string]string{
		"nhà cái":                      "nha cai",
		"NHÀ CÁI uy tín":               "nha cai uy tin",
		"Đà Nẵng":                      "da nang",
		"Sở Thông tin và Truyền thông": "so thong tin va truyen thong",
		"  nhiều   khoảng trắng ":      "nhieu khoang trang",
		"Ủy ban nhân dân huyện":        "uy ban nhan dan huyen",
		"plain ascii":                  "plain ascii",
	}
	for in, want := range cases {
		if got := Fold(in); got != want {
			t.Errorf("Fold(%q) = %q, want %q", in, got, want)
		}
	}
	// Precomposed and decomposed forms of the same text fold alike.
	if Fold("nh\u00e0") != Fold("nha\u0300") {
		t.Errorf("NFC and NFD forms fold differently")
	}
	if !Contains("Cổng thông tin điện tử tỉnh", "cong thong tin dien tu") {
		t.Errorf("Contains misses a diacritic-free query")
	}
}

func FuzzFold(f *testing.F) {
	f.Add("nhà cái")
	f.Add("\xff\xfe")
	f.Fuzz(func(t *testing.T, s string) {
		once := Fold(s)
		if Fold(once) != once {
			t.Fatalf("Fold is not idempotent on %q", s)
		}
	})
}
