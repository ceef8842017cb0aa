package version

import "strings"

// debMaxEpoch is dpkg's limit for an epoch (it stores it in an int).
const debMaxEpoch = "2147483647"

// debSplit splits a Debian version into epoch digits (possibly ""),
// upstream version and revision, or returns the reason it is invalid.
// The rules and reasons follow dpkg's parseversion; what dpkg only warns
// about (first character, allowed characters) is an error here.
func debSplit(v string) (epoch, upstream, revision, reason string) {
	if v == "" {
		return "", "", "", "version string is empty"
	}
	for i := 0; i < len(v); i++ {
		if charClass[v[i]]&clsSpace != 0 {
			return "", "", "", "version string has embedded spaces"
		}
	}
	rest := v
	if c := strings.IndexByte(v, ':'); c >= 0 {
		epoch, rest = v[:c], v[c+1:]
		switch {
		case epoch == "":
			return "", "", "", "epoch in version is empty"
		case epoch[0] == '-' && len(epoch) > 1 && digitsEnd(epoch, 1) == len(epoch):
			return "", "", "", "epoch in version is negative"
		case digitsEnd(epoch, 0) != len(epoch):
			return "", "", "", "epoch in version is not number"
		case compareDigits(epoch, debMaxEpoch) > 0:
			return "", "", "", "epoch in version is too big"
		case rest == "":
			return "", "", "", "nothing after colon in version number"
		}
	}
	upstream = rest
	if h := strings.LastIndexByte(rest, '-'); h >= 0 {
		upstream, revision = rest[:h], rest[h+1:]
		if revision == "" {
			return "", "", "", "revision number is empty"
		}
	}
	if upstream == "" {
		return "", "", "", "version number is empty"
	}
	if !isDigit(upstream[0]) {
		return "", "", "", "version number does not start with digit"
	}
	for i := 1; i < len(upstream); i++ {
		if charClass[upstream[i]]&clsDebUpstream == 0 {
			return "", "", "", "invalid character in version number"
		}
	}
	for i := 0; i < len(revision); i++ {
		if charClass[revision[i]]&clsDebRevision == 0 {
			return "", "", "", "invalid character in revision number"
		}
	}
	return epoch, upstream, revision, ""
}

func debValidate(v string) string {
	_, _, _, reason := debSplit(v)
	return reason
}

// debCompare compares two valid Debian versions: epoch numerically, then
// upstream version, then revision, the latter two with debVerRevCmp.
func debCompare(a, b string) int {
	ea, ua, ra, _ := debSplit(a)
	eb, ub, rb, _ := debSplit(b)
	if r := compareDigits(ea, eb); r != 0 {
		return r
	}
	if r := debVerRevCmp(ua, ub); r != 0 {
		return r
	}
	return debVerRevCmp(ra, rb)
}

// debOrder is the weight of s[i] in a non-digit run; the end of the string
// and a digit (which ends the run) weigh 0: '~' < end < letters < everything
// else.
func debOrder(s string, i int) int {
	if i >= len(s) {
		return 0
	}
	c := s[i]
	switch {
	case isDigit(c):
		return 0
	case isAlpha(c):
		return int(c)
	case c == '~':
		return -1
	}
	return int(c) + 256
}

// debVerRevCmp is dpkg's comparison of an upstream version or a revision:
// alternately a non-digit run compared character by character with
// debOrder, then a digit run compared numerically (an absent run is 0).
func debVerRevCmp(a, b string) int {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		for i < len(a) && !isDigit(a[i]) || j < len(b) && !isDigit(b[j]) {
			oa, ob := debOrder(a, i), debOrder(b, j)
			if oa != ob {
				return oa - ob
			}
			// Equal weights here mean both characters are the same
			// non-digit (one side at its end or at a digit weighs 0,
			// and then the other does not, or the loop would not run).
			i++
			j++
		}
		ei, ej := digitsEnd(a, i), digitsEnd(b, j)
		if r := compareDigits(a[i:ei], b[j:ej]); r != 0 {
			return r
		}
		i, j = ei, ej
	}
	return 0
}
