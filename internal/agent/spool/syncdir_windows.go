//go:build windows

package spool

// syncDir is a no-op on Windows, where directories cannot be synced;
// NTFS journals its metadata.
func syncDir(dir string) error { return nil }
