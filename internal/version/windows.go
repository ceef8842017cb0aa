package version

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

func winValidate(v string) string {
	if v == "" {
		return "version string is empty"
	}
	if !utf8.ValidString(v) {
		return "version string is not valid UTF-8"
	}
	for _, r := range v {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return "version string has whitespace or control characters"
		}
	}
	for part := range strings.SplitSeq(v, ".") {
		if part == "" {
			return "version has an empty part"
		}
	}
	return ""
}

// winCompare compares dotted versions part by part: a missing part is "0",
// two all-digit parts compare numerically, other pairs as byte strings.
func winCompare(a, b string) int {
	for a != "" || b != "" {
		var pa, pb string
		pa, a = winPart(a)
		pb, b = winPart(b)
		var r int
		if allDigits(pa) && allDigits(pb) {
			r = compareDigits(pa, pb)
		} else {
			r = compareStrings(pa, pb)
		}
		if r != 0 {
			return r
		}
	}
	return 0
}

// winPart returns the first part of s ("0" when s is empty) and the rest.
func winPart(s string) (part, rest string) {
	if s == "" {
		return "0", ""
	}
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

func allDigits(s string) bool {
	return s != "" && digitsEnd(s, 0) == len(s)
}
