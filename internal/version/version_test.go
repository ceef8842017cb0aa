package version

import (
	"errors"
	"testing"
)

func TestCompareHandCases(t *testing.T) {
	for _, c := range []struct {
		scheme, a, b string
		want         int
	}{
		{Deb, "1.0~rc1", "1.0", -1},
		{Deb, "1:3.0.11-1~deb12u2", "3.0.13-1~deb12u1", 1},
		{Deb, "1.99999999999999999999999999", "1.100000000000000000000000000", -1},
		{Deb, "0:1.0-1", "1.0-1", 0},
		{RPM, "1.0^git1", "1.0", 1},
		{RPM, "5.14.0-362.8.1.el9_3", "5.14.0-362.13.1.el9_3", -1},
		{RPM, "1:1.0", "2.0", 1},
		{RPM, "0:1.0-1", "1.0-1", 0},
		{RPM, "1.0", "1.0-1", 0}, // rpm skips the release when one side has none
		{RPM, "1.0-1", "1.0-2", -1},
		{RPM, "1.0-1.el9", "1.0-1.el9_3", -1},
		{APK, "3.1.4-r5", "3.1.4_p1-r0", -1},
		{APK, "1.2.4_git20230717-r4", "1.2.4-r4", 1},
		{APK, "1.0_rc1", "1.0", -1},
		{APK, "1.99999999999999999999999999", "1.100000000000000000000000000", -1},
		{"windows", "10.0.19041.1", "10.0.9999", 1},
		{"windows", "1.0", "1", 0},
		{"windows", "1.0.0.1", "1", 1},
		{"windows", "2.1b", "2.1a", 1},
		{"windows", "124.0.6367.91", "124.0.6367.201", -1},
	} {
		got, err := Compare(c.scheme, c.a, c.b)
		if err != nil || got != c.want {
			t.Errorf("Compare(%q, %q, %q) = %d, %v; want %d", c.scheme, c.a, c.b, got, err, c.want)
		}
		got, err = Compare(c.scheme, c.b, c.a)
		if err != nil || got != -c.want {
			t.Errorf("Compare(%q, %q, %q) = %d, %v; want %d", c.scheme, c.b, c.a, got, err, -c.want)
		}
	}
}

func TestInvalid(t *testing.T) {
	for _, c := range []struct{ scheme, v string }{
		{Deb, ""},
		{Deb, "1.0:"},
		{Deb, ":1.0"},
		{Deb, "1:"},
		{Deb, "99999999999:1.0"},
		{Deb, "1.0-"},
		{Deb, "1.0 "},
		{Deb, "a1.0"},
		{Deb, "1.0-1/2"},
		{RPM, ""},
		{RPM, ":1.0"},
		{RPM, "a:1.0"},
		{RPM, "1.0-"},
		{RPM, "-1"},
		{RPM, "1-2-3"},
		{RPM, "1.0 "},
		{RPM, "1.1.α"},
		{APK, ""},
		{APK, "1.0-r"},
		{APK, "1.0_foo"},
		{APK, "v1.0"},
		{"windows", ""},
		{"windows", "1..2"},
		{"windows", "1.0 beta"},
		{"windows", "1."},
	} {
		err := Validate(c.scheme, c.v)
		var e *Error
		if !errors.As(err, &e) || e.Scheme != c.scheme || e.Version != c.v || e.Reason == "" {
			t.Errorf("Validate(%q, %q) = %v, want a complete *Error", c.scheme, c.v, err)
		}
		if _, err := Compare(c.scheme, "1", c.v); !errors.As(err, &e) || e.Version != c.v {
			t.Errorf("Compare(%q, 1, %q) error = %v, want *Error for %q", c.scheme, c.v, err, c.v)
		}
		if _, err := Compare(c.scheme, c.v, "1"); !errors.As(err, &e) || e.Version != c.v {
			t.Errorf("Compare(%q, %q, 1) error = %v, want *Error for %q", c.scheme, c.v, err, c.v)
		}
	}
}

func TestErrorText(t *testing.T) {
	err := Validate(Deb, "1.0:")
	const want = `version "1.0:" is not a valid deb version: epoch in version is not number`
	if err == nil || err.Error() != want {
		t.Errorf("Validate(deb, 1.0:) = %v, want %s", err, want)
	}
	_, err = Compare("npm", "1.0.0", "1.0.1")
	var e *Error
	if !errors.As(err, &e) || e.Scheme != "npm" || e.Reason == "" {
		t.Fatalf("Compare(npm) = %v, want *Error", err)
	}
	if got, want := err.Error(), `cannot compare version "1.0.0": unknown version scheme "npm"`; got != want {
		t.Errorf("unknown scheme error %q, want %q", got, want)
	}
	if err := Validate("", "1"); !errors.As(err, &e) {
		t.Errorf("Validate with empty scheme = %v, want *Error", err)
	}
}

func TestNoAllocs(t *testing.T) {
	for _, c := range benchCases {
		n := testing.AllocsPerRun(100, func() {
			if _, err := Compare(c.scheme, c.a, c.b); err != nil {
				t.Fatal(err)
			}
		})
		if n != 0 {
			t.Errorf("Compare(%q, %q, %q) allocates %v times", c.scheme, c.a, c.b, n)
		}
	}
}

// The raw comparisons must cope with any bytes (Compare only passes them
// validated versions): a NUL byte once walked debVerRevCmp off the end.
func TestRawCompareOddBytes(t *testing.T) {
	for _, c := range [][2]string{{"\x00", ""}, {"1\x00", "1"}, {"~\x00", "~"}, {"\xff", "\x00"}} {
		if x, y := sign(debVerRevCmp(c[0], c[1])), sign(debVerRevCmp(c[1], c[0])); x != -y || x == 0 {
			t.Errorf("debVerRevCmp(%q, %q) = %d, reversed %d", c[0], c[1], x, y)
		}
		if x, y := rpmvercmp(c[0], c[1]), rpmvercmp(c[1], c[0]); x != -y {
			t.Errorf("rpmvercmp(%q, %q) = %d, reversed %d", c[0], c[1], x, y)
		}
		if x, y := apkCompareRaw(c[0], c[1], false), apkCompareRaw(c[1], c[0], false); x != -y {
			t.Errorf("apkCompareRaw(%q, %q) = %d, reversed %d", c[0], c[1], x, y)
		}
	}
}

func TestAPKDocumentedOrder(t *testing.T) {
	vs := []string{"1.0_rc1", "1.0", "1.0-r1", "1.0_p1", "1.0a"}
	for i := 0; i+1 < len(vs); i++ {
		if r, err := Compare(APK, vs[i], vs[i+1]); r != -1 || err != nil {
			t.Errorf("Compare(apk, %q, %q) = %d, %v; want -1", vs[i], vs[i+1], r, err)
		}
	}
}
