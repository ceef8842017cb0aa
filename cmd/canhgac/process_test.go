package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"canhgac/internal/model"
	"canhgac/internal/storage"
	"canhgac/internal/storage/storagetest"
)

// The test binary doubles as canhgac: started with CANHGAC_TEST_AS_MAIN=1 it
// runs main(), so these tests drive real canhgac processes without a
// separate build.
func TestMain(m *testing.M) {
	if os.Getenv("CANHGAC_TEST_AS_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// proc is a running canhgac process.
type proc struct {
	cmd    *exec.Cmd
	url    string
	stdout *syncBuffer
	stderr *syncBuffer
	done   chan struct{} // closed when the process has exited
	err    error         // its exit status, valid once done is closed
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func command(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "CANHGAC_TEST_AS_MAIN=1")
	return cmd
}

// run runs a one-shot canhgac command and returns its standard output.
func run(t testing.TB, stdin string, args ...string) string {
	t.Helper()
	cmd := command(args...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("canhgac %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

var urlLine = regexp.MustCompile(`running at (http\S+)/`)

// start launches canhgac serve and waits until it prints its URL.
func start(t testing.TB, args ...string) *proc {
	t.Helper()
	return startWith(t, nil, args...)
}

// startWith is start with extra environment variables.
func startWith(t testing.TB, env []string, args ...string) *proc {
	t.Helper()
	cmd := command(append([]string{"serve", "--listen", "127.0.0.1:0", "--rate", "0"}, args...)...)
	cmd.Env = append(cmd.Env, env...)
	pr, pw := io.Pipe()
	p := &proc{cmd: cmd, stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = pw, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = cmd.Wait(); pw.Close(); close(p.done) }()
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			p.stdout.Write([]byte(sc.Text() + "\n"))
			if m := urlLine.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		close(found)
	}()
	select {
	case u, ok := <-found:
		if !ok {
			t.Fatalf("canhgac serve exited before listening:\n%s", p.stderr.String())
		}
		p.url = u
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("canhgac serve did not start:\n%s", p.stderr.String())
	}
	t.Cleanup(func() { cmd.Process.Kill(); <-p.done })
	return p
}

func (p *proc) kill9(t testing.TB) {
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.done
}

func (p *proc) request(method, path, token string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, p.url+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// setup creates a user and token in a data directory or database before serving.
func setup(t testing.TB, storageArgs []string) string {
	run(t, "a long enough password\n", append([]string{"user", "add", "--name", "writer", "--role", "admin", "--password-stdin"}, storageArgs...)...)
	return strings.TrimSpace(run(t, "", append([]string{"token", "create", "--user", "writer"}, storageArgs...)...))
}

func TestFirstStartPrintsAdminLoginAndServesHealthz(t *testing.T) {
	dir := t.TempDir()
	began := time.Now()
	p := start(t, "--data", dir)
	resp, err := http.Get(p.url + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	t.Logf("serve answered /healthz %s after the process started", time.Since(began).Round(time.Millisecond))
	m := regexp.MustCompile(`log in as\s+admin\s+with password\s+(\S+)`).FindStringSubmatch(p.stdout.String())
	if m == nil {
		t.Fatalf("first start did not print the admin login:\n%s", p.stdout.String())
	}
	// The password is printed, never logged.
	if strings.Contains(p.stderr.String(), m[1]) {
		t.Fatalf("the admin password appears in the logs")
	}
	body := strings.NewReader(fmt.Sprintf(`{"username":"admin","password":%q}`, m[1]))
	resp, err = http.Post(p.url+"/api/v1/auth/login", "application/json", body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("login with the printed password: %v %v", resp.StatusCode, err)
	}
	var login struct{ User model.User }
	json.NewDecoder(resp.Body).Decode(&login)
	if !login.User.MustChangePassword || login.User.Role != model.RoleAdmin {
		t.Fatalf("first admin %+v", login.User)
	}
	// Logs are JSON lines.
	for _, line := range strings.Split(strings.TrimSpace(p.stderr.String()), "\n") {
		if !json.Valid([]byte(line)) {
			t.Fatalf("log line is not JSON: %q", line)
		}
	}
	// A second start does not create another admin or print a password.
	p.kill9(t)
	p2 := start(t, "--data", dir)
	if strings.Contains(p2.stdout.String(), "password") {
		t.Fatalf("second start printed a password:\n%s", p2.stdout.String())
	}
}

// Data the server acknowledged (201) before a kill -9 is there after restart,
// and the database is intact.
func TestKill9DuringWritesLosesNothingAcknowledged(t *testing.T) {
	for _, b := range storagetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			dir, dbURL := b.URL(t)
			sargs := []string{"--data", dir}
			if dbURL != "" {
				sargs = append(sargs, "--db", dbURL)
			}
			token := setup(t, sargs)
			p := start(t, sargs...)
			var agency model.Agency
			code, body, err := p.request("POST", "/api/v1/agencies", token, map[string]any{"name": "Sở Nội vụ", "kind": "department", "parent_id": 1})
			if err != nil || code != 201 {
				t.Fatalf("create agency: %d %s %v", code, body, err)
			}
			json.Unmarshal(body, &agency)

			var mu sync.Mutex
			var acked []int64
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			for w := 0; w < 4; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					for i := 0; ctx.Err() == nil && i < 5000; i++ {
						code, body, err := p.request("POST", "/api/v1/assets", token, map[string]any{
							"agency_id": agency.ID, "kind": "server", "name": fmt.Sprintf("srv-%d-%d", w, i), "address": "10.0.0.1"})
						if err != nil {
							return // the server died mid-request: not acknowledged
						}
						if code == 201 {
							var a model.Asset
							if json.Unmarshal(body, &a) == nil {
								mu.Lock()
								acked = append(acked, a.ID)
								mu.Unlock()
							}
						}
					}
				}(w)
			}
			// Kill once a good number of writes have been acknowledged, while
			// the writers are still going.
			deadline := time.Now().Add(30 * time.Second)
			for {
				mu.Lock()
				n := len(acked)
				mu.Unlock()
				if n >= 150 || time.Now().After(deadline) {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			p.kill9(t)
			cancel()
			wg.Wait()
			if len(acked) < 50 {
				t.Fatalf("only %d writes acknowledged before the kill", len(acked))
			}

			p2 := start(t, sargs...)
			for _, id := range acked {
				code, body, err := p2.request("GET", fmt.Sprintf("/api/v1/assets/%d", id), token, nil)
				if err != nil || code != 200 {
					t.Fatalf("acknowledged asset %d missing after kill -9: %d %s %v", id, code, body, err)
				}
			}
			p2.kill9(t)
			s, err := storage.Open(context.Background(), dir, dbURL)
			if err != nil {
				t.Fatalf("reopen after kill -9: %v", err)
			}
			defer s.Close()
			if s.Backend() == storage.SQLite {
				var res string
				if err := s.DB().QueryRow(`PRAGMA integrity_check`).Scan(&res); err != nil || res != "ok" {
					t.Fatalf("integrity_check: %q %v", res, err)
				}
			}
			t.Logf("%d writes acknowledged before kill -9; all present after restart", len(acked))
		})
	}
}

// SIGTERM lets a request that is already being served finish.
func TestSIGTERMFinishesInFlightRequests(t *testing.T) {
	dir := t.TempDir()
	token := setup(t, []string{"--data", dir})
	p := start(t, "--data", dir)
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", p.url+"/api/v1/assets/import?partial=true", pr)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "text/csv")
	type result struct {
		code int
		body string
		err  error
	}
	got := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			got <- result{err: err}
			return
		}
		b, _ := io.ReadAll(resp.Body)
		got <- result{code: resp.StatusCode, body: string(b)}
	}()
	io.WriteString(pw, "agency,kind,name\n1,server,first\n")
	time.Sleep(300 * time.Millisecond) // let the server start reading the body
	p.cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(300 * time.Millisecond)
	io.WriteString(pw, "1,server,second\n")
	pw.Close()
	r := <-got
	if r.err != nil || r.code != 200 || !strings.Contains(r.body, `"imported":2`) {
		t.Fatalf("in-flight import across SIGTERM: %d %s %v", r.code, r.body, r.err)
	}
	select {
	case <-p.done:
		if p.err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", p.err, p.stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("canhgac did not exit after SIGTERM")
	}
}

func TestTLSAutoPrintsFingerprint(t *testing.T) {
	dir := t.TempDir()
	p := start(t, "--data", dir, "--tls-auto")
	if !strings.HasPrefix(p.url, "https://") {
		t.Fatalf("--tls-auto serves %s", p.url)
	}
	m := regexp.MustCompile(`SHA-256 fingerprint: ([0-9A-F:]{95})`).FindStringSubmatch(p.stdout.String())
	if m == nil {
		t.Fatalf("no fingerprint printed:\n%s", p.stdout.String())
	}
	if fi, err := os.Stat(dir + "/tls-key.pem"); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("TLS key file: %v %v", fi, err)
	}
}

func TestNewerDatabaseIsRefused(t *testing.T) {
	dir := t.TempDir()
	run(t, "", "migrate", "--data", dir)
	s, err := storage.Open(context.Background(), dir, "")
	if err != nil {
		t.Fatal(err)
	}
	s.DB().Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', CURRENT_TIMESTAMP)`)
	s.Close()
	cmd := command("serve", "--data", dir, "--listen", "127.0.0.1:0")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "newer canhgac") {
		t.Fatalf("serve on a newer database: %v\n%s", err, out)
	}
}

// BenchmarkServeStartup measures how long canhgac serve takes from process
// start to its first /healthz answer on an existing SQLite data directory.
func BenchmarkServeStartup(b *testing.B) {
	dir := b.TempDir()
	run(b, "", "migrate", "--data", dir)
	for i := 0; i < b.N; i++ {
		p := start(b, "--data", dir)
		if resp, err := http.Get(p.url + "/healthz"); err != nil || resp.StatusCode != 200 {
			b.Fatalf("healthz: %v", err)
		}
		p.kill9(b)
	}
}

// help lists every subcommand, version prints the build version, and the
// user and token commands work on a data directory and on PostgreSQL.
func TestCLISubcommands(t *testing.T) {
	help := run(t, "", "help")
	for _, sub := range []string{"serve", "user", "token", "migrate", "version", "help"} {
		if !regexp.MustCompile(`(?m)^\s+` + sub + `\s`).MatchString(help) {
			t.Errorf("help does not list %s:\n%s", sub, help)
		}
	}
	if v := strings.TrimSpace(run(t, "", "version")); v == "" {
		t.Error("version printed nothing")
	}
	for _, b := range storagetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			dir, dbURL := b.URL(t)
			sargs := []string{"--data", dir}
			if dbURL != "" {
				sargs = append(sargs, "--db", dbURL)
			}
			// Bad input is refused with the reason, and nothing is written.
			cmd := command(append([]string{"user", "add", "--name", "xy", "--role", "boss", "--password-stdin"}, sargs...)...)
			cmd.Stdin = strings.NewReader("a long enough password\n")
			out, err := cmd.CombinedOutput()
			if err == nil || !strings.Contains(string(out), "role") {
				t.Fatalf("bad role accepted: %v %s", err, out)
			}
			cmd = command(append([]string{"user", "add", "--name", "can-bo", "--role", "officer", "--password-stdin"}, sargs...)...)
			cmd.Stdin = strings.NewReader("a long enough password\n")
			if out, err := cmd.CombinedOutput(); err == nil || !strings.Contains(string(out), "agency") {
				t.Fatalf("officer without agency accepted: %v %s", err, out)
			}
			// The first start creates the province's root agency (ID 1); the
			// CLI works beside the running server.
			p := start(t, sargs...)
			run(t, "a long enough password\n", append([]string{"user", "add", "--name", "can-bo", "--role", "officer", "--agency", "1", "--password-stdin"}, sargs...)...)
			if list := run(t, "", append([]string{"user", "list"}, sargs...)...); !strings.Contains(list, "can-bo") {
				t.Fatalf("user list:\n%s", list)
			}
			token := strings.TrimSpace(run(t, "", append([]string{"token", "create", "--user", "can-bo"}, sargs...)...))
			code, body, err := p.request("GET", "/api/v1/me", token, nil)
			if err != nil || code != 200 || !strings.Contains(string(body), `"can-bo"`) || !strings.Contains(string(body), `"scope":"/1/"`) {
				t.Fatalf("token from the CLI: %d %s %v", code, body, err)
			}
		})
	}
}
