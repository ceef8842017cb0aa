// Package version compares package versions with each ecosystem's own
// ordering rules. It never guesses: a version that its scheme cannot parse,
// or an unknown scheme, is reported as an *Error.
//
// The schemes match the ecosystems of internal/inventory:
//
//   - Deb ("deb"): dpkg's ordering of [epoch:]upstream[-revision]. The epoch
//     is a decimal number up to 2147483647 (missing = 0) compared
//     numerically; the revision
//     is whatever follows the last hyphen (missing = ""). Upstream and
//     revision are compared by alternating runs of non-digits and digits:
//     in non-digit runs '~' sorts before everything, even the end of the
//     string, then the end of the string, then letters, then all other
//     characters (by ASCII value); digit runs compare numerically (of any
//     length). Validation follows dpkg's parseversion and treats what dpkg
//     only warns about as invalid: the upstream version must start with a
//     digit and contain only letters, digits and ".+~-:"; the revision only
//     letters, digits and ".+~". As an exception '_' is accepted in both
//     (dpkg merely warns about it, and go-deb-version's vectors, e.g.
//     "6.0-4.el6.x86_64", expect it to be valid). Whitespace is rejected, not
//     trimmed.
//
//   - RPM ("rpm"): an EVR string [epoch:]version[-release], as rpm parses it:
//     the epoch is the leading digits before ':', the release follows the
//     last '-'. Epochs compare numerically (missing = 0), then versions with
//     rpmvercmp, then releases with rpmvercmp, but only when both sides have
//     a release (as rpm's rpmverCmp does; so "1.0" equals both "1.0-1" and
//     "1.0-2", which is not transitive). rpmvercmp splits strings into runs
//     of ASCII digits or ASCII letters, anything else separates runs; '~'
//     sorts before everything (even the end), '^' after the end but before
//     anything else; a numeric run beats an alphabetic one; numeric runs
//     compare without leading zeros; when all runs are equal the string with
//     runs left over wins. rpm itself accepts any string; here an epoch, if
//     any, must be digits, and version and release must be non-empty and use only the characters rpmbuild allows
//     once macros are expanded: ASCII letters, digits and "._+~^".
//
//   - APK ("apk"): apk-tools' ordering of Alpine versions
//     digits{.digits}[letter]{_suffix[number]}[~hash][-rN]. Suffixes _alpha,
//     _beta, _pre and _rc sort before the plain release, _cvs, _svn, _git,
//     _hg and _p after it. Components are compared token by token: the first
//     number numerically, later dot-separated numbers numerically unless
//     either has a leading zero (then as strings, like Gentoo), letters by
//     value, suffixes by their rank, commit hashes as strings, the -rN
//     revision numerically. When the versions differ in the kind of their
//     next token, one that continues with a pre-release suffix is smaller;
//     otherwise the one whose next token comes later in the pattern (the
//     end of the string counting as last) is smaller, so
//     1.0_rc1 < 1.0 < 1.0-r1 < 1.0_p1 < 1.0a. Numbers of any length are
//     compared exactly (apk-tools itself reads them into 64 bits). apk's
//     fuzzy "~" match (a prefix match used in dependencies) is implemented
//     for apk-tools' test vectors but is not part of the API.
//
// In addition the scheme "windows" (Windows program versions, which have no
// formal ordering) compares dotted versions: both are split on '.', parts are
// compared left to right, a missing part counts as "0", two all-digit parts
// compare numerically and any other pair of parts compares as byte strings.
// A Windows version is valid when it is valid UTF-8, non-empty, and has no
// empty part and no whitespace or control characters. This is a convenience,
// not a vendor's rule: mixing numeric and non-numeric parts can make it
// non-transitive (2 < 10 numerically, "10" < "1a" and "1a" < "2" as strings).
package version
