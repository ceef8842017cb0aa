package cli

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"canhgac/internal/agent"
	"canhgac/internal/fleet"
	"canhgac/internal/inventory"
)

// benchAgents simulates a fleet against a canhgac server: it enrolls N
// agents with realistic inventories, then runs their heartbeats, task
// polls and inventory uploads, and reports the server's CPU and memory
// and the heartbeat latency. Without --server it starts its own server
// (a child process, so its figures are its own) and can kill it with
// SIGKILL and start it again to time the reconnect storm.
func benchAgents(env *Env, args []string) error {
	// Thousands of simulated agents make a big heap of long-lived
	// objects; collect less often (memory is plentiful, the cores are not).
	defer debug.SetGCPercent(debug.SetGCPercent(200))
	fs := newFlags(env, "bench agents")
	count := fs.Int("count", 1000, "how many agents to simulate")
	packages := fs.Int("packages", 1500, "packages in each agent's inventory")
	duration := fs.Duration("duration", 2*time.Minute, "how long to measure once every agent is enrolled and has sent its inventory")
	heartbeat := fs.Duration("heartbeat", time.Minute, "heartbeat interval the spawned server tells agents to use")
	server := fs.String("server", "", "an existing server's URL (default: start one, on SQLite or --db)")
	fingerprint := fs.String("server-fingerprint", "", "with --server: its certificate's SHA-256")
	token := fs.String("token", "", "with --server: an API token of an administrator")
	db := fs.String("db", "", "PostgreSQL URL for the spawned server (default: SQLite in a temp folder)")
	restart := fs.Bool("restart", false, "after measuring, kill the spawned server with SIGKILL, start it again and time until every agent is back")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	pollSlots := fs.Int("poll-slots", 0, "the spawned server's --agent-poll-slots (default: the server's default)")
	ramp := fs.Duration("ramp", 0, "agents start at random over this long (default: half a heartbeat); the simulator runs every agent on this machine's cores, so give 20,000 agents some minutes")
	profile := fs.String("profile", "", "folder to save the spawned server's heap and goroutine profiles in, taken at the end of the measurement (go tool pprof reads them)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *ramp <= 0 {
		*ramp = *heartbeat / 2
	}
	if *count < 1 || *count > 100000 {
		return usageError("--count must be 1 to 100000")
	}
	if *server != "" && (*token == "" || *fingerprint == "") {
		return usageError("--server needs --token and --server-fingerprint")
	}
	if *restart && *server != "" {
		return usageError("--restart works on the server bench agents starts itself")
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	var srv *childServer
	if *server == "" {
		var err error
		if srv, err = startChildServer(env, *db, *heartbeat, *profile != "", *pollSlots); err != nil {
			return err
		}
		defer srv.stop()
		*server, *fingerprint, *token = srv.url, srv.fingerprint, srv.token
	}
	api := &apiClient{base: *server, token: *token, hc: &http.Client{Timeout: time.Minute,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}} // the bench's own admin calls; agents pin
	root, err := api.rootAgency()
	if err != nil {
		return err
	}

	// Enroll.
	fmt.Fprintf(env.Stderr, "enrolling %d agents…\n", *count)
	var toks []string
	for left := *count; left > 0; left -= fleet.MaxTokenUses {
		t, err := api.enrollmentToken(root, min(left, fleet.MaxTokenUses))
		if err != nil {
			return err
		}
		toks = append(toks, t)
	}
	sims := make([]*agent.Agent, *count)
	enrollStart := time.Now()
	if err := parallel(32, *count, func(i int) error {
		host := fleet.EnrollRequest{MachineID: fmt.Sprintf("sim-%08d", i), Hostname: fmt.Sprintf("may-%05d", i), OSName: "Debian GNU/Linux", OSVersion: "12", Arch: "amd64", Version: "sim"}
		var st *agent.State
		var err error
		for try := 0; try < 20; try++ {
			if st, err = agent.Enroll(context.Background(), agent.EnrollOptions{Server: *server, Token: toks[i/fleet.MaxTokenUses], Fingerprint: *fingerprint, Host: host}); err == nil {
				break
			}
			time.Sleep(time.Duration(try+1) * 200 * time.Millisecond)
		}
		if err != nil {
			return fmt.Errorf("enroll agent %d: %w", i, err)
		}
		c, err := agent.NewClient(st.Server, st.Fingerprint, st.Secret, nil, false)
		if err != nil {
			return err
		}
		inv := simInventory(i, *packages)
		sims[i] = &agent.Agent{State: st, Client: c, Version: "sim", Log: log, PollWait: 30 * time.Second, InventoryEvery: 24 * time.Hour,
			Inventory: func(context.Context) (*inventory.Inventory, error) { return inv, nil }}
		return nil
	}); err != nil {
		return err
	}
	enrollTook := time.Since(enrollStart)

	// Run them, with heartbeat latencies recorded.
	var stats hbStats
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	// After a restart, which agents have had a heartbeat through.
	var restarted atomic.Bool
	var backMu sync.Mutex
	back := map[int]bool{}
	for i, a := range sims {
		a.OnHeartbeat = func(d time.Duration, err error) {
			stats.observe(d, err)
			if err == nil && restarted.Load() {
				backMu.Lock()
				back[i] = true
				backMu.Unlock()
			}
		}
		// Agents start over the ramp, as after a rollout.
		a.StartDelay = time.Duration(rand.Int64N(int64(*ramp) + 1))
		wg.Add(1)
		go func() { defer wg.Done(); a.Run(ctx) }()
	}
	defer func() { cancel(); wg.Wait() }()
	fmt.Fprintf(env.Stderr, "waiting for every inventory (%d packages each)…\n", *packages)
	invStart := time.Now()
	for api.agentsWithInventory(*packages) < *count {
		if time.Since(invStart) > 30*time.Minute {
			return errors.New("inventories did not all arrive within 30 minutes")
		}
		time.Sleep(2 * time.Second)
	}
	invTook := time.Since(invStart)

	fmt.Fprintf(env.Stderr, "measuring for %s…\n", *duration)
	stats.reset()
	var cpu0 float64
	if srv != nil {
		cpu0 = srv.cpuSeconds()
		srv.resetPeak()
	}
	mStart := time.Now()
	time.Sleep(*duration)
	res := map[string]any{"agents": *count, "packages_each": *packages, "heartbeat": heartbeat.String(), "ramp": ramp.String(), "enroll_seconds": enrollTook.Seconds(),
		"inventory_seconds": invTook.Seconds(), "measured_seconds": time.Since(mStart).Seconds()}
	stats.report(res, "heartbeat")
	if srv != nil {
		res["server_cpu_cores"] = (srv.cpuSeconds() - cpu0) / time.Since(mStart).Seconds()
		res["server_rss_mb"], res["server_peak_rss_mb"] = srv.rssMB()
		res["server_open_files"] = srv.openFiles()
		res["backend"] = map[bool]string{true: "postgres", false: "sqlite"}[*db != ""]
		if *profile != "" {
			if err := srv.saveProfiles(*profile); err != nil {
				return err
			}
		}
	}

	if *restart {
		fmt.Fprintf(env.Stderr, "killing the server with SIGKILL and starting it again…\n")
		srv.kill()
		down := time.Now()
		time.Sleep(2 * time.Second)
		if err := srv.start(); err != nil {
			return err
		}
		stats.reset()
		restarted.Store(true)
		for {
			backMu.Lock()
			n := len(back)
			backMu.Unlock()
			if n == *count {
				break
			}
			if time.Since(down) > 10*time.Minute {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
		backMu.Lock()
		res["restart_recovered_agents"] = len(back)
		backMu.Unlock()
		res["restart_recovery_seconds"] = time.Since(down).Seconds()
		stats.report(res, "restart_heartbeat")
		res["server_rss_mb_after_restart"], _ = srv.rssMB()
	}
	if *asJSON {
		return json.NewEncoder(env.Stdout).Encode(res)
	}
	keys := make([]string, 0, len(res))
	for k := range res {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(env.Stdout, "%-32s %v\n", k, res[k])
	}
	return nil
}

// simInventory is a realistic Debian inventory for simulated agent i: the
// same base system everywhere, a few hundred packages that differ (four
// variants, so a fleet of 20,000 does not need 20,000 lists in memory;
// the server sees each agent's own upload all the same).
func simInventory(i, n int) *inventory.Inventory {
	return &inventory.Inventory{Host: inventory.Host{Hostname: fmt.Sprintf("may-%05d", i), OSName: "Debian GNU/Linux", OSVersion: "12 (bookworm)", Arch: "amd64"},
		Packages: simPackages(i%4, n), CollectedAt: time.Now().UTC()}
}

var simLists sync.Map // [2]int{variant, n} → []inventory.Package

func simPackages(variant, n int) []inventory.Package {
	if v, ok := simLists.Load([2]int{variant, n}); ok {
		return v.([]inventory.Package)
	}
	pkgs := make([]inventory.Package, 0, n)
	for j := 0; j < n; j++ {
		name := fmt.Sprintf("lib%s%d", []string{"ssl", "xml", "gtk", "python3-", "perl-", "x11-", "boost-", "qt6-"}[j%8], j)
		v := fmt.Sprintf("%d.%d.%d-%d+deb12u%d", j%7, j%13, j%29, 1+j%3, (variant+j)%4)
		if j%5 != 0 { // most packages are the same on every machine
			v = fmt.Sprintf("%d.%d.%d-%d", j%7, j%13, j%29, 1+j%3)
		}
		pkgs = append(pkgs, inventory.Package{Ecosystem: "deb", Name: name, Arch: "amd64", Version: v, SourceName: fmt.Sprintf("src%d", j/3), SourceVersion: v})
	}
	inventory.SortPackages(pkgs)
	v, _ := simLists.LoadOrStore([2]int{variant, n}, pkgs)
	return v.([]inventory.Package)
}

// parallel runs fn(0..n-1) on k workers and returns the first error.
func parallel(k, n int, fn func(i int) error) error {
	var next atomic.Int64
	var first error
	var once sync.Once
	var wg sync.WaitGroup
	for w := 0; w < k; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					once.Do(func() { first = err })
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// hbStats collects heartbeat latencies and errors.
type hbStats struct {
	mu     sync.Mutex
	took   []time.Duration
	errors int
	busy   int
}

func (s *hbStats) observe(d time.Duration, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		var ae *agent.APIError
		if errors.As(err, &ae) && ae.Status == http.StatusServiceUnavailable {
			s.busy++
		} else {
			s.errors++
		}
		return
	}
	s.took = append(s.took, d)
}

func (s *hbStats) reset() {
	s.mu.Lock()
	s.took, s.errors, s.busy = nil, 0, 0
	s.mu.Unlock()
}

func (s *hbStats) report(res map[string]any, prefix string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := slices.Clone(s.took)
	slices.Sort(t)
	q := func(f float64) string {
		if len(t) == 0 {
			return "-"
		}
		return t[min(len(t)-1, int(f*float64(len(t))))].Round(100 * time.Microsecond).String()
	}
	res[prefix+"s"] = len(t)
	res[prefix+"_p50"], res[prefix+"_p99"], res[prefix+"_max"] = q(0.5), q(0.99), q(1)
	res[prefix+"_errors"], res[prefix+"_busy_503"] = s.errors, s.busy
}

// apiClient makes the bench's administrative calls.
type apiClient struct {
	base, token string
	hc          *http.Client
}

func (c *apiClient) do(method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

func (c *apiClient) rootAgency() (int64, error) {
	var page struct {
		Items []struct {
			ID       int64  `json:"id"`
			ParentID *int64 `json:"parent_id"`
		} `json:"items"`
	}
	if err := c.do("GET", "/api/v1/agencies", nil, &page); err != nil {
		return 0, err
	}
	for _, a := range page.Items {
		if a.ParentID == nil {
			return a.ID, nil
		}
	}
	return 0, errors.New("the server has no root agency")
}

func (c *apiClient) enrollmentToken(agency int64, uses int) (string, error) {
	var out struct{ Token string }
	err := c.do("POST", "/api/v1/enrollment-tokens", map[string]any{"agency_id": agency, "name": "bench", "max_uses": uses, "expires_in_seconds": 86400}, &out)
	return out.Token, err
}

// agentsWithInventory counts agents whose inventory has arrived.
func (c *apiClient) agentsWithInventory(packages int) int {
	var page struct {
		Items []struct {
			Packages int `json:"packages"`
		} `json:"items"`
	}
	if c.do("GET", "/api/v1/agents", nil, &page) != nil {
		return 0
	}
	n := 0
	for _, a := range page.Items {
		if a.Packages == packages {
			n++
		}
	}
	return n
}

// childServer is a canhgac server the bench started.
type childServer struct {
	env                     *Env
	dir, db, listen         string
	url, fingerprint, token string
	heartbeat               time.Duration
	cmd                     *exec.Cmd
	done                    chan struct{}
	debug                   string // the profiler's address, when profiling
	pollSlots               int
}

func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// saveProfiles writes the server's heap and goroutine profiles to dir.
func (s *childServer) saveProfiles(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, name := range []string{"heap", "goroutine"} {
		resp, err := http.Get("http://" + s.debug + "/debug/pprof/" + name)
		if err != nil {
			return fmt.Errorf("profile %s: %w", name, err)
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("profile %s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".pb.gz"), data, 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(s.env.Stderr, "profiles saved in %s (go tool pprof %s)\n", dir, filepath.Join(dir, "heap.pb.gz"))
	return nil
}

func startChildServer(env *Env, db string, heartbeat time.Duration, debug bool, pollSlots int) (*childServer, error) {
	dir, err := os.MkdirTemp("", "canhgac-bench-agents-")
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	listen := ln.Addr().String()
	ln.Close()
	s := &childServer{env: env, dir: dir, db: db, listen: listen, heartbeat: heartbeat, pollSlots: pollSlots}
	if debug {
		if s.debug, err = freeLoopbackAddr(); err != nil {
			return nil, err
		}
	}
	sargs := []string{"--data", dir}
	if db != "" {
		sargs = append(sargs, "--db", db)
	}
	if _, err := s.run("a long enough password\n", append([]string{"user", "add", "--name", "bench", "--role", "admin", "--password-stdin"}, sargs...)...); err != nil {
		return nil, err
	}
	out, err := s.run("", append([]string{"token", "create", "--user", "bench"}, sargs...)...)
	if err != nil {
		return nil, err
	}
	s.token = strings.TrimSpace(out)
	return s, s.start()
}

func (s *childServer) command(args ...string) *exec.Cmd {
	exe, _ := os.Executable()
	cmd := exec.Command(exe, args...)
	// The test binary doubles as canhgac when this is set; canhgac ignores it.
	cmd.Env = append(os.Environ(), "CANHGAC_TEST_AS_MAIN=1")
	return cmd
}

func (s *childServer) run(stdin string, args ...string) (string, error) {
	cmd := s.command(args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return "", fmt.Errorf("canhgac %s: %v: %s", args[0], err, ee.Stderr)
		}
		return "", err
	}
	return string(out), nil
}

var (
	childURL = regexp.MustCompile(`running at (https://\S+)/`)
	childFP  = regexp.MustCompile(`SHA-256 fingerprint: ([0-9A-F:]{95})`)
)

func (s *childServer) start() error {
	args := []string{"serve", "--data", s.dir, "--tls-auto", "--listen", s.listen, "--rate", "0", "--agent-heartbeat", s.heartbeat.String(), "--chromium", "none"}
	if s.db != "" {
		args = append(args, "--db", s.db)
	}
	if s.debug != "" {
		args = append(args, "--debug-listen", s.debug)
	}
	if s.pollSlots > 0 {
		args = append(args, "--agent-poll-slots", strconv.Itoa(s.pollSlots))
	}
	s.cmd = s.command(args...)
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		return err
	}
	// The server's log goes to a file, not a pipe: a pipe the busy bench
	// drains late would make the server wait on its own logging.
	logf, err := os.OpenFile(filepath.Join(s.dir, "serve.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	s.cmd.Stderr = logf
	if err := s.cmd.Start(); err != nil {
		logf.Close()
		return err
	}
	logf.Close() // the child has its own copy
	s.done = make(chan struct{})
	go func() { s.cmd.Wait(); close(s.done) }()
	found := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := childFP.FindStringSubmatch(sc.Text()); m != nil {
				s.fingerprint = m[1]
			}
			if m := childURL.FindStringSubmatch(sc.Text()); m != nil {
				s.url = m[1]
				found <- nil
			}
		}
		found <- errors.New("the server exited before listening")
	}()
	select {
	case err := <-found:
		return err
	case <-time.After(2 * time.Minute):
		return errors.New("the server did not start within 2 minutes")
	}
}

func (s *childServer) kill() {
	s.cmd.Process.Kill() // SIGKILL: no chance to clean up
	<-s.done
}

func (s *childServer) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Signal(os.Interrupt)
		select {
		case <-s.done:
		case <-time.After(30 * time.Second):
			s.kill()
		}
	}
	os.RemoveAll(s.dir)
}

// cpuSeconds is the server's CPU time so far (Linux /proc).
func (s *childServer) cpuSeconds() float64 {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(s.cmd.Process.Pid), "stat"))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ
}

// rssMB is the server's resident and peak resident memory.
func (s *childServer) rssMB() (rss, peak float64) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(s.cmd.Process.Pid), "status"))
	if err != nil {
		return 0, 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 {
			kb, _ := strconv.ParseFloat(f[1], 64)
			switch f[0] {
			case "VmRSS:":
				rss = kb / 1024
			case "VmHWM:":
				peak = kb / 1024
			}
		}
	}
	return rss, peak
}

// openFiles counts the server's open file descriptors (its connections,
// mostly); -1 where /proc does not tell.
func (s *childServer) openFiles() int {
	ents, err := os.ReadDir(filepath.Join("/proc", strconv.Itoa(s.cmd.Process.Pid), "fd"))
	if err != nil {
		return -1
	}
	return len(ents)
}

// resetPeak restarts the kernel's peak-RSS count, so the peak covers the
// measured period (Linux: writing 5 to clear_refs).
func (s *childServer) resetPeak() {
	os.WriteFile(filepath.Join("/proc", strconv.Itoa(s.cmd.Process.Pid), "clear_refs"), []byte("5"), 0)
}
