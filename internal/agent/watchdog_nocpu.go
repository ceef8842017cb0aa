//go:build !unix && !windows

package agent

import (
	"errors"
	"time"
)

// processCPUTime is not available on this platform; the CPU limit is not
// enforced.
func processCPUTime() (time.Duration, error) { return 0, errors.ErrUnsupported }
