package inventory

import (
	"strconv"
	"strings"
)

// Registry locations read by the Windows collector. They are documented by
// Microsoft: "Uninstall Registry Key" (Windows Installer documentation) for
// programs, and the Component Based Servicing package store for updates.
const (
	uninstallPath = `SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall`
	cbsPackages   = `SOFTWARE\Microsoft\Windows\CurrentVersion\Component Based Servicing\Packages`
	hotfixPath    = `SOFTWARE\Microsoft\Windows NT\CurrentVersion\Hotfix`
	ntCurrentPath = `SOFTWARE\Microsoft\Windows NT\CurrentVersion`
	cryptoPath    = `SOFTWARE\Microsoft\Cryptography`
	cpuPath       = `HARDWARE\DESCRIPTION\System\CentralProcessor\0`
)

// cbsInstalled is the CurrentState of a fully installed CBS package
// (0x70); cbsSuperseded marks one replaced by a later update (0x50).
const (
	cbsInstalled  = 0x70
	cbsSuperseded = 0x50
)

// uninstallEntry holds the values of one subkey of an Uninstall key.
type uninstallEntry struct {
	DisplayName     string
	DisplayVersion  string
	Publisher       string
	ParentKeyName   string
	ReleaseType     string
	SystemComponent uint64
}

// windowsPackage converts an Uninstall entry to a Package. It reports false
// for entries that Programs and Features does not list either: no
// DisplayName, SystemComponent set, or an update of another product
// (ParentKeyName set, or a ReleaseType naming an update). arch is "x64",
// "x86" or "" after the registry view the entry came from.
func windowsPackage(e uninstallEntry, arch string) (Package, bool) {
	name := strings.TrimSpace(e.DisplayName)
	if name == "" || e.SystemComponent != 0 || e.ParentKeyName != "" || isUpdateRelease(e.ReleaseType) {
		return Package{}, false
	}
	name = sanitize(name)
	ver := sanitize(strings.TrimSpace(e.DisplayVersion))
	return Package{
		Ecosystem:     EcosystemWindows,
		Name:          name,
		Version:       ver,
		Arch:          arch,
		SourceName:    name,
		SourceVersion: ver,
		Origin:        sanitize(strings.TrimSpace(e.Publisher)),
	}, true
}

func isUpdateRelease(t string) bool {
	switch strings.ToLower(strings.TrimSpace(t)) {
	case "update", "security update", "hotfix", "service pack", "update rollup":
		return true
	}
	return false
}

// kbIDs returns the KB identifiers ("KB5034441") that s mentions, such as
// the CBS package name "Package_for_KB5034441~31bf3856ad364e35~amd64~~10.0.1.2"
// or the update title "Security Update for Microsoft Office (KB4484104)".
// "KB" must be followed by 6 to 8 digits and not be preceded by a letter.
func kbIDs(s string) []string {
	var out []string
	up := strings.ToUpper(s)
	for i := 0; i+2 < len(up); i++ {
		if up[i] != 'K' || up[i+1] != 'B' {
			continue
		}
		if i > 0 && isLetter(up[i-1]) {
			continue
		}
		j := i + 2
		for j < len(up) && up[j] >= '0' && up[j] <= '9' {
			j++
		}
		if n := j - i - 2; n >= 6 && n <= 8 && (j == len(up) || !isLetter(up[j])) {
			out = append(out, "KB"+up[i+2:j])
		}
		i = j - 1
	}
	return out
}

func isLetter(c byte) bool { return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' }

// windowsVersion holds the values of HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion.
type windowsVersion struct {
	ProductName    string
	DisplayVersion string // "23H2"; absent before Windows 10 20H2
	ReleaseID      string // "2009"; the older name of DisplayVersion
	CurrentBuild   string // "22631"
	UBR            uint64 // update build revision, 3007
	Major, Minor   uint64 // CurrentMajorVersionNumber and CurrentMinorVersionNumber
	CurrentVersion string // "6.3" on Windows 8.1 and later, "6.1" on 7
}

// apply fills the OS fields of h. Windows 11 keeps "Windows 10" in
// ProductName, so builds from 22000 on are renamed.
func (v windowsVersion) apply(h *Host) {
	name := strings.TrimSpace(v.ProductName)
	build, _ := strconv.Atoi(v.CurrentBuild)
	if build >= 22000 && strings.HasPrefix(name, "Windows 10") {
		name = "Windows 11" + strings.TrimPrefix(name, "Windows 10")
	}
	h.OSName = name
	h.OSID = "windows"
	h.OSVersion = v.DisplayVersion
	if h.OSVersion == "" {
		h.OSVersion = v.ReleaseID
	}
	mm := v.CurrentVersion
	if v.Major != 0 {
		mm = strconv.FormatUint(v.Major, 10) + "." + strconv.FormatUint(v.Minor, 10)
	}
	if v.CurrentBuild != "" {
		h.OSBuild = v.CurrentBuild
		if v.UBR != 0 {
			h.OSBuild += "." + strconv.FormatUint(v.UBR, 10)
		}
		if mm != "" {
			h.OSVersionID = mm + "." + v.CurrentBuild
			h.Kernel = mm + "." + h.OSBuild
		}
	}
}
