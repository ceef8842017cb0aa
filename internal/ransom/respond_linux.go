package ransom

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// respond stops (and for RespondKill, kills) each process and all its
// descendants. Every process of the tree is stopped first, so that none
// can spawn a replacement while the others are being killed. It returns
// what was done, in words, for the report.
func respond(r Response, pids []int) string {
	// The processes seen writing are stopped before the process table is
	// walked for their children: every millisecond counts against a fast
	// encryptor.
	protected := ancestors()
	for _, p := range pids {
		if !protected[p] {
			_ = syscall.Kill(p, syscall.SIGSTOP)
		}
	}
	tree := descendants(pids, protected)
	if len(tree) == 0 {
		return "none: no process to act on"
	}
	var failed []string
	for _, p := range tree {
		if err := syscall.Kill(p, syscall.SIGSTOP); err != nil && err != syscall.ESRCH {
			failed = append(failed, fmt.Sprintf("%d: %v", p, err))
		}
	}
	verb := "suspended"
	if r == RespondKill {
		verb = "killed"
		for _, p := range tree {
			if err := syscall.Kill(p, syscall.SIGKILL); err != nil && err != syscall.ESRCH {
				failed = append(failed, fmt.Sprintf("%d: %v", p, err))
			}
		}
	}
	out := fmt.Sprintf("%s %d process(es): %v", verb, len(tree), tree)
	if len(failed) > 0 {
		out += "; failed: " + strings.Join(failed, ", ")
	}
	return out
}

// descendants returns pids and every process below them, except the
// protected ones.
func descendants(pids []int, protected map[int]bool) []int {
	children := map[int][]int{}
	if ents, err := os.ReadDir("/proc"); err == nil {
		for _, e := range ents {
			pid, err := strconv.Atoi(e.Name())
			if err != nil {
				continue
			}
			if pp := parentOf(pid); pp > 0 {
				children[pp] = append(children[pp], pid)
			}
		}
	}
	seen := map[int]bool{}
	var out []int
	queue := append([]int(nil), pids...)
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if seen[p] || protected[p] {
			continue
		}
		seen[p] = true
		out = append(out, p)
		queue = append(queue, children[p]...)
	}
	return out
}

// ancestors returns this process, its ancestors, and pids 0 and 1: never
// to be stopped.
func ancestors() map[int]bool {
	protected := map[int]bool{1: true, 0: true}
	for p := os.Getpid(); p > 1; {
		protected[p] = true
		p = parentOf(p)
	}
	return protected
}

func parentOf(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name is in parentheses and may contain spaces.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0
	}
	pp, _ := strconv.Atoi(f[1])
	return pp
}
