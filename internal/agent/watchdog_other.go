//go:build !linux && !windows

package agent

import "errors"

// osResidentBytes has no cheap source here; the runtime's figure is used.
func osResidentBytes() (uint64, error) { return 0, errors.ErrUnsupported }
