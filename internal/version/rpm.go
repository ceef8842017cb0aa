package version

import "strings"

// rpmSplit splits an EVR string the way rpm does: the epoch is the run of
// leading digits when a ':' follows it, the release is what follows the
// last '-' after that. hasEpoch and hasRelease tell whether they are there.
func rpmSplit(v string) (epoch, version, release string, hasRelease bool) {
	version = v
	if e := digitsEnd(v, 0); e < len(v) && v[e] == ':' {
		epoch, version = v[:e], v[e+1:]
	}
	if h := strings.LastIndexByte(version, '-'); h >= 0 {
		version, release, hasRelease = version[:h], version[h+1:], true
	}
	return epoch, version, release, hasRelease
}

func rpmValidChars(s string) bool {
	for i := 0; i < len(s); i++ {
		if charClass[s[i]]&clsRPM == 0 {
			return false
		}
	}
	return true
}

func rpmValidate(v string) string {
	if v == "" {
		return "version string is empty"
	}
	epoch, version, release, hasRelease := rpmSplit(v)
	if epoch == "" && len(v) > 0 && v[0] == ':' {
		return "epoch is empty"
	}
	switch {
	case version == "":
		return "version is empty"
	case strings.IndexByte(version, ':') >= 0:
		return "epoch is not a number"
	case strings.IndexByte(version, '-') >= 0:
		return "version contains '-'"
	case !rpmValidChars(version):
		return "invalid character in version (allowed: letters, digits and ._+~^)"
	case hasRelease && release == "":
		return "release is empty"
	case !rpmValidChars(release):
		return "invalid character in release (allowed: letters, digits and ._+~^)"
	}
	return ""
}

// rpmCompare compares two valid EVR strings like rpm's rpmverCmp: epoch
// (missing = 0), then version, then release only if both have one.
func rpmCompare(a, b string) int {
	ea, va, ra, hra := rpmSplit(a)
	eb, vb, rb, hrb := rpmSplit(b)
	if r := compareDigits(ea, eb); r != 0 {
		return r
	}
	if r := rpmvercmp(va, vb); r != 0 {
		return r
	}
	if hra && hrb {
		return rpmvercmp(ra, rb)
	}
	return 0
}

func rpmSeparator(c byte) bool {
	return !isDigit(c) && !isAlpha(c) && c != '~' && c != '^'
}

// rpmvercmp is rpm's segment comparison of two version (or release)
// strings; it accepts any string and only looks at ASCII letters, digits,
// '~' and '^'.
func rpmvercmp(a, b string) int {
	if a == b {
		return 0
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		for i < len(a) && rpmSeparator(a[i]) {
			i++
		}
		for j < len(b) && rpmSeparator(b[j]) {
			j++
		}
		ca, cb := byteAt(a, i), byteAt(b, j)
		// '~' sorts before everything, the end of the string included.
		if ca == '~' || cb == '~' {
			if ca != '~' {
				return 1
			}
			if cb != '~' {
				return -1
			}
			i++
			j++
			continue
		}
		// '^' sorts after the end of the string, before anything else.
		if ca == '^' || cb == '^' {
			if i == len(a) {
				return -1
			}
			if j == len(b) {
				return 1
			}
			if ca != '^' {
				return 1
			}
			if cb != '^' {
				return -1
			}
			i++
			j++
			continue
		}
		if i == len(a) || j == len(b) {
			break
		}
		var ei, ej int
		if isDigit(ca) {
			ei, ej = digitsEnd(a, i), digitsEnd(b, j)
			if ej == j {
				return 1 // a numeric segment beats an alphabetic one
			}
			if r := compareDigits(a[i:ei], b[j:ej]); r != 0 {
				return r
			}
		} else {
			ei, ej = alphaEnd(a, i), alphaEnd(b, j)
			if ej == j {
				return -1
			}
			if r := compareStrings(a[i:ei], b[j:ej]); r != 0 {
				return r
			}
		}
		i, j = ei, ej
	}
	switch {
	case i == len(a) && j == len(b):
		return 0
	case i == len(a):
		return -1
	}
	return 1
}

func alphaEnd(s string, i int) int {
	for i < len(s) && isAlpha(s[i]) {
		i++
	}
	return i
}
