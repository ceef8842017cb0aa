package domainlist

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadHostsAndPlainLines(t *testing.T) {
	in := `# comment
0.0.0.0 nhacai.com
127.0.0.1 localhost
127.0.0.1 a.example b.example # two on a line
sbobet88.com.

  *.wild.example
::1 ip6.example
`
	l, err := Load(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a.example", "b.example", "ip6.example", "nhacai.com", "sbobet88.com", "wild.example"}
	got := l.Domains()
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("domains = %v, want %v", got, want)
	}
}

func TestMatchParentDomains(t *testing.T) {
	l, _ := Load(strings.NewReader("nhacai.com\nxn--nhci-4na.vn\n"))
	cases := []struct {
		host, match string
		ok          bool
	}{
		{"nhacai.com", "nhacai.com", true},
		{"www.abc.NHACAI.com.", "nhacai.com", true},
		{"nhacai.com:8443", "nhacai.com", true},
		{"notnhacai.com", "", false},
		{"nhacai.com.vn", "", false},
		{"m.xn--nhci-4na.vn", "xn--nhci-4na.vn", true},
		{"", "", false},
	}
	for _, c := range cases {
		m, ok := l.Match(c.host)
		if ok != c.ok || m != c.match {
			t.Errorf("Match(%q) = %q, %v; want %q, %v", c.host, m, ok, c.match, c.ok)
		}
	}
	var nilList *List
	if _, ok := nilList.Match("nhacai.com"); ok {
		t.Error("nil list matched")
	}
}

func TestEmbeddedListHasGamblingDomains(t *testing.T) {
	l := Embedded()
	if l.Len() < 50000 {
		t.Fatalf("embedded list has %d domains, want the merged hostsVN lists", l.Len())
	}
	for _, h := range []string{"fb88.com", "www.fb88.com", "m.lucky88.com"} {
		if _, ok := l.Match(h); !ok {
			t.Errorf("%s not matched", h)
		}
	}
	for _, h := range []string{"gov.vn", "google.com", "vnexpress.net"} {
		if m, ok := l.Match(h); ok {
			t.Errorf("%s matched %s", h, m)
		}
	}
}

func BenchmarkMatch(b *testing.B) {
	l := Embedded()
	for b.Loop() {
		l.Match("static.cdn.www.some-agency.quangnam.gov.vn")
	}
}

func FuzzLoad(f *testing.F) {
	f.Add("0.0.0.0 a.com\n# c\nb.org.\n")
	f.Add("::1 x\n\n\t*.y.z")
	f.Fuzz(func(t *testing.T, s string) {
		l, err := Load(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, d := range l.Domains() {
			if d == "" || d != strings.ToLower(d) {
				t.Fatalf("bad entry %q", d)
			}
			if m, ok := l.Match(d); !ok || m != d {
				t.Fatalf("entry %q does not match itself (%q %v)", d, m, ok)
			}
		}
	})
}

// An operator's file adds to the shipped list; a missing or empty file is
// an error, not a silently empty list.
func TestLoadFilesAddsToEmbedded(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "extra.txt")
	if err := os.WriteFile(p, []byte("# Ministry list\n0.0.0.0 lua-dao-ngan-hang.example\nvay-tien-nhanh.example\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := LoadFiles(p)
	if err != nil {
		t.Fatal(err)
	}
	if l.Len() != Embedded().Len()+2 {
		t.Fatalf("merged %d domains, want %d", l.Len(), Embedded().Len()+2)
	}
	if _, ok := l.Match("www.vay-tien-nhanh.example"); !ok {
		t.Fatal("a domain from the file does not match")
	}
	if _, ok := Embedded().Match("vay-tien-nhanh.example"); ok {
		t.Fatal("loading a file changed the shipped list")
	}
	empty := filepath.Join(dir, "empty.txt")
	os.WriteFile(empty, []byte("# nothing\n"), 0o600)
	for _, bad := range []string{empty, filepath.Join(dir, "missing.txt")} {
		if _, err := LoadFiles(bad); err == nil {
			t.Fatalf("%s accepted", bad)
		}
	}
}
