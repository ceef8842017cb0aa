//go:build unix

package agent

import (
	"syscall"
	"time"
)

// ProcessCPUTime is the user plus system CPU time this process has used
// (getrusage; GetProcessTimes on Windows).
func ProcessCPUTime() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, err
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}
