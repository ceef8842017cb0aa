package version

import "fmt"

// Schemes.
const (
	Deb = "deb"
	RPM = "rpm"
	APK = "apk"
)

// schemeWindows is the inventory ecosystem of Windows programs; see the
// package documentation for its (simple) ordering.
const schemeWindows = "windows"

// reasonUnknownScheme is the Reason of an *Error for a scheme this package
// does not know.
const reasonUnknownScheme = "unknown version scheme"

// Error reports a version that its scheme cannot parse, or an unknown scheme.
type Error struct {
	Scheme  string
	Version string
	Reason  string
}

func (e *Error) Error() string {
	if e.Reason == reasonUnknownScheme {
		return fmt.Sprintf("cannot compare version %q: unknown version scheme %q", e.Version, e.Scheme)
	}
	return fmt.Sprintf("version %q is not a valid %s version: %s", e.Version, e.Scheme, e.Reason)
}

// scheme is one ordering: validate returns "" for a valid version or the
// reason it is not; compare may assume both versions are valid.
type scheme struct {
	validate func(v string) string
	compare  func(a, b string) int
}

func lookup(name string) (scheme, bool) {
	switch name {
	case Deb:
		return scheme{debValidate, debCompare}, true
	case RPM:
		return scheme{rpmValidate, rpmCompare}, true
	case APK:
		return scheme{apkValidate, apkCompareValid}, true
	case schemeWindows:
		return scheme{winValidate, winCompare}, true
	}
	return scheme{}, false
}

// Compare returns -1, 0 or +1 as a sorts before, equal to or after b under
// scheme's rules. An unknown scheme or a version the scheme cannot parse is
// an error (*Error with Scheme, Version, Reason), never a guess.
func Compare(scheme, a, b string) (int, error) {
	s, ok := lookup(scheme)
	if !ok {
		return 0, &Error{Scheme: scheme, Version: a, Reason: reasonUnknownScheme}
	}
	if r := s.validate(a); r != "" {
		return 0, &Error{Scheme: scheme, Version: a, Reason: r}
	}
	if r := s.validate(b); r != "" {
		return 0, &Error{Scheme: scheme, Version: b, Reason: r}
	}
	return sign(s.compare(a, b)), nil
}

// Validate reports whether v parses under scheme (nil error if it does).
func Validate(scheme, v string) error {
	s, ok := lookup(scheme)
	if !ok {
		return &Error{Scheme: scheme, Version: v, Reason: reasonUnknownScheme}
	}
	if r := s.validate(v); r != "" {
		return &Error{Scheme: scheme, Version: v, Reason: r}
	}
	return nil
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// byteAt returns s[i], or 0 past the end of s.
func byteAt(s string, i int) byte {
	if i < len(s) {
		return s[i]
	}
	return 0
}

// compareDigits compares two strings of ASCII digits as non-negative
// integers of any length: leading zeros are ignored, then the longer number
// is the larger, then the first differing digit decides.
func compareDigits(a, b string) int {
	a = trimZeros(a)
	b = trimZeros(b)
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return compareStrings(a, b)
}

func trimZeros(s string) string {
	i := 0
	for i < len(s) && s[i] == '0' {
		i++
	}
	return s[i:]
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// digitsEnd returns the index of the first non-digit of s at or after i.
func digitsEnd(s string, i int) int {
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return i
}

// Character classes of ASCII bytes, for validation.
const (
	clsSpace       = 1 << iota // ASCII whitespace
	clsDebUpstream             // allowed in a Debian upstream version
	clsDebRevision             // allowed in a Debian revision
	clsRPM                     // allowed in an RPM version or release
)

var charClass = func() (t [256]uint8) {
	for _, c := range []byte(" \t\n\r\v\f") {
		t[c] |= clsSpace
	}
	for c := 0; c < 256; c++ {
		if isDigit(byte(c)) || isAlpha(byte(c)) {
			t[c] |= clsDebUpstream | clsDebRevision | clsRPM
		}
	}
	for _, c := range []byte(".+~-:_") {
		t[c] |= clsDebUpstream
	}
	for _, c := range []byte(".+~_") {
		t[c] |= clsDebRevision
	}
	for _, c := range []byte("._+~^") {
		t[c] |= clsRPM
	}
	return t
}()
