package version

import (
	"errors"
	"strings"
	"testing"
)

// fuzzSeeds returns version strings from the vector files for scheme.
func fuzzSeeds(t testing.TB, scheme string) []string {
	var vs []string
	tsv := func(path string) {
		for _, l := range readTSV(t, path, 2) {
			vs = append(vs, l.fields[0], l.fields[1])
		}
	}
	switch scheme {
	case Deb:
		tsv("testdata/dpkg/dpkg_compare.tsv")
		tsv("testdata/go-deb-version/compare.tsv")
		tsv("testdata/go-deb-version/valid.tsv")
	case RPM:
		tsv("testdata/rpm/rpmvercmp.tsv")
		tsv("testdata/rpm/rpmvercmp_documented_oddities.tsv")
		vs = append(vs, "5.14.0-362.8.1.el9_3", "1:2.0-1.fc40", "0:1.0^git1~pre-3")
	case APK:
		for _, l := range readLines(t, "testdata/apk/version.data") {
			text, _, _ := strings.Cut(l.fields[0], "#")
			for f := range strings.FieldsSeq(text) {
				if strings.Trim(f, "<>=~!") != "" {
					vs = append(vs, strings.TrimPrefix(f, "!"))
				}
			}
		}
	default:
		vs = append(vs, "10.0.19041.1", "1.0", "1", "2.1a", "124.0.6367.91", "1..2", "")
	}
	return vs
}

func fuzzCompare(f *testing.F, scheme string) {
	seeds := fuzzSeeds(f, scheme)
	for i := 0; i+1 < len(seeds); i += 2 {
		f.Add(seeds[i], seeds[i+1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		checkError := func(err error, v string) {
			var e *Error
			if !errors.As(err, &e) || e.Scheme != scheme || e.Version != v || e.Reason == "" {
				t.Fatalf("error %v for %q is not a complete *Error", err, v)
			}
		}
		errA, errB := Validate(scheme, a), Validate(scheme, b)
		if errA != nil {
			checkError(errA, a)
		} else if r, err := Compare(scheme, a, a); r != 0 || err != nil {
			t.Fatalf("Compare(%q, %q, itself) = %d, %v", scheme, a, r, err)
		}
		if errB != nil {
			checkError(errB, b)
		}
		ab, err := Compare(scheme, a, b)
		switch {
		case errA != nil:
			checkError(err, a)
		case errB != nil:
			checkError(err, b)
		case err != nil:
			t.Fatalf("Compare(%q, %q, %q): %v, though both are valid", scheme, a, b, err)
		default:
			ba, err := Compare(scheme, b, a)
			if err != nil || ab != -ba || ab < -1 || ab > 1 {
				t.Fatalf("Compare(%q, %q, %q) = %d but reversed = %d, %v", scheme, a, b, ab, ba, err)
			}
		}
		// The raw comparisons accept anything and must be
		// antisymmetric on anything.
		switch scheme {
		case Deb:
			if x, y := sign(debVerRevCmp(a, b)), sign(debVerRevCmp(b, a)); x != -y {
				t.Fatalf("debVerRevCmp(%q, %q) = %d, reversed %d", a, b, x, y)
			}
		case RPM:
			if x, y := rpmvercmp(a, b), rpmvercmp(b, a); x != -y {
				t.Fatalf("rpmvercmp(%q, %q) = %d, reversed %d", a, b, x, y)
			}
		case APK:
			if x, y := apkCompareRaw(a, b, false), apkCompareRaw(b, a, false); x != -y {
				t.Fatalf("apkCompareRaw(%q, %q) = %d, reversed %d", a, b, x, y)
			}
			apkCompareRaw(a, b, true)
			apkMatch(a, "<~", b)
		}
	})
}

func FuzzCompareDeb(f *testing.F)     { fuzzCompare(f, Deb) }
func FuzzCompareRPM(f *testing.F)     { fuzzCompare(f, RPM) }
func FuzzCompareAPK(f *testing.F)     { fuzzCompare(f, APK) }
func FuzzCompareWindows(f *testing.F) { fuzzCompare(f, "windows") }

// FuzzTransitive checks that the orders are consistent over three
// versions: no x <= y <= z with z < x. It covers deb and apk through
// Compare and rpm through rpmvercmp (rpm's full EVR comparison is
// knowingly not transitive, as a missing release matches any release, and
// so is the "windows" convenience ordering).
func FuzzTransitive(f *testing.F) {
	for _, scheme := range []string{Deb, RPM, APK} {
		seeds := fuzzSeeds(f, scheme)
		for i := 0; i+2 < len(seeds); i += 3 {
			f.Add(seeds[i], seeds[i+1], seeds[i+2])
		}
	}
	f.Fuzz(func(t *testing.T, a, b, c string) {
		vs := [3]string{a, b, c}
		check := func(name string, cmp func(x, y string) int) {
			for _, p := range [][3]int{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}} {
				x, y, z := vs[p[0]], vs[p[1]], vs[p[2]]
				xy, yz, xz := cmp(x, y), cmp(y, z), cmp(x, z)
				if xy <= 0 && yz <= 0 && xz > 0 || xy == 0 && yz == 0 && xz != 0 {
					t.Fatalf("%s: not transitive: cmp(%q,%q)=%d cmp(%q,%q)=%d cmp(%q,%q)=%d",
						name, x, y, xy, y, z, yz, x, z, xz)
				}
			}
		}
		for _, scheme := range []string{Deb, APK} {
			if Validate(scheme, a) == nil && Validate(scheme, b) == nil && Validate(scheme, c) == nil {
				check(scheme, func(x, y string) int { r, _ := Compare(scheme, x, y); return r })
			}
		}
		check("rpmvercmp", rpmvercmp)
	})
}
