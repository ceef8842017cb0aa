package inventory

import (
	"errors"
	"time"
)

// Limits applied by the parsers and by [Validate]. Inventory is untrusted
// input on the server, so every parser refuses input that exceeds them.
const (
	// MaxPackages is the largest number of package records a parser accepts
	// and the largest number of packages [Validate] accepts.
	MaxPackages = 100_000
	// MaxFieldLen is the longest field value, in bytes, that a parser
	// accepts, including continuation lines.
	MaxFieldLen = 64 << 10
	// MaxHotfixes is the largest number of hotfix identifiers [Validate]
	// accepts.
	MaxHotfixes = 10_000
	// MaxListLen bounds the smaller lists of an inventory: errors, IP
	// addresses, MAC addresses and disks.
	MaxListLen = 4096
)

// Errors returned by the parsers.
var (
	// ErrTooManyPackages reports input holding more than MaxPackages records.
	ErrTooManyPackages = errors.New("inventory: too many packages")
	// ErrFieldTooLong reports a field longer than MaxFieldLen bytes.
	ErrFieldTooLong = errors.New("inventory: field too long")
	// ErrUnsupportedRPMDB reports a file that is not an rpm database in
	// one of the formats this package reads (SQLite, Berkeley DB hash,
	// NDB), or one using features it does not support (encryption).
	ErrUnsupportedRPMDB = errors.New("inventory: unsupported rpm database format")
)

// Ecosystems of [Package].
const (
	EcosystemDeb     = "deb"
	EcosystemRPM     = "rpm"
	EcosystemAPK     = "apk"
	EcosystemWindows = "windows"
)

// Inventory is the software and host inventory of one endpoint.
type Inventory struct {
	// Host holds facts about the machine.
	Host Host `json:"host"`
	// Packages lists the installed packages, sorted by [SortPackages].
	Packages []Package `json:"packages"`
	// Hotfixes lists installed Windows updates as KB identifiers
	// ("KB5034441"), sorted and without duplicates.
	Hotfixes []string `json:"hotfixes,omitempty"`
	// CollectedAt is when the inventory was collected.
	CollectedAt time.Time `json:"collected_at"`
	// Errors lists collectors that failed, each prefixed with the
	// collector's name ("rpm: ..."). A failed collector is never fatal.
	Errors []string `json:"errors,omitempty"`
}

// Host describes the machine an inventory was collected on. Fields that
// could not be determined are left at their zero value.
type Host struct {
	Hostname string `json:"hostname"`
	// MachineID is /etc/machine-id (or /var/lib/dbus/machine-id) on Linux
	// and the MachineGuid registry value on Windows.
	MachineID string `json:"machine_id,omitempty"`
	// OSName, OSVersion, OSID and OSVersionID are NAME, VERSION, ID and
	// VERSION_ID of os-release(5) on Linux. On Windows they are the product
	// name, the display version ("23H2"), "windows" and major.minor.build.
	OSName      string `json:"os_name,omitempty"`
	OSVersion   string `json:"os_version,omitempty"`
	OSID        string `json:"os_id,omitempty"`
	OSVersionID string `json:"os_version_id,omitempty"`
	// OSBuild is the Windows build and update revision ("22631.3007").
	OSBuild string `json:"os_build,omitempty"`
	// Kernel is the kernel release (uname -r) on Linux and the full
	// version ("10.0.22631.3007") on Windows.
	Kernel string `json:"kernel,omitempty"`
	// Arch is the Go architecture name of the agent (GOARCH).
	Arch string `json:"arch"`
	// IPs and MACs are the addresses of the non-loopback interfaces,
	// sorted.
	IPs  []string `json:"ips,omitempty"`
	MACs []string `json:"macs,omitempty"`
	// CPUModel is the processor model name; CPUs the number of logical
	// processors.
	CPUModel string `json:"cpu_model,omitempty"`
	CPUs     int    `json:"cpus,omitempty"`
	// MemTotalMB is the physical memory in MiB.
	MemTotalMB int64 `json:"mem_total_mb,omitempty"`
	// Disks lists the mounted local file systems.
	Disks []Disk `json:"disks,omitempty"`
	// Uptime is the time since boot in seconds.
	Uptime int64 `json:"uptime,omitempty"`
	// BootTime is when the machine booted.
	BootTime time.Time `json:"boot_time,omitzero"`
}

// Disk is one mounted file system.
type Disk struct {
	// Mount is the mount point ("/", "C:\").
	Mount string `json:"mount"`
	// FS is the file system type ("ext4", "NTFS").
	FS string `json:"fs"`
	// TotalMB and FreeMB are the size and the space available to
	// unprivileged users, in MiB.
	TotalMB int64 `json:"total_mb"`
	FreeMB  int64 `json:"free_mb"`
}

// Package is one installed package.
type Package struct {
	// Ecosystem is "deb", "rpm", "apk" or "windows".
	Ecosystem string `json:"ecosystem"`
	// Name is the binary package name, or the DisplayName of a Windows
	// program.
	Name string `json:"name"`
	// Version is the full version in the ecosystem's syntax: for deb
	// [epoch:]upstream[-revision] exactly as dpkg records it; for rpm
	// [epoch:]version-release; for apk the pkgver with its -rN suffix.
	Version string `json:"version"`
	// Arch is the package architecture ("amd64", "x86_64", "noarch"); for
	// Windows programs "x64" or "x86" after the registry view, or empty for
	// per-user installs.
	Arch string `json:"arch,omitempty"`
	// SourceName and SourceVersion name the source package the binary was
	// built from (deb Source, rpm SOURCERPM, apk origin). They equal Name
	// and Version when the database does not say otherwise.
	SourceName    string `json:"source_name,omitempty"`
	SourceVersion string `json:"source_version,omitempty"`
	// Origin is the apk origin, the rpm vendor or the Windows publisher.
	Origin string `json:"origin,omitempty"`
}

// Key identifies a package within an inventory: ecosystem/name/arch. Some
// databases hold several versions under one key (rpm install-only packages
// such as kernel); [Diff] handles that.
func (p Package) Key() string {
	return p.Ecosystem + "/" + p.Name + "/" + p.Arch
}
