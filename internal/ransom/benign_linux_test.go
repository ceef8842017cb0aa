package ransom

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	officeOnce sync.Once
	officePath string
	officeErr  error
)

func officesim(t testing.TB) string {
	t.Helper()
	officeOnce.Do(func() {
		dir, err := os.MkdirTemp("", "officesim-")
		if err != nil {
			officeErr = err
			return
		}
		officePath = filepath.Join(dir, "officesim")
		if out, err := exec.Command("go", "build", "-o", officePath, "./testdata/officesim").CombinedOutput(); err != nil {
			officeErr = fmt.Errorf("build officesim: %v\n%s", err, out)
		}
	})
	if officeErr != nil {
		t.Fatal(officeErr)
	}
	return officePath
}

// need skips (or, in CI, fails) when a tool the workload uses is missing.
func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is not installed (.ci/run installs it)", tool)
			}
			t.Skipf("%s is not installed", tool)
		}
	}
}

func sh(t *testing.T, dir string, env []string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// watchQuietly watches dir with the alert-only response and returns a
// function that stops the watcher and fails the test on any detection.
func watchQuietly(t *testing.T, dir string) func() {
	t.Helper()
	var mu sync.Mutex
	var dets []Detection
	w, err := Start(Config{Dirs: []string{dir}, Respond: RespondAlert, OnDetection: func(d Detection, _ string) {
		mu.Lock()
		dets = append(dets, d)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	return func() {
		time.Sleep(300 * time.Millisecond) // let the last events and decoy deletions settle
		st := w.Stats()
		w.Close()
		mu.Lock()
		defer mu.Unlock()
		t.Logf("%d events, %d inspected, %d dropped, gate waits %d", st.Events, st.Inspected, st.Dropped, st.GateWaits)
		for _, d := range dets {
			t.Errorf("false alarm: pid %d %s score %.1f: %s; files %v", d.Actor.Pid, d.Actor.Exe, d.Score,
				strings.Join(d.Reasons, "; "), d.Files[:min(5, len(d.Files))])
		}
	}
}

// documents picks up to n of the corpus's office documents, the files a
// user would open and save.
func documents(sums map[string][32]byte, n int) []string {
	var out []string
	for p := range sums {
		if e := filepath.Ext(p); (e == ".docx" || e == ".xlsx") && len(out) < n {
			out = append(out, p)
		}
	}
	return out
}

func projectRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// TestOrdinaryWorkRaisesNoAlarm runs the benign workloads the issue lists
// in a watched folder holding the office corpus: each must end with no
// detection.
func TestOrdinaryWorkRaisesNoAlarm(t *testing.T) {
	t.Run("copy a tree", func(t *testing.T) {
		dir := t.TempDir()
		writeCorpus(t, filepath.Join(dir, "src"))
		stop := watchQuietly(t, dir)
		sh(t, dir, nil, "cp", "-a", "src", "copy")
		sh(t, dir, nil, "cp", "-a", "src/.", "copy/") // over the copy: every file overwritten with itself
		stop()
	})
	t.Run("git clone and checkout", func(t *testing.T) {
		need(t, "git")
		root := projectRoot(t)
		if _, err := os.Stat(filepath.Join(root, ".git")); err != nil {
			t.Skip("not a git checkout")
		}
		dir := t.TempDir()
		writeCorpus(t, dir)
		stop := watchQuietly(t, dir)
		sh(t, dir, nil, "git", "clone", "--quiet", "--no-local", root, "repo")
		repo := filepath.Join(dir, "repo")
		sh(t, repo, nil, "git", "-c", "advice.detachedHead=false", "checkout", "--quiet", "HEAD~40")
		sh(t, repo, nil, "git", "checkout", "--quiet", "-")
		sh(t, repo, nil, "git", "gc", "--quiet")
		stop()
	})
	t.Run("go build of this project", func(t *testing.T) {
		if testing.Short() {
			t.Skip("a cold build takes a minute")
		}
		dir := t.TempDir()
		writeCorpus(t, filepath.Join(dir, "docs"))
		src := filepath.Join(dir, "src")
		sh(t, projectRoot(t), nil, "git", "ls-files", "-z") // only checks git works; the copy below is of the tree
		sh(t, dir, nil, "cp", "-a", projectRoot(t), src)
		stop := watchQuietly(t, dir)
		env := []string{"GOCACHE=" + filepath.Join(dir, "gocache"), "GOTMPDIR=" + dir, "GOFLAGS=-mod=mod"}
		sh(t, src, env, "go", "build", "-o", filepath.Join(dir, "bin", "canhgac"), "./cmd/canhgac")
		sh(t, src, env, "go", "build", "-o", filepath.Join(dir, "bin", "canhgac"), "./cmd/canhgac") // rebuild over the binary
		stop()
	})
	t.Run("tar and zip archives", func(t *testing.T) {
		need(t, "tar", "zip")
		dir := t.TempDir()
		writeCorpus(t, filepath.Join(dir, "src"))
		stop := watchQuietly(t, dir)
		sh(t, dir, nil, "tar", "-czf", "backup.tar.gz", "src")
		sh(t, dir, nil, "zip", "-qr", "backup.zip", "src")
		sh(t, dir, nil, "tar", "-czf", "backup.tar.gz", "src") // over the old archive
		sh(t, dir, nil, "zip", "-qr", "backup.zip", "src")     // update in place
		stop()
	})
	t.Run("rsync backup", func(t *testing.T) {
		need(t, "rsync")
		dir := t.TempDir()
		sums := writeCorpus(t, filepath.Join(dir, "src"))
		stop := watchQuietly(t, dir)
		sh(t, dir, nil, "rsync", "-a", "src/", "backup/")
		sh(t, dir, nil, officesim(t), documents(sums, 100)...)
		sh(t, dir, nil, "rsync", "-a", "--delete", "src/", "backup/") // temp files renamed over changed ones
		sh(t, dir, nil, "rsync", "-a", "--inplace", "src/", "backup2/")
		stop()
	})
	t.Run("office saves", func(t *testing.T) {
		dir := t.TempDir()
		sums := writeCorpus(t, dir)
		stop := watchQuietly(t, dir)
		sh(t, dir, nil, officesim(t), documents(sums, 500)...)
		stop()
	})
	t.Run("log rotation with compression", func(t *testing.T) {
		need(t, "logrotate")
		dir := t.TempDir()
		logs := filepath.Join(dir, "log")
		os.MkdirAll(logs, 0o755)
		conf := filepath.Join(dir, "logrotate.conf")
		os.WriteFile(conf, []byte(logs+"/*.log {\n  rotate 5\n  compress\n  missingok\n  create 0644\n}\n"), 0o644)
		fill := func() {
			for i := range 20 {
				var b strings.Builder
				for j := range 2000 {
					fmt.Fprintf(&b, "2026-12-02T10:%02d:%02d host app[%d]: GET /dich-vu-cong/ho-so/%d 200\n", j/60%60, j%60, i, j)
				}
				os.WriteFile(filepath.Join(logs, fmt.Sprintf("app%d.log", i)), []byte(b.String()), 0o644)
			}
		}
		fill()
		stop := watchQuietly(t, dir)
		for range 4 {
			sh(t, dir, nil, "logrotate", "-f", "-s", filepath.Join(dir, "state"), conf)
			sh(t, dir, nil, "sh", "-c", "for f in log/*.log; do seq 1 3000 | sed 's/^/line /' >> $f; done")
		}
		stop()
	})
	t.Run("debian package upgrade", func(t *testing.T) {
		need(t, "dpkg", "dpkg-deb")
		dir := t.TempDir()
		build := filepath.Join(dir, "build")
		root := filepath.Join(dir, "root")
		for _, v := range []string{"1.0", "2.0"} {
			p := filepath.Join(build, "pkg"+v)
			for _, d := range []string{"DEBIAN", "usr/bin", "usr/share/doc/canhgac-demo", "usr/share/canhgac-demo", "etc"} {
				os.MkdirAll(filepath.Join(p, d), 0o755)
			}
			os.WriteFile(filepath.Join(p, "DEBIAN/control"), []byte("Package: canhgac-demo\nVersion: "+v+
				"\nArchitecture: all\nMaintainer: Test <test@example.invalid>\nDescription: demo package\n"), 0o644)
			os.WriteFile(filepath.Join(p, "etc/demo.conf"), []byte("version = "+v+"\n"), 0o644)
			sh(t, p, nil, "cp", "/bin/ls", "usr/bin/demo")
			sh(t, p, nil, "sh", "-c", "seq 1 20000 | sed 's/^/entry /' | gzip -9 > usr/share/doc/canhgac-demo/changelog.gz")
			for i := range 150 {
				os.WriteFile(filepath.Join(p, fmt.Sprintf("usr/share/canhgac-demo/data%03d.txt", i)),
					[]byte(strings.Repeat(fmt.Sprintf("v%s line %d\n", v, i), 200)), 0o644)
			}
			sh(t, build, nil, "dpkg-deb", "--build", "--root-owner-group", "pkg"+v, "demo_"+v+".deb")
		}
		for _, d := range []string{"var/lib/dpkg/info", "var/lib/dpkg/updates", "var/lib/dpkg/triggers"} {
			os.MkdirAll(filepath.Join(root, d), 0o755)
		}
		os.WriteFile(filepath.Join(root, "var/lib/dpkg/status"), nil, 0o644)
		os.WriteFile(filepath.Join(root, "var/lib/dpkg/available"), nil, 0o644)
		dpkg := []string{"--root=" + root, "--force-not-root", "--force-script-chrootless", "--log=/dev/null", "-i"}
		sh(t, dir, nil, "dpkg", append(dpkg, filepath.Join(build, "demo_1.0.deb"))...)
		stop := watchQuietly(t, root)
		sh(t, dir, nil, "dpkg", append(dpkg, filepath.Join(build, "demo_2.0.deb"))...)
		sh(t, dir, nil, "dpkg", append(dpkg, filepath.Join(build, "demo_1.0.deb"))...) // and a downgrade back
		stop()
	})
}
