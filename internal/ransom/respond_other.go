//go:build !linux

package ransom

import (
	"fmt"
	"os"
)

// respond terminates each process (the tree is not walked here yet);
// suspension is not available outside Linux.
func respond(r Response, pids []int) string {
	if r == RespondSuspend {
		return "none: suspending processes is not supported on this platform"
	}
	var done []int
	for _, p := range pids {
		if p <= 1 || p == os.Getpid() {
			continue
		}
		if pr, err := os.FindProcess(p); err == nil && pr.Kill() == nil {
			done = append(done, p)
		}
	}
	return fmt.Sprintf("killed %d process(es): %v", len(done), done)
}
