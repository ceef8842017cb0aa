package inventory

func isLinux() bool { return true }
