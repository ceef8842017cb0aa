//go:build linux

package main

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// officeFiles writes n small documents (text, PDF, docx) in a few folders.
func officeFiles(t *testing.T, dir string, n int) []string {
	t.Helper()
	var paths []string
	for i := range n {
		sub := filepath.Join(dir, fmt.Sprintf("Phòng %d", i%5))
		os.MkdirAll(sub, 0o755)
		var p string
		var data []byte
		switch i % 3 {
		case 0:
			p = filepath.Join(sub, fmt.Sprintf("Báo cáo %03d.txt", i))
			data = bytes.Repeat([]byte(fmt.Sprintf("Báo cáo tình hình an toàn thông tin số %d.\n", i)), 200)
		case 1:
			p = filepath.Join(sub, fmt.Sprintf("Công văn %03d.pdf", i))
			data = []byte(fmt.Sprintf("%%PDF-1.4\n1 0 obj\n<< >>\nendobj\n%s\ntrailer\n<< >>\n%%%%EOF\n", strings.Repeat("BT (Cong van) Tj ET\n", 300)))
		default:
			p = filepath.Join(sub, fmt.Sprintf("Kế hoạch %03d.docx", i))
			var buf bytes.Buffer
			z := zip.NewWriter(&buf)
			w, _ := z.Create("word/document.xml")
			w.Write(bytes.Repeat([]byte("<w:p><w:t>Kế hoạch chuyển đổi số</w:t></w:p>"), 300))
			z.Close()
			data = buf.Bytes()
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

// TestRansomWatchKillsAnEncryptor runs `canhgac ransom watch --json
// --respond kill` as its own process, as an evaluator would: a ready line
// first, then a detection line naming the simulator's pid, and the
// simulator killed after a handful of files. SIGTERM stops the watcher and
// removes the decoys it placed.
func TestRansomWatchKillsAnEncryptor(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root for fanotify and to kill another user's process")
	}
	dir := t.TempDir()
	files := officeFiles(t, dir, 300)
	before := map[string][]byte{}
	for _, p := range files {
		before[p], _ = os.ReadFile(p)
	}
	sim := filepath.Join(t.TempDir(), "ransomsim")
	if out, err := exec.Command("go", "build", "-o", sim, "../../internal/ransom/testdata/ransomsim").CombinedOutput(); err != nil {
		t.Fatalf("build simulator: %v\n%s", err, out)
	}

	cmd := command("ransom", "watch", "--dir", dir, "--json", "--respond", "kill")
	pr, pw := io.Pipe()
	var stderr syncBuffer
	cmd.Stdout, cmd.Stderr = pw, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); pw.Close() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	lines := make(chan map[string]any, 10)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Errorf("not a JSON line: %q", sc.Text())
				continue
			}
			lines <- m
		}
		close(lines)
	}()
	next := func(what string) map[string]any {
		select {
		case m, ok := <-lines:
			if !ok {
				t.Fatalf("watcher exited before %s:\n%s", what, stderr.String())
			}
			return m
		case <-time.After(60 * time.Second):
			t.Fatalf("no %s line:\n%s", what, stderr.String())
		}
		return nil
	}
	ready := next("ready")
	if ready["event"] != "ready" || ready["source"] != "fanotify" {
		t.Fatalf("first line %v, want a ready event from fanotify", ready)
	}
	decoys, _ := filepath.Glob(filepath.Join(dir, "*", "!*"))
	if len(decoys) == 0 {
		t.Fatalf("no decoys placed in the subfolders")
	}
	decoyData := map[string][]byte{}
	for _, d := range decoys {
		decoyData[d], _ = os.ReadFile(d)
	}

	s := exec.Command(sim, "-dir", dir, "-mode", "inplace", "-order", "random", "-threads", "2")
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	simDone := make(chan error, 1)
	go func() { simDone <- s.Wait() }()
	det := next("detection")
	if det["event"] != "detection" {
		t.Fatalf("second line %v, want a detection", det)
	}
	if _, err := time.Parse(time.RFC3339Nano, det["time"].(string)); err != nil {
		t.Errorf("time %v: %v", det["time"], err)
	}
	if int(det["pid"].(float64)) != s.Process.Pid || !strings.HasSuffix(det["exe"].(string), "/ransomsim") {
		t.Errorf("detection names pid %v %v, want the simulator %d", det["pid"], det["exe"], s.Process.Pid)
	}
	if fs, _ := det["files"].([]any); len(fs) == 0 {
		t.Errorf("detection lists no files: %v", det)
	}
	if rs, _ := det["reasons"].([]any); len(rs) == 0 || det["score"].(float64) < 2 {
		t.Errorf("detection without reasons or below the threshold: %v", det)
	}
	select {
	case err := <-simDone:
		ws, ok := err.(*exec.ExitError)
		if !ok || ws.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Errorf("simulator ended with %v, want killed", err)
		}
	case <-time.After(30 * time.Second):
		s.Process.Kill()
		t.Fatal("simulator was not killed")
	}
	lost := 0
	for p, want := range before {
		if got, err := os.ReadFile(p); err != nil || !bytes.Equal(got, want) {
			lost++
		}
	}
	t.Logf("files lost: %d of %d; detection: %v", lost, len(files), det["reasons"])
	if lost > 10 {
		t.Errorf("%d files lost, want at most 10", lost)
	}

	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("watcher exited with %v:\n%s", err, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("watcher did not stop on SIGTERM")
	}
	// Decoys the simulator reached stay as evidence; untouched ones are
	// removed.
	for d, want := range decoyData {
		if got, err := os.ReadFile(d); err == nil && bytes.Equal(got, want) {
			t.Errorf("untouched decoy %s left behind after SIGTERM", d)
		}
	}
}
