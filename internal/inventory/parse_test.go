package inventory

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func findPkg(t *testing.T, pkgs []Package, name string) Package {
	t.Helper()
	for _, p := range pkgs {
		if p.Name == name {
			return p
		}
	}
	t.Fatalf("package %q not found", name)
	return Package{}
}

// testdata/dpkg-status is a verbatim excerpt (33 records) of the dpkg
// status file of the Debian 12 machine this package was written on.
func TestParseDpkgStatusFixture(t *testing.T) {
	f, err := os.Open("testdata/dpkg-status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pkgs, err := ParseDpkgStatus(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 33 {
		t.Errorf("got %d packages, want 33", len(pkgs))
	}
	want := []Package{
		{EcosystemDeb, "bash", "5.2.15-2+b8", "amd64", "bash", "5.2.15-2", ""},
		{EcosystemDeb, "coreutils", "9.1-1", "amd64", "coreutils", "9.1-1", ""},
		{EcosystemDeb, "libc6", "2.36-9+deb12u14", "amd64", "glibc", "2.36-9+deb12u14", ""},
		{EcosystemDeb, "libssl3", "3.0.19-1~deb12u2", "amd64", "openssl", "3.0.19-1~deb12u2", ""},
		{EcosystemDeb, "tzdata", "2025b-0+deb12u2", "all", "tzdata", "2025b-0+deb12u2", ""},
		{EcosystemDeb, "zlib1g", "1:1.2.13.dfsg-1", "amd64", "zlib", "1:1.2.13.dfsg-1", ""},
		{EcosystemDeb, "bsdutils", "1:2.38.1-5+deb12u3", "amd64", "util-linux", "2.38.1-5+deb12u3", ""},
		{EcosystemDeb, "dmsetup", "2:1.02.185-2", "amd64", "lvm2", "2.03.16-2", ""},
		{EcosystemDeb, "cpp", "4:12.2.0-3", "amd64", "gcc-defaults", "1.203", ""},
	}
	for _, w := range want {
		if got := findPkg(t, pkgs, w.Name); got != w {
			t.Errorf("%s:\n got %+v\nwant %+v", w.Name, got, w)
		}
	}
}

func TestParseDpkgStatusEdgeCases(t *testing.T) {
	in := "Package: held\r\nStatus: hold ok installed\r\nVersion: 1.0\r\nArchitecture: arm64\r\n\r\n" +
		"Package: removed\nStatus: deinstall ok config-files\nVersion: 2.0\n\n" +
		"Package: halfinstalled\nStatus: install reinstreq half-installed\nVersion: 3.0\n\n" +
		"Package: noversion\nStatus: install ok installed\n\n\n\n" +
		"Package: multi\nStatus: install ok installed\nDescription: short\n long line one\n .\n\tline two\nVersion: 1:2.3-4\nSource: src\n"
	pkgs, err := ParseDpkgStatus(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 2 {
		t.Fatalf("got %+v, want held and multi", pkgs)
	}
	if p := pkgs[0]; p.Name != "held" || p.Arch != "arm64" || p.Version != "1.0" {
		t.Errorf("held = %+v", p)
	}
	if p := pkgs[1]; p.Name != "multi" || p.Version != "1:2.3-4" || p.SourceName != "src" || p.SourceVersion != "1:2.3-4" {
		t.Errorf("multi = %+v", p)
	}
}

func TestParseDpkgStatusBounds(t *testing.T) {
	long := "Package: x\nStatus: install ok installed\nVersion: 1\nDescription: " + strings.Repeat("a", MaxFieldLen+10) + "\n"
	if _, err := ParseDpkgStatus(strings.NewReader(long)); !errors.Is(err, ErrFieldTooLong) {
		t.Errorf("long line: err = %v, want ErrFieldTooLong", err)
	}
	var b strings.Builder
	b.WriteString("Package: x\nStatus: install ok installed\nVersion: 1\nDescription: d\n")
	for b.Len() < MaxFieldLen+100 {
		b.WriteString(" continuation line of a long description\n")
	}
	if _, err := ParseDpkgStatus(strings.NewReader(b.String())); !errors.Is(err, ErrFieldTooLong) {
		t.Errorf("long multi-line field: err = %v, want ErrFieldTooLong", err)
	}
	many := strings.Repeat("Package: p\n\n", MaxPackages+1)
	if _, err := ParseDpkgStatus(strings.NewReader(many)); !errors.Is(err, ErrTooManyPackages) {
		t.Errorf("many records: err = %v, want ErrTooManyPackages", err)
	}
	for _, bad := range []string{" continuation first\n", "no colon here\n", ": empty key\n"} {
		if _, err := ParseDpkgStatus(strings.NewReader(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestParseApkInstalled(t *testing.T) {
	f, err := os.Open("testdata/apk-installed")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pkgs, err := ParseApkInstalled(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 6 {
		t.Fatalf("got %d packages, want 6", len(pkgs))
	}
	want := []Package{
		{EcosystemAPK, "musl", "1.2.4_git20230717-r4", "x86_64", "musl", "1.2.4_git20230717-r4", "musl"},
		{EcosystemAPK, "alpine-baselayout-data", "3.4.3-r2", "x86_64", "alpine-baselayout", "3.4.3-r2", "alpine-baselayout"},
		{EcosystemAPK, "libssl3", "3.1.4-r2", "x86_64", "openssl", "3.1.4-r2", "openssl"},
		{EcosystemAPK, "zlib", "1.3.1-r0", "x86_64", "zlib", "1.3.1-r0", "zlib"},
	}
	for _, w := range want {
		if got := findPkg(t, pkgs, w.Name); got != w {
			t.Errorf("%s:\n got %+v\nwant %+v", w.Name, got, w)
		}
	}
	if _, err := ParseApkInstalled(strings.NewReader("P:x\nnot a line\n")); err == nil {
		t.Error("malformed line: no error")
	}
	if _, err := ParseApkInstalled(strings.NewReader("P:" + strings.Repeat("x", MaxFieldLen+300) + "\n")); !errors.Is(err, ErrFieldTooLong) {
		t.Errorf("long line: err = %v", err)
	}
	if _, err := ParseApkInstalled(strings.NewReader(strings.Repeat("P:x\n\n", MaxPackages+1))); !errors.Is(err, ErrTooManyPackages) {
		t.Errorf("many: err = %v", err)
	}
	// A record without origin uses its own name as source.
	pkgs, err = ParseApkInstalled(strings.NewReader("P:a\nV:1-r0\n\nP:nov\n"))
	if err != nil || len(pkgs) != 1 || pkgs[0].SourceName != "a" || pkgs[0].Origin != "" {
		t.Errorf("got %+v, %v", pkgs, err)
	}
}

// The os-release samples follow the files shipped by each distribution
// (os-release(5) syntax: quoted and unquoted values, comments).
var osReleaseSamples = map[string]struct {
	text                         string
	id, name, version, versionID string
}{
	"debian": {`PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
SUPPORT_URL="https://www.debian.org/support"
BUG_REPORT_URL="https://bugs.debian.org/"
`, "debian", "Debian GNU/Linux", "12 (bookworm)", "12"},
	"ubuntu": {`PRETTY_NAME="Ubuntu 22.04.4 LTS"
NAME="Ubuntu"
VERSION_ID="22.04"
VERSION="22.04.4 LTS (Jammy Jellyfish)"
VERSION_CODENAME=jammy
ID=ubuntu
ID_LIKE=debian
HOME_URL="https://www.ubuntu.com/"
UBUNTU_CODENAME=jammy
`, "ubuntu", "Ubuntu", "22.04.4 LTS (Jammy Jellyfish)", "22.04"},
	"rocky": {`NAME="Rocky Linux"
VERSION="9.3 (Blue Onyx)"
ID="rocky"
ID_LIKE="rhel centos fedora"
VERSION_ID="9.3"
PLATFORM_ID="platform:el9"
PRETTY_NAME="Rocky Linux 9.3 (Blue Onyx)"
ANSI_COLOR="0;32"
CPE_NAME="cpe:/o:rocky:rocky:9::baseos"

# a comment
ROCKY_SUPPORT_PRODUCT="Rocky-Linux-9"
ROCKY_SUPPORT_PRODUCT_VERSION="9.3"
`, "rocky", "Rocky Linux", "9.3 (Blue Onyx)", "9.3"},
	"alpine": {`NAME="Alpine Linux"
ID=alpine
VERSION_ID=3.19.1
PRETTY_NAME="Alpine Linux v3.19"
HOME_URL="https://alpinelinux.org/"
BUG_REPORT_URL="https://gitlab.alpinelinux.org/alpine/aports/-/issues"
`, "alpine", "Alpine Linux", "", "3.19.1"},
}

func TestParseOSRelease(t *testing.T) {
	for name, s := range osReleaseSamples {
		got, err := ParseOSRelease(strings.NewReader(s.text))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got.ID != s.id || got.Name != s.name || got.Version != s.version || got.VersionID != s.versionID {
			t.Errorf("%s: got %+v", name, got)
		}
	}
	got, err := ParseOSRelease(strings.NewReader("NAME='single quoted'\nX=\"a \\\"q\\\" \\$b\"\ngarbage line\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "single quoted" || got.All["X"] != `a "q" $b` || got.ID != "linux" {
		t.Errorf("got %+v", got)
	}
}
