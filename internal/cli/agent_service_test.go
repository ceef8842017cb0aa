//go:build !windows

package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAgentInstallRoot(t *testing.T) {
	root := t.TempDir()
	state := filepath.Join(t.TempDir(), "agent.json")
	queue := filepath.Join(t.TempDir(), "queue")
	var out, errb bytes.Buffer
	env := &Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}
	if code := Main(env, []string{"agent", "install", "--root", root, "--state", state, "--queue", queue}); code != 0 {
		t.Fatalf("install: exit %d: %s", code, errb.String())
	}
	unit := filepath.Join(root, "etc/systemd/system/canhgac-agent.service")
	fi, err := os.Stat(unit)
	if err != nil {
		t.Fatalf("no unit: %v\n%s", err, out.String())
	}
	if fi.Mode().Perm() != 0o644 {
		t.Fatalf("unit mode %v, want 0644", fi.Mode().Perm())
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if r, err := filepath.EvalSymlinks(exe); err == nil {
		exe = r
	}
	b, _ := os.ReadFile(unit)
	want := "ExecStart=" + exe + " agent run --state " + state + " --queue " + queue + "\n"
	if !strings.Contains(string(b), want) || strings.Count(string(b), "ExecStart=") != 1 {
		t.Fatalf("unit lacks %q:\n%s", want, b)
	}
	for _, line := range []string{"Restart=always", "NoNewPrivileges=yes", "ProtectSystem=strict", "MemoryMax=200M", "CPUQuota=25%",
		"ReadWritePaths=/var/lib/canhgac-agent -" + filepath.Dir(state) + " -" + queue + "\n"} {
		if !strings.Contains(string(b), line) {
			t.Fatalf("unit lacks %q:\n%s", line, b)
		}
	}
	if !strings.Contains(out.String(), unit) {
		t.Fatalf("install did not say where it wrote: %s", out.String())
	}

	out.Reset()
	if code := Main(env, []string{"agent", "uninstall", "--root", root}); code != 0 {
		t.Fatalf("uninstall: exit %d: %s", code, errb.String())
	}
	if _, err := os.Stat(unit); !os.IsNotExist(err) {
		t.Fatalf("unit still there after uninstall: %v", err)
	}
	// Again: nothing to do, not an error.
	if code := Main(env, []string{"agent", "uninstall", "--root", root}); code != 0 || !strings.Contains(out.String(), "not installed") {
		t.Fatalf("second uninstall: exit %d: %s %s", code, out.String(), errb.String())
	}
}

func TestAgentInstallBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"agent", "install", "--bogus"},
		{"agent", "install", "--root", t.TempDir(), "extra"},
		{"agent", "uninstall", "--queue", "/x"},
	} {
		var out, errb bytes.Buffer
		code := Main(&Env{Stdout: &out, Stderr: &errb, Getenv: func(string) string { return "" }}, args)
		if code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
		msg := errb.String()
		if !strings.Contains(msg, "bogus") && !strings.Contains(msg, "extra") && !strings.Contains(msg, "queue") {
			t.Errorf("%q: message does not name the bad argument: %s", args, msg)
		}
		if !strings.Contains(msg, "agent install") {
			t.Errorf("%q: no usage printed: %s", args, msg)
		}
	}
}
