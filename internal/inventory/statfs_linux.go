//go:build linux

package inventory

import "syscall"

// statDisk returns the size and free space of the file system mounted at
// path.
func statDisk(path string) (Disk, bool) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil || st.Blocks == 0 {
		return Disk{}, false
	}
	bs := uint64(st.Bsize)
	return Disk{
		TotalMB: int64(st.Blocks * bs >> 20),
		FreeMB:  int64(st.Bavail * bs >> 20),
	}, true
}
