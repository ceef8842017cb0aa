package version

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// vectorLine is one test line of a vector file, with its 1-based number.
type vectorLine struct {
	file   string
	num    int
	fields []string
}

func (l vectorLine) String() string { return l.file + ":" + strconv.Itoa(l.num) }

// readTSV returns the tab-separated lines of a vector file, skipping blank
// lines and '#' comment lines; every line must have at least minFields.
func readTSV(t testing.TB, path string, minFields int) []vectorLine {
	t.Helper()
	var out []vectorLine
	for _, l := range readLines(t, path) {
		text := strings.Join(l.fields, "")
		if strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#") {
			continue
		}
		l.fields = strings.Split(text, "\t")
		if len(l.fields) < minFields {
			t.Fatalf("%s: want at least %d tab-separated fields, got %q", l, minFields, text)
		}
		out = append(out, l)
	}
	return out
}

// readLines returns every line of path as a one-field vectorLine.
func readLines(t testing.TB, path string) []vectorLine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []vectorLine
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		out = append(out, vectorLine{file: filepath.ToSlash(path), num: n, fields: []string{sc.Text()}})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func mustSign(t testing.TB, l vectorLine, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil || n < -1 || n > 1 {
		t.Fatalf("%s: bad expected value %q", l, s)
	}
	return n
}

// checkCompare asserts Compare(scheme, a, b) == want and the reverse.
func checkCompare(t *testing.T, l vectorLine, scheme, a, b string, want int) {
	t.Helper()
	got, err := Compare(scheme, a, b)
	if err != nil || got != want {
		t.Errorf("%s: Compare(%q, %q, %q) = %d, %v; want %d", l, scheme, a, b, got, err, want)
	}
	got, err = Compare(scheme, b, a)
	if err != nil || got != -want {
		t.Errorf("%s: Compare(%q, %q, %q) = %d, %v; want %d", l, scheme, b, a, got, err, -want)
	}
}

func TestDpkgVectors(t *testing.T) {
	lines := readTSV(t, "testdata/dpkg/dpkg_compare.tsv", 3)
	for _, l := range lines {
		checkCompare(t, l, Deb, l.fields[0], l.fields[1], mustSign(t, l, l.fields[2]))
	}
	if len(lines) != 43 {
		t.Errorf("dpkg: %d vectors, want 43", len(lines))
	}
	t.Logf("dpkg: %d comparisons", len(lines))
}

func TestGoDebVersionCompareVectors(t *testing.T) {
	lines := readTSV(t, "testdata/go-deb-version/compare.tsv", 4)
	for _, l := range lines {
		a, b, rel := l.fields[0], l.fields[1], l.fields[2]
		want, err := strconv.ParseBool(l.fields[3])
		if err != nil {
			t.Fatalf("%s: bad expectation %q", l, l.fields[3])
		}
		c, err := Compare(Deb, a, b)
		if err != nil {
			t.Errorf("%s: Compare(deb, %q, %q): %v", l, a, b, err)
			continue
		}
		var got bool
		switch rel {
		case "less_than":
			got = c < 0
		case "equal":
			got = c == 0
		case "greater_than":
			got = c > 0
		default:
			t.Fatalf("%s: unknown relation %q", l, rel)
		}
		if got != want {
			t.Errorf("%s: %q %s %q is %v, want %v (Compare = %d)", l, a, rel, b, got, want, c)
		}
		if r, _ := Compare(Deb, b, a); r != -c {
			t.Errorf("%s: Compare(deb, %q, %q) = %d, not the opposite of %d", l, b, a, r, c)
		}
	}
	if len(lines) != 38 {
		t.Errorf("go-deb-version compare: %d vectors, want 38", len(lines))
	}
	t.Logf("go-deb-version: %d comparisons", len(lines))
}

func TestGoDebVersionValidVectors(t *testing.T) {
	lines := readTSV(t, "testdata/go-deb-version/valid.tsv", 2)
	for _, l := range lines {
		v := l.fields[0]
		want, err := strconv.ParseBool(l.fields[1])
		if err != nil {
			t.Fatalf("%s: bad expectation %q", l, l.fields[1])
		}
		err = Validate(Deb, v)
		if (err == nil) != want {
			t.Errorf("%s: Validate(deb, %q) = %v, want valid=%v", l, v, err, want)
			continue
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Scheme != Deb || e.Version != v || e.Reason == "" {
				t.Errorf("%s: Validate(deb, %q) error %#v is not a complete *Error", l, v, err)
			}
		}
		// Where the vector gives the parsed parts, check the split too.
		if want && len(l.fields) >= 5 && l.fields[3] != "" {
			epoch, upstream, revision, _ := debSplit(v)
			if compareDigits(epoch, l.fields[2]) != 0 || upstream != l.fields[3] || revision != l.fields[4] {
				t.Errorf("%s: debSplit(%q) = %q, %q, %q; want epoch %s, %q, %q",
					l, v, epoch, upstream, revision, l.fields[2], l.fields[3], l.fields[4])
			}
		}
	}
	if len(lines) != 22 {
		t.Errorf("go-deb-version valid: %d vectors, want 22", len(lines))
	}
	t.Logf("go-deb-version: %d validity cases", len(lines))
}

func TestRPMVectors(t *testing.T) {
	lines := readTSV(t, "testdata/rpm/rpmvercmp.tsv", 3)
	for _, l := range lines {
		a, b, want := l.fields[0], l.fields[1], mustSign(t, l, l.fields[2])
		if got := rpmvercmp(a, b); got != want {
			t.Errorf("%s: rpmvercmp(%q, %q) = %d, want %d", l, a, b, got, want)
		}
		// None of these has an epoch or a release, so the EVR
		// comparison must agree.
		checkCompare(t, l, RPM, a, b, want)
	}
	if len(lines) != 91 {
		t.Errorf("rpm: %d vectors, want 91", len(lines))
	}
	t.Logf("rpm: %d comparisons", len(lines))
}

// The oddities are cases rpm's test suite keeps disabled to document
// "arguably buggy" behaviour. The expected values are what rpm actually
// does (rpmvercmp only knows ASCII letters and digits; any other byte, such
// as the UTF-8 of α and β, is a separator), so rpmvercmp must reproduce
// them. Through Compare the non-ASCII ones are invalid RPM versions.
func TestRPMDocumentedOddities(t *testing.T) {
	lines := readTSV(t, "testdata/rpm/rpmvercmp_documented_oddities.tsv", 3)
	for _, l := range lines {
		a, b, want := l.fields[0], l.fields[1], mustSign(t, l, l.fields[2])
		if got := rpmvercmp(a, b); got != want {
			t.Errorf("%s: rpmvercmp(%q, %q) = %d, want %d", l, a, b, got, want)
		}
		if Validate(RPM, a) == nil && Validate(RPM, b) == nil {
			checkCompare(t, l, RPM, a, b, want)
		} else if _, err := Compare(RPM, a, b); !isError(err) {
			t.Errorf("%s: Compare(rpm, %q, %q) error = %v, want *Error", l, a, b, err)
		}
	}
	if len(lines) != 12 {
		t.Errorf("rpm oddities: %d vectors, want 12", len(lines))
	}
}

func isError(err error) bool {
	var e *Error
	return errors.As(err, &e)
}

// TestAPKVectors runs apk-tools' version.data the way its version_test.c
// does, through apkMatch and apkValidate, and checks that the public API
// agrees: Compare gives the same order for non-fuzzy operators when both
// versions are valid and an *Error otherwise.
func TestAPKVectors(t *testing.T) {
	var ncmp, nvalid, ninvalid, nfuzzy int
	for _, l := range readLines(t, "testdata/apk/version.data") {
		text, _, _ := strings.Cut(l.fields[0], "#")
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		v1, rest, ok1 := strings.Cut(text, " ")
		op, v2, ok2 := strings.Cut(rest, " ")
		if !ok1 || !ok2 {
			v, invert := strings.CutPrefix(text, "!")
			valid := apkValidate(v) == ""
			if valid == invert {
				t.Errorf("%s: apk validity of %q is %v, want %v", l, v, valid, !invert)
			}
			if err := Validate(APK, v); (err == nil) != valid {
				t.Errorf("%s: Validate(apk, %q) = %v, want valid=%v", l, v, err, valid)
			}
			if invert {
				ninvalid++
			} else {
				nvalid++
			}
			continue
		}
		ncmp++
		op, invert := strings.CutPrefix(op, "!")
		if apkMatch(v1, op, v2) == invert {
			t.Errorf("%s: apk %q %s %q is %v, want %v (raw compare %d)",
				l, v1, op, v2, !invert, invert, apkCompareRaw(v1, v2, strings.Contains(op, "~")))
		}
		if strings.Contains(op, "~") {
			nfuzzy++
		}
		c, err := Compare(APK, v1, v2)
		if apkValidate(v1) != "" || apkValidate(v2) != "" {
			if !isError(err) {
				t.Errorf("%s: Compare(apk, %q, %q) = %d, %v; want *Error", l, v1, v2, c, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: Compare(apk, %q, %q): %v", l, v1, v2, err)
			continue
		}
		if r, _ := Compare(APK, v2, v1); r != -c {
			t.Errorf("%s: Compare(apk, %q, %q) = %d, not the opposite of %d", l, v2, v1, r, c)
		}
		if strings.Contains(op, "~") {
			continue // fuzzy matching is not part of Compare
		}
		holds := c < 0 && strings.Contains(op, "<") || c > 0 && strings.Contains(op, ">") || c == 0 && strings.Contains(op, "=")
		if holds == invert {
			t.Errorf("%s: Compare(apk, %q, %q) = %d, which contradicts %q", l, v1, v2, c, text)
		}
	}
	if ncmp != 754 || nvalid != 6 || ninvalid != 25 {
		t.Errorf("apk: %d comparisons, %d valid, %d invalid lines; want 754, 6, 25", ncmp, nvalid, ninvalid)
	}
	t.Logf("apk: %d comparisons (%d fuzzy), %d valid and %d invalid versions", ncmp, nfuzzy, nvalid, ninvalid)
}
