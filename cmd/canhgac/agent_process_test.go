package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"canhgac/internal/agent"
	"canhgac/internal/agent/spool"
	"canhgac/internal/fleet"
)

// tlsRequest calls a --tls-auto server (self-signed, so verification is
// off here; the agent itself pins the fingerprint).
func tlsRequest(t *testing.T, base, method, path, token string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, base+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, Timeout: 30 * time.Second}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// An agent enrolled with the real CLI against a real server keeps sending
// events while the server is killed with SIGKILL mid-upload and started
// again: every event is stored exactly once, none lost, none twice.
func TestAgentEventsSurviveServerKill9(t *testing.T) {
	dir := t.TempDir()
	token := setup(t, []string{"--data", dir})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	serve := func() *proc { return start(t, "--data", dir, "--tls-auto", "--listen", addr) }
	p := serve()
	m := regexp.MustCompile(`SHA-256 fingerprint: ([0-9A-F:]{95})`).FindStringSubmatch(p.stdout.String())
	if m == nil {
		t.Fatalf("no fingerprint:\n%s", p.stdout.String())
	}
	code, body := tlsRequest(t, p.url, "POST", "/api/v1/enrollment-tokens", token, map[string]any{"agency_id": 1, "name": "kiểm thử"})
	if code != 201 {
		t.Fatalf("enrollment token: %d %s", code, body)
	}
	var tok struct{ Token string }
	json.Unmarshal(body, &tok)

	// Enroll through the CLI, as an operator would.
	state := filepath.Join(t.TempDir(), "agent.json")
	out := run(t, "", "agent", "enroll", "--server", p.url, "--token", tok.Token, "--server-fingerprint", m[1], "--state", state)
	if !strings.Contains(out, "enrolled as agent") {
		t.Fatalf("enroll: %s", out)
	}
	if out := run(t, "", "agent", "status", "--state", state); !strings.Contains(out, p.url) {
		t.Fatalf("status: %s", out)
	}

	st, err := agent.LoadState(state)
	if err != nil {
		t.Fatal(err)
	}
	c, err := agent.NewClient(st.Server, st.Fingerprint, st.Secret, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := spool.Open(t.TempDir(), spool.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sp.Close()
	a := &agent.Agent{State: st, Client: c, Spool: sp, Version: "test", Log: slog.New(slog.NewTextHandler(io.Discard, nil)), PollWait: 5 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	defer func() { cancel(); <-done }()

	const total = 3000
	var emitted atomic.Int64
	go func() {
		for i := range total {
			if err := a.Emit("fim.modified", map[string]any{"path": fmt.Sprintf("/srv/www/page-%d.php", i)}); err != nil {
				t.Error(err)
				return
			}
			emitted.Add(1)
			if i%100 == 99 {
				time.Sleep(50 * time.Millisecond)
			}
		}
	}()
	// Kill the server while uploads are under way, then bring it back.
	eventually(t, "some events uploaded", func() bool { return a.Stats().EventsUploaded > 300 })
	p.kill9(t)
	time.Sleep(500 * time.Millisecond)
	p = serve()
	eventually(t, "every event delivered", func() bool {
		return emitted.Load() == total && sp.Stats().Pending == 0
	})

	seen := map[uint64]int{}
	var after uint64
	for {
		code, body := tlsRequest(t, p.url, "GET", fmt.Sprintf("/api/v1/agents/%d/events?after=%d", st.AgentID, after), token, nil)
		if code != 200 {
			t.Fatalf("events: %d %s", code, body)
		}
		var page struct{ Items []fleet.Event }
		json.Unmarshal(body, &page)
		if len(page.Items) == 0 {
			break
		}
		for _, e := range page.Items {
			seen[e.Seq]++
			after = e.Seq
		}
	}
	if len(seen) != total {
		t.Fatalf("server stored %d distinct events, want %d", len(seen), total)
	}
	for seq := uint64(1); seq <= total; seq++ {
		if seen[seq] != 1 {
			t.Fatalf("event %d stored %d times", seq, seen[seq])
		}
	}
}

// The fleet simulator runs end to end on a small fleet: it starts its own
// server, enrolls agents, waits for their inventories, measures, and
// survives the server's SIGKILL and restart with every agent back.
func TestBenchAgentsSmallFleet(t *testing.T) {
	out := run(t, "", "bench", "agents", "--count", "6", "--packages", "40", "--duration", "6s", "--heartbeat", "5s", "--restart", "--json")
	var res struct {
		Agents           int     `json:"agents"`
		Heartbeats       int     `json:"heartbeats"`
		Errors           int     `json:"heartbeat_errors"`
		Recovered        int     `json:"restart_recovered_agents"`
		ServerRSS        float64 `json:"server_rss_mb"`
		ServerCPUCores   float64 `json:"server_cpu_cores"`
		RestartHeartbeat int     `json:"restart_heartbeats"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("output %q: %v", out, err)
	}
	if res.Agents != 6 || res.Heartbeats == 0 || res.Errors != 0 || res.Recovered != 6 || res.ServerRSS <= 0 {
		t.Fatalf("bench result %+v", res)
	}
}
