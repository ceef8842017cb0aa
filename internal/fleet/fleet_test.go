package fleet_test

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"canhgac/internal/alert"
	"canhgac/internal/fleet"
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

type env struct {
	store        *storage.Store
	alerts       *alert.Service
	svc          *fleet.Service
	deptA, deptB model.Agency
	admin        model.Actor
	officerA     model.Actor
}

func newEnv(t testing.TB, s *storage.Store, cfg fleet.Config) *env {
	e := &env{store: s, admin: model.Actor{Scope: model.Scope{Role: model.RoleAdmin, Username: "admin"}}}
	sys := model.Actor{Scope: model.System}
	root := model.Agency{Name: "Sở TTTT", Kind: model.AgencyProvince}
	must(t, s.CreateAgency(ctx, sys, &root))
	e.deptA = model.Agency{Name: "Sở Y tế", Kind: model.AgencyDepartment, ParentID: &root.ID}
	e.deptB = model.Agency{Name: "Sở Tài chính", Kind: model.AgencyDepartment, ParentID: &root.ID}
	must(t, s.CreateAgency(ctx, sys, &e.deptA))
	must(t, s.CreateAgency(ctx, sys, &e.deptB))
	a, err := s.GetAgency(ctx, model.System, e.deptA.ID)
	must(t, err)
	e.officerA = model.Actor{Scope: model.Scope{Role: model.RoleOfficer, Username: "can-bo-a", AgencyPath: a.Path}}
	e.alerts, err = alert.New(ctx, s, alert.DefaultConfig())
	must(t, err)
	e.svc, err = fleet.New(s, e.alerts, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	must(t, err)
	return e
}

func (e *env) token(t testing.TB, actor model.Actor, agency model.Agency, uses int) string {
	t.Helper()
	tok := fleet.EnrollmentToken{AgencyID: agency.ID, Name: "đợt 1", MaxUses: uses}
	secret, err := e.svc.CreateToken(ctx, actor, &tok, time.Hour)
	must(t, err)
	return secret
}

func host(token, machine, name string) fleet.EnrollRequest {
	return fleet.EnrollRequest{Token: token, MachineID: machine, Hostname: name, OSName: "Debian GNU/Linux", OSVersion: "12", Arch: "amd64", Version: "0.1"}
}

// Tokens enroll as many machines as they allow and no more; each machine
// becomes an asset of the token's agency; the same machine enrolling again
// replaces its agent and keeps its asset; a revoked secret gets nothing.
func TestEnrollment(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		e := newEnv(t, s, fleet.Config{})
		tok := e.token(t, e.officerA, e.deptA, 2)
		one, err := e.svc.Enroll(ctx, host(tok, "m-1", "may-chu-web"), "10.0.0.5")
		must(t, err)
		if one.AgencyID != e.deptA.ID || one.AssetID == 0 || !strings.HasPrefix(one.Secret, fleet.SecretPrefix) {
			t.Fatalf("enrollment %+v", one)
		}
		asset, err := s.GetAsset(ctx, model.System, one.AssetID)
		must(t, err)
		if asset.Name != "may-chu-web" || asset.Kind != model.AssetServer || asset.AgencyID != e.deptA.ID {
			t.Fatalf("asset %+v", asset)
		}
		// Same machine again: replaces, same asset.
		again, err := e.svc.Enroll(ctx, host(tok, "m-1", "may-chu-web"), "10.0.0.5")
		must(t, err)
		if again.Replaced != one.AgentID || again.AssetID != one.AssetID {
			t.Fatalf("re-enrollment %+v", again)
		}
		if _, err := e.svc.Authenticate(ctx, one.Secret); !errors.Is(err, model.ErrUnauthenticated) {
			t.Fatalf("the replaced agent's secret still works: %v", err)
		}
		if _, err := e.svc.Enroll(ctx, host(tok, "m-2", "may-tram"), ""); !errors.Is(err, model.ErrUnauthenticated) {
			t.Fatalf("a two-use token enrolled a third machine: %v", err)
		}
		for _, bad := range []string{"", "cge_nonsense", strings.Repeat("x", 300)} {
			if _, err := e.svc.Enroll(ctx, host(bad, "m-3", "h"), ""); !errors.Is(err, model.ErrUnauthenticated) {
				t.Fatalf("token %q: %v", bad, err)
			}
		}
		var ve *model.ValidationError
		if _, err := e.svc.Enroll(ctx, host(e.token(t, e.admin, e.deptA, 1), "", "h"), ""); !errors.As(err, &ve) || ve.Field != "machine_id" {
			t.Fatalf("missing machine id: %v", err)
		}
		// Expired and revoked tokens.
		s.SetClock(func() time.Time { return time.Now().Add(2 * time.Hour) })
		if _, err := e.svc.Enroll(ctx, host(e.token(t, e.admin, e.deptA, 5), "m-4", "h4"), ""); err != nil {
			t.Fatalf("fresh token: %v", err)
		}
		s.SetClock(time.Now)
		expired := e.token(t, e.admin, e.deptA, 5)
		s.SetClock(func() time.Time { return time.Now().Add(2 * time.Hour) })
		if _, err := e.svc.Enroll(ctx, host(expired, "m-5", "h5"), ""); !errors.Is(err, model.ErrUnauthenticated) {
			t.Fatalf("expired token: %v", err)
		}
		s.SetClock(time.Now)
		revoked := fleet.EnrollmentToken{AgencyID: e.deptA.ID, MaxUses: 5}
		sec, err := e.svc.CreateToken(ctx, e.officerA, &revoked, time.Hour)
		must(t, err)
		must(t, e.svc.RevokeToken(ctx, e.officerA, revoked.ID))
		if _, err := e.svc.Enroll(ctx, host(sec, "m-6", "h6"), ""); !errors.Is(err, model.ErrUnauthenticated) {
			t.Fatalf("revoked token: %v", err)
		}

		// Revoking an agent cuts it off at once; audited.
		a, err := e.svc.Authenticate(ctx, again.Secret)
		must(t, err)
		must(t, e.svc.Revoke(ctx, e.officerA, a.ID))
		if _, err := e.svc.Authenticate(ctx, again.Secret); !errors.Is(err, model.ErrUnauthenticated) {
			t.Fatalf("revoked agent authenticated: %v", err)
		}
		for _, action := range []string{"enroll", "revoke"} {
			if p, _ := s.ListAudit(ctx, model.System, storage.AuditFilter{Action: action, ResourceType: "agent"}); p.Total == 0 {
				t.Fatalf("%s not audited", action)
			}
		}
	})
}

// An officer sees and manages only their agency's tokens and agents.
func TestFleetScope(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		e := newEnv(t, s, fleet.Config{})
		var ve *model.ValidationError
		if _, err := e.svc.CreateToken(ctx, e.officerA, &fleet.EnrollmentToken{AgencyID: e.deptB.ID}, time.Hour); !errors.As(err, &ve) || ve.Field != "agency_id" {
			t.Fatalf("officer issuing a token for another agency: %v", err)
		}
		theirTok := fleet.EnrollmentToken{AgencyID: e.deptB.ID}
		sec, err := e.svc.CreateToken(ctx, e.admin, &theirTok, time.Hour)
		must(t, err)
		theirs, err := e.svc.Enroll(ctx, host(sec, "b-1", "kho-bac"), "")
		must(t, err)
		mine, err := e.svc.Enroll(ctx, host(e.token(t, e.officerA, e.deptA, 1), "a-1", "tram-y-te"), "")
		must(t, err)
		list, err := e.svc.List(ctx, e.officerA.Scope, fleet.Filter{})
		must(t, err)
		if len(list) != 1 || list[0].ID != mine.AgentID {
			t.Fatalf("officer's agents: %+v", list)
		}
		if toks, _ := e.svc.ListTokens(ctx, e.officerA.Scope); len(toks) != 1 || toks[0].AgencyID != e.deptA.ID {
			t.Fatalf("officer's tokens: %+v", toks)
		}
		if _, err := e.svc.Get(ctx, e.officerA.Scope, theirs.AgentID); !errors.Is(err, model.ErrNotFound) {
			t.Fatalf("officer reads another agency's agent: %v", err)
		}
		if err := e.svc.Revoke(ctx, e.officerA, theirs.AgentID); !errors.Is(err, model.ErrNotFound) {
			t.Fatalf("officer revokes another agency's agent: %v", err)
		}
		if err := e.svc.RevokeToken(ctx, e.officerA, theirTok.ID); !errors.Is(err, model.ErrNotFound) {
			t.Fatalf("officer revokes another agency's token: %v", err)
		}
		if _, err := e.svc.CreateTask(ctx, e.officerA, theirs.AgentID, fleet.TaskInventory, nil, time.Minute); !errors.Is(err, model.ErrNotFound) {
			t.Fatalf("officer tasks another agency's agent: %v", err)
		}
		viewer := model.Actor{Scope: model.Scope{Role: model.RoleViewer, Username: "xem"}}
		if _, err := e.svc.CreateTask(ctx, viewer, mine.AgentID, fleet.TaskInventory, nil, time.Minute); !errors.Is(err, model.ErrForbidden) {
			t.Fatalf("viewer created a task: %v", err)
		}
	})
}

// Events land exactly once however often a batch is resent.
func TestIngestIsIdempotent(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		e := newEnv(t, s, fleet.Config{})
		en, err := e.svc.Enroll(ctx, host(e.token(t, e.admin, e.deptA, 1), "m", "h"), "")
		must(t, err)
		a, err := e.svc.Authenticate(ctx, en.Secret)
		must(t, err)
		batch := func(from, to uint64) []fleet.Event {
			var out []fleet.Event
			for i := from; i <= to; i++ {
				out = append(out, fleet.Event{Seq: i, Kind: "fim.modified", Data: json.RawMessage(`{"path":"/var/www/index.html"}`)})
			}
			return out
		}
		if n, err := e.svc.Ingest(ctx, a, batch(1, 10)); err != nil || n != 10 {
			t.Fatalf("first batch: %d %v", n, err)
		}
		if n, err := e.svc.Ingest(ctx, a, batch(5, 15)); err != nil || n != 5 {
			t.Fatalf("overlapping resend stored %d (want 5): %v", n, err)
		}
		evs, err := e.svc.Events(ctx, model.System, a.ID, 0, 1000)
		must(t, err)
		if len(evs) != 15 || evs[0].Seq != 1 || evs[14].Seq != 15 {
			t.Fatalf("stored %d events", len(evs))
		}
		var ve *model.ValidationError
		for _, bad := range [][]fleet.Event{{{Seq: 0, Kind: "x"}}, {{Seq: 1, Kind: ""}}, {{Seq: 1, Kind: "x", Data: json.RawMessage("{")}}, batch(1, fleet.MaxEventBatch+1)} {
			if _, err := e.svc.Ingest(ctx, a, bad); !errors.As(err, &ve) {
				t.Fatalf("bad batch accepted: %v", err)
			}
		}
	})
}

// Tasks are signed for one agent; a poll waits for a task and returns as
// soon as one is created; a tampered task fails verification; results go
// only to the agent the task was for.
func TestSignedTasksByLongPoll(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		e := newEnv(t, s, fleet.Config{LongPoll: 20 * time.Second})
		en, err := e.svc.Enroll(ctx, host(e.token(t, e.admin, e.deptA, 2), "m", "h"), "")
		must(t, err)
		other, err := e.svc.Enroll(ctx, host(e.token(t, e.admin, e.deptA, 1), "m2", "h2"), "")
		must(t, err)
		a, _ := e.svc.Authenticate(ctx, en.Secret)
		b, _ := e.svc.Authenticate(ctx, other.Secret)
		raw, _ := base64.StdEncoding.DecodeString(en.TaskKey)
		key := ed25519.PublicKey(raw)

		got := make(chan []fleet.Task, 1)
		go func() {
			ts, err := e.svc.Poll(ctx, a, 20*time.Second)
			if err != nil {
				t.Error(err)
			}
			got <- ts
		}()
		// Give the poll a moment to start waiting; correctness does not
		// depend on it (a task created first is returned at once).
		time.Sleep(50 * time.Millisecond)
		task, err := e.svc.CreateTask(ctx, e.officerA, a.ID, fleet.TaskInventory, json.RawMessage(`{"full":true}`), time.Minute)
		must(t, err)
		ts := <-got
		if len(ts) != 1 || ts[0].ID != task.ID {
			t.Fatalf("poll returned %+v", ts)
		}
		if err := ts[0].Verify(key); err != nil {
			t.Fatalf("genuine task: %v", err)
		}
		for _, tamper := range []func(*fleet.Task){
			func(x *fleet.Task) { x.Kind = fleet.TaskAgentConfig },
			func(x *fleet.Task) { x.Payload = json.RawMessage(`{"full":false}`) },
			func(x *fleet.Task) { x.AgentID = b.ID },
			func(x *fleet.Task) { x.Deadline = x.Deadline.Add(time.Hour) },
		} {
			x := ts[0]
			tamper(&x)
			if x.Verify(key) == nil {
				t.Fatalf("tampered task verified: %+v", x)
			}
		}
		// The task is sent once.
		if again, _ := e.svc.Poll(ctx, a, 0); len(again) != 0 {
			t.Fatalf("task delivered twice: %+v", again)
		}
		if err := e.svc.Complete(ctx, b, task.ID, json.RawMessage(`{}`), ""); !errors.Is(err, model.ErrNotFound) {
			t.Fatalf("another agent completed the task: %v", err)
		}
		must(t, e.svc.Complete(ctx, a, task.ID, json.RawMessage(`{"packages":1500}`), ""))
		list, err := e.svc.Tasks(ctx, model.System, a.ID)
		must(t, err)
		if len(list) != 1 || list[0].State != fleet.TaskDone || string(list[0].Result) != `{"packages":1500}` {
			t.Fatalf("task after completion: %+v", list)
		}
		var ve *model.ValidationError
		if _, err := e.svc.CreateTask(ctx, e.admin, a.ID, "shell.exec", json.RawMessage(`{"cmd":"rm -rf /"}`), time.Minute); !errors.As(err, &ve) || ve.Field != "kind" {
			t.Fatalf("arbitrary task kind accepted: %v", err)
		}
		// Revoking ends a waiting poll.
		done := make(chan error, 1)
		go func() { _, err := e.svc.Poll(ctx, a, 20*time.Second); done <- err }()
		time.Sleep(50 * time.Millisecond)
		must(t, e.svc.Revoke(ctx, e.admin, a.ID))
		if err := <-done; !errors.Is(err, model.ErrUnauthenticated) {
			t.Fatalf("poll of a revoked agent: %v", err)
		}
	})
}

// Health follows heartbeats; an agent that stops raises agent_offline, and
// coming back resolves it.
func TestHealthAndOfflineAlert(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		e := newEnv(t, s, fleet.Config{Heartbeat: time.Minute})
		en, err := e.svc.Enroll(ctx, host(e.token(t, e.admin, e.deptA, 1), "m", "may-chu"), "")
		must(t, err)
		a, _ := e.svc.Authenticate(ctx, en.Secret)
		if _, err := e.svc.Heartbeat(ctx, a, json.RawMessage(`{"queue":0,"dropped":0}`), "0.2", "10.0.0.9"); err != nil {
			t.Fatal(err)
		}
		got, _ := e.svc.Get(ctx, model.System, a.ID)
		if got.Health != fleet.Online || got.Version != "0.2" || got.LastIP != "10.0.0.9" {
			t.Fatalf("after a heartbeat: %+v", got)
		}
		base := time.Now()
		s.SetClock(func() time.Time { return base.Add(3 * time.Minute) })
		if got, _ := e.svc.Get(ctx, model.System, a.ID); got.Health != fleet.Late {
			t.Fatalf("3 min silent: %s", got.Health)
		}
		s.SetClock(func() time.Time { return base.Add(10 * time.Minute) })
		must(t, e.svc.Sweep(ctx))
		p, _ := e.alerts.List(ctx, model.System, alert.Filter{Kind: "fleet.agent_offline", States: []alert.State{alert.StateOpen}})
		if p.Total != 1 || p.Items[0].AgencyName != "Sở Y tế" {
			t.Fatalf("offline alert: %+v", p.Items)
		}
		if _, err := e.svc.Heartbeat(ctx, a, nil, "", ""); err != nil {
			t.Fatal(err)
		}
		must(t, e.svc.Sweep(ctx))
		p, _ = e.alerts.List(ctx, model.System, alert.Filter{Kind: "fleet.agent_offline", States: []alert.State{alert.StateOpen}})
		if p.Total != 0 {
			t.Fatal("the agent came back but the alert stayed open")
		}
		var ve *model.ValidationError
		if _, err := e.svc.Heartbeat(ctx, a, json.RawMessage(strings.Repeat(" ", fleet.MaxStatus+1)), "", ""); !errors.As(err, &ve) {
			t.Fatalf("oversized status: %v", err)
		}
	})
}

// The task-signing key survives a restart, is private to its owner, and a
// damaged key file is refused rather than replaced.
func TestSigningKeyFile(t *testing.T) {
	s := storagetest.Backends(t)[0].Open(t)
	path := filepath.Join(t.TempDir(), "keys", "task-signing.key")
	one, err := fleet.New(s, nil, fleet.Config{KeyFile: path}, nil)
	must(t, err)
	two, err := fleet.New(s, nil, fleet.Config{KeyFile: path}, nil)
	must(t, err)
	if !one.PublicKey().Equal(two.PublicKey()) {
		t.Fatal("the key changed across restarts")
	}
	st, err := os.Stat(path)
	must(t, err)
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v", st.Mode().Perm())
	}
	must(t, os.WriteFile(path, []byte("garbage"), 0o600))
	if _, err := fleet.New(s, nil, fleet.Config{KeyFile: path}, nil); err == nil {
		t.Fatal("a damaged key file was accepted")
	}
}

// Admission control: with every work slot taken, the next agent request is
// turned away (ErrBusy, counted) instead of queueing without bound; a
// freed slot admits again.
func TestAdmissionControl(t *testing.T) {
	e := newEnv(t, storagetest.Backends(t)[0].Open(t), fleet.Config{MaxInFlight: 2})
	r1, err := e.svc.Admit(ctx)
	must(t, err)
	r2, err := e.svc.Admit(ctx)
	must(t, err)
	if _, err := e.svc.Admit(ctx); !errors.Is(err, fleet.ErrBusy) || e.svc.Shed() != 1 {
		t.Fatalf("third request with two slots: %v (shed %d)", err, e.svc.Shed())
	}
	r1()
	r3, err := e.svc.Admit(ctx)
	must(t, err)
	r2()
	r3()
}

// Only so many requests may wait for a slot (each waiting one holds a
// connection): with the slot taken and the waiting room full (4 per
// slot), the next is turned away at once, while the waiting ones still
// get the slot as it frees.
func TestAdmissionWaitingIsBounded(t *testing.T) {
	e := newEnv(t, storagetest.Backends(t)[0].Open(t), fleet.Config{MaxInFlight: 1})
	hold, err := e.svc.Admit(ctx)
	must(t, err)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	admitted := make(chan error, 4)
	for range 4 {
		go func() {
			r, err := e.svc.Admit(wctx)
			if err == nil {
				r()
			}
			admitted <- err
		}()
	}
	// Once all four wait, a fifth is turned away at once, while the four
	// are still waiting.
	deadline := time.Now().Add(10 * time.Second)
	for e.svc.Waiting() < 4 {
		if time.Now().After(deadline) {
			t.Fatal("the waiting room never filled")
		}
		time.Sleep(time.Millisecond)
	}
	if _, err := e.svc.Admit(ctx); !errors.Is(err, fleet.ErrBusy) || len(admitted) != 0 {
		t.Fatalf("fifth request with four waiting: %v (%d done waiting)", err, len(admitted))
	}
	hold()
	for range 4 {
		if err := <-admitted; err != nil && !errors.Is(err, fleet.ErrBusy) {
			t.Fatal(err)
		}
	}
}

// Heartbeats are written in batches, yet reads see the latest at once, and
// a flush makes them durable.
func TestHeartbeatsAreBatched(t *testing.T) {
	s := storagetest.Backends(t)[0].Open(t)
	e := newEnv(t, s, fleet.Config{})
	en, err := e.svc.Enroll(ctx, host(e.token(t, e.admin, e.deptA, 1), "m", "h"), "")
	must(t, err)
	a, _ := e.svc.Authenticate(ctx, en.Secret)
	_, err = e.svc.Heartbeat(ctx, a, json.RawMessage(`{"queue":7}`), "0.3", "10.1.1.1")
	must(t, err)
	var ip string
	must(t, s.DB().QueryRowContext(ctx, `SELECT last_ip FROM agents WHERE id = `+fmt.Sprint(a.ID)).Scan(&ip))
	if ip != "" {
		t.Fatalf("heartbeat written before the flush: %q", ip)
	}
	if got, _ := e.svc.Get(ctx, model.System, a.ID); got.LastIP != "10.1.1.1" || got.Version != "0.3" || string(got.Status) != `{"queue":7}` {
		t.Fatalf("pending heartbeat not visible: %+v", got)
	}
	must(t, e.svc.FlushHeartbeats(ctx))
	must(t, s.DB().QueryRowContext(ctx, `SELECT last_ip FROM agents WHERE id = `+fmt.Sprint(a.ID)).Scan(&ip))
	if ip != "10.1.1.1" {
		t.Fatalf("after the flush: %q", ip)
	}
}

// Many agents of one agency going offline together (its network or power
// is down) make one alert for the agency, not one each; a few make their
// own alerts. The grouped alert is the agency's: another agency's officer
// does not see it. It resolves when the last of its agents is back.
// After a restart the open alerts are picked up again, and the new
// server does not call anyone offline before it could have heard them.
func TestMassOfflineIsOneAlert(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		base := time.Now()
		s.SetClock(func() time.Time { return base })
		e := newEnv(t, s, fleet.Config{Heartbeat: time.Minute})
		enroll := func(agency model.Agency, n int, prefix string) []fleet.Agent {
			tok := e.token(t, e.admin, agency, n)
			var out []fleet.Agent
			for i := range n {
				en, err := e.svc.Enroll(ctx, host(tok, fmt.Sprintf("%s-%d", prefix, i), fmt.Sprintf("%s-%02d", prefix, i)), "")
				must(t, err)
				a, err := e.svc.Authenticate(ctx, en.Secret)
				must(t, err)
				_, err = e.svc.Heartbeat(ctx, a, nil, "", "")
				must(t, err)
				out = append(out, a)
			}
			return out
		}
		many := enroll(e.deptA, fleet.GroupOffline+5, "yte")
		few := enroll(e.deptB, 3, "taichinh")
		open := func(sc model.Scope, kind string) []alert.Alert {
			t.Helper()
			p, err := e.alerts.List(ctx, sc, alert.Filter{Kind: kind, States: []alert.State{alert.StateOpen}})
			must(t, err)
			return p.Items
		}
		beat := func(svc *fleet.Service, as ...fleet.Agent) {
			for _, a := range as {
				_, err := svc.Heartbeat(ctx, a, nil, "", "")
				must(t, err)
			}
		}
		s.SetClock(func() time.Time { return base.Add(10 * time.Minute) })
		must(t, e.svc.Sweep(ctx))
		group := open(model.System, "fleet.agents_offline")
		if len(group) != 1 || *group[0].AgencyID != e.deptA.ID || !strings.Contains(group[0].Title, fmt.Sprint(len(many))) {
			t.Fatalf("grouped alerts: %+v", group)
		}
		if g, err := e.alerts.Get(ctx, model.System, group[0].ID); err != nil || !strings.Contains(g.Details, "yte-00") {
			t.Fatalf("the grouped alert does not name its hosts: %q (%v)", g.Details, err)
		}
		single := open(model.System, "fleet.agent_offline")
		if len(single) != len(few) {
			t.Fatalf("%d single offline alerts, want %d (one per agent of the small group)", len(single), len(few))
		}
		for _, a := range single {
			if *a.AgencyID != e.deptB.ID {
				t.Fatalf("an agent of the big group got its own alert: %+v", a)
			}
		}
		officerB := model.Scope{Role: model.RoleOfficer, Username: "b", AgencyPath: mustAgency(t, s, e.deptB.ID).Path}
		if got := open(officerB, "fleet.agents_offline"); len(got) != 0 {
			t.Fatalf("another agency's officer sees the grouped alert: %+v", got)
		}
		// All but one back: still open. The last back: resolved.
		beat(e.svc, many[1:]...)
		must(t, e.svc.Sweep(ctx))
		if len(open(model.System, "fleet.agents_offline")) != 1 {
			t.Fatal("the grouped alert closed while an agent of it is still offline")
		}
		beat(e.svc, many[0])
		must(t, e.svc.Sweep(ctx))
		if got := open(model.System, "fleet.agents_offline"); len(got) != 0 {
			t.Fatalf("every agent is back but the grouped alert is open: %+v", got)
		}

		// A restart: the new service picks up the open single alerts and
		// resolves the one whose agent is back.
		restarted, err := fleet.New(s, e.alerts, fleet.Config{Heartbeat: time.Minute}, nil)
		must(t, err)
		beat(restarted, few[0])
		must(t, restarted.Sweep(ctx))
		if got := open(model.System, "fleet.agent_offline"); len(got) != len(few)-1 {
			t.Fatalf("after a restart, %d single alerts open, want %d", len(got), len(few)-1)
		}
		// deptA last beat at +10 min. At +16 min they are offline, and the
		// restarted server has been up long enough to know: one grouped
		// alert again.
		s.SetClock(func() time.Time { return base.Add(13 * time.Minute) })
		must(t, restarted.Sweep(ctx))
		s.SetClock(func() time.Time { return base.Add(16 * time.Minute) })
		must(t, restarted.Sweep(ctx))
		if got := open(model.System, "fleet.agents_offline"); len(got) != 1 {
			t.Fatalf("deptA silent for 6 minutes after the restart: %d grouped alerts, want 1", len(got))
		}
		// A server that has just started calls no one offline, however
		// long ago they were last heard.
		s.SetClock(func() time.Time { return base.Add(60 * time.Minute) })
		fresh, err := fleet.New(s, e.alerts, fleet.Config{Heartbeat: time.Minute}, nil)
		must(t, err)
		before := len(open(model.System, "fleet.agent_offline"))
		must(t, fresh.Sweep(ctx))
		if got := len(open(model.System, "fleet.agent_offline")); got != before {
			t.Fatalf("a server up for no time raised %d offline alerts", got-before)
		}
	})
}
