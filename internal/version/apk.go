package version

// apk token kinds, in the order in which they may follow each other; a
// version that ends or turns invalid is compared by this order too.
const (
	apkInitialDigit = iota // the leading number
	apkDigit               // .N
	apkLetter              // a single lowercase letter after a number
	apkSuffix              // _alpha, _p, ...
	apkSuffixNo            // the number after a suffix
	apkCommitHash          // ~hexdigits
	apkRevisionNo          // -rN
	apkEnd
	apkInvalid
)

// Suffix ranks; apkSuffixNone (a plain release) separates the pre-release
// suffixes from the post-release ones.
const (
	apkSufInvalid = iota
	apkSufAlpha
	apkSufBeta
	apkSufPre
	apkSufRC
	apkSufNone
	apkSufCVS
	apkSufSVN
	apkSufGit
	apkSufHg
	apkSufP
)

func apkSuffixRank(s string) int {
	switch s {
	case "alpha":
		return apkSufAlpha
	case "beta":
		return apkSufBeta
	case "pre":
		return apkSufPre
	case "rc":
		return apkSufRC
	case "cvs":
		return apkSufCVS
	case "svn":
		return apkSufSVN
	case "git":
		return apkSufGit
	case "hg":
		return apkSufHg
	case "p":
		return apkSufP
	}
	return apkSufInvalid
}

// apkTokenizer walks an apk version one token at a time. Like apk-tools it
// detects invalid input lazily, so a comparison can be decided before an
// invalid part is reached (this matters only for apkMatch on the test
// vectors; Compare validates both versions first).
type apkTokenizer struct {
	s     string
	pos   int
	kind  int
	value string // the token's text (digits, letter, suffix name, hash)
	rank  int    // suffix rank for apkSuffix
}

func (t *apkTokenizer) digits() {
	e := digitsEnd(t.s, t.pos)
	t.value = t.s[t.pos:e]
	t.pos = e
	if t.value == "" {
		t.kind = apkInvalid
	}
}

func (t *apkTokenizer) first(s string) {
	*t = apkTokenizer{s: s, kind: apkInitialDigit}
	t.digits()
}

func (t *apkTokenizer) next() {
	if t.pos >= len(t.s) {
		t.kind = apkEnd
		return
	}
	c := t.s[t.pos]
	switch {
	case 'a' <= c && c <= 'z':
		if t.kind > apkDigit {
			t.kind = apkInvalid
			return
		}
		t.kind = apkLetter
		t.value = t.s[t.pos : t.pos+1]
		t.pos++
	case c == '.' || isDigit(c):
		if c == '.' {
			if t.kind > apkDigit {
				t.kind = apkInvalid
				return
			}
			t.pos++
		}
		switch t.kind {
		case apkInitialDigit, apkDigit:
			t.kind = apkDigit
		case apkSuffix:
			t.kind = apkSuffixNo
		default:
			t.kind = apkInvalid
			return
		}
		t.digits()
	case c == '_':
		if t.kind > apkSuffixNo {
			t.kind = apkInvalid
			return
		}
		t.pos++
		e := t.pos
		for e < len(t.s) && 'a' <= t.s[e] && t.s[e] <= 'z' {
			e++
		}
		t.value = t.s[t.pos:e]
		t.pos = e
		t.rank = apkSuffixRank(t.value)
		if t.rank == apkSufInvalid {
			t.kind = apkInvalid
			return
		}
		t.kind = apkSuffix
	case c == '~':
		if t.kind >= apkCommitHash {
			t.kind = apkInvalid
			return
		}
		t.pos++
		e := t.pos
		for e < len(t.s) && (isDigit(t.s[e]) || 'a' <= t.s[e] && t.s[e] <= 'f') {
			e++
		}
		t.value = t.s[t.pos:e]
		t.pos = e
		if t.value == "" {
			t.kind = apkInvalid
			return
		}
		t.kind = apkCommitHash
	case c == '-':
		if t.kind >= apkRevisionNo || t.pos+1 >= len(t.s) || t.s[t.pos+1] != 'r' {
			t.kind = apkInvalid
			return
		}
		t.pos += 2
		t.kind = apkRevisionNo
		t.digits()
	default:
		t.kind = apkInvalid
	}
}

// apkTokenCmp compares two tokens of the same kind.
func apkTokenCmp(a, b *apkTokenizer) int {
	switch a.kind {
	case apkDigit:
		if a.value[0] == '0' || b.value[0] == '0' {
			// A leading zero in a later component: compare as
			// strings (Gentoo's rule), so 1.0 < 1.001 < 1.01.
			return compareStrings(a.value, b.value)
		}
		return compareDigits(a.value, b.value)
	case apkInitialDigit, apkSuffixNo, apkRevisionNo:
		return compareDigits(a.value, b.value)
	case apkLetter:
		return compareStrings(a.value, b.value)
	case apkSuffix:
		return a.rank - b.rank
	}
	return compareStrings(a.value, b.value)
}

// apkCompareRaw is apk-tools' comparison, fuzzy or not, on any strings:
// tokens are compared while both sides have a token of the same kind;
// then, if fuzzy and b has ended, a matches b as a prefix; otherwise the
// side that continues with a pre-release suffix is smaller, and else the
// side whose next token kind comes later (its end, or an invalid part) is.
func apkCompareRaw(a, b string, fuzzy bool) int {
	var ta, tb apkTokenizer
	ta.first(a)
	tb.first(b)
	for ta.kind == tb.kind && ta.kind < apkEnd {
		if r := apkTokenCmp(&ta, &tb); r != 0 {
			return sign(r)
		}
		ta.next()
		tb.next()
	}
	switch {
	case ta.kind == tb.kind:
		return 0
	case tb.kind == apkEnd && fuzzy:
		return 0
	case ta.kind == apkSuffix && ta.rank < apkSufNone:
		return -1
	case tb.kind == apkSuffix && tb.rank < apkSufNone:
		return 1
	case ta.kind > tb.kind:
		return -1
	}
	return 1
}

func apkCompareValid(a, b string) int { return apkCompareRaw(a, b, false) }

func apkValidate(v string) string {
	if v == "" {
		return "version string is empty"
	}
	var t apkTokenizer
	for t.first(v); t.kind < apkEnd; t.next() {
	}
	if t.kind == apkInvalid {
		return "does not match digits{.digits}[letter]{_suffix[N]}[~hash][-rN] at offset " + itoa(t.pos)
	}
	return ""
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for n > 0 {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b[i:])
}

// apkMatch is apk-tools' apk_version_match for an operator made of '<',
// '>', '=' and '~' ("~" asks for a fuzzy, prefix, match and implies '=').
// It reports false for an operator with any other character.
func apkMatch(a, op, b string) bool {
	var less, greater, equal, fuzzy bool
	for i := 0; i < len(op); i++ {
		switch op[i] {
		case '<':
			less = true
		case '>':
			greater = true
		case '=':
			equal = true
		case '~':
			fuzzy, equal = true, true
		default:
			return false
		}
	}
	switch apkCompareRaw(a, b, fuzzy) {
	case -1:
		return less
	case 1:
		return greater
	}
	return equal
}
