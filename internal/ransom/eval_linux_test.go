package ransom

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	simOnce sync.Once
	simPath string
	simErr  error
)

// simulator builds testdata/ransomsim once per test run.
func simulator(t testing.TB) string {
	t.Helper()
	simOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ransomsim-")
		if err != nil {
			simErr = err
			return
		}
		simPath = filepath.Join(dir, "ransomsim")
		out, err := exec.Command("go", "build", "-o", simPath, "./testdata/ransomsim").CombinedOutput()
		if err != nil {
			simErr = fmt.Errorf("build simulator: %v\n%s", err, out)
		}
	})
	if simErr != nil {
		t.Fatal(simErr)
	}
	return simPath
}

type variant struct {
	name string
	args []string
}

// variants covers the evaluation the issue asks for: full in-place
// encryption, encrypt-to-new-file-then-delete, rename to a new extension,
// partial encryption (first 4 KB, every 16th block), writing a temp file
// over the original, alphabetical, reverse and random order, several
// threads, ransom notes, and a slow encryptor.
var variants = []variant{
	{"inplace-alpha", []string{"-mode", "inplace", "-order", "alpha"}},
	{"inplace-reverse", []string{"-mode", "inplace", "-order", "reverse"}},
	{"inplace-random", []string{"-mode", "inplace", "-order", "random"}},
	{"inplace-random-4threads", []string{"-mode", "inplace", "-order", "random", "-threads", "4"}},
	{"newfile-alpha", []string{"-mode", "newfile", "-order", "alpha"}},
	{"newfile-random", []string{"-mode", "newfile", "-order", "random"}},
	{"newfile-random-4threads", []string{"-mode", "newfile", "-order", "random", "-threads", "4"}},
	{"rename-random", []string{"-mode", "rename", "-order", "random"}},
	{"rename-reverse-notes", []string{"-mode", "rename", "-order", "reverse", "-note"}},
	{"head4k-random", []string{"-mode", "head4k", "-order", "random"}},
	{"head4k-alpha-4threads", []string{"-mode", "head4k", "-order", "alpha", "-threads", "4"}},
	{"block16-random", []string{"-mode", "block16", "-order", "random"}},
	{"block16-reverse-4threads", []string{"-mode", "block16", "-order", "reverse", "-threads", "4"}},
	{"tmpswap-random", []string{"-mode", "tmpswap", "-order", "random"}},
	{"slow-random-1-per-2s", []string{"-mode", "inplace", "-order", "random", "-delay", "2s"}},
}

type outcome struct {
	lost     int
	detected bool
	det      Detection
	action   string
	after    time.Duration
}

// runVariant writes the corpus, watches it with the kill response, runs
// the simulator and counts the files lost.
func runVariant(t *testing.T, v variant, withCanaries bool) outcome {
	t.Helper()
	dir := t.TempDir()
	sums := writeCorpus(t, dir)
	var mu sync.Mutex
	var out outcome
	got := make(chan struct{}, 1)
	w, err := Start(Config{Dirs: []string{dir}, Respond: RespondKill, NoCanaries: !withCanaries,
		OnDetection: func(d Detection, action string) {
			mu.Lock()
			if !out.detected {
				out.detected, out.det, out.action = true, d, action
			}
			mu.Unlock()
			select {
			case got <- struct{}{}:
			default:
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if st := w.Stats(); st.Source != "fanotify" {
		t.Logf("source %s: %s", st.Source, st.Note)
	}
	cmd := exec.Command(simulator(t), append([]string{"-dir", dir}, v.args...)...)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var simErr error
	go func() { simErr = cmd.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(90 * time.Second):
		cmd.Process.Kill()
		<-exited
	}
	// A detection racing the simulator's last file still counts.
	select {
	case <-got:
	case <-time.After(500 * time.Millisecond):
	}
	mu.Lock()
	defer mu.Unlock()
	out.lost = lostFiles(sums)
	if !out.detected {
		t.Logf("%s: simulator exited with %v; watcher %+v", v.name, simErr, w.Stats())
	}
	if out.detected {
		out.after = out.det.Time.Sub(start)
	}
	return out
}

func median(xs []int) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return float64(s[len(s)/2])
	}
	return float64(s[len(s)/2-1]+s[len(s)/2]) / 2
}

// TestSimulatedRansomwareIsStopped runs every simulator variant against a
// fresh copy of the corpus and holds the detector to the targets:
// every variant detected, a median of at most 3 files lost and at most 10
// in the worst case (CryptoDrop's median was 10).
func TestSimulatedRansomwareIsStopped(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root: fanotify attributes events to processes and holds a suspect's opens; the inotify fallback is tested in TestInotifyFallbackDetectsWithoutAttribution")
	}
	var losses []int
	var table strings.Builder
	for _, v := range variants {
		o := runVariant(t, v, true)
		fmt.Fprintf(&table, "%-26s lost %4d  detected %-5v after %-8s score %5.1f  %s\n", v.name, o.lost, o.detected,
			o.after.Round(time.Millisecond), o.det.Score, strings.Join(o.det.Reasons, "; "))
		if !o.detected {
			t.Errorf("%s: not detected (%d files lost)", v.name, o.lost)
		}
		losses = append(losses, o.lost)
	}
	t.Logf("files lost per variant (of 2,000):\n%s", table.String())
	med, worst := median(losses), slices.Max(losses)
	t.Logf("median %.1f, worst %d", med, worst)
	if med > 3 {
		t.Errorf("median files lost %.1f, want ≤ 3", med)
	}
	if worst > 10 {
		t.Errorf("worst case %d files lost, want ≤ 10", worst)
	}
}
