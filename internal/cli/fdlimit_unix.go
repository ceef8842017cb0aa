//go:build unix

package cli

import "syscall"

// openFileLimit is the process's limit of open files (Go has already
// raised the soft limit to the hard one at start).
func openFileLimit() (uint64, bool) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0, false
	}
	return rl.Cur, true
}
