package inventory

import (
	"errors"
	"fmt"
	"unicode"
	"unicode/utf8"
)

// Validate checks an inventory uploaded by an agent before the server
// stores it. It rejects: more than [MaxPackages] packages, [MaxHotfixes]
// hotfixes or [MaxListLen] entries in any other list; strings longer than
// [MaxFieldLen] bytes or that are not valid UTF-8 or contain non-printable
// characters (control characters, including newlines); packages with an
// empty name or version or an unknown ecosystem; negative sizes and
// counts. It does not check that the facts are true.
func Validate(inv *Inventory) error {
	if inv == nil {
		return errors.New("inventory: nil inventory")
	}
	h := &inv.Host
	for _, f := range []struct{ name, v string }{
		{"host.hostname", h.Hostname}, {"host.machine_id", h.MachineID},
		{"host.os_name", h.OSName}, {"host.os_version", h.OSVersion},
		{"host.os_id", h.OSID}, {"host.os_version_id", h.OSVersionID},
		{"host.os_build", h.OSBuild}, {"host.kernel", h.Kernel},
		{"host.arch", h.Arch}, {"host.cpu_model", h.CPUModel},
	} {
		if err := checkString(f.name, f.v); err != nil {
			return err
		}
	}
	if h.CPUs < 0 || h.MemTotalMB < 0 || h.Uptime < 0 {
		return errors.New("inventory: host: negative count")
	}
	if err := checkList("host.ips", h.IPs, MaxListLen); err != nil {
		return err
	}
	if err := checkList("host.macs", h.MACs, MaxListLen); err != nil {
		return err
	}
	if len(h.Disks) > MaxListLen {
		return fmt.Errorf("inventory: host.disks: more than %d entries", MaxListLen)
	}
	for i, d := range h.Disks {
		if err := checkString(fmt.Sprintf("host.disks[%d].mount", i), d.Mount); err != nil {
			return err
		}
		if err := checkString(fmt.Sprintf("host.disks[%d].fs", i), d.FS); err != nil {
			return err
		}
		if d.TotalMB < 0 || d.FreeMB < 0 {
			return fmt.Errorf("inventory: host.disks[%d]: negative size", i)
		}
	}
	if len(inv.Packages) > MaxPackages {
		return fmt.Errorf("inventory: %w: %d packages, at most %d", ErrTooManyPackages, len(inv.Packages), MaxPackages)
	}
	seen := make(map[Package]int, len(inv.Packages))
	for i, p := range inv.Packages {
		if err := ValidatePackage(p); err != nil {
			return fmt.Errorf("inventory: packages[%d]: %w", i, err)
		}
		if j, ok := seen[p]; ok {
			return fmt.Errorf("inventory: packages[%d] repeats packages[%d]", i, j)
		}
		seen[p] = i
	}
	if err := checkList("hotfixes", inv.Hotfixes, MaxHotfixes); err != nil {
		return err
	}
	if err := checkList("errors", inv.Errors, MaxListLen); err != nil {
		return err
	}
	return nil
}

// ValidatePackage checks one package as [Validate] does.
func ValidatePackage(p Package) error {
	switch p.Ecosystem {
	case EcosystemDeb, EcosystemRPM, EcosystemAPK, EcosystemWindows:
	default:
		return fmt.Errorf("unknown ecosystem %.32q", p.Ecosystem)
	}
	if p.Name == "" {
		return errors.New("empty name")
	}
	if p.Version == "" && p.Ecosystem != EcosystemWindows {
		return fmt.Errorf("%.64s: empty version", p.Name)
	}
	for _, f := range []struct{ name, v string }{
		{"name", p.Name}, {"version", p.Version}, {"arch", p.Arch},
		{"source_name", p.SourceName}, {"source_version", p.SourceVersion},
		{"origin", p.Origin},
	} {
		if err := checkString(f.name, f.v); err != nil {
			return err
		}
	}
	return nil
}

func checkList(name string, vs []string, max int) error {
	if len(vs) > max {
		return fmt.Errorf("inventory: %s: more than %d entries", name, max)
	}
	for i, v := range vs {
		if v == "" {
			return fmt.Errorf("inventory: %s[%d]: empty", name, i)
		}
		if err := checkString(name, v); err != nil {
			return err
		}
	}
	return nil
}

func checkString(name, v string) error {
	if len(v) > MaxFieldLen {
		return fmt.Errorf("inventory: %s: %w", name, ErrFieldTooLong)
	}
	if !printable(v) {
		return fmt.Errorf("inventory: %s: not printable UTF-8 text", name)
	}
	return nil
}

// printable reports whether s is valid UTF-8 made of printable characters
// and spaces.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf {
			return printableSlow(s[i:])
		}
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

func printableSlow(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError || !(unicode.IsPrint(r) || r == ' ') {
			return false
		}
	}
	return utf8.ValidString(s)
}

// sanitize makes s acceptable to Validate: invalid UTF-8 and control
// characters become spaces, and the result is cut at MaxFieldLen bytes.
func sanitize(s string) string {
	if len(s) <= MaxFieldLen && printable(s) {
		return s
	}
	b := make([]rune, 0, len(s))
	n := 0
	for _, r := range s {
		if r == utf8.RuneError || !unicode.IsPrint(r) {
			r = ' '
		}
		n += utf8.RuneLen(r)
		if n > MaxFieldLen {
			break
		}
		b = append(b, r)
	}
	return string(b)
}
