//go:build windows

package inventory

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/registry"
)

// maxSubKeys bounds the subkeys read from one registry key.
const maxSubKeys = 200_000

var (
	kernel32                 = windows.NewLazySystemDLL("kernel32.dll")
	procGlobalMemoryStatusEx = kernel32.NewProc("GlobalMemoryStatusEx")
	procGetTickCount64       = kernel32.NewProc("GetTickCount64")
)

// memoryStatusEx is MEMORYSTATUSEX.
type memoryStatusEx struct {
	Length               uint32
	MemoryLoad           uint32
	TotalPhys            uint64
	AvailPhys            uint64
	TotalPageFile        uint64
	AvailPageFile        uint64
	TotalVirtual         uint64
	AvailVirtual         uint64
	AvailExtendedVirtual uint64
}

// collectPlatform reads the registry and Win32 APIs when Root is "/", and a
// Linux tree under Root otherwise.
func collectPlatform(ctx context.Context, opts Options, inv *Inventory) error {
	if opts.Root != "/" {
		return collectRoot(ctx, opts.Root, inv)
	}
	collectWindowsHost(&inv.Host, inv)
	inv.Host.IPs, inv.Host.MACs = interfaceAddrs()
	if err := ctx.Err(); err != nil {
		return err
	}
	type view struct {
		root   registry.Key
		path   string
		access uint32
		arch   string
		name   string
	}
	views := []view{
		{registry.LOCAL_MACHINE, uninstallPath, registry.WOW64_64KEY, "x64", "HKLM"},
		{registry.LOCAL_MACHINE, uninstallPath, registry.WOW64_32KEY, "x86", `HKLM\WOW6432Node`},
	}
	// Per-user installs live in each user's hive. The agent runs as a
	// service, so HKCU is the service account's hive; the loaded hives of
	// all users are under HKEY_USERS instead (HKCU included).
	for _, sid := range userHives() {
		views = append(views, view{registry.USERS, sid + `\` + uninstallPath, 0, "", `HKU\` + sid})
	}
	for _, v := range views {
		if err := ctx.Err(); err != nil {
			return err
		}
		pkgs, kbs, err := readUninstall(v.root, v.path, v.access, v.arch)
		if err != nil {
			inv.Errors = append(inv.Errors, fmt.Sprintf("windows uninstall %s: %v", v.name, err))
		}
		inv.Packages = append(inv.Packages, pkgs...)
		inv.Hotfixes = append(inv.Hotfixes, kbs...)
	}
	kbs, err := readHotfixes()
	if err != nil {
		inv.Errors = append(inv.Errors, "windows hotfixes: "+err.Error())
	}
	inv.Hotfixes = append(inv.Hotfixes, kbs...)
	return nil
}

func collectWindowsHost(h *Host, inv *Inventory) {
	h.Arch = runtime.GOARCH
	h.Hostname, _ = os.Hostname()
	h.CPUs = runtime.NumCPU()
	if k, err := registry.OpenKey(registry.LOCAL_MACHINE, cryptoPath, registry.QUERY_VALUE|registry.WOW64_64KEY); err == nil {
		h.MachineID, _, _ = k.GetStringValue("MachineGuid")
		k.Close()
	}
	if k, err := registry.OpenKey(registry.LOCAL_MACHINE, ntCurrentPath, registry.QUERY_VALUE|registry.WOW64_64KEY); err == nil {
		var v windowsVersion
		v.ProductName, _, _ = k.GetStringValue("ProductName")
		v.DisplayVersion, _, _ = k.GetStringValue("DisplayVersion")
		v.ReleaseID, _, _ = k.GetStringValue("ReleaseId")
		v.CurrentBuild, _, _ = k.GetStringValue("CurrentBuild")
		if v.CurrentBuild == "" {
			v.CurrentBuild, _, _ = k.GetStringValue("CurrentBuildNumber")
		}
		v.CurrentVersion, _, _ = k.GetStringValue("CurrentVersion")
		v.UBR, _, _ = k.GetIntegerValue("UBR")
		v.Major, _, _ = k.GetIntegerValue("CurrentMajorVersionNumber")
		v.Minor, _, _ = k.GetIntegerValue("CurrentMinorVersionNumber")
		k.Close()
		v.apply(h)
	} else {
		inv.Errors = append(inv.Errors, "windows version: "+err.Error())
	}
	if k, err := registry.OpenKey(registry.LOCAL_MACHINE, cpuPath, registry.QUERY_VALUE); err == nil {
		s, _, _ := k.GetStringValue("ProcessorNameString")
		h.CPUModel = strings.TrimSpace(s)
		k.Close()
	}
	if err := procGlobalMemoryStatusEx.Find(); err == nil {
		ms := memoryStatusEx{Length: uint32(unsafe.Sizeof(memoryStatusEx{}))}
		if r, _, _ := procGlobalMemoryStatusEx.Call(uintptr(unsafe.Pointer(&ms))); r != 0 {
			h.MemTotalMB = int64(ms.TotalPhys >> 20)
		}
	}
	if err := procGetTickCount64.Find(); err == nil {
		r, _, _ := procGetTickCount64.Call()
		ms := uint64(r) // uintptr is 64 bits on the supported windows/amd64
		h.Uptime = int64(ms / 1000)
		h.BootTime = time.Now().Add(-time.Duration(ms) * time.Millisecond).UTC().Truncate(time.Second)
	}
	h.Disks = windowsDisks()
}

// windowsDisks lists the fixed drives.
func windowsDisks() []Disk {
	buf := make([]uint16, 512)
	n, err := windows.GetLogicalDriveStrings(uint32(len(buf)), &buf[0])
	if err != nil || n == 0 || int(n) > len(buf) {
		return nil
	}
	var disks []Disk
	// The buffer holds NUL-terminated root paths (`C:\`) one after another.
	start := 0
	for i := 0; i < int(n); i++ {
		if buf[i] != 0 {
			continue
		}
		if i > start {
			root := buf[start : i+1]
			if d, ok := windowsDisk(&root[0]); ok {
				d.Mount = windows.UTF16ToString(root)
				disks = append(disks, d)
			}
		}
		start = i + 1
	}
	return disks
}

func windowsDisk(root *uint16) (Disk, bool) {
	if windows.GetDriveType(root) != windows.DRIVE_FIXED {
		return Disk{}, false
	}
	var free, total, totalFree uint64
	if err := windows.GetDiskFreeSpaceEx(root, &free, &total, &totalFree); err != nil {
		return Disk{}, false
	}
	fsName := make([]uint16, windows.MAX_PATH+1)
	_ = windows.GetVolumeInformation(root, nil, 0, nil, nil, nil, &fsName[0], uint32(len(fsName)))
	return Disk{FS: windows.UTF16ToString(fsName), TotalMB: int64(total >> 20), FreeMB: int64(free >> 20)}, true
}

// readUninstall lists the programs of one Uninstall key, and the KB
// identifiers of the updates registered there.
func readUninstall(root registry.Key, path string, access uint32, arch string) ([]Package, []string, error) {
	k, err := registry.OpenKey(root, path, registry.ENUMERATE_SUB_KEYS|access)
	if errors.Is(err, registry.ErrNotExist) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	defer k.Close()
	names, err := k.ReadSubKeyNames(maxSubKeys)
	if err != nil && len(names) == 0 {
		return nil, nil, err
	}
	var pkgs []Package
	var kbs []string
	for _, n := range names {
		sk, err := registry.OpenKey(k, n, registry.QUERY_VALUE|access)
		if err != nil {
			continue
		}
		var e uninstallEntry
		e.DisplayName, _, _ = sk.GetStringValue("DisplayName")
		e.DisplayVersion, _, _ = sk.GetStringValue("DisplayVersion")
		e.Publisher, _, _ = sk.GetStringValue("Publisher")
		e.ParentKeyName, _, _ = sk.GetStringValue("ParentKeyName")
		e.ReleaseType, _, _ = sk.GetStringValue("ReleaseType")
		e.SystemComponent, _, _ = sk.GetIntegerValue("SystemComponent")
		sk.Close()
		if p, ok := windowsPackage(e, arch); ok {
			pkgs = append(pkgs, p)
		} else if e.ParentKeyName != "" || isUpdateRelease(e.ReleaseType) {
			kbs = append(kbs, kbIDs(e.DisplayName)...)
			kbs = append(kbs, kbIDs(n)...)
		}
	}
	return pkgs, kbs, nil
}

// userHives returns the SIDs of the user hives loaded under HKEY_USERS,
// leaving out the per-user class registrations ("<SID>_Classes") and the
// .DEFAULT profile template.
func userHives() []string {
	k, err := registry.OpenKey(registry.USERS, "", registry.ENUMERATE_SUB_KEYS)
	if err != nil {
		return nil
	}
	defer k.Close()
	names, _ := k.ReadSubKeyNames(10_000)
	var sids []string
	for _, n := range names {
		if strings.HasPrefix(n, "S-") && !strings.HasSuffix(n, "_Classes") {
			sids = append(sids, n)
		}
	}
	return sids
}

// readHotfixes returns the KB identifiers of installed updates: the
// Component Based Servicing packages whose CurrentState is installed or
// superseded (the store Windows Update and DISM maintain; an update's
// packages are named "Package_for_KB...~..."), and the subkeys of the
// legacy ...\Windows NT\CurrentVersion\Hotfix key that older systems use.
func readHotfixes() ([]string, error) {
	var kbs []string
	var errs []error
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, cbsPackages, registry.ENUMERATE_SUB_KEYS|registry.WOW64_64KEY)
	if err == nil {
		names, err := k.ReadSubKeyNames(maxSubKeys)
		if err != nil && len(names) == 0 {
			errs = append(errs, err)
		}
		for _, n := range names {
			ids := kbIDs(n)
			if len(ids) == 0 {
				continue
			}
			sk, err := registry.OpenKey(k, n, registry.QUERY_VALUE|registry.WOW64_64KEY)
			if err != nil {
				continue
			}
			st, _, err := sk.GetIntegerValue("CurrentState")
			sk.Close()
			if err == nil && (st == cbsInstalled || st == cbsSuperseded) {
				kbs = append(kbs, ids...)
			}
		}
		k.Close()
	} else if !errors.Is(err, registry.ErrNotExist) {
		errs = append(errs, err)
	}
	k, err = registry.OpenKey(registry.LOCAL_MACHINE, hotfixPath, registry.ENUMERATE_SUB_KEYS|registry.WOW64_64KEY)
	if err == nil {
		names, _ := k.ReadSubKeyNames(maxSubKeys)
		for _, n := range names {
			kbs = append(kbs, kbIDs(n)...)
		}
		k.Close()
	}
	return kbs, errors.Join(errs...)
}
