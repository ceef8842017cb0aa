package agent_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"canhgac/internal/agent"
	"canhgac/internal/agent/spool"
	"canhgac/internal/alert"
	"canhgac/internal/api"
	"canhgac/internal/auth"
	"canhgac/internal/fleet"
	"canhgac/internal/httpd"
	"canhgac/internal/inventory"
	"canhgac/internal/model"
	"canhgac/internal/storage"
	"canhgac/internal/storage/storagetest"
)

var ctx = context.Background()

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

type server struct {
	ts          *httptest.Server
	fleet       *fleet.Service
	store       *storage.Store
	fingerprint string
	agency      model.Agency
}

// newServer is canhgac's real HTTP server with the agent channel, on a
// loopback TLS listener.
func newServer(t *testing.T, s *storage.Store) *server {
	return newServerWith(t, s, fleet.Config{Heartbeat: 5 * time.Second, LongPoll: 2 * time.Second}, nil)
}

func newServerWith(t *testing.T, s *storage.Store, cfg fleet.Config, connState func(net.Conn, http.ConnState)) *server {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httpd.New(httpd.Config{MaxBodyBytes: 1 << 20}, s, auth.New(s, auth.DefaultConfig()), log)
	alerts, err := alert.New(ctx, s, alert.DefaultConfig())
	must(t, err)
	fl, err := fleet.New(s, alerts, cfg, log)
	must(t, err)
	api.RegisterFleet(srv, fl)
	ts := httptest.NewUnstartedServer(srv.Handler())
	ts.Config.ConnState = connState
	ts.StartTLS()
	t.Cleanup(ts.Close)
	sum := sha256.Sum256(ts.Certificate().Raw)
	sv := &server{ts: ts, fleet: fl, store: s, fingerprint: hex.EncodeToString(sum[:])}
	sv.agency = model.Agency{Name: "Sở Y tế", Kind: model.AgencyProvince}
	must(t, s.CreateAgency(ctx, model.Actor{Scope: model.System}, &sv.agency))
	return sv
}

func (sv *server) token(t *testing.T, uses int) string {
	tok := fleet.EnrollmentToken{AgencyID: sv.agency.ID, MaxUses: uses}
	secret, err := sv.fleet.CreateToken(ctx, model.Actor{Scope: model.Scope{Role: model.RoleAdmin, Username: "admin"}}, &tok, time.Hour)
	must(t, err)
	return secret
}

var machine = fleet.EnrollRequest{MachineID: "0f1e2d3c4b5a69788796a5b4c3d2e1f0", Hostname: "may-chu-web", OSName: "Debian GNU/Linux", OSVersion: "12", Arch: "amd64"}

// Enrollment pins the server's certificate: a wrong pin is refused before
// the token is even sent, and the state file keeps the secret at 0600.
func TestEnrollPinsTheServer(t *testing.T) {
	sv := newServer(t, storagetest.Backends(t)[0].Open(t))
	tok := sv.token(t, 1)
	wrong := strings.Repeat("ab", 32)
	if _, err := agent.Enroll(ctx, agent.EnrollOptions{Server: sv.ts.URL, Token: tok, Fingerprint: wrong, Host: machine}); err == nil {
		t.Fatal("enrolled with a server whose certificate is not the pinned one")
	}
	// Not pinned and not trusted by the system roots: refused.
	if _, err := agent.Enroll(ctx, agent.EnrollOptions{Server: sv.ts.URL, Token: tok, Host: machine}); err == nil {
		t.Fatal("enrolled with an untrusted server")
	}
	if _, err := agent.Enroll(ctx, agent.EnrollOptions{Server: strings.Replace(sv.ts.URL, "https", "http", 1), Token: tok, Host: machine}); err == nil {
		t.Fatal("enrolled over plain HTTP")
	}
	st, err := agent.Enroll(ctx, agent.EnrollOptions{Server: sv.ts.URL, Token: tok, Fingerprint: strings.ToUpper(sv.fingerprint[:2]) + ":" + sv.fingerprint[2:], Host: machine})
	must(t, err)
	if st.Fingerprint != sv.fingerprint || st.AgentID == 0 || st.Secret == "" {
		t.Fatalf("state %+v", st)
	}
	path := filepath.Join(t.TempDir(), "agent.json")
	must(t, st.Save(path))
	info, err := os.Stat(path)
	must(t, err)
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("state file mode %v", info.Mode().Perm())
	}
	back, err := agent.LoadState(path)
	must(t, err)
	if *back != *st {
		t.Fatalf("state did not survive: %+v", back)
	}
	must(t, os.Chmod(path, 0o644))
	if _, err := agent.LoadState(path); err == nil {
		t.Fatal("a world-readable state file was used")
	}
}

// A running agent: heartbeats make it online; a signed task is run and its
// result stored; an unknown kind is refused; events emitted while running
// reach the server once; revocation stops the agent.
func TestAgentRuns(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		sv := newServer(t, s)
		st, err := agent.Enroll(ctx, agent.EnrollOptions{Server: sv.ts.URL, Token: sv.token(t, 1), Fingerprint: sv.fingerprint, Host: machine})
		must(t, err)
		c, err := agent.NewClient(st.Server, st.Fingerprint, st.Secret, nil, false)
		must(t, err)
		sp, err := spool.Open(t.TempDir(), spool.Options{})
		must(t, err)
		defer sp.Close()
		ran := make(chan json.RawMessage, 1)
		a := &agent.Agent{State: st, Client: c, Spool: sp, Version: "test", PollWait: 2 * time.Second,
			Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Tasks: map[string]agent.TaskFunc{fleet.TaskInventory: func(ctx context.Context, p json.RawMessage) (any, error) {
				ran <- p
				return map[string]int{"packages": 1500}, nil
			}}}
		for i := range 3 {
			must(t, a.Emit("fim.modified", map[string]any{"path": "/var/www/html/index.php", "n": i}))
		}
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- a.Run(runCtx) }()
		defer func() { stop(); <-done }()

		admin := model.Actor{Scope: model.Scope{Role: model.RoleAdmin, Username: "admin"}}
		task, err := sv.fleet.CreateTask(ctx, admin, st.AgentID, fleet.TaskInventory, json.RawMessage(`{"full":true}`), time.Minute)
		must(t, err)
		select {
		case p := <-ran:
			if string(p) != `{"full":true}` {
				t.Fatalf("payload %s", p)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("the agent did not run the task")
		}
		waitFor(t, func() bool {
			ts, _ := sv.fleet.Tasks(ctx, model.System, st.AgentID)
			return len(ts) == 1 && ts[0].ID == task.ID && ts[0].State == fleet.TaskDone && strings.Contains(string(ts[0].Result), "1500")
		})
		waitFor(t, func() bool {
			evs, _ := sv.fleet.Events(ctx, model.System, st.AgentID, 0, 100)
			return len(evs) == 3 && evs[2].Seq == 3 && sp.Stats().Pending == 0
		})
		ag, err := sv.fleet.Get(ctx, model.System, st.AgentID)
		must(t, err)
		if ag.Health != fleet.Online || ag.Version != "test" {
			t.Fatalf("agent after heartbeats: %+v", ag)
		}
		// A task row forged in the database (no valid signature) is refused,
		// not run.
		_, err = s.DB().ExecContext(ctx, s.Rebind(`INSERT INTO agent_tasks (agent_id, kind, payload, signature, state, created_by, created_at, deadline)
			VALUES (?, 'inventory.collect', '{"full":false}', ?, 'queued', 'attacker', ?, ?)`), st.AgentID, strings.Repeat("A", 86)+"==",
			time.Now().UTC(), time.Now().UTC().Add(time.Hour))
		must(t, err)
		waitFor(t, func() bool {
			ts, _ := sv.fleet.Tasks(ctx, model.System, st.AgentID)
			return len(ts) == 2 && ts[0].CreatedBy == "attacker" && ts[0].State == fleet.TaskFailed && strings.Contains(ts[0].Error, "refused")
		})
		select {
		case p := <-ran:
			t.Fatalf("the forged task ran with %s", p)
		default:
		}
		if a.Stats().TasksRejected != 1 {
			t.Fatalf("stats %+v", a.Stats())
		}
		// agent.config: a valid setting is applied, anything else refused.
		good, err := sv.fleet.CreateTask(ctx, admin, st.AgentID, fleet.TaskAgentConfig, json.RawMessage(`{"heartbeat_seconds":30}`), time.Minute)
		must(t, err)
		bad, err := sv.fleet.CreateTask(ctx, admin, st.AgentID, fleet.TaskAgentConfig, json.RawMessage(`{"heartbeat_seconds":30,"exec":"sh"}`), time.Minute)
		must(t, err)
		waitFor(t, func() bool {
			ts, _ := sv.fleet.Tasks(ctx, model.System, st.AgentID)
			states := map[int64]fleet.Task{}
			for _, x := range ts {
				states[x.ID] = x
			}
			return states[good.ID].State == fleet.TaskDone && states[bad.ID].State == fleet.TaskFailed && strings.Contains(states[bad.ID].Error, "unknown field")
		})
		must(t, sv.fleet.Revoke(ctx, admin, st.AgentID))
		select {
		case err := <-done:
			if !errors.Is(err, agent.ErrRevoked) {
				t.Fatalf("revoked agent stopped with %v", err)
			}
			done <- nil
		case <-time.After(30 * time.Second):
			t.Fatal("the revoked agent kept running")
		}
	})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 30 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The agent uploads its inventory in full once, then as deltas; the
// inventory.collect task sends an upgrade as a one-line change; a local
// copy that disagrees with the server's makes the agent resend in full.
func TestAgentInventoryDeltas(t *testing.T) {
	sv := newServer(t, storagetest.Backends(t)[0].Open(t))
	st, err := agent.Enroll(ctx, agent.EnrollOptions{Server: sv.ts.URL, Token: sv.token(t, 1), Fingerprint: sv.fingerprint, Host: machine})
	must(t, err)
	c, err := agent.NewClient(st.Server, st.Fingerprint, st.Secret, nil, false)
	must(t, err)
	pkgs := []inventory.Package{{Ecosystem: "deb", Name: "openssl", Arch: "amd64", Version: "3.0.11-1~deb12u2"}}
	for i := range 1499 {
		pkgs = append(pkgs, inventory.Package{Ecosystem: "deb", Name: fmt.Sprintf("pkg-%04d", i), Arch: "amd64", Version: "1.0-1"})
	}
	current := func(context.Context) (*inventory.Inventory, error) {
		return &inventory.Inventory{Host: inventory.Host{Hostname: "may-chu-web", OSName: "Debian GNU/Linux", Arch: "amd64"}, Packages: slices.Clone(pkgs)}, nil
	}
	a := &agent.Agent{State: st, Client: c, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), InventoryFile: filepath.Join(t.TempDir(), "sent.json")}
	task := a.InventoryTask(current)
	if res, err := task(ctx, nil); err != nil || res.(map[string]any)["changes"] != 1500 {
		t.Fatalf("first upload: %v %v", res, err)
	}
	pkgs[0].Version = "3.0.13-1~deb12u1"
	res, err := task(ctx, nil)
	if err != nil || res.(map[string]any)["changes"] != 1 {
		t.Fatalf("upgrade: %v %v", res, err)
	}
	ch, err := sv.fleet.Changes(ctx, model.System, st.AgentID, 10)
	must(t, err)
	if len(ch) != 1 || ch[0].Name != "openssl" || ch[0].NewVersion != "3.0.13-1~deb12u1" {
		t.Fatalf("history %+v", ch)
	}
	// The local copy is lost or wrong: the delta is refused and the full list sent.
	must(t, os.WriteFile(a.InventoryFile, []byte(`[{"ecosystem":"deb","name":"x","version":"1"}]`), 0o600))
	pkgs = pkgs[:1000]
	if _, err := task(ctx, nil); err != nil {
		t.Fatalf("resend after a refused delta: %v", err)
	}
	if ag, _ := sv.fleet.Get(ctx, model.System, st.AgentID); ag.Packages != 1000 {
		t.Fatalf("server holds %d packages, want 1000", ag.Packages)
	}
}

// With more agents than long-poll slots, the agent without a slot holds no
// connection between heartbeats, and still gets its task: the heartbeat's
// answer says one is queued and it polls for it.
func TestAgentWithoutPollSlot(t *testing.T) {
	var mu sync.Mutex
	open := map[net.Conn]bool{}
	sv := newServerWith(t, storagetest.Backends(t)[0].Open(t), fleet.Config{Heartbeat: 5 * time.Second, LongPoll: 3 * time.Second, PollSlots: 1},
		func(c net.Conn, st http.ConnState) {
			mu.Lock()
			defer mu.Unlock()
			if st == http.StateClosed || st == http.StateHijacked {
				delete(open, c)
			} else {
				open[c] = true
			}
		})
	openConns := func() int { mu.Lock(); defer mu.Unlock(); return len(open) }
	ran := make(chan int64, 4)
	var agents []*agent.Agent
	tok := sv.token(t, 2)
	for i := range 2 {
		m := machine
		m.MachineID, m.Hostname = fmt.Sprintf("%032x", i+1), fmt.Sprintf("may-%d", i)
		st, err := agent.Enroll(ctx, agent.EnrollOptions{Server: sv.ts.URL, Token: tok, Fingerprint: sv.fingerprint, Host: m})
		must(t, err)
		st.HeartbeatSeconds = 5
		c, err := agent.NewClient(st.Server, st.Fingerprint, st.Secret, nil, false)
		must(t, err)
		id := st.AgentID
		a := &agent.Agent{State: st, Client: c, Version: "test", PollWait: 3 * time.Second, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
			Tasks: map[string]agent.TaskFunc{fleet.TaskInventory: func(context.Context, json.RawMessage) (any, error) { ran <- id; return "ok", nil }}}
		agents = append(agents, a)
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- a.Run(runCtx) }()
		t.Cleanup(func() { stop(); <-done })
	}
	// Both have sent heartbeats; one holds the slot. Between heartbeats
	// neither keeps an idle connection: the one open is the held poll.
	waitFor(t, func() bool {
		return agents[0].Stats().Heartbeats >= 2 && agents[1].Stats().Heartbeats >= 2 && sv.fleet.HeldPolls() == 1
	})
	waitFor(t, func() bool { return openConns() <= 1 })
	admin := model.Actor{Scope: model.Scope{Role: model.RoleAdmin, Username: "admin"}}
	want := map[int64]bool{}
	for _, a := range agents {
		_, err := sv.fleet.CreateTask(ctx, admin, a.State.AgentID, fleet.TaskInventory, json.RawMessage(`{}`), time.Minute)
		must(t, err)
		want[a.State.AgentID] = true
	}
	deadline := time.After(30 * time.Second)
	for len(want) > 0 {
		select {
		case id := <-ran:
			delete(want, id)
		case <-deadline:
			t.Fatalf("agents %v never ran their task", want)
		}
	}
}
