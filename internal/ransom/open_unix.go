//go:build !windows

package ransom

import (
	"os"
	"syscall"
)

// openForInspect opens a file for reading without following a symlink
// and without blocking on a FIFO or device: anything in a watched folder
// may be an attacker's.
func openForInspect(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
}
