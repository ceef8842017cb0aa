//go:build !unix

package cli

// openFileLimit is unknown here (Windows has no such per-process limit).
func openFileLimit() (uint64, bool) { return 0, false }
