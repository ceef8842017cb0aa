//go:build !linux

package ransom

import (
	"errors"
	"runtime"
)

// newSource has no implementation outside Linux yet: the Windows source
// (ReadDirectoryChangesW) is still to be written.
func newSource(bool) (source, string, error) {
	return nil, "", errors.New("file event watching is not implemented on " + runtime.GOOS + " yet")
}
