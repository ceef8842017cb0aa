package spool

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

const crashDirEnv = "SPOOL_CRASH_CHILD_DIR"

// TestCrashChild is the child process of TestCrashRecovery. It appends
// records until it is killed, writing "a <seq>" to stdout after every
// Append that returned and "k <seq>" after every Ack that returned.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("helper process for TestCrashRecovery")
	}
	s, err := Open(dir, crashOptions)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(2)
	}
	rng := rand.New(rand.NewPCG(uint64(os.Getpid()), 1))
	for i := 0; ; i++ {
		next := s.Stats().NextSeq
		recs := make([][]byte, 1+rng.IntN(5))
		for j := range recs {
			recs[j] = payloadFor(next + uint64(j))
		}
		first, err := s.Append(recs...)
		if err != nil || first != next {
			fmt.Fprintln(os.Stderr, "append:", first, next, err)
			os.Exit(2)
		}
		last := first + uint64(len(recs)) - 1
		// os.Stdout is unbuffered: one write per line.
		fmt.Fprintf(os.Stdout, "a %d\n", last)
		if i%25 == 24 && last > 40 {
			if err := s.Ack(last - 40); err != nil {
				fmt.Fprintln(os.Stderr, "ack:", err)
				os.Exit(2)
			}
			fmt.Fprintf(os.Stdout, "k %d\n", last-40)
		}
	}
}

var crashOptions = Options{MaxBytes: 1 << 30, SegmentBytes: 8 << 10}

// TestCrashRecovery kills a child process that appends in a loop with
// SIGKILL at a random moment and checks that every record whose Append
// returned survived, intact and in order.
func TestCrashRecovery(t *testing.T) {
	if os.Getenv(crashDirEnv) != "" {
		t.Skip("in child")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skip("no executable:", err)
	}
	dir := t.TempDir()
	var prevAppended, prevAcked uint64
	for round := range 4 {
		cmd := exec.Command(exe, "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killAfter := 20 + rand.IntN(300)
		appended, acked := prevAppended, prevAcked
		r := bufio.NewReader(out)
		lines := 0
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				break // EOF after the kill; a fragment without newline is ignored
			}
			f := strings.Fields(line)
			if len(f) != 2 {
				continue
			}
			n, perr := strconv.ParseUint(f[1], 10, 64)
			if perr != nil {
				continue
			}
			switch f[0] {
			case "a":
				appended = n
			case "k":
				acked = n
			}
			lines++
			if lines == killAfter {
				if err := cmd.Process.Kill(); err != nil {
					t.Fatal(err)
				}
			}
		}
		cmd.Wait()
		if lines < killAfter {
			t.Fatalf("round %d: child exited early after %d lines: %s", round, lines, stderr.String())
		}

		s := mustOpen(t, dir, crashOptions)
		st := s.Stats()
		if st.Acked < acked {
			t.Fatalf("round %d: acked %d, but Ack(%d) had returned", round, st.Acked, acked)
		}
		if st.Corrupt != 0 {
			t.Fatalf("round %d: corruption after crash: %+v", round, st)
		}
		recs := peekAll(t, s)
		if len(recs) == 0 || recs[0].Seq != st.Acked+1 {
			t.Fatalf("round %d: %d records, acked %d, first %v", round, len(recs), st.Acked, recs)
		}
		// Every record above the ack point is present and intact up to
		// the last returned Append; more may follow.
		for i, rec := range recs {
			if rec.Seq != st.Acked+1+uint64(i) {
				t.Fatalf("round %d: gap: record %d has seq %d", round, i, rec.Seq)
			}
			if string(rec.Data) != string(payloadFor(rec.Seq)) {
				t.Fatalf("round %d: record %d damaged", round, rec.Seq)
			}
		}
		if got := recs[len(recs)-1].Seq; got < appended {
			t.Fatalf("round %d: last record %d, but Append returned %d", round, got, appended)
		}
		t.Logf("round %d: killed after %d lines; appended %d, acked %d, recovered %d..%d",
			round, lines, appended, acked, recs[0].Seq, recs[len(recs)-1].Seq)
		s.Close()
		prevAppended, prevAcked = appended, acked
	}
}
