package inventory

import (
	"slices"
	"testing"
)

func TestWindowsPackage(t *testing.T) {
	p, ok := windowsPackage(uninstallEntry{DisplayName: " Mozilla Firefox (x64 en-US) ", DisplayVersion: "121.0.1", Publisher: "Mozilla"}, "x64")
	want := Package{EcosystemWindows, "Mozilla Firefox (x64 en-US)", "121.0.1", "x64", "Mozilla Firefox (x64 en-US)", "121.0.1", "Mozilla"}
	if !ok || p != want {
		t.Errorf("got %+v %v", p, ok)
	}
	for _, e := range []uninstallEntry{
		{DisplayName: ""},
		{DisplayName: "Hidden", SystemComponent: 1},
		{DisplayName: "Security Update for Microsoft Office (KB4484104)", ParentKeyName: "Office16.PROPLUS"},
		{DisplayName: "Update for X", ReleaseType: "Security Update"},
	} {
		if _, ok := windowsPackage(e, "x86"); ok {
			t.Errorf("%+v listed", e)
		}
	}
	p, _ = windowsPackage(uninstallEntry{DisplayName: "Bad\x00Name\r\n"}, "")
	if ValidatePackage(p) != nil {
		t.Errorf("control characters kept: %q", p.Name)
	}
}

func TestKBIDs(t *testing.T) {
	for in, want := range map[string][]string{
		"Package_for_KB5034441~31bf3856ad364e35~amd64~~19041.3920.1.2": {"KB5034441"},
		"Security Update for Microsoft Office (kb4484104) 64-Bit":      {"KB4484104"},
		"Package_for_RollupFix~31bf3856ad364e35~amd64~~22621.3007.1.8": nil,
		"KB123 KB123456789 KB12345678 xKB1234567 KB1234567x":           {"KB12345678"},
		"KB976902": {"KB976902"},
	} {
		if got := kbIDs(in); !slices.Equal(got, want) {
			t.Errorf("kbIDs(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestWindowsVersion(t *testing.T) {
	var h Host
	windowsVersion{ProductName: "Windows 10 Pro", DisplayVersion: "23H2", CurrentBuild: "22631", UBR: 3007, Major: 10}.apply(&h)
	if h.OSName != "Windows 11 Pro" || h.OSVersion != "23H2" || h.OSBuild != "22631.3007" || h.OSVersionID != "10.0.22631" || h.Kernel != "10.0.22631.3007" || h.OSID != "windows" {
		t.Errorf("win11: %+v", h)
	}
	h = Host{}
	windowsVersion{ProductName: "Windows Server 2016 Datacenter", ReleaseID: "1607", CurrentBuild: "14393", UBR: 6614, Major: 10}.apply(&h)
	if h.OSName != "Windows Server 2016 Datacenter" || h.OSVersion != "1607" || h.OSBuild != "14393.6614" {
		t.Errorf("2016: %+v", h)
	}
	h = Host{}
	windowsVersion{ProductName: "Windows 7 Professional", CurrentVersion: "6.1", CurrentBuild: "7601"}.apply(&h)
	if h.OSVersionID != "6.1.7601" || h.OSBuild != "7601" {
		t.Errorf("win7: %+v", h)
	}
}
