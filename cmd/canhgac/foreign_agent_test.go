package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The agent built for the other platforms it ships for runs, under an
// emulator, against a real server on this machine: the linux/arm64 build
// under qemu-user, the windows/amd64 build under Wine. Each enrolls with
// the real CLI (pinning the server's certificate), runs (on Windows as a
// service that `agent install` sets up and `agent uninstall` removes),
// comes online and
// sends an inventory the server can search: dpkg packages for arm64, and
// for Windows a program registered under the registry's uninstall key.
//
// Without the emulators the subtests skip; .ci/run installs them
// (qemu-user, wine64, and MinGW for the one DLL Wine 8 lacks) and sets
// CANHGAC_REQUIRE_EMULATORS=1, so in CI a missing one fails.
func TestForeignAgentsEnrollAndReport(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the agent for other platforms")
	}
	dir := t.TempDir()
	token := setup(t, []string{"--data", dir})
	p := start(t, "--data", dir, "--tls-auto")
	m := regexp.MustCompile(`SHA-256 fingerprint: ([0-9A-F:]{95})`).FindStringSubmatch(p.stdout.String())
	if m == nil {
		t.Fatalf("no fingerprint:\n%s", p.stdout.String())
	}
	fingerprint := m[1]
	newToken := func(t *testing.T) string {
		code, body := tlsRequest(t, p.url, "POST", "/api/v1/enrollment-tokens", token, map[string]any{"agency_id": 1, "name": "máy " + t.Name()})
		if code != 201 {
			t.Fatalf("enrollment token: %d %s", code, body)
		}
		var tok struct{ Token string }
		json.Unmarshal(body, &tok)
		return tok.Token
	}

	cases := []struct {
		name, goos, goarch string
		emulator           []string // tried in order
		arch               string   // what the agent reports
		prepare            func(t *testing.T, emu string, env []string)
		findPackage        string // a package the inventory must hold
	}{
		{name: "linux-arm64", goos: "linux", goarch: "arm64", emulator: []string{"qemu-aarch64", "qemu-aarch64-static"}, arch: "arm64",
			findPackage: dpkgPackageOfThisMachine(t)},
		{name: "windows-amd64", goos: "windows", goarch: "amd64", emulator: []string{"wine64", "wine", "/usr/lib/wine/wine64"}, arch: "amd64",
			prepare: func(t *testing.T, emu string, env []string) {
				// A program installed the way Windows installers register
				// them, in the registry's uninstall key.
				key := `HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall\CanhgacKeToan`
				for _, v := range [][2]string{{"DisplayName", "Phần mềm kế toán HCSN"}, {"DisplayVersion", "2.1.0"}, {"Publisher", "Sở Tài chính"}} {
					wine(t, emu, env, "reg", "add", key, "/v", v[0], "/d", v[1], "/f")
				}
				wineProcessPrng(t, env)
			},
			findPackage: "Phần mềm kế toán HCSN"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			emu := ""
			for _, e := range c.emulator {
				if path, err := exec.LookPath(e); err == nil {
					emu = path
					break
				}
			}
			if emu == "" {
				if os.Getenv("CANHGAC_REQUIRE_EMULATORS") == "1" {
					t.Fatalf("none of %v is installed (apt-get install qemu-user wine64)", c.emulator)
				}
				t.Skipf("none of %v is installed (apt-get install qemu-user wine64); the %s agent is only cross-compiled", c.emulator, c.name)
			}
			if c.findPackage == "" {
				t.Skip("this machine has no dpkg database to inventory")
			}
			work := t.TempDir()
			bin := filepath.Join(work, "canhgac-"+c.name)
			if c.goos == "windows" {
				bin += ".exe"
			}
			build := exec.Command("go", "build", "-o", bin, ".")
			build.Env = append(os.Environ(), "GOOS="+c.goos, "GOARCH="+c.goarch, "CGO_ENABLED=0")
			if out, err := build.CombinedOutput(); err != nil {
				t.Fatalf("go build for %s: %v\n%s", c.name, err, out)
			}
			env := append(os.Environ(), "WINEPREFIX="+filepath.Join(work, "wine"), "WINEDEBUG=-all")
			if c.prepare != nil {
				c.prepare(t, emu, env)
			}
			state := filepath.Join(work, "agent.json")
			enroll := exec.Command(emu, bin, "agent", "enroll", "--server", p.url, "--token", newToken(t), "--server-fingerprint", fingerprint, "--state", state)
			enroll.Env = env
			out, err := enroll.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "enrolled as agent") {
				t.Fatalf("enroll under %s: %v\n%s", filepath.Base(emu), err, out)
			}
			var st struct {
				AgentID int64 `json:"agent_id"`
			}
			b, err := os.ReadFile(state)
			if err != nil {
				t.Fatal(err)
			}
			json.Unmarshal(b, &st)
			if st.AgentID == 0 {
				t.Fatalf("state file without an agent id: %s", b)
			}
			var logs bytes.Buffer
			queue := filepath.Join(work, "queue")
			if c.goos == "windows" {
				// As an administrator would: a Windows service, started by
				// the service control manager (Wine's, here).
				defer stopWine(env)
				install := exec.Command(emu, bin, "agent", "install", "--state", state, "--queue", queue)
				install.Env = env
				out, err := install.CombinedOutput()
				if err != nil || !strings.Contains(string(out), "started canhgac-agent") {
					t.Fatalf("agent install under Wine: %v\n%s", err, out)
				}
				logs.Write(out)
			} else {
				agentRun := exec.Command(emu, bin, "agent", "run", "--state", state, "--queue", queue, "--ransom-dir", work)
				agentRun.Env = env
				agentRun.Stdout, agentRun.Stderr = &logs, &logs
				if err := agentRun.Start(); err != nil {
					t.Fatal(err)
				}
				defer func() { agentRun.Process.Kill(); agentRun.Wait() }()
			}
			var got struct {
				Arch, Health, OSName string
				Packages             int
			}
			deadline := time.Now().Add(3 * time.Minute)
			for {
				code, body := tlsRequest(t, p.url, "GET", fmt.Sprintf("/api/v1/agents/%d", st.AgentID), token, nil)
				if code != 200 {
					t.Fatalf("agent: %d %s", code, body)
				}
				json.Unmarshal(body, &got)
				if got.Health == "online" && got.Packages > 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the %s agent did not come online with an inventory: %+v\nagent log:\n%s", c.name, got, logs.String())
				}
				time.Sleep(time.Second)
			}
			if got.Arch != c.arch {
				t.Fatalf("the agent reports arch %q, want %q", got.Arch, c.arch)
			}
			code, body := tlsRequest(t, p.url, "GET", fmt.Sprintf("/api/v1/agents/%d/packages?q=%s", st.AgentID, url.QueryEscape(c.findPackage)), token, nil)
			if code != 200 || !strings.Contains(string(body), jsonString(c.findPackage)) {
				t.Fatalf("the %s agent's inventory (%d packages, OS %q) lacks %q: %d %s", c.name, got.Packages, got.OSName, c.findPackage, code, body)
			}
			if c.goos == "windows" {
				for _, want := range []string{"removed service canhgac-agent", "canhgac-agent is not installed"} {
					un := exec.Command(emu, bin, "agent", "uninstall")
					un.Env = env
					if out, err := un.CombinedOutput(); err != nil || !strings.Contains(string(out), want) {
						t.Fatalf("agent uninstall under Wine: %v\n%s\nwant %q", err, out, want)
					}
				}
			}
		})
	}
}

// wine runs a Wine command, creating the prefix on first use.
func wine(t *testing.T, emu string, env []string, args ...string) {
	t.Helper()
	cmd := exec.Command(emu, args...)
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("wine %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// stopWine ends the Wine prefix's processes (its services among them).
func stopWine(env []string) {
	for _, w := range []string{"wineserver", "/usr/lib/wine/wineserver64"} {
		if path, err := exec.LookPath(w); err == nil {
			cmd := exec.Command(path, "-k")
			cmd.Env = env
			cmd.Run()
			return
		}
	}
}

// wineProcessPrng gives a Wine prefix the bcryptprimitives.dll that Go
// programs need and Wine 8 (Debian 12's) lacks, built from
// testdata/wine with MinGW. Go loads it from system32 only.
func wineProcessPrng(t *testing.T, env []string) {
	t.Helper()
	var prefix string
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "WINEPREFIX="); ok {
			prefix = v
		}
	}
	dll := filepath.Join(prefix, "drive_c", "windows", "system32", "bcryptprimitives.dll")
	if _, err := os.Stat(dll); err == nil {
		return // a Wine that has its own
	}
	cc, err := exec.LookPath("x86_64-w64-mingw32-gcc")
	if err != nil {
		if os.Getenv("CANHGAC_REQUIRE_EMULATORS") == "1" {
			t.Fatal("this Wine lacks bcryptprimitives.dll and MinGW is not installed to build it (apt-get install gcc-mingw-w64-x86-64)")
		}
		t.Skip("this Wine lacks bcryptprimitives.dll, which Go programs need, and MinGW is not installed to build it (apt-get install gcc-mingw-w64-x86-64)")
	}
	if out, err := exec.Command(cc, "-shared", "-O2", "-o", dll, filepath.Join("testdata", "wine", "bcryptprimitives.c")).CombinedOutput(); err != nil {
		t.Fatalf("build bcryptprimitives.dll: %v\n%s", err, out)
	}
}

// dpkgPackageOfThisMachine is an installed package the arm64 agent,
// reading this machine's dpkg database through qemu-user, must report.
func dpkgPackageOfThisMachine(t *testing.T) string {
	b, err := os.ReadFile("/var/lib/dpkg/status")
	if err != nil || !bytes.Contains(b, []byte("\nPackage: dpkg\n")) {
		return "" // checked again in the subtest, which skips without qemu anyway
	}
	return "dpkg"
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
