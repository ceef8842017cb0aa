package render

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"time"
)

// processesUsing returns the pids of the processes whose command line has a
// --user-data-dir at or under dir. Chromium passes --user-data-dir to every
// child process, so this finds the whole browser without a process group.
// It finds nothing where /proc does not exist.
func processesUsing(dir string) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	prefix := "--user-data-dir=" + dir
	self := os.Getpid()
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err != nil {
			continue
		}
		for arg := range bytes.SplitSeq(cmdline, []byte{0}) {
			a := string(arg)
			if a == prefix || strings.HasPrefix(a, prefix+"/") {
				pids = append(pids, pid)
				break
			}
		}
	}
	return pids
}

// killLeftovers kills the processes that use a profile at or under dir until
// none is found for a few passes in a row, or 2 s passed.
func killLeftovers(dir string) {
	deadline := time.Now().Add(2 * time.Second)
	for quiet := 0; quiet < 3 && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		pids := processesUsing(dir)
		if len(pids) == 0 {
			quiet++
			continue
		}
		quiet = 0
		for _, pid := range pids {
			if p, err := os.FindProcess(pid); err == nil {
				p.Kill() // SIGKILL on Unix
			}
		}
	}
}
