package ransom

import "os"

// openForInspect opens a file for reading, refusing symlinks (reparse
// points) so that a link cannot point the analysis elsewhere.
func openForInspect(path string) (*os.File, error) {
	st, err := os.Lstat(path)
	if err != nil {
		return nil, err
	}
	if st.Mode()&os.ModeSymlink != 0 || !st.Mode().IsRegular() {
		return nil, errNotRegular
	}
	return os.Open(path)
}
