//go:build !linux

package inventory

func isLinux() bool { return false }
