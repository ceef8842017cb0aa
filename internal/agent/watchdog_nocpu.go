//go:build !unix && !windows

package agent

import (
	"errors"
	"time"
)

// ProcessCPUTime is not available on this platform; the CPU limit is not
// enforced.
func ProcessCPUTime() (time.Duration, error) { return 0, errors.ErrUnsupported }
