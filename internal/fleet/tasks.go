package fleet

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"canhgac/internal/model"
)

// Task kinds. Each is a typed action the agent knows; none runs a shell.
const (
	TaskInventory   = "inventory.collect"
	TaskAgentConfig = "agent.config"
)

// TaskKinds are the kinds the server will create.
var TaskKinds = map[string]bool{TaskInventory: true, TaskAgentConfig: true}

// Task states.
const (
	TaskQueued    = "queued"
	TaskSent      = "sent"
	TaskDone      = "done"
	TaskFailed    = "failed"
	TaskCancelled = "cancelled"
)

// Limits of tasks.
const (
	MaxTaskPayload = 64 << 10
	MaxTaskResult  = 1 << 20
	MaxTaskTimeout = 24 * time.Hour
)

// Task is a signed instruction for one agent.
type Task struct {
	ID         int64           `json:"id"`
	AgentID    int64           `json:"agent_id"`
	Kind       string          `json:"kind"`
	Payload    json.RawMessage `json:"payload"`
	Deadline   time.Time       `json:"deadline"`
	Signature  string          `json:"signature"`
	State      string          `json:"state,omitempty"`
	CreatedBy  string          `json:"created_by,omitempty"`
	CreatedAt  time.Time       `json:"created_at"`
	FinishedAt *time.Time      `json:"finished_at,omitempty"`
	Result     json.RawMessage `json:"result,omitempty"`
	Error      string          `json:"error,omitempty"`
}

// SignedBytes is what a task's signature covers: its id, agent, kind,
// deadline and payload, so none can be changed or moved to another agent.
func (t Task) SignedBytes() []byte {
	return []byte("canhgac-task-v1\n" + strconv.FormatInt(t.ID, 10) + "\n" + strconv.FormatInt(t.AgentID, 10) + "\n" + t.Kind + "\n" +
		strconv.FormatInt(t.Deadline.Unix(), 10) + "\n" + string(t.Payload))
}

// Verify checks a task's signature with the server's task key. Agents call
// it before doing anything a task says.
func (t Task) Verify(key ed25519.PublicKey) error {
	sig, err := base64.StdEncoding.DecodeString(t.Signature)
	if err != nil || len(key) != ed25519.PublicKeySize || !ed25519.Verify(key, t.SignedBytes(), sig) {
		return errors.New("task signature does not verify")
	}
	return nil
}

// CreateTask queues a task for an agent in the actor's scope and wakes the
// agent's poll.
func (s *Service) CreateTask(ctx context.Context, actor model.Actor, agentID int64, kind string, payload json.RawMessage, timeout time.Duration) (Task, error) {
	if !actor.Can(model.ActionWrite, model.ResourceAgent) {
		return Task{}, model.ErrForbidden
	}
	if !TaskKinds[kind] {
		return Task{}, model.Invalid("kind", "unknown task kind %q", kind)
	}
	if len(payload) == 0 {
		payload = json.RawMessage("{}")
	}
	if len(payload) > MaxTaskPayload || !json.Valid(payload) {
		return Task{}, model.Invalid("payload", "must be JSON of at most %d bytes", MaxTaskPayload)
	}
	if timeout == 0 {
		timeout = time.Hour
	}
	if timeout < time.Second || timeout > MaxTaskTimeout {
		return Task{}, model.Invalid("timeout_seconds", "must be 1 s to 24 h")
	}
	a, err := s.Get(ctx, actor.Scope, agentID)
	if err != nil {
		return Task{}, err
	}
	if a.RevokedAt != nil {
		return Task{}, model.Invalid("agent_id", "the agent is revoked")
	}
	now := s.store.Now()
	t := Task{AgentID: agentID, Kind: kind, Payload: payload, Deadline: now.Add(timeout).Truncate(time.Second), State: TaskQueued,
		CreatedBy: actor.Username, CreatedAt: now}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, s.store.Rebind(`INSERT INTO agent_tasks (agent_id, kind, payload, signature, state, created_by, created_at, deadline)
			VALUES (?, ?, ?, '', ?, ?, ?, ?) RETURNING id`), agentID, kind, string(payload), TaskQueued, actor.Username, now, t.Deadline).Scan(&t.ID); err != nil {
			return err
		}
		t.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(s.key, t.SignedBytes()))
		if _, err := tx.ExecContext(ctx, s.store.Rebind(`UPDATE agent_tasks SET signature = ? WHERE id = ?`), t.Signature, t.ID); err != nil {
			return err
		}
		return s.store.Audit(ctx, tx, actor, "create", "agent_task", t.ID, &a.AgencyID, nil, map[string]any{"agent": agentID, "kind": kind})
	})
	if err != nil {
		return Task{}, err
	}
	s.notify(agentID)
	return t, nil
}

const taskColumns = `id, agent_id, kind, payload, deadline, signature, state, created_by, created_at, finished_at, result, error`

func scanTask(row interface{ Scan(...any) error }) (Task, error) {
	var t Task
	var payload, result string
	err := row.Scan(&t.ID, &t.AgentID, &t.Kind, &payload, &t.Deadline, &t.Signature, &t.State, &t.CreatedBy, &t.CreatedAt, &t.FinishedAt, &result, &t.Error)
	t.Payload = json.RawMessage(payload)
	if result != "" {
		t.Result = json.RawMessage(result)
	}
	return t, err
}

// Tasks lists an agent's tasks, newest first, in the caller's scope.
func (s *Service) Tasks(ctx context.Context, sc model.Scope, agentID int64) ([]Task, error) {
	if _, err := s.Get(ctx, sc, agentID); err != nil {
		return nil, err
	}
	rows, err := s.store.DB().QueryContext(ctx, s.store.Rebind(`SELECT `+taskColumns+` FROM agent_tasks WHERE agent_id = ? ORDER BY id DESC LIMIT 200`), agentID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Task{}
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// Poll returns the agent's queued tasks, marking them sent. With none it
// waits up to wait (at most the configured long-poll) for one to be
// created, so agents behind NAT get tasks at once without an inbound port.
func (s *Service) Poll(ctx context.Context, a Agent, wait time.Duration) ([]Task, error) {
	wait = min(max(wait, 0), s.cfg.LongPoll)
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	for {
		ch := s.wait(a.ID)
		tasks, err := s.take(ctx, a)
		if err != nil || len(tasks) > 0 {
			s.unwait(a.ID, ch)
			return tasks, err
		}
		select {
		case <-ch:
			// A task was created (or the agent revoked): look again.
			if _, err := s.stillEnrolled(ctx, a.ID); err != nil {
				return nil, err
			}
		case <-deadline.C:
			s.unwait(a.ID, ch)
			return []Task{}, nil
		case <-ctx.Done():
			s.unwait(a.ID, ch)
			return []Task{}, nil
		}
	}
}

// stillEnrolled re-checks that an agent is still enrolled (a revoke wakes
// its polls, which must then end).
func (s *Service) stillEnrolled(ctx context.Context, id int64) (Agent, error) {
	a, err := s.scanAgent(s.store.DB().QueryRowContext(ctx, s.store.Rebind(`SELECT `+agentColumns+` FROM agents WHERE id = ? AND revoked_at IS NULL`), id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, model.ErrUnauthenticated
	}
	return a, err
}

// take marks the agent's queued tasks sent and returns them; tasks past
// their deadline are cancelled instead.
func (s *Service) take(ctx context.Context, a Agent) ([]Task, error) {
	// Most polls find nothing: a read says so without taking the write
	// lock (SQLite has one writer, and thousands of agents poll).
	var queued bool
	if err := s.store.DB().QueryRowContext(ctx, s.store.Rebind(`SELECT EXISTS (SELECT 1 FROM agent_tasks WHERE agent_id = ? AND state = ?)`),
		a.ID, TaskQueued).Scan(&queued); err != nil || !queued {
		return nil, err
	}
	var out []Task
	now := s.store.Now()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		out = nil
		if _, err := tx.ExecContext(ctx, s.store.Rebind(`UPDATE agent_tasks SET state = ?, finished_at = ?, error = 'deadline passed before delivery'
			WHERE agent_id = ? AND state = ? AND deadline <= ?`), TaskCancelled, now, a.ID, TaskQueued, now); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, s.store.Rebind(`SELECT `+taskColumns+` FROM agent_tasks WHERE agent_id = ? AND state = ? ORDER BY id LIMIT 20`), a.ID, TaskQueued)
		if err != nil {
			return err
		}
		for rows.Next() {
			t, err := scanTask(rows)
			if err != nil {
				rows.Close()
				return err
			}
			out = append(out, t)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, t := range out {
			if _, err := tx.ExecContext(ctx, s.store.Rebind(`UPDATE agent_tasks SET state = ?, sent_at = ? WHERE id = ?`), TaskSent, now, t.ID); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// Complete records a task's result from the agent it was sent to.
func (s *Service) Complete(ctx context.Context, a Agent, taskID int64, result json.RawMessage, taskErr string) error {
	if len(result) > MaxTaskResult || (len(result) > 0 && !json.Valid(result)) {
		return model.Invalid("result", "must be JSON of at most %d bytes", MaxTaskResult)
	}
	if len(taskErr) > 4000 {
		taskErr = taskErr[:4000]
	}
	state := TaskDone
	if taskErr != "" {
		state = TaskFailed
	}
	res, err := s.store.DB().ExecContext(ctx, s.store.Rebind(`UPDATE agent_tasks SET state = ?, finished_at = ?, result = ?, error = ?
		WHERE id = ? AND agent_id = ? AND state IN (?, ?)`), state, s.store.Now(), string(result), taskErr, taskID, a.ID, TaskSent, TaskQueued)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("task %d: %w", taskID, model.ErrNotFound)
	}
	return nil
}
