package api_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"canhgac/internal/model"
	"canhgac/internal/storage"
	"canhgac/internal/storage/storagetest"
)

// agentClient speaks the agent channel with its secret.
func agentClient(e *env, secret string) *client {
	return &client{t: e.t, base: e.url, hc: &http.Client{}, token: secret}
}

// The agent channel end to end: an officer issues a token, a machine
// enrolls, sends heartbeats, gets a signed task by long-poll, returns its
// result and uploads gzip-compressed events exactly once. A revoked
// agent gets 401 and nothing else; the officer sees none of another
// agency's fleet.
func TestAgentChannel(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		e := newEnv(t, s)
		admin := e.user("quan-tri", model.RoleAdmin, nil)
		officer := e.user("can-bo-a", model.RoleOfficer, &e.deptA)
		var tok struct {
			Token           string
			EnrollmentToken struct{ ID int64 } `json:"enrollment_token"`
		}
		expect(t, officer.do("POST", "/api/v1/enrollment-tokens", map[string]any{"agency_id": e.deptA.ID, "name": "máy chủ", "max_uses": 1}), 201).json(&tok)
		if r := expect(t, officer.do("POST", "/api/v1/enrollment-tokens", map[string]any{"agency_id": e.deptB.ID}), 400); r.err().Field != "agency_id" {
			t.Fatalf("officer's token for another agency: %+v", r.err())
		}
		anon := e.browser()
		enroll := map[string]any{"token": tok.Token, "machine_id": "4f1c", "hostname": "web-01", "os_name": "Ubuntu", "os_version": "24.04", "arch": "amd64",
			"future_field": "ignored"}
		var en struct {
			AgentID int64  `json:"agent_id"`
			Secret  string `json:"secret"`
			TaskKey string `json:"task_key"`
		}
		expect(t, anon.do("POST", "/agent/v1/enroll", enroll), 201).json(&en)
		expect(t, anon.do("POST", "/agent/v1/enroll", enroll), 401) // single use
		ag := agentClient(e, en.Secret)

		var hb struct {
			Tasks            int
			HeartbeatSeconds int `json:"heartbeat_seconds"`
		}
		expect(t, ag.do("POST", "/agent/v1/heartbeat", map[string]any{"version": "0.1", "status": map[string]any{"queue": 0}}), 200).json(&hb)
		if hb.Tasks != 0 || hb.HeartbeatSeconds != 60 {
			t.Fatalf("heartbeat answer %+v", hb)
		}
		var task struct{ ID int64 }
		expect(t, officer.do("POST", fmt.Sprintf("/api/v1/agents/%d/tasks", en.AgentID), map[string]any{"kind": "inventory.collect", "timeout_seconds": 60}), 201).json(&task)
		expect(t, officer.do("POST", fmt.Sprintf("/api/v1/agents/%d/tasks", en.AgentID), map[string]any{"kind": "shell.exec"}), 400)
		var polled struct {
			Tasks []struct {
				ID        int64
				Kind      string
				Signature string
			}
		}
		expect(t, ag.do("GET", "/agent/v1/tasks?wait=2", nil), 200).json(&polled)
		if len(polled.Tasks) != 1 || polled.Tasks[0].ID != task.ID || polled.Tasks[0].Signature == "" {
			t.Fatalf("polled %+v", polled)
		}
		expect(t, ag.do("POST", fmt.Sprintf("/agent/v1/tasks/%d/result", task.ID), map[string]any{"result": map[string]any{"packages": 3}}), 204)

		// Events, gzip-compressed, resent: stored once.
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		json.NewEncoder(zw).Encode(map[string]any{"events": []map[string]any{{"seq": 1, "kind": "fim.modified", "data": map[string]any{"path": "/etc/passwd"}},
			{"seq": 2, "kind": "fim.modified", "data": map[string]any{"path": "/etc/shadow"}}}})
		zw.Close()
		for i, want := range []int{2, 0} {
			req, _ := http.NewRequest("POST", e.url+"/agent/v1/events", bytes.NewReader(buf.Bytes()))
			req.Header.Set("Authorization", "Bearer "+en.Secret)
			req.Header.Set("Content-Encoding", "gzip")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var got struct{ Stored, Acked int }
			json.NewDecoder(resp.Body).Decode(&got)
			resp.Body.Close()
			if resp.StatusCode != 200 || got.Stored != want || got.Acked != 2 {
				t.Fatalf("upload %d: %d %+v", i, resp.StatusCode, got)
			}
		}
		var evs struct{ Items []struct{ Seq int } }
		expect(t, officer.do("GET", fmt.Sprintf("/api/v1/agents/%d/events", en.AgentID), nil), 200).json(&evs)
		if len(evs.Items) != 2 {
			t.Fatalf("events %+v", evs)
		}

		var list struct {
			Items []struct {
				ID     int64
				Health string
			}
		}
		expect(t, officer.do("GET", "/api/v1/agents?health=online", nil), 200).json(&list)
		if len(list.Items) != 1 || list.Items[0].ID != en.AgentID {
			t.Fatalf("officer's online agents %+v", list)
		}
		expect(t, officer.do("GET", "/api/v1/agents?health=sleepy", nil), 400)

		// Another agency's agent is invisible to the officer.
		var theirTok struct{ Token string }
		expect(t, admin.do("POST", "/api/v1/enrollment-tokens", map[string]any{"agency_id": e.deptB.ID}), 201).json(&theirTok)
		var theirs struct {
			AgentID int64 `json:"agent_id"`
		}
		expect(t, anon.do("POST", "/agent/v1/enroll", map[string]any{"token": theirTok.Token, "machine_id": "b", "hostname": "kho-bac"}), 201).json(&theirs)
		for _, p := range []string{"/api/v1/agents/%d", "/api/v1/agents/%d/events", "/api/v1/agents/%d/tasks"} {
			expect(t, officer.do("GET", fmt.Sprintf(p, theirs.AgentID), nil), 404)
		}
		expect(t, officer.do("POST", fmt.Sprintf("/api/v1/agents/%d/revoke", theirs.AgentID), nil), 404)
		expect(t, officer.do("DELETE", fmt.Sprintf("/api/v1/enrollment-tokens/%d", tok.EnrollmentToken.ID), nil), 204)

		// Revoked: 401 everywhere, with nothing in the body but the error.
		expect(t, officer.do("POST", fmt.Sprintf("/api/v1/agents/%d/revoke", en.AgentID), nil), 204)
		for _, c := range []struct{ method, path string }{{"POST", "/agent/v1/heartbeat"}, {"GET", "/agent/v1/tasks"}, {"POST", "/agent/v1/events"}} {
			r := expect(t, ag.do(c.method, c.path, map[string]any{}), 401)
			if strings.Contains(string(r.body), "web-01") || r.err().Code == "" {
				t.Fatalf("%s %s answered %s", c.method, c.path, r.body)
			}
		}
		expect(t, agentClient(e, "cga_unknown").do("POST", "/agent/v1/heartbeat", map[string]any{}), 401)
		expect(t, agentClient(e, "").do("POST", "/agent/v1/heartbeat", map[string]any{}), 401)
	})
}
