package agent

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"canhgac/internal/agent/spool"
	"canhgac/internal/fleet"
	"canhgac/internal/inventory"
)

// EnrollOptions are what `canhgac agent enroll` is given.
type EnrollOptions struct {
	Server      string
	Token       string
	Fingerprint string // pinned server certificate; empty: trust roots, then pin what was seen
	Roots       *x509.CertPool
	AllowHTTP   bool // plain-HTTP servers, for tests only
	Host        fleet.EnrollRequest
}

// Enroll registers this machine with the server and returns the state to
// save. The server's certificate is pinned from then on.
func Enroll(ctx context.Context, opt EnrollOptions) (*State, error) {
	c, err := NewClient(opt.Server, opt.Fingerprint, "", opt.Roots, opt.AllowHTTP)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	req := opt.Host
	req.Token = opt.Token
	var en fleet.Enrollment
	if err := c.call(ctx, "POST", "/agent/v1/enroll", req, &en); err != nil {
		var ae *APIError
		if errors.As(err, &ae) && ae.Status == 401 {
			return nil, errors.New("the server refused the enrollment token (wrong, used up, expired or revoked)")
		}
		return nil, fmt.Errorf("enroll: %w", err)
	}
	if key, err := base64.StdEncoding.DecodeString(en.TaskKey); err != nil || len(key) != ed25519.PublicKeySize {
		return nil, errors.New("enroll: the server sent no usable task-signing key")
	}
	return &State{Server: c.base, Fingerprint: c.Seen(), AgentID: en.AgentID, AgencyID: en.AgencyID, Secret: en.Secret, TaskKey: en.TaskKey,
		HeartbeatSeconds: en.HeartbeatSeconds, MachineID: req.MachineID}, nil
}

// TaskFunc runs one kind of task with its (verified) payload. Its result
// is sent back as JSON.
type TaskFunc func(ctx context.Context, payload json.RawMessage) (any, error)

// MaxResult bounds what a task may send back.
const MaxResult = 1 << 20

// Agent is a running, enrolled agent.
type Agent struct {
	State   *State
	Client  *Client
	Spool   *spool.Spool // events waiting for the server
	Tasks   map[string]TaskFunc
	Version string
	Log     *slog.Logger
	// Status adds to each heartbeat's status report.
	Status func() map[string]any
	// PollWait is how long each task poll may be held by the server
	// (default 30 s).
	PollWait time.Duration
	// InventoryFile keeps the package list the server last accepted, so
	// later uploads are deltas.
	InventoryFile string
	// Inventory, if set, is collected and uploaded at start and every
	// InventoryEvery (default 6 h).
	Inventory      func(context.Context) (*inventory.Inventory, error)
	InventoryEvery time.Duration
	// OnHeartbeat, if set, is told how each heartbeat went (the load
	// simulator measures latency with it).
	OnHeartbeat func(took time.Duration, err error)
	// StartDelay, if set, is waited before the first request (the load
	// simulator spreads its agents' starts with it).
	StartDelay time.Duration

	uploadMu      sync.Mutex // one inventory upload at a time
	lastUpload    *encoded   // the last inventory upload not yet accepted
	lastUploadKey string

	key        ed25519.PublicKey
	hbOverride atomic.Int64 // heartbeat seconds set by agent.config
	wakeOnce   sync.Once
	wake       chan struct{} // use wakeup(): Emit may run before Run
	pollNow    chan struct{} // a heartbeat says: tasks wait, or a poll slot is free
	parked     atomic.Bool   // the server had no long-poll slot; poll after heartbeats
	ran        atomic.Int64
	rejected   atomic.Int64
	uploaded   atomic.Int64
	heartbeat  atomic.Int64
	mu         sync.Mutex
	lastErr    string
}

// Emit queues an event for upload. It is durable once Emit returns.
func (a *Agent) Emit(kind string, data any) error {
	raw, err := json.Marshal(data)
	if err != nil {
		return err
	}
	rec, err := json.Marshal(struct {
		Kind string          `json:"kind"`
		At   time.Time       `json:"at"`
		Data json.RawMessage `json:"data"`
	}{kind, time.Now().UTC(), raw})
	if err != nil {
		return err
	}
	if _, err := a.Spool.Append(rec); err != nil {
		return err
	}
	select {
	case a.wakeup() <- struct{}{}:
	default:
	}
	return nil
}

// wakeup is the channel that tells the uploader new events are queued.
func (a *Agent) wakeup() chan struct{} {
	a.wakeOnce.Do(func() { a.wake = make(chan struct{}, 1) })
	return a.wake
}

// Stats are the agent's own counters.
type Stats struct {
	Heartbeats, TasksRun, TasksRejected, EventsUploaded int64
}

// Stats returns the counters.
func (a *Agent) Stats() Stats {
	return Stats{Heartbeats: a.heartbeat.Load(), TasksRun: a.ran.Load(), TasksRejected: a.rejected.Load(), EventsUploaded: a.uploaded.Load()}
}

// Run keeps the heartbeat, the task poll and the event upload going until
// ctx ends or the server revokes the agent (ErrRevoked).
func (a *Agent) Run(ctx context.Context) error {
	key, err := base64.StdEncoding.DecodeString(a.State.TaskKey)
	if err != nil || len(key) != ed25519.PublicKeySize {
		return errors.New("agent state has no task-signing key; enroll again")
	}
	a.key = ed25519.PublicKey(key)
	if a.Log == nil {
		a.Log = slog.Default()
	}
	if a.PollWait <= 0 {
		a.PollWait = 30 * time.Second
	}
	a.wakeup()
	a.pollNow = make(chan struct{}, 1)
	if a.StartDelay > 0 && !sleep(ctx, a.StartDelay) {
		return nil
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var wg sync.WaitGroup
	for _, loop := range []func(context.Context) error{a.heartbeatLoop, a.pollLoop, a.uploadLoop, a.inventoryLoop} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := loop(ctx); errors.Is(err, ErrRevoked) {
				cancel(err)
			}
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); errors.Is(err, ErrRevoked) {
		return err
	}
	return nil
}

// jitter spreads d by ±10% so that thousands of agents started together
// do not knock on the server in step.
func jitter(d time.Duration) time.Duration {
	return d - d/10 + time.Duration(rand.Int64N(int64(d/5)+1))
}

// backoff returns the wait after n consecutive failures: 1 s doubling to
// 2 min, jittered.
func backoff(n int) time.Duration {
	return jitter(min(time.Second<<min(n, 7), 2*time.Minute))
}

// retryDelay is how long to wait after err: the server's Retry-After when
// it said it was busy, else the backoff.
func retryDelay(err error, fails int) time.Duration {
	var ae *APIError
	if errors.As(err, &ae) && ae.RetryAfter > 0 {
		return ae.RetryAfter
	}
	return backoff(fails)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (a *Agent) noteErr(what string, err error) {
	a.mu.Lock()
	a.lastErr = what + ": " + err.Error()
	a.mu.Unlock()
	a.Log.Warn("agent "+what, "err", err)
}

func (a *Agent) heartbeatLoop(ctx context.Context) error {
	fails := 0
	for {
		secs := a.State.HeartbeatSeconds
		if o := a.hbOverride.Load(); o > 0 {
			secs = int(o) // set remotely by agent.config
		}
		iv := time.Duration(max(secs, 5)) * time.Second
		status := map[string]any{"goroutines": runtime.NumGoroutine()}
		if a.Spool != nil {
			st := a.Spool.Stats()
			status["queue_pending"], status["queue_dropped"] = st.Pending, st.Dropped
		}
		a.mu.Lock()
		if a.lastErr != "" {
			status["last_error"] = a.lastErr
		}
		a.mu.Unlock()
		if a.Status != nil {
			for k, v := range a.Status() {
				status[k] = v
			}
		}
		var out struct {
			Tasks            int  `json:"tasks"`
			HeartbeatSeconds int  `json:"heartbeat_seconds"`
			PollSlot         bool `json:"poll_slot"`
		}
		start := time.Now()
		err := a.Client.call(ctx, "POST", "/agent/v1/heartbeat", map[string]any{"version": a.Version, "status": status}, &out)
		if a.OnHeartbeat != nil && ctx.Err() == nil {
			a.OnHeartbeat(time.Since(start), err)
		}
		switch {
		case errors.Is(err, ErrRevoked):
			return err
		case err != nil && ctx.Err() == nil:
			fails++
			a.noteErr("heartbeat", err)
			iv = min(iv, retryDelay(err, fails))
		case err == nil:
			fails = 0
			a.heartbeat.Add(1)
			if out.HeartbeatSeconds > 0 {
				a.State.HeartbeatSeconds = out.HeartbeatSeconds
			}
			if a.parked.Load() && (out.Tasks > 0 || out.PollSlot) {
				select {
				case a.pollNow <- struct{}{}:
				default:
				}
			} else {
				// Hold no idle connection until the next heartbeat (only a
				// long-poll, if the server had a slot for it): a server
				// with 20,000 agents cannot keep 20,000 connections.
				a.Client.CloseIdle()
			}
		}
		if !sleep(ctx, jitter(iv)) {
			return nil
		}
	}
}

func (a *Agent) pollLoop(ctx context.Context) error {
	fails := 0
	for ctx.Err() == nil {
		var out struct {
			Tasks            []fleet.Task `json:"tasks"`
			WaitForHeartbeat bool         `json:"wait_for_heartbeat"`
		}
		err := a.Client.call(ctx, "GET", "/agent/v1/tasks?wait="+strconv.Itoa(int(a.PollWait/time.Second)), nil, &out)
		if errors.Is(err, ErrRevoked) {
			return err
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			fails++
			a.noteErr("task poll", err)
			if !sleep(ctx, retryDelay(err, fails)) {
				return nil
			}
			continue
		}
		fails = 0
		for _, t := range out.Tasks {
			a.runTask(ctx, t)
		}
		if out.WaitForHeartbeat && len(out.Tasks) == 0 {
			// Every long-poll slot is taken: the next heartbeat's answer
			// says when to look again (tasks queued or a slot free).
			a.parked.Store(true)
			select {
			case <-a.pollNow:
			case <-ctx.Done():
				return nil
			}
			a.parked.Store(false)
		}
	}
	return nil
}

// runTask verifies a task and runs it if it is genuine, for this agent,
// in time and of a kind this agent knows. Anything else is refused and
// reported, never run.
func (a *Agent) runTask(ctx context.Context, t fleet.Task) {
	refuse := func(why string) {
		a.rejected.Add(1)
		a.Log.Warn("task refused", "task", t.ID, "kind", t.Kind, "why", why)
		a.Client.call(ctx, "POST", "/agent/v1/tasks/"+strconv.FormatInt(t.ID, 10)+"/result", map[string]any{"error": "refused: " + why}, nil)
	}
	if err := t.Verify(a.key); err != nil {
		refuse(err.Error())
		return
	}
	if t.AgentID != a.State.AgentID {
		refuse("task is for another agent")
		return
	}
	if !time.Now().Before(t.Deadline) {
		refuse("deadline passed")
		return
	}
	fn := a.Tasks[t.Kind]
	if fn == nil && t.Kind == fleet.TaskAgentConfig {
		fn = a.configure
	}
	if fn == nil {
		refuse("this agent does not know task kind " + strconv.Quote(t.Kind))
		return
	}
	tctx, cancel := context.WithDeadline(ctx, t.Deadline)
	res, err := fn(tctx, t.Payload)
	cancel()
	a.ran.Add(1)
	body := map[string]any{}
	if err != nil {
		body["error"] = err.Error()
	} else {
		raw, merr := json.Marshal(res)
		switch {
		case merr != nil:
			body["error"] = merr.Error()
		case len(raw) > MaxResult:
			body["error"] = fmt.Sprintf("result of %d bytes is over the %d-byte limit", len(raw), MaxResult)
		default:
			body["result"] = json.RawMessage(raw)
		}
	}
	if err := a.Client.call(ctx, "POST", "/agent/v1/tasks/"+strconv.FormatInt(t.ID, 10)+"/result", body, nil); err != nil && ctx.Err() == nil {
		a.noteErr("task result", err)
	}
}

// uploadLoop sends queued events in order, in batches, and drops them from
// the queue only once the server has stored them. A batch resent after a
// lost answer is stored once: the server keys events by sequence number.
func (a *Agent) uploadLoop(ctx context.Context) error {
	if a.Spool == nil {
		<-ctx.Done()
		return nil
	}
	fails := 0
	for {
		recs, err := a.Spool.Peek(fleet.MaxEventBatch, 4<<20)
		if err != nil {
			a.noteErr("event queue", err)
		}
		if len(recs) > 0 {
			events := make([]fleet.Event, 0, len(recs))
			for _, r := range recs {
				var e fleet.Event
				if json.Unmarshal(r.Data, &e) != nil || e.Kind == "" {
					e = fleet.Event{Kind: "agent.bad_record", Data: json.RawMessage(`{}`)}
				}
				e.Seq = r.Seq
				events = append(events, e)
			}
			var out struct {
				Acked uint64 `json:"acked"`
			}
			err := a.Client.call(ctx, "POST", "/agent/v1/events", map[string]any{"events": events}, &out)
			if errors.Is(err, ErrRevoked) {
				return err
			}
			if err == nil && out.Acked >= events[len(events)-1].Seq {
				if err := a.Spool.Ack(out.Acked); err != nil {
					a.noteErr("event queue ack", err)
				}
				a.uploaded.Add(int64(len(events)))
				fails = 0
				continue // more may be waiting
			}
			if err == nil {
				err = fmt.Errorf("server acknowledged %d of a batch ending at %d", out.Acked, events[len(events)-1].Seq)
			}
			if ctx.Err() != nil {
				return nil
			}
			fails++
			a.noteErr("event upload", err)
			if !sleep(ctx, retryDelay(err, fails)) {
				return nil
			}
			continue
		}
		t := time.NewTimer(5 * time.Second)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-a.wakeup():
		case <-t.C:
		}
		t.Stop()
	}
}

// AgentConfig is the payload of an agent.config task: settings the
// server may change remotely. Anything else is refused.
type AgentConfig struct {
	HeartbeatSeconds int `json:"heartbeat_seconds"`
}

// configure runs agent.config: it changes the heartbeat interval (10 s to
// 1 h) until the agent restarts.
func (a *Agent) configure(_ context.Context, payload json.RawMessage) (any, error) {
	var c AgentConfig
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("agent.config: %v", err)
	}
	if c.HeartbeatSeconds != 0 {
		if c.HeartbeatSeconds < 10 || c.HeartbeatSeconds > 3600 {
			return nil, errors.New("agent.config: heartbeat_seconds must be 10 to 3600")
		}
		a.hbOverride.Store(int64(c.HeartbeatSeconds))
	}
	return c, nil
}

// inventoryLoop uploads the inventory at start and then periodically.
func (a *Agent) inventoryLoop(ctx context.Context) error {
	if a.Inventory == nil {
		return nil
	}
	every := a.InventoryEvery
	if every <= 0 {
		every = 6 * time.Hour
	}
	fails := 0
	for {
		wait := jitter(every)
		inv, err := a.Inventory(ctx)
		if err == nil {
			_, err = a.SendInventory(ctx, inv)
		}
		switch {
		case errors.Is(err, ErrRevoked):
			return err
		case err != nil && ctx.Err() == nil:
			fails++
			a.noteErr("inventory", err)
			wait = retryDelay(err, fails+3) // from 8 s up, or when the server says
		default:
			fails = 0
		}
		if !sleep(ctx, wait) {
			return nil
		}
	}
}

// ServerHost is the host part of a server URL, for messages.
func ServerHost(server string) string {
	if u, err := url.Parse(server); err == nil {
		return u.Host
	}
	return server
}
