package inventory

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeTree creates files under root; a value of nil creates a directory.
func writeTree(t *testing.T, root string, files map[string][]byte) {
	t.Helper()
	for name, b := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const (
	fakeCPUInfo = `processor	: 0
vendor_id	: GenuineIntel
model name	: Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz
flags		: fpu vme de pse

processor	: 1
vendor_id	: GenuineIntel
model name	: Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz
`
	fakeMeminfo = "MemTotal:       16310572 kB\nMemFree:         1234567 kB\n"
	fakeStat    = "cpu  1 2 3 4\nintr 5\nctxt 6\nbtime 1700000000\nprocesses 7\n"
	fakeMounts  = `sysfs /sys sysfs rw,nosuid 0 0
proc /proc proc rw 0 0
/dev/root / ext4 rw,relatime 0 0
tmpfs /run tmpfs rw 0 0
/dev/sdb1 /mnt/My\040Data xfs rw 0 0
/dev/root /var/lib/docker ext4 rw 0 0
`
)

func TestCollectFakeDebianRoot(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string][]byte{
		"etc/os-release":                    []byte(osReleaseSamples["debian"].text),
		"etc/hostname":                      []byte("web-01\n"),
		"etc/machine-id":                    []byte("0123456789abcdef0123456789abcdef\n"),
		"proc/sys/kernel/osrelease":         []byte("6.1.0-18-amd64\n"),
		"proc/cpuinfo":                      []byte(fakeCPUInfo),
		"proc/meminfo":                      []byte(fakeMeminfo),
		"proc/uptime":                       []byte("12345.67 23456.78\n"),
		"proc/stat":                         []byte(fakeStat),
		"proc/self/mounts":                  []byte(fakeMounts),
		"var/lib/dpkg/status":               readFixture(t, "dpkg-status"),
		"var/lib/dpkg/status.d/foo":         []byte("Package: foo\nVersion: 1.0\nArchitecture: amd64\nStatus: install ok installed\n"),
		"var/lib/dpkg/status.d/foo.md5sums": []byte("d41d8cd98f00b204e9800998ecf8427e  usr/bin/foo\n"),
		"var/lib/rpm/Packages":              make([]byte, 64), // unrecognised old rpm database
	})
	inv, err := Collect(context.Background(), Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	h := inv.Host
	if h.Hostname != "web-01" || h.MachineID != "0123456789abcdef0123456789abcdef" || h.Kernel != "6.1.0-18-amd64" {
		t.Errorf("identity: %+v", h)
	}
	if h.OSID != "debian" || h.OSVersionID != "12" || h.OSName != "Debian GNU/Linux" || h.OSVersion != "12 (bookworm)" {
		t.Errorf("os: %+v", h)
	}
	if h.CPUs != 2 || !strings.HasPrefix(h.CPUModel, "Intel(R) Xeon(R) Platinum 8375C") || h.MemTotalMB != 15928 {
		t.Errorf("cpu/mem: %+v", h)
	}
	if h.Uptime != 12345 || !h.BootTime.Equal(time.Unix(1700000000, 0)) {
		t.Errorf("uptime: %d %v", h.Uptime, h.BootTime)
	}
	if len(h.IPs) != 0 {
		t.Errorf("IPs reported for a non-/ root: %v", h.IPs)
	}
	// "/" is a directory of the fake root so statfs succeeds; "/mnt/My Data" does not exist.
	if len(h.Disks) != 1 || h.Disks[0].Mount != "/" || h.Disks[0].FS != "ext4" {
		if !(len(h.Disks) == 0 && !isLinux()) {
			t.Errorf("disks: %+v", h.Disks)
		}
	}
	if len(inv.Packages) != 34 {
		t.Errorf("got %d packages, want 33 + foo", len(inv.Packages))
	}
	findPkg(t, inv.Packages, "foo")
	if p := findPkg(t, inv.Packages, "libc6"); p.Version != "2.36-9+deb12u14" {
		t.Errorf("libc6: %+v", p)
	}
	for i := 1; i < len(inv.Packages); i++ {
		if comparePackages(inv.Packages[i-1], inv.Packages[i]) >= 0 {
			t.Fatalf("packages not sorted at %d", i)
		}
	}
	if len(inv.Errors) != 1 || !strings.HasPrefix(inv.Errors[0], "rpm: ") || !strings.Contains(inv.Errors[0], "unsupported") {
		t.Errorf("errors: %q", inv.Errors)
	}
	if err := Validate(inv); err != nil {
		t.Errorf("Validate: %v", err)
	}
	b, err := json.Marshal(inv)
	if err != nil {
		t.Fatal(err)
	}
	var back Inventory
	if err := json.Unmarshal(b, &back); err != nil || len(back.Packages) != len(inv.Packages) || back.Host.Hostname != "web-01" {
		t.Errorf("JSON round trip: %v", err)
	}
}

func TestCollectFakeRockyAndAlpineRoots(t *testing.T) {
	rocky := t.TempDir()
	writeTree(t, rocky, map[string][]byte{
		"usr/lib/os-release": []byte(osReleaseSamples["rocky"].text),
		"proc/cpuinfo":       []byte("processor\t: 0\nHardware\t: BCM2835\n\nprocessor\t: 1\n"),
	})
	writeRPMSQLite(t, filepath.Join(rocky, "var/lib/rpm/rpmdb.sqlite"), rockyBlobs())
	inv, err := Collect(context.Background(), Options{Root: rocky})
	if err != nil {
		t.Fatal(err)
	}
	if inv.Host.OSID != "rocky" || inv.Host.CPUModel != "BCM2835" || inv.Host.CPUs != 2 {
		t.Errorf("host: %+v", inv.Host)
	}
	if len(inv.Packages) != 5 || len(inv.Errors) != 0 {
		t.Errorf("packages %d, errors %q", len(inv.Packages), inv.Errors)
	}

	centos := t.TempDir()
	bdb, err := os.ReadFile(gunzipFixture(t, "rpm-bdb-Packages"))
	if err != nil {
		t.Fatal(err)
	}
	writeTree(t, centos, map[string][]byte{"var/lib/rpm/Packages": bdb})
	inv, err = Collect(context.Background(), Options{Root: centos})
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Packages) != 35 || len(inv.Errors) != 0 {
		t.Errorf("centos: %d packages, errors %q", len(inv.Packages), inv.Errors)
	}

	alpine := t.TempDir()
	writeTree(t, alpine, map[string][]byte{
		"etc/os-release":       []byte(osReleaseSamples["alpine"].text),
		"lib/apk/db/installed": readFixture(t, "apk-installed"),
	})
	inv, err = Collect(context.Background(), Options{Root: alpine})
	if err != nil {
		t.Fatal(err)
	}
	if inv.Host.OSVersionID != "3.19.1" || len(inv.Packages) != 6 || len(inv.Errors) != 0 {
		t.Errorf("alpine: %+v %d %q", inv.Host, len(inv.Packages), inv.Errors)
	}
	if err := Validate(inv); err != nil {
		t.Error(err)
	}
}

func TestCollectCorruptDatabaseIsNotFatal(t *testing.T) {
	root := t.TempDir()
	writeTree(t, root, map[string][]byte{
		"var/lib/dpkg/status":  []byte(" bad continuation\n"),
		"lib/apk/db/installed": readFixture(t, "apk-installed"),
	})
	inv, err := Collect(context.Background(), Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	if len(inv.Packages) != 6 || len(inv.Errors) != 1 || !strings.HasPrefix(inv.Errors[0], "dpkg: ") {
		t.Errorf("packages %d, errors %q", len(inv.Packages), inv.Errors)
	}
}

func TestCollectCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Collect(ctx, Options{Root: t.TempDir()}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v", err)
	}
}

func TestCollectLiveSystem(t *testing.T) {
	if testing.Short() {
		t.Skip("reads the real system")
	}
	inv, err := Collect(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if inv.Host.Arch == "" || inv.Host.Hostname == "" {
		t.Errorf("host: %+v", inv.Host)
	}
	if err := Validate(inv); err != nil {
		t.Errorf("Validate(live inventory): %v", err)
	}
	t.Logf("%d packages, %d disks, %d IPs, os %s %s, errors %q", len(inv.Packages), len(inv.Host.Disks), len(inv.Host.IPs), inv.Host.OSID, inv.Host.OSVersionID, inv.Errors)
}

func TestHostParsers(t *testing.T) {
	ms := diskMounts(parseMounts(strings.NewReader(fakeMounts)))
	if len(ms) != 2 || ms[0].Mount != "/" || ms[1].Mount != "/mnt/My Data" || ms[1].FS != "xfs" {
		t.Errorf("mounts: %+v", ms)
	}
	if got := parseUptime("garbage"); got != 0 {
		t.Errorf("uptime garbage = %d", got)
	}
	if got := parseMeminfo(strings.NewReader("MemTotal: x kB\n")); got != 0 {
		t.Errorf("meminfo garbage = %d", got)
	}
	if got := parseBootTime(strings.NewReader("btime -5\n")); !got.IsZero() {
		t.Errorf("btime = %v", got)
	}
}
