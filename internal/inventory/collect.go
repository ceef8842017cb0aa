package inventory

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// Options configures [Collect].
type Options struct {
	// Root is the root of the file system tree to inventory; "" means "/".
	// Tests and image scanners point it at another directory. Network
	// interfaces are only reported when Root is "/", and on Windows the
	// registry is only read when Root is "/" (any other Root is read as a
	// Linux tree).
	Root string
}

// maxSmallFile bounds the host fact files (/proc/cpuinfo and friends).
const maxSmallFile = 8 << 20

// Collect gathers the inventory of the machine (or of the tree at
// opts.Root). On Linux it reads host facts from Root's /proc, /etc and
// statfs(2), and packages from whichever of the dpkg, rpm (SQLite,
// Berkeley DB or NDB) and apk databases exist under Root; on Windows it
// reads the registry (Uninstall keys of both registry views and of every
// loaded user hive, Component Based Servicing packages for hotfixes).
// A collector that fails adds a line to [Inventory.Errors] and the others
// carry on; Collect itself only fails when ctx is done.
func Collect(ctx context.Context, opts Options) (*Inventory, error) {
	if opts.Root == "" {
		opts.Root = "/"
	}
	inv := &Inventory{CollectedAt: time.Now().UTC()}
	if err := collectPlatform(ctx, opts, inv); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	finish(inv)
	return inv, nil
}

// finish sorts and bounds an inventory's lists so that it passes Validate.
func finish(inv *Inventory) {
	SortPackages(inv.Packages)
	inv.Packages = slices.Compact(inv.Packages)
	if len(inv.Packages) > MaxPackages {
		inv.Packages = inv.Packages[:MaxPackages]
		inv.Errors = append(inv.Errors, fmt.Sprintf("inventory: more than %d packages, list truncated", MaxPackages))
	}
	slices.Sort(inv.Hotfixes)
	inv.Hotfixes = slices.Compact(inv.Hotfixes)
	if len(inv.Hotfixes) > MaxHotfixes {
		inv.Hotfixes = inv.Hotfixes[:MaxHotfixes]
	}
	if len(inv.Errors) > MaxListLen {
		inv.Errors = inv.Errors[:MaxListLen]
	}
	for i, e := range inv.Errors {
		inv.Errors[i] = sanitize(e)
	}
	h := &inv.Host
	for _, p := range []*string{&h.Hostname, &h.MachineID, &h.OSName, &h.OSVersion, &h.OSID,
		&h.OSVersionID, &h.OSBuild, &h.Kernel, &h.CPUModel} {
		*p = sanitize(*p)
	}
}

// collectRoot collects a Linux tree: host facts and packages.
func collectRoot(ctx context.Context, root string, inv *Inventory) error {
	collectRootHost(root, &inv.Host, inv)
	if root == "/" {
		inv.Host.IPs, inv.Host.MACs = interfaceAddrs()
	}
	for _, c := range []struct {
		name string
		fn   func(context.Context, string) ([]Package, error)
	}{
		{"dpkg", collectDpkg},
		{"rpm", collectRPM},
		{"apk", collectApk},
	} {
		if err := ctx.Err(); err != nil {
			return err
		}
		pkgs, err := c.fn(ctx, root)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			inv.Errors = append(inv.Errors, c.name+": "+err.Error())
		}
		inv.Packages = append(inv.Packages, pkgs...)
	}
	return nil
}

// readSmall reads a small file under root, bounded by maxSmallFile.
func readSmall(root, name string) ([]byte, error) {
	f, err := os.Open(filepath.Join(root, name))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxSmallFile))
}

// firstLine returns the trimmed first line of the first readable,
// non-empty file among names.
func firstLine(root string, names ...string) string {
	for _, n := range names {
		b, err := readSmall(root, n)
		if err != nil {
			continue
		}
		line, _, _ := bytes.Cut(b, []byte("\n"))
		if s := strings.TrimSpace(string(line)); s != "" {
			return s
		}
	}
	return ""
}

func collectRootHost(root string, h *Host, inv *Inventory) {
	h.Arch = runtime.GOARCH
	h.Hostname = firstLine(root, "proc/sys/kernel/hostname", "etc/hostname")
	if h.Hostname == "" && root == "/" {
		h.Hostname, _ = os.Hostname()
	}
	h.MachineID = firstLine(root, "etc/machine-id", "var/lib/dbus/machine-id")
	h.Kernel = firstLine(root, "proc/sys/kernel/osrelease")
	for _, n := range []string{"etc/os-release", "usr/lib/os-release"} {
		b, err := readSmall(root, n)
		if err != nil {
			continue
		}
		osr, err := ParseOSRelease(bytes.NewReader(b))
		if err != nil {
			inv.Errors = append(inv.Errors, "os-release: "+err.Error())
			break
		}
		h.OSName, h.OSVersion, h.OSID, h.OSVersionID = osr.Name, osr.Version, osr.ID, osr.VersionID
		break
	}
	if b, err := readSmall(root, "proc/cpuinfo"); err == nil {
		h.CPUModel, h.CPUs = parseCPUInfo(bytes.NewReader(b))
	}
	if h.CPUs == 0 && root == "/" {
		h.CPUs = runtime.NumCPU()
	}
	if b, err := readSmall(root, "proc/meminfo"); err == nil {
		h.MemTotalMB = parseMeminfo(bytes.NewReader(b))
	}
	if b, err := readSmall(root, "proc/uptime"); err == nil {
		h.Uptime = parseUptime(string(b))
	}
	if b, err := readSmall(root, "proc/stat"); err == nil {
		h.BootTime = parseBootTime(bytes.NewReader(b))
	}
	for _, n := range []string{"proc/self/mounts", "proc/mounts"} {
		b, err := readSmall(root, n)
		if err != nil {
			continue
		}
		for _, m := range diskMounts(parseMounts(bytes.NewReader(b))) {
			if d, ok := statDisk(filepath.Join(root, m.Mount)); ok {
				d.Mount, d.FS = m.Mount, m.FS
				h.Disks = append(h.Disks, d)
			}
		}
		break
	}
}

// interfaceAddrs returns the addresses and hardware addresses of the
// machine's non-loopback interfaces, leaving out IPv6 link-local
// addresses.
func interfaceAddrs() (ips, macs []string) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, nil
	}
	for _, ifc := range ifs {
		if ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		if len(ifc.HardwareAddr) > 0 {
			macs = append(macs, ifc.HardwareAddr.String())
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			var ip net.IP
			switch v := a.(type) {
			case *net.IPNet:
				ip = v.IP
			case *net.IPAddr:
				ip = v.IP
			}
			if ip == nil || ip.IsLoopback() || ip.IsLinkLocalUnicast() {
				continue
			}
			ips = append(ips, ip.String())
		}
	}
	slices.Sort(ips)
	slices.Sort(macs)
	ips, macs = slices.Compact(ips), slices.Compact(macs)
	if len(ips) > MaxListLen {
		ips = ips[:MaxListLen]
	}
	if len(macs) > MaxListLen {
		macs = macs[:MaxListLen]
	}
	return ips, macs
}

// collectDpkg reads /var/lib/dpkg/status and the per-package files of
// /var/lib/dpkg/status.d that distroless images use instead.
func collectDpkg(_ context.Context, root string) ([]Package, error) {
	var pkgs []Package
	var errs []error
	f, err := os.Open(filepath.Join(root, "var/lib/dpkg/status"))
	switch {
	case err == nil:
		p, err := ParseDpkgStatus(f)
		f.Close()
		if err != nil {
			errs = append(errs, err)
		}
		pkgs = append(pkgs, p...)
	case !errors.Is(err, fs.ErrNotExist):
		errs = append(errs, err)
	}
	dir := filepath.Join(root, "var/lib/dpkg/status.d")
	ents, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		errs = append(errs, err)
	}
	for _, e := range ents {
		if e.IsDir() || strings.HasSuffix(e.Name(), ".md5sums") {
			continue
		}
		f, err := os.Open(filepath.Join(dir, e.Name()))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p, err := ParseDpkgStatus(f)
		f.Close()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		pkgs = append(pkgs, p...)
		if len(pkgs) > MaxPackages {
			return nil, fmt.Errorf("status.d: %w", ErrTooManyPackages)
		}
	}
	return pkgs, errors.Join(errs...)
}

// collectApk reads the apk installed database.
func collectApk(_ context.Context, root string) ([]Package, error) {
	for _, n := range []string{"lib/apk/db/installed", "usr/lib/apk/db/installed"} {
		f, err := os.Open(filepath.Join(root, n))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		defer f.Close()
		return ParseApkInstalled(f)
	}
	return nil, nil
}

// rpmDBPaths lists where rpm keeps its package database, newest layout
// and format first: a system converted to SQLite may keep its old files.
var rpmDBPaths = []string{
	"usr/lib/sysimage/rpm/rpmdb.sqlite",
	"var/lib/rpm/rpmdb.sqlite",
	"usr/lib/sysimage/rpm/Packages.db",
	"var/lib/rpm/Packages.db",
	"usr/lib/sysimage/rpm/Packages",
	"var/lib/rpm/Packages",
}

// collectRPM reads the first rpm database found.
func collectRPM(ctx context.Context, root string) ([]Package, error) {
	for _, n := range rpmDBPaths {
		p := filepath.Join(root, n)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return parseRPMDB(ctx, p)
		}
	}
	return nil, nil
}
