//go:build !linux

package inventory

// statDisk is only implemented on Linux; elsewhere disks of a Linux tree
// are not reported.
func statDisk(string) (Disk, bool) { return Disk{}, false }
