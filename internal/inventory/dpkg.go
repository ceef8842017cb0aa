package inventory

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// ParseDpkgStatus parses a dpkg status database (/var/lib/dpkg/status, or
// one file of /var/lib/dpkg/status.d) in the deb822 control format
// described in deb-status(5) and deb-control(5): records separated by blank
// lines, each a sequence of "Field: value" lines, where lines starting with
// a space or tab continue the previous field.
//
// Only installed packages are returned: those whose Status is
// "<want> ok installed" (want is "install" or, for held packages, "hold").
// Version is kept verbatim, including an epoch ("1:2.39.2-1"). A Source
// field of the form "name (version)" sets SourceName and SourceVersion; a
// missing Source or source version defaults to the binary's own name or
// version. Records without a Package or Version field are skipped.
//
// ParseDpkgStatus returns an error wrapping [ErrTooManyPackages] for more
// than [MaxPackages] records and [ErrFieldTooLong] for a field, including
// its continuation lines, longer than [MaxFieldLen].
func ParseDpkgStatus(r io.Reader) ([]Package, error) {
	var (
		pkgs     []Package
		name     string
		version  string
		arch     string
		source   string
		status   string
		fieldLen int
		field    []byte // name of the current field, reused between lines
	)
	s := newStanzaScanner(r, "dpkg status")
	parseLine := func(b []byte) error {
		if b[0] == ' ' || b[0] == '\t' {
			if len(field) == 0 {
				return fmt.Errorf("dpkg status: record %d: continuation line before any field", s.records)
			}
			fieldLen += len(b) + 1
			if fieldLen > MaxFieldLen {
				return fmt.Errorf("dpkg status: record %d: field %.64s: %w", s.records, field, ErrFieldTooLong)
			}
			return nil
		}
		i := bytes.IndexByte(b, ':')
		if i <= 0 {
			return fmt.Errorf("dpkg status: record %d: malformed line %.64q", s.records, b)
		}
		key := b[:i]
		val := func() string { return string(bytes.TrimSpace(b[i+1:])) }
		fieldLen = len(b) - i - 1
		field = append(field[:0], key...)
		if fieldLen > MaxFieldLen {
			return fmt.Errorf("dpkg status: record %d: field %.64s: %w", s.records, field, ErrFieldTooLong)
		}
		switch {
		case bytes.EqualFold(key, []byte("Package")):
			name = val()
		case bytes.EqualFold(key, []byte("Version")):
			version = val()
		case bytes.EqualFold(key, []byte("Architecture")):
			arch = val()
		case bytes.EqualFold(key, []byte("Source")):
			source = val()
		case bytes.EqualFold(key, []byte("Status")):
			status = val()
		}
		return nil
	}
	for s.next(parseLine) {
		if name != "" && version != "" && dpkgInstalled(status) {
			p := Package{
				Ecosystem:     EcosystemDeb,
				Name:          name,
				Version:       version,
				Arch:          arch,
				SourceName:    name,
				SourceVersion: version,
			}
			if source != "" {
				sn, sv := splitDpkgSource(source)
				if sn != "" {
					p.SourceName = sn
				}
				if sv != "" {
					p.SourceVersion = sv
				}
			}
			pkgs = append(pkgs, p)
		}
		name, version, arch, source, status, field, fieldLen = "", "", "", "", "", field[:0], 0
	}
	if s.err != nil {
		return nil, s.err
	}
	return pkgs, nil
}

// dpkgInstalled reports whether a Status value ("want flag status") says
// the package is installed and not in an error state.
func dpkgInstalled(status string) bool {
	f := strings.Fields(status)
	return len(f) == 3 && (f[0] == "install" || f[0] == "hold") && f[1] == "ok" && f[2] == "installed"
}

// splitDpkgSource splits a Source value "name (version)" into its parts.
func splitDpkgSource(s string) (name, version string) {
	name, rest, ok := strings.Cut(s, "(")
	name = strings.TrimSpace(name)
	if !ok {
		return name, ""
	}
	version, _, _ = strings.Cut(rest, ")")
	return name, strings.TrimSpace(version)
}
