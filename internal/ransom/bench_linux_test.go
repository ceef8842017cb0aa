package ransom

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// writeHeavy is the benign write-heavy workload the overhead is measured
// on: copy the office corpus, unpack an archive of it, and save 300
// documents the way an office suite does (each a child process, so the
// benchmark process's own CPU time is the watcher's).
func writeHeavy(b *testing.B, dir, corpusDir, archive string, docs []string) time.Duration {
	b.Helper()
	start := time.Now()
	for _, c := range [][]string{
		{"cp", "-a", corpusDir, filepath.Join(dir, "copy")},
		{"tar", "-xzf", archive, "-C", dir},
		append([]string{officesim(b)}, docs...),
	} {
		cmd := exec.Command(c[0], c[1:]...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%v: %v %s", c, err, out)
		}
	}
	return time.Since(start)
}

// BenchmarkWriteHeavyOverhead runs the write-heavy workload alternately
// without and with the watcher (fanotify, decoys, permission gate) on the
// folder, and reports the slowdown and the watcher's CPU time.
//
//	go test -run XXX -bench WriteHeavyOverhead -benchtime 5x ./internal/ransom
func BenchmarkWriteHeavyOverhead(b *testing.B) {
	root := b.TempDir()
	corpusDir := filepath.Join(root, "corpus")
	sums := writeCorpus(b, corpusDir)
	archive := filepath.Join(root, "corpus.tar.gz")
	if out, err := exec.Command("tar", "-czf", archive, "-C", root, "corpus").CombinedOutput(); err != nil {
		b.Fatalf("tar: %v %s", err, out)
	}
	var base, watched, cpu time.Duration
	b.ResetTimer()
	for i := range b.N {
		for _, withWatcher := range []bool{false, true} {
			dir := filepath.Join(root, "run", time.Now().Format("150405.000000"))
			writeCorpus(b, dir) // the documents that will be saved
			var docs []string
			for p := range sums {
				rel, _ := filepath.Rel(corpusDir, p)
				if e := filepath.Ext(p); (e == ".docx" || e == ".xlsx") && len(docs) < 300 {
					docs = append(docs, filepath.Join(dir, rel))
				}
			}
			var w *Watcher
			if withWatcher {
				var err error
				if w, err = Start(Config{Dirs: []string{dir}}); err != nil {
					b.Fatal(err)
				}
			}
			c0 := cpuTime()
			took := writeHeavy(b, dir, corpusDir, archive, docs)
			if w != nil {
				time.Sleep(200 * time.Millisecond) // the analysis finishing what was queued
				cpu += cpuTime() - c0
				if st := w.Stats(); st.Detections != 0 {
					b.Errorf("run %d: %d detections on the benign workload", i, st.Detections)
				}
				w.Close()
				watched += took
			} else {
				base += took
			}
			os.RemoveAll(dir)
		}
	}
	n := float64(b.N)
	b.ReportMetric(base.Seconds()/n, "base-s/op")
	b.ReportMetric(watched.Seconds()/n, "watched-s/op")
	b.ReportMetric(100*(watched.Seconds()-base.Seconds())/base.Seconds(), "slowdown-%")
	b.ReportMetric(cpu.Seconds()/n, "watcher-cpu-s/op")
}

// BenchmarkIdleCPU watches the office corpus while nothing happens and
// reports the watcher's CPU use as a share of one core.
//
//	go test -run XXX -bench IdleCPU -benchtime 1x ./internal/ransom
func BenchmarkIdleCPU(b *testing.B) {
	dir := b.TempDir()
	writeCorpus(b, dir)
	w, err := Start(Config{Dirs: []string{dir}})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	for !w.Stats().BaselineDone {
		time.Sleep(100 * time.Millisecond)
	}
	b.ResetTimer()
	var used, wall time.Duration
	for range b.N {
		c0, t0 := cpuTime(), time.Now()
		time.Sleep(20 * time.Second)
		used += cpuTime() - c0
		wall += time.Since(t0)
	}
	b.ReportMetric(100*used.Seconds()/wall.Seconds(), "idle-cpu-%")
}
