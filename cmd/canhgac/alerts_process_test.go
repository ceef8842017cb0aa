package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"canhgac/internal/lunar"
	"canhgac/internal/storage/storagetest"
)

// receiver is a local webhook endpoint per person; it can be told to fail.
type receiver struct {
	mu    sync.Mutex
	got   map[string][]map[string]any
	fails bool
	srv   *httptest.Server
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{got: map[string][]map[string]any{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.fails {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		var m map[string]any
		json.Unmarshal(b, &m)
		r.got[req.URL.Path] = append(r.got[req.URL.Path], m)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) count(path string) int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.got[path]) }
func (r *receiver) last(path string) map[string]any {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.got[path]
	return l[len(l)-1]
}
func (r *receiver) counts() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]int{}
	for k, v := range r.got {
		out[k] = len(v)
	}
	return out
}
func (r *receiver) setFail(v bool) { r.mu.Lock(); r.fails = v; r.mu.Unlock() }

// eventually waits for cond. The bound is generous: under -race the
// servers these tests start are race-instrumented too, and CI runs them
// beside other packages' tests on two cores.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The Tết-night scenario against a real canhgac process, killed with
// SIGKILL between the steps: the alert acknowledged to its source
// survives, a notification persisted but not yet sent is sent after the
// restart, each step reaches each person exactly once, the link
// acknowledges, and the timeline shows every step.
func TestTetNightScenarioSurvivesKill9(t *testing.T) {
	for _, b := range storagetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			dir, dbURL := b.URL(t)
			sargs := []string{"--data", dir}
			if dbURL != "" {
				sargs = append(sargs, "--db", dbURL)
			}
			serveArgs := append([]string{"--alert-interval", "100ms", "--public-url", "http://canhgac.test"}, sargs...)
			clockFile := filepath.Join(t.TempDir(), "now")
			setClock := func(tm time.Time) {
				// Written aside and renamed in: the server reads this file
				// many times a second and must never see it half written.
				if err := os.WriteFile(clockFile+".new", []byte(tm.UTC().Format(time.RFC3339Nano)), 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Rename(clockFile+".new", clockFile); err != nil {
					t.Fatal(err)
				}
			}
			tetNight := lunar.Tet(2027).Add(2 * time.Hour)
			setClock(tetNight.Add(-24 * time.Hour))
			env := []string{"CANHGAC_TEST_CLOCK_FILE=" + clockFile}
			rcv := newReceiver(t)

			p := startWith(t, env, serveArgs...)
			var token string
			var alertID int64
			// Deferred, not a cleanup: the server must still be up to be asked.
			defer func() {
				if t.Failed() {
					t.Logf("receiver got %v; last server's log:\n%s", rcv.counts(), p.stderr.String())
					if alertID != 0 {
						for _, path := range []string{fmt.Sprintf("/api/v1/alerts/%d", alertID), fmt.Sprintf("/api/v1/alerts/%d/timeline", alertID)} {
							code, out, err := p.request("GET", path, token, nil)
							t.Logf("GET %s: %d %s %v", path, code, out, err)
						}
					}
				}
			}()
			token = setup(t, sargs)
			call := func(p *proc, method, path string, body any, wantCode int) map[string]any {
				t.Helper()
				code, out, err := p.request(method, path, token, body)
				if err != nil || code != wantCode {
					t.Fatalf("%s %s: %d %s %v", method, path, code, out, err)
				}
				var m map[string]any
				json.Unmarshal(out, &m)
				return m
			}
			id := func(m map[string]any) int64 { return int64(m["id"].(float64)) }
			asset := call(p, "POST", "/api/v1/assets", map[string]any{"agency_id": 1, "kind": "website", "name": "Cổng thông tin tỉnh", "address": "https://tinh.example.gov.vn"}, 201)
			mkUser := func(name string) int64 {
				u := call(p, "POST", "/api/v1/users", map[string]any{"username": name, "role": "analyst"}, 201)
				return id(u)
			}
			onDuty, backup := mkUser("truc-ban"), mkUser("du-phong")
			for _, u := range []struct {
				id   int64
				path string
			}{{onDuty, "/truc-ban"}, {backup, "/du-phong"}} {
				ch := call(p, "POST", "/api/v1/channels", map[string]any{"name": "Webhook " + u.path, "kind": "webhook", "config": map[string]any{"url": rcv.srv.URL + u.path}}, 201)
				call(p, "POST", fmt.Sprintf("/api/v1/users/%d/contacts", u.id), map[string]any{"channel_id": id(ch)}, 201)
			}
			tet := lunar.Tet(2027)
			sched := call(p, "POST", "/api/v1/schedules", map[string]any{"name": "Trực ban",
				"layers":    []any{map[string]any{"name": "Ngày", "rotation": "daily", "start": "2027-01-01T07:30:00+07:00", "users": []int64{backup}, "per_shift": 1}},
				"overrides": []any{map[string]any{"start": lunar.LastDayOfYear(2026).Format(time.RFC3339), "end": tet.AddDate(0, 0, 6).Format(time.RFC3339), "users": []int64{onDuty}, "note": "Tết"}}}, 201)
			call(p, "POST", "/api/v1/escalation-chains", map[string]any{"name": "Nghiêm trọng", "severities": []string{"critical"}, "steps": []any{
				map[string]any{"wait_minutes": 5, "targets": []any{map[string]any{"type": "schedule", "id": id(sched)}}},
				map[string]any{"wait_minutes": 10, "targets": []any{map[string]any{"type": "user", "id": backup}}},
			}}, 201)

			// 02:00 mùng 1 Tết. The receiver is down when the alert comes in;
			// the alert is acknowledged to its source, then the server dies.
			setClock(tetNight)
			rcv.setFail(true)
			raised := call(p, "POST", "/api/v1/alerts", map[string]any{"source": "webmon", "kind": "webmon.defacement", "severity": "critical",
				"asset_id": id(asset), "title": "Trang chủ bị thay đổi giao diện"}, 201)
			alertID = id(raised)
			timeline := func(p *proc) []string {
				m := call(p, "GET", fmt.Sprintf("/api/v1/alerts/%d/timeline", alertID), nil, 200)
				var out []string
				for _, e := range m["items"].([]any) {
					ev := e.(map[string]any)
					s := ev["type"].(string)
					if d, ok := ev["detail"].(map[string]any); ok && d["step"] != nil {
						s += fmt.Sprintf(":%v", d["step"])
					}
					out = append(out, s)
				}
				return out
			}
			notified := func(p *proc, n int) func() bool {
				return func() bool { return strings.Count(strings.Join(timeline(p), " "), "notified") >= n }
			}
			// The escalation to the on-duty analyst is persisted (its
			// notification waits in the outbox, the receiver being down),
			// then the server dies. Killing it before that would test
			// nothing: the clock stands still here, so a notification
			// first queued after the restart waits out its group wait
			// forever.
			eventually(t, "the escalation persisted", func() bool { return strings.Contains(strings.Join(timeline(p), " "), "escalated:1") })
			p.kill9(t)

			rcv.setFail(false)
			p = startWith(t, env, serveArgs...)
			// The notification persisted before the crash goes out, exactly
			// once. Move the clock past its backoff, and past the lease in
			// case the server died holding it mid-send.
			setClock(tetNight.Add(3 * time.Minute))
			eventually(t, "the on-duty analyst's notification", func() bool { return rcv.count("/truc-ban") == 1 })
			eventually(t, "the notification recorded", notified(p, 1))
			p.kill9(t)

			// Five minutes, no acknowledgement: the backup is paged, once,
			// across another crash.
			setClock(tetNight.Add(5 * time.Minute))
			p = startWith(t, env, serveArgs...)
			eventually(t, "the backup's notification", func() bool { return rcv.count("/du-phong") == 1 })
			eventually(t, "the notification recorded", notified(p, 2))
			p.kill9(t)
			p = startWith(t, env, serveArgs...)
			time.Sleep(500 * time.Millisecond) // five escalation ticks: nothing may repeat
			if a, b := rcv.count("/truc-ban"), rcv.count("/du-phong"); a != 1 || b != 1 {
				t.Fatalf("after restarts: on duty notified %d times, backup %d times; want once each", a, b)
			}

			// The backup acknowledges through the link in the message.
			link, _ := rcv.last("/du-phong")["ack_link"].(string)
			if !strings.HasPrefix(link, "http://canhgac.test/ack/") {
				t.Fatalf("ack link %q", link)
			}
			resp, err := http.Post(p.url+strings.TrimPrefix(link, "http://canhgac.test"), "application/x-www-form-urlencoded", nil)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("acknowledge through the link: %v %v", resp, err)
			}
			resp.Body.Close()
			p.kill9(t)
			setClock(tetNight.Add(20 * time.Minute))
			p = startWith(t, env, serveArgs...)
			time.Sleep(500 * time.Millisecond)
			got := strings.Join(timeline(p), "|")
			want := "raised|escalated:1|notified:1|escalated:2|notified:2|acknowledged"
			if got != want {
				t.Fatalf("timeline after the crashes:\n got %s\nwant %s", got, want)
			}
			a := call(p, "GET", fmt.Sprintf("/api/v1/alerts/%d", alertID), nil, 200)
			if a["state"] != "acknowledged" || a["acked_by"] != "du-phong" {
				t.Fatalf("alert after the link: %v", a)
			}
		})
	}
}
