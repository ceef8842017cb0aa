package inventory

import (
	"fmt"
	"io"
)

// ParseApkInstalled parses the Alpine package database /lib/apk/db/installed.
//
// The format is described on the Alpine wiki ("Apk spec", section
// "Installed Database V2", https://wiki.alpinelinux.org/wiki/Apk_spec):
// records separated by blank lines, each a sequence of "X:value" lines with
// a one-letter key. ParseApkInstalled uses P (package name), V (version),
// A (architecture) and o (origin, the source package); the others
// (checksums, file lists F/R/a/Z/M, dependencies, ...) are skipped. The
// origin becomes SourceName and Origin; SourceVersion is the package
// version, since an origin and its subpackages share one version. Records
// without P or V are skipped.
//
// ParseApkInstalled returns an error wrapping [ErrTooManyPackages] for more
// than [MaxPackages] records and [ErrFieldTooLong] for a line longer than
// [MaxFieldLen].
func ParseApkInstalled(r io.Reader) ([]Package, error) {
	var pkgs []Package
	var cur Package
	s := newStanzaScanner(r, "apk installed")
	parseLine := func(b []byte) error {
		if len(b) < 2 || b[1] != ':' {
			return fmt.Errorf("apk installed: record %d: malformed line %.64q", s.records, b)
		}
		if len(b)-2 > MaxFieldLen {
			return fmt.Errorf("apk installed: record %d: %c: %w", s.records, b[0], ErrFieldTooLong)
		}
		switch b[0] {
		case 'P':
			cur.Name = string(b[2:])
		case 'V':
			cur.Version = string(b[2:])
		case 'A':
			cur.Arch = string(b[2:])
		case 'o':
			cur.Origin = string(b[2:])
		}
		return nil
	}
	for s.next(parseLine) {
		if cur.Name != "" && cur.Version != "" {
			cur.Ecosystem = EcosystemAPK
			cur.SourceName = cur.Origin
			if cur.SourceName == "" {
				cur.SourceName = cur.Name
			}
			cur.SourceVersion = cur.Version
			pkgs = append(pkgs, cur)
		}
		cur = Package{}
	}
	if s.err != nil {
		return nil, s.err
	}
	return pkgs, nil
}
