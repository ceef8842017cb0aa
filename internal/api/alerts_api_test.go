package api_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"canhgac/internal/alert"
	"canhgac/internal/api"
	"canhgac/internal/model"
	"canhgac/internal/notify"
	"canhgac/internal/oncall"
	"canhgac/internal/storage"
	"canhgac/internal/storage/storagetest"
)

// ---- helpers ----

// wantErr fails the test unless r is an error envelope with the given status
// and field (field "" accepts any) and a message.
func wantErr(t *testing.T, what string, r response, status int, field string) {
	t.Helper()
	e := r.err()
	if r.StatusCode != status || e.Message == "" || field != "" && e.Field != field {
		t.Errorf("%s: %d %s, want %d naming %q", what, r.StatusCode, r.body, status, field)
	}
}

// raise raises an alert through the API and returns what the server did.
func raise(t *testing.T, c *client, body map[string]any, status int) alert.RaiseResult {
	t.Helper()
	var res alert.RaiseResult
	expect(t, c.do("POST", "/api/v1/alerts", body), status).json(&res)
	return res
}

// alertBody is a valid alert for the API with overrides applied.
func alertBody(key string, kv ...any) map[string]any {
	b := map[string]any{"source": "webmon", "kind": "webmon.down", "severity": "high", "dedup_key": key,
		"title": "Cổng thông tin " + key + " không truy cập được"}
	for i := 0; i+1 < len(kv); i += 2 {
		b[kv[i].(string)] = kv[i+1]
	}
	return b
}

// listAlerts returns the IDs the caller sees at /api/v1/alerts?query.
func listAlerts(t *testing.T, c *client, query string) []int64 {
	t.Helper()
	var p storage.Page[alert.Alert]
	expect(t, c.do("GET", "/api/v1/alerts?"+query, nil), 200).json(&p)
	if p.Total != len(p.Items) {
		t.Errorf("alerts?%s: total %d but %d items", query, p.Total, len(p.Items))
	}
	ids := []int64{}
	for _, a := range p.Items {
		ids = append(ids, a.ID)
	}
	return ids
}

func getAlert(t *testing.T, c *client, id int64) alert.Alert {
	t.Helper()
	var a alert.Alert
	expect(t, c.do("GET", fmt.Sprintf("/api/v1/alerts/%d", id), nil), 200).json(&a)
	return a
}

// sameIDs compares two ID sets, ignoring order.
func sameIDs(got, want []int64) bool {
	got, want = slices.Clone(got), slices.Clone(want)
	slices.Sort(got)
	slices.Sort(want)
	return slices.Equal(got, want)
}

func soon() string { return time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339) }

// webhookReceiver accepts only requests signed with secret as
// internal/notify/webhook.go documents: X-Canhgac-Signature is "sha256=" and
// the hex HMAC-SHA256 of "<X-Canhgac-Timestamp>.<body>". Anything else gets
// 401. It counts the good deliveries.
func webhookReceiver(t *testing.T, secret string) (*httptest.Server, *atomic.Int32) {
	var good atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		ts := r.Header.Get("X-Canhgac-Timestamp")
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write([]byte(ts + "." + string(body)))
		want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
		sec, err := strconv.ParseInt(ts, 10, 64)
		if err != nil || time.Since(time.Unix(sec, 0)).Abs() > time.Minute ||
			!hmac.Equal([]byte(r.Header.Get("X-Canhgac-Signature")), []byte(want)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var p notify.WebhookPayload
		if err := json.Unmarshal(body, &p); err != nil || p.Version != 1 || !p.Test {
			http.Error(w, "not a test payload", http.StatusBadRequest)
			return
		}
		good.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv, &good
}

// amPayload is a realistic Alertmanager (webhook version 4) body with one alert.
func amPayload(status, fingerprint, description string) string {
	endsAt := "0001-01-01T00:00:00Z"
	if status == "resolved" {
		endsAt = "2026-01-28T02:14:30.123Z"
	}
	b, _ := json.Marshal(map[string]any{
		"version":         "4",
		"groupKey":        `{}/{severity="critical"}:{alertname="InstanceDown"}`,
		"truncatedAlerts": 0,
		"status":          status,
		"receiver":        "canhgac-syt",
		"groupLabels":     map[string]string{"alertname": "InstanceDown"},
		"commonLabels":    map[string]string{"alertname": "InstanceDown", "job": "node", "severity": "critical"},
		"commonAnnotations": map[string]string{
			"summary": "Máy chủ cổng dịch vụ công 10.20.1.15 không phản hồi",
		},
		"externalURL": "http://alertmanager.syt.local:9093",
		"alerts": []map[string]any{{
			"status": status,
			"labels": map[string]string{"alertname": "InstanceDown", "instance": "10.20.1.15:9100", "job": "node",
				"severity": "critical", "env": "production"},
			"annotations": map[string]string{
				"summary":     "Máy chủ cổng dịch vụ công 10.20.1.15 không phản hồi",
				"description": description,
			},
			"startsAt":     "2026-01-28T02:00:00.456Z",
			"endsAt":       endsAt,
			"generatorURL": "http://prometheus.syt.local:9090/graph?g0.expr=up%7Bjob%3D%22node%22%7D+%3D%3D+0&g0.tab=1",
			"fingerprint":  fingerprint,
		}},
	})
	return string(b)
}

// ---- tests ----

// An officer of agency A sees and changes only A's alerts and silences, and
// may not change the duty team's configuration.
func TestAlertsOfficerScopingThroughAPI(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		e := newEnv(t, s)
		admin := e.user("quantri", model.RoleAdmin, nil)
		offA := e.user("canbo.a", model.RoleOfficer, &e.deptA)
		offB := e.user("canbo.b", model.RoleOfficer, &e.deptB)

		idA := raise(t, admin, alertBody("syt", "agency_id", e.deptA.ID, "severity", "critical"), 201).ID
		idB := raise(t, admin, alertBody("stc", "agency_id", e.deptB.ID), 201).ID
		idProv := raise(t, admin, alertBody("tttt", "agency_id", e.province.ID), 201).ID
		idNone := raise(t, admin, alertBody("feed", "kind", "bulletin.cve"), 201).ID

		if got := listAlerts(t, admin, ""); !sameIDs(got, []int64{idA, idB, idProv, idNone}) {
			t.Fatalf("admin sees %v", got)
		}
		if got := listAlerts(t, offA, ""); !sameIDs(got, []int64{idA}) {
			t.Errorf("officer A sees %v, want only %d", got, idA)
		}
		if got := listAlerts(t, offA, fmt.Sprintf("agency_id=%d", e.deptB.ID)); len(got) != 0 {
			t.Errorf("officer A filtering on B sees %v", got)
		}
		if got := listAlerts(t, offB, ""); !sameIDs(got, []int64{idB}) {
			t.Errorf("officer B sees %v, want only %d", got, idB)
		}
		if a := getAlert(t, offA, idA); a.AgencyID == nil || *a.AgencyID != e.deptA.ID {
			t.Errorf("officer A reading own alert: %+v", a)
		}

		// Anything not A's is not found, reads and writes alike.
		for _, id := range []int64{idB, idProv, idNone} {
			for _, req := range []struct{ method, path string }{
				{"GET", "/api/v1/alerts/%d"},
				{"GET", "/api/v1/alerts/%d/timeline"},
				{"POST", "/api/v1/alerts/%d/ack"},
				{"POST", "/api/v1/alerts/%d/resolve"},
			} {
				path := fmt.Sprintf(req.path, id)
				if r := offA.do(req.method, path, nil); r.StatusCode != 404 || r.err().Code != "not_found" {
					t.Errorf("officer A %s %s: %d %s, want 404", req.method, path, r.StatusCode, r.body)
				}
			}
		}
		if b := getAlert(t, admin, idB); b.State != alert.StateOpen || b.AckedBy != "" || b.ResolvedAt != nil {
			t.Fatalf("B's alert changed by officer A: %+v", b)
		}

		// Bulk acknowledge takes only what is in scope.
		var bulk struct{ Acknowledged int }
		expect(t, offA.do("POST", "/api/v1/alerts/ack", map[string]any{"ids": []int64{idA, idB, idProv}}), 200).json(&bulk)
		if bulk.Acknowledged != 1 {
			t.Errorf("bulk acknowledge of A, B and province: %d, want 1", bulk.Acknowledged)
		}
		if a := getAlert(t, admin, idA); a.State != alert.StateAcknowledged || a.AckedBy != "canbo.a" {
			t.Errorf("A's alert after bulk acknowledge: state %s by %q", a.State, a.AckedBy)
		}
		for _, id := range []int64{idB, idProv} {
			if a := getAlert(t, admin, id); a.State != alert.StateOpen || a.AckedBy != "" {
				t.Errorf("alert %d acknowledged by officer A: %+v", id, a)
			}
		}
		var tl struct{ Items []alert.Event }
		expect(t, offA.do("GET", fmt.Sprintf("/api/v1/alerts/%d/timeline", idA), nil), 200).json(&tl)
		if n := len(tl.Items); n < 2 || tl.Items[0].Type != alert.EvRaised || tl.Items[n-1].Type != alert.EvAcknowledged ||
			tl.Items[n-1].Actor != "canbo.a" || tl.Items[n-1].Detail["via"] != "api" {
			t.Errorf("A's timeline: %+v", tl.Items)
		}
		wantErr(t, "bulk acknowledge of nothing", offA.do("POST", "/api/v1/alerts/ack", `{"ids":[]}`), 400, "ids")

		// Silences: only within A.
		var silA, silB alert.Silence
		expect(t, offA.do("POST", "/api/v1/silences", map[string]any{"agency_id": e.deptA.ID, "ends_at": soon(), "comment": "bảo trì máy chủ"}), 201).json(&silA)
		expect(t, admin.do("POST", "/api/v1/silences", map[string]any{"agency_id": e.deptB.ID, "ends_at": soon(), "comment": "bảo trì"}), 201).json(&silB)
		expect(t, admin.do("POST", "/api/v1/silences", map[string]any{"kind": "bulletin.", "ends_at": soon(), "comment": "toàn tỉnh"}), 201)
		wantErr(t, "officer A silencing B", offA.do("POST", "/api/v1/silences", map[string]any{"agency_id": e.deptB.ID, "ends_at": soon(), "comment": "x"}), 400, "agency_id")
		wantErr(t, "officer A silencing the province", offA.do("POST", "/api/v1/silences", map[string]any{"agency_id": e.province.ID, "ends_at": soon(), "comment": "x"}), 400, "agency_id")
		wantErr(t, "officer A silencing a kind everywhere", offA.do("POST", "/api/v1/silences", map[string]any{"kind": "webmon.", "ends_at": soon(), "comment": "x"}), 400, "agency_id")
		var sils struct{ Items []alert.Silence }
		expect(t, offA.do("GET", "/api/v1/silences?ended=true", nil), 200).json(&sils)
		if len(sils.Items) != 1 || sils.Items[0].ID != silA.ID {
			t.Errorf("officer A lists silences %+v, want only %d", sils.Items, silA.ID)
		}
		if r := offA.do("DELETE", fmt.Sprintf("/api/v1/silences/%d", silB.ID), nil); r.StatusCode != 404 {
			t.Errorf("officer A ending B's silence: %d %s", r.StatusCode, r.body)
		}
		expect(t, admin.do("GET", "/api/v1/silences", nil), 200).json(&sils)
		if len(sils.Items) != 3 {
			t.Errorf("after officer A's attempts, %d active silences, want 3", len(sils.Items))
		}
		expect(t, offA.do("DELETE", fmt.Sprintf("/api/v1/silences/%d", silA.ID), nil), 204)

		// The duty team's configuration is read-only for officers.
		for _, req := range []struct {
			path string
			body any
		}{
			{"/api/v1/alerts", alertBody("x", "agency_id", e.deptA.ID)},
			{"/api/v1/channels", map[string]any{"name": "x", "kind": "webhook", "config": map[string]any{"url": "https://example.gov.vn/hook"}}},
			{"/api/v1/schedules", map[string]any{"name": "x", "layers": []any{}}},
			{"/api/v1/escalation-chains", map[string]any{"name": "x", "steps": []any{map[string]any{"wait_minutes": 5, "targets": []any{map[string]any{"type": "user", "id": offA.id}}}}}},
			{"/api/v1/alert-sources", map[string]any{"name": "x", "agency_id": e.deptA.ID}},
		} {
			if r := offA.do("POST", req.path, req.body); r.StatusCode != 403 || r.err().Code != "forbidden" {
				t.Errorf("officer A POST %s: %d %s, want 403", req.path, r.StatusCode, r.body)
			}
		}
		if got := listAlerts(t, admin, ""); len(got) != 4 {
			t.Errorf("refused raise wrote an alert: %v", got)
		}
		for _, path := range []string{"/api/v1/channels", "/api/v1/schedules", "/api/v1/escalation-chains", "/api/v1/alert-sources"} {
			var l struct{ Items []json.RawMessage }
			expect(t, admin.do("GET", path, nil), 200).json(&l)
			if len(l.Items) != 0 {
				t.Errorf("refused POST wrote to %s: %s", path, l.Items)
			}
		}
	})
}

func TestRaiseAndListAlertsThroughAPI(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		e := newEnv(t, s)
		admin := e.user("quantri", model.RoleAdmin, nil)

		// Raise, repeat (dedup), recover.
		first := raise(t, admin, alertBody("cong-syt", "agency_id", e.deptA.ID, "severity", "critical"), 201)
		if !first.Created || first.Deduped || first.ID == 0 {
			t.Fatalf("first raise: %+v", first)
		}
		again := raise(t, admin, alertBody("cong-syt", "agency_id", e.deptA.ID, "severity", "critical"), 200)
		if again.Created || !again.Deduped || again.ID != first.ID {
			t.Fatalf("repeat raise: %+v", again)
		}
		if a := getAlert(t, admin, first.ID); a.Count != 2 || a.State != alert.StateOpen || a.Source != "webmon" || a.DedupKey != "cong-syt" {
			t.Fatalf("after repeat: %+v", a)
		}
		var rec struct{ Resolved bool }
		expect(t, admin.do("POST", "/api/v1/alerts", map[string]any{"resolved": true, "source": "webmon", "dedup_key": "cong-syt"}), 200).json(&rec)
		if !rec.Resolved {
			t.Fatalf("recovery did not resolve")
		}
		if a := getAlert(t, admin, first.ID); a.State != alert.StateResolved || a.ResolvedAt == nil || a.ResolvedBy != "webmon" {
			t.Fatalf("after recovery: state %s by %q", a.State, a.ResolvedBy)
		}
		expect(t, admin.do("POST", "/api/v1/alerts", map[string]any{"resolved": true, "source": "webmon", "dedup_key": "cong-syt"}), 200).json(&rec)
		if rec.Resolved {
			t.Errorf("recovering an alert that is not open reported resolved")
		}
		wantErr(t, "recovery without a source", admin.do("POST", "/api/v1/alerts", `{"resolved":true,"dedup_key":"cong-syt"}`), 400, "dedup_key")

		// Bad raises: 400 naming the field, nothing written.
		for _, c := range []struct {
			name  string
			body  any
			field string
		}{
			{"bad severity", alertBody("x", "severity", "urgent"), "severity"},
			{"severity of the wrong type", alertBody("x", "severity", 5), "severity"},
			{"unknown field", alertBody("x", "colour", "red"), "colour"},
			{"no title", alertBody("x", "title", "  "), "title"},
			{"no source", alertBody("x", "source", ""), "source"},
			{"no kind", alertBody("x", "kind", ""), "kind"},
			{"unknown agency", alertBody("x", "agency_id", 999999), "agency_id"},
			{"unknown asset", alertBody("x", "asset_id", 999999), "asset_id"},
			{"malformed", `{"source":`, "body"},
		} {
			wantErr(t, c.name, admin.do("POST", "/api/v1/alerts", c.body), 400, c.field)
		}
		if got := listAlerts(t, admin, ""); len(got) != 1 {
			t.Fatalf("bad raises wrote alerts: %v", got)
		}

		// Filters.
		down := raise(t, admin, alertBody("down", "severity", "critical", "title", "Cổng TTĐT Sở Y tế mất kết nối"), 201).ID
		cert := raise(t, admin, alertBody("cert", "kind", "webmon.cert", "title", "Chứng chỉ TLS sắp hết hạn"), 201).ID
		cve := raise(t, admin, alertBody("cve", "source", "vuln", "kind", "vuln.cve", "severity", "medium", "title", "CVE-2024-3400 trên tường lửa"), 201).ID
		deface := raise(t, admin, alertBody("deface", "kind", "webmonx.defaced", "severity", "low", "title", "Trang bị thay đổi giao diện"), 201).ID
		expect(t, admin.do("POST", fmt.Sprintf("/api/v1/alerts/%d/ack", cert), nil), 200)
		expect(t, admin.do("POST", fmt.Sprintf("/api/v1/alerts/%d/resolve", cve), nil), 200)
		if r := admin.do("POST", fmt.Sprintf("/api/v1/alerts/%d/ack", cert), nil); r.StatusCode != 409 {
			t.Errorf("acknowledging twice: %d %s", r.StatusCode, r.body)
		}
		old := first.ID
		for _, c := range []struct {
			query string
			want  []int64
		}{
			{"", []int64{old, down, cert, cve, deface}},
			{"state=open", []int64{down, deface}},
			{"state=acknowledged", []int64{cert}},
			{"state=open,acknowledged", []int64{down, cert, deface}},
			{"state=resolved", []int64{old, cve}},
			{"severity=critical", []int64{old, down}},
			{"severity=critical,high&state=open", []int64{down}},
			{"kind=webmon.", []int64{old, down, cert}},
			{"kind=webmon", []int64{old, down, cert, deface}},
			{"kind=webmon_", nil}, // "_" is not a wildcard
			{"kind=%25", nil},     // nor is "%"
			{"kind=vuln.cve", []int64{cve}},
			{"q=chứng+chỉ", []int64{cert}},
			{"q=cve-2024", []int64{cve}},
			{"q=SỞ+Y", []int64{down}},
			{"q=nothing+like+this", nil},
			{"state=open&kind=webmon.&q=Cổng", []int64{down}},
		} {
			if got := listAlerts(t, admin, c.query); !sameIDs(got, c.want) {
				t.Errorf("alerts?%s: %v, want %v", c.query, got, c.want)
			}
		}
		// Open and most severe first.
		if got := listAlerts(t, admin, ""); got[0] != down || got[1] != deface || got[2] != cert {
			t.Errorf("order %v, want open critical %d first, then open low %d, then acknowledged %d", got, down, deface, cert)
		}
		for _, c := range []struct{ query, field string }{
			{"state=closed", "state"},
			{"state=open,bogus", "state"},
			{"severity=urgent", "severity"},
			{"severity=high,CRITICAL", "severity"},
			{"limit=-1", "limit"},
			{"agency_id=abc", "agency_id"},
		} {
			wantErr(t, "alerts?"+c.query, admin.do("GET", "/api/v1/alerts?"+c.query, nil), 400, c.field)
		}
	})
}

func TestChannelSecretsThroughAPI(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		e := newEnv(t, s)
		admin := e.user("quantri", model.RoleAdmin, nil)
		officer := e.user("canbo.a", model.RoleOfficer, &e.deptA)
		const secret = "whsec-Sở-TTTT-7f3a9c21e4b8"
		recv, delivered := webhookReceiver(t, secret)

		var ch alert.ChannelRecord
		expect(t, admin.do("POST", "/api/v1/channels", map[string]any{"name": "SOC webhook", "kind": "webhook",
			"config": map[string]any{"url": recv.URL + "/hooks/canhgac", "secret": secret}}), 201).json(&ch)
		if strings.Contains(string(ch.Config), secret) || ch.ID == 0 {
			t.Fatalf("create response: %+v", ch)
		}
		// The secret never comes back, to an admin or an officer.
		for who, c := range map[string]*client{"admin": admin, "officer": officer} {
			for _, path := range []string{"/api/v1/channels", fmt.Sprintf("/api/v1/channels/%d", ch.ID)} {
				r := expect(t, c.do("GET", path, nil), 200)
				if strings.Contains(string(r.body), secret) || strings.Contains(string(r.body), "7f3a9c21e4b8") {
					t.Errorf("%s GET %s reveals the secret: %s", who, path, r.body)
				}
			}
		}
		var got alert.ChannelRecord
		expect(t, admin.do("GET", fmt.Sprintf("/api/v1/channels/%d", ch.ID), nil), 200).json(&got)
		var cfg map[string]any
		json.Unmarshal(got.Config, &cfg)
		if cfg["secret"] != "********" || got.Name != "SOC webhook" || !got.Enabled {
			t.Fatalf("GET channel: %+v %s", got, got.Config)
		}
		expect(t, admin.do("POST", fmt.Sprintf("/api/v1/channels/%d/test", ch.ID), nil), 200)
		if delivered.Load() != 1 {
			t.Fatalf("the receiver accepted %d signed test messages, want 1", delivered.Load())
		}

		// Update sending the mask back (and the redacted URL as GET showed it):
		// the stored secret and URL are kept, and the test is still signed with it.
		expect(t, admin.do("PUT", fmt.Sprintf("/api/v1/channels/%d", ch.ID), map[string]any{"name": "SOC webhook (trực ban)",
			"config": map[string]any{"url": cfg["url"], "secret": "********", "timeout_seconds": 5}}), 200)
		expect(t, admin.do("POST", fmt.Sprintf("/api/v1/channels/%d/test", ch.ID), map[string]any{}), 200)
		if delivered.Load() != 2 {
			t.Fatalf("after update with the mask, the receiver accepted %d signed messages, want 2", delivered.Load())
		}
		// Control: the receiver does refuse a wrong secret, and that is a 502.
		var wrong alert.ChannelRecord
		expect(t, admin.do("POST", "/api/v1/channels", map[string]any{"name": "wrong secret", "kind": "webhook",
			"config": map[string]any{"url": recv.URL + "/hooks/canhgac", "secret": "not-the-secret"}}), 201).json(&wrong)
		wantErr(t, "test with a wrong secret", admin.do("POST", fmt.Sprintf("/api/v1/channels/%d/test", wrong.ID), nil), 502, "")
		if delivered.Load() != 2 {
			t.Fatalf("the receiver accepted a wrongly signed message")
		}

		// A receiver failing with 500: 502 with the error envelope.
		failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "database is down", http.StatusInternalServerError)
		}))
		defer failing.Close()
		expect(t, admin.do("PUT", fmt.Sprintf("/api/v1/channels/%d", ch.ID), map[string]any{"name": "SOC webhook (trực ban)",
			"config": map[string]any{"url": failing.URL + "/hooks/x", "secret": "********"}}), 200)
		r := admin.do("POST", fmt.Sprintf("/api/v1/channels/%d/test", ch.ID), nil)
		if r.StatusCode != 502 || r.err().Code != "channel_failed" || !strings.Contains(r.err().Message, "500") {
			t.Errorf("test against a failing receiver: %d %s", r.StatusCode, r.body)
		}
		if strings.Contains(string(r.body), secret) {
			t.Errorf("failure reveals the secret: %s", r.body)
		}
		wantErr(t, "test of a missing channel", admin.do("POST", "/api/v1/channels/424242/test", nil), 404, "")
		wantErr(t, "update of a missing channel", admin.do("PUT", "/api/v1/channels/424242", map[string]any{"name": "x",
			"kind": "webhook", "config": map[string]any{"url": "https://x.gov.vn/h"}}), 404, "")
		wantErr(t, "mask with nothing to keep", admin.do("POST", "/api/v1/channels", map[string]any{"name": "new", "kind": "webhook",
			"config": map[string]any{"url": "https://x.gov.vn/h", "secret": "********"}}), 400, "secret")
		if r := admin.do("POST", "/api/v1/channels", map[string]any{"name": "SOC webhook (trực ban)", "kind": "webhook",
			"config": map[string]any{"url": "https://x.gov.vn/h"}}); r.StatusCode != 409 {
			t.Errorf("duplicate channel name: %d %s", r.StatusCode, r.body)
		}

		// The audit log has the changes, never the secret.
		ra := expect(t, admin.do("GET", "/api/v1/audit?resource_type=channel&limit=100", nil), 200)
		var audit storage.Page[model.AuditEvent]
		ra.json(&audit)
		actions := map[string]int{}
		for _, ev := range audit.Items {
			if ev.ResourceType != "channel" {
				t.Errorf("filtered audit has %s", ev.ResourceType)
			}
			if ev.ResourceID == ch.ID {
				actions[ev.Action]++
			}
		}
		if actions["create"] != 1 || actions["update"] != 2 {
			t.Errorf("audit of channel %d: %v", ch.ID, actions)
		}
		if strings.Contains(string(ra.body), secret) || strings.Contains(string(ra.body), "7f3a9c21e4b8") {
			t.Errorf("audit log reveals the secret: %s", ra.body)
		}
		// Nor is it anywhere in the audit table.
		var n int
		if err := s.DB().QueryRow(s.Rebind(`SELECT COUNT(*) FROM audit_events WHERE after_json LIKE ? OR before_json LIKE ?`),
			"%7f3a9c21e4b8%", "%7f3a9c21e4b8%").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%d audit rows hold the secret", n)
		}
		expect(t, admin.do("DELETE", fmt.Sprintf("/api/v1/channels/%d", wrong.ID), nil), 204)
		wantErr(t, "delete twice", admin.do("DELETE", fmt.Sprintf("/api/v1/channels/%d", wrong.ID), nil), 404, "")
	})
}

func TestInboundSourcesThroughAPI(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		e := newEnv(t, s)
		admin := e.user("quantri", model.RoleAdmin, nil)
		offA := e.user("canbo.a", model.RoleOfficer, &e.deptA)
		offB := e.user("canbo.b", model.RoleOfficer, &e.deptB)

		var created struct {
			Source alert.Source
			Token  string
		}
		expect(t, admin.do("POST", "/api/v1/alert-sources", map[string]any{"name": "prometheus-syt", "agency_id": e.deptA.ID}), 201).json(&created)
		if !strings.HasPrefix(created.Token, alert.SourceTokenPrefix) || len(created.Token) < 20 || created.Source.ID == 0 ||
			created.Source.AgencyID == nil || *created.Source.AgencyID != e.deptA.ID {
			t.Fatalf("created source %+v", created)
		}
		if r := expect(t, admin.do("GET", "/api/v1/alert-sources", nil), 200); strings.Contains(string(r.body), created.Token) ||
			!strings.Contains(string(r.body), "prometheus-syt") {
			t.Fatalf("source list: %s", r.body)
		}
		wantErr(t, "source for an unknown agency", admin.do("POST", "/api/v1/alert-sources", map[string]any{"name": "x", "agency_id": 999999}), 400, "agency_id")
		wantErr(t, "source without a name", admin.do("POST", "/api/v1/alert-sources", map[string]any{"name": " "}), 400, "name")

		src := &client{t: t, base: e.url, hc: http.DefaultClient, token: created.Token}
		anon := &client{t: t, base: e.url, hc: http.DefaultClient}
		forged := &client{t: t, base: e.url, hc: http.DefaultClient, token: created.Token[:len(created.Token)-2] + "xx"}
		firing := amPayload("firing", "9a1c2e3f4b5d6e7f", "node_exporter trên 10.20.1.15 không trả lời quá 5 phút")

		// Without a valid source token: 401, nothing raised.
		for who, c := range map[string]*client{"no token": anon, "wrong token": forged, "a user's API token": admin} {
			for _, path := range []string{"/api/v1/inbound/alertmanager", "/api/v1/inbound/generic"} {
				if r := c.do("POST", path, firing); r.StatusCode != 401 || r.err().Code != "unauthorized" {
					t.Errorf("%s POST %s: %d %s", who, path, r.StatusCode, r.body)
				}
			}
		}
		if got := listAlerts(t, admin, ""); len(got) != 0 {
			t.Fatalf("unauthenticated inbound raised %v", got)
		}

		var res struct{ Raised, Resolved int }
		expect(t, src.do("POST", "/api/v1/inbound/alertmanager", firing), 200).json(&res)
		if res.Raised != 1 || res.Resolved != 0 {
			t.Fatalf("alertmanager firing: %+v", res)
		}
		ids := listAlerts(t, offA, "kind=external.")
		if len(ids) != 1 {
			t.Fatalf("officer A sees %v inbound alerts, want 1", ids)
		}
		a := getAlert(t, offA, ids[0])
		if a.AgencyID == nil || *a.AgencyID != e.deptA.ID || a.Source != "inbound:prometheus-syt" || a.Kind != "external.instancedown" ||
			a.Severity != alert.Critical || a.Title != "Máy chủ cổng dịch vụ công 10.20.1.15 không phản hồi" || a.Labels["instance"] != "10.20.1.15:9100" ||
			!strings.Contains(a.Details, "prometheus.syt.local") {
			t.Errorf("inbound alert: %+v", a)
		}
		if got := listAlerts(t, offB, ""); len(got) != 0 {
			t.Errorf("officer B sees A's inbound alert: %v", got)
		}
		if r := offB.do("GET", fmt.Sprintf("/api/v1/alerts/%d", a.ID), nil); r.StatusCode != 404 {
			t.Errorf("officer B reading A's inbound alert: %d", r.StatusCode)
		}
		// Alertmanager repeats firing alerts: deduplicated.
		expect(t, src.do("POST", "/api/v1/inbound/alertmanager", firing), 200)
		if a := getAlert(t, admin, ids[0]); a.Count != 2 || len(listAlerts(t, admin, "")) != 1 {
			t.Errorf("repeat firing: count %d", a.Count)
		}
		// Resolved.
		expect(t, src.do("POST", "/api/v1/inbound/alertmanager", amPayload("resolved", "9a1c2e3f4b5d6e7f", "")), 200).json(&res)
		if res.Raised != 0 || res.Resolved != 1 {
			t.Errorf("alertmanager resolved: %+v", res)
		}
		if a := getAlert(t, admin, ids[0]); a.State != alert.StateResolved {
			t.Errorf("after resolved payload: %s", a.State)
		}
		wantErr(t, "alertmanager payload without alerts", src.do("POST", "/api/v1/inbound/alertmanager", `{"version":"4","status":"firing","alerts":[]}`), 400, "alerts")
		wantErr(t, "alertmanager alert without a name", src.do("POST", "/api/v1/inbound/alertmanager",
			strings.Replace(firing, `"alertname":"InstanceDown","env"`, `"env"`, 1)), 400, "alerts[0].labels.alertname")

		// Generic: one object, then a list; the X-Canhgac-Token header works too.
		expect(t, src.do("POST", "/api/v1/inbound/generic", map[string]any{"key": "zbx-10231", "kind": "zabbix", "severity": "Disaster",
			"title": "Mất kết nối đường truyền WAN Sở Y tế"}), 200).json(&res)
		if res.Raised != 1 {
			t.Errorf("generic one: %+v", res)
		}
		req, _ := http.NewRequest("POST", e.url+"/api/v1/inbound/generic", strings.NewReader(`{"alerts":[
			{"key":"cron-backup","kind":"backup","severity":"warning","title":"Sao lưu CSDL đêm qua thất bại"},
			{"key":"cron-disk","kind":"disk","title":"Ổ đĩa /var đầy 95%","details":"df -h"}]}`))
		req.Header.Set("X-Canhgac-Token", created.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		json.NewDecoder(resp.Body).Decode(&res)
		resp.Body.Close()
		if resp.StatusCode != 200 || res.Raised != 2 {
			t.Errorf("generic list with X-Canhgac-Token: %d %+v", resp.StatusCode, res)
		}
		var p storage.Page[alert.Alert]
		expect(t, offA.do("GET", "/api/v1/alerts?state=open&kind=external.", nil), 200).json(&p)
		sev := map[string]alert.Severity{}
		for _, x := range p.Items {
			sev[x.Kind] = x.Severity
			if x.AgencyID == nil || *x.AgencyID != e.deptA.ID {
				t.Errorf("generic alert outside A: %+v", x)
			}
		}
		if len(p.Items) != 3 || sev["external.zabbix"] != alert.Critical || sev["external.backup"] != alert.Medium || sev["external.disk"] != alert.High {
			t.Errorf("generic alerts: %v", sev)
		}
		expect(t, src.do("POST", "/api/v1/inbound/generic", map[string]any{"key": "zbx-10231", "kind": "zabbix", "status": "resolved",
			"title": "Mất kết nối đường truyền WAN Sở Y tế"}), 200).json(&res)
		if res.Resolved != 1 {
			t.Errorf("generic resolved: %+v", res)
		}
		wantErr(t, "generic without a title", src.do("POST", "/api/v1/inbound/generic", `{"key":"k"}`), 400, "alerts[0].title")

		// Body size: above the server's general 1 MiB limit but within
		// InboundMaxBytes is accepted; above InboundMaxBytes is 413, whether
		// the length is announced or the body is chunked.
		before := len(listAlerts(t, admin, "limit=500"))
		big := amPayload("firing", "big1", strings.Repeat("nhật ký ", (2<<20)/len("nhật ký ")))
		if len(big) <= 1<<20 || len(big) >= api.InboundMaxBytes {
			t.Fatalf("big payload is %d bytes", len(big))
		}
		expect(t, src.do("POST", "/api/v1/inbound/alertmanager", big), 200)
		huge := amPayload("firing", "huge1", strings.Repeat("x", api.InboundMaxBytes))
		for _, path := range []string{"/api/v1/inbound/alertmanager", "/api/v1/inbound/generic"} {
			if r := src.raw("POST", path, "application/json", strings.NewReader(huge)); r.StatusCode != 413 || r.err().Code != "too_large" {
				t.Errorf("POST %s of %d bytes: %d %.200s", path, len(huge), r.StatusCode, r.body)
			}
			chunked := io.MultiReader(strings.NewReader(huge)) // unknown length: sent chunked
			if r := src.raw("POST", path, "application/json", chunked); r.StatusCode != 413 || r.err().Code != "too_large" {
				t.Errorf("chunked POST %s of %d bytes: %d %.200s", path, len(huge), r.StatusCode, r.body)
			}
		}
		if after := len(listAlerts(t, admin, "limit=500")); after != before+1 {
			t.Errorf("%d alerts after the big and the refused huge payloads, want %d", after, before+1)
		}

		// Revoked: the token stops working.
		expect(t, admin.do("DELETE", fmt.Sprintf("/api/v1/alert-sources/%d", created.Source.ID), nil), 204)
		for _, path := range []string{"/api/v1/inbound/alertmanager", "/api/v1/inbound/generic"} {
			if r := src.do("POST", path, firing); r.StatusCode != 401 {
				t.Errorf("deleted source POST %s: %d %s", path, r.StatusCode, r.body)
			}
		}
		wantErr(t, "delete twice", admin.do("DELETE", fmt.Sprintf("/api/v1/alert-sources/%d", created.Source.ID), nil), 404, "")
	})
}

func TestSchedulesAndChainsThroughAPI(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		e := newEnv(t, s)
		admin := e.user("quantri", model.RoleAdmin, nil)
		u1 := e.user("truc.ban.1", model.RoleAnalyst, nil)
		u2 := e.user("truc.ban.2", model.RoleAnalyst, nil)
		officer := e.user("canbo.a", model.RoleOfficer, &e.deptA)

		ict := oncall.Location
		start := time.Date(2026, 1, 5, 7, 30, 0, 0, ict)
		end := start.AddDate(0, 0, 4) // four daily shifts: u1, u2, u1, u2
		layer := map[string]any{"name": "Trực chính", "rotation": "daily", "start": start, "end": end, "users": []int64{u1.id, u2.id}}
		var sc oncall.Schedule
		expect(t, admin.do("POST", "/api/v1/schedules", map[string]any{"name": "Trực ban Sở TTTT", "layers": []any{layer}}), 201).json(&sc)
		if sc.ID == 0 || len(sc.Layers) != 1 {
			t.Fatalf("created schedule %+v", sc)
		}
		base := fmt.Sprintf("/api/v1/schedules/%d", sc.ID)

		for _, c := range []struct {
			at   time.Time
			want []int64
		}{
			{start.Add(30 * time.Minute), []int64{u1.id}},
			{start.Add(24*time.Hour - time.Minute), []int64{u1.id}}, // 07:29 next day: not yet handed over
			{start.Add(24 * time.Hour), []int64{u2.id}},             // 07:30: handoff
			{start.Add(-time.Minute), []int64{}},
			{end.Add(time.Hour), []int64{}},
		} {
			var on struct{ Users []int64 }
			// officers read the roster (and see who to call)
			expect(t, officer.do("GET", base+"/oncall?at="+strings.ReplaceAll(c.at.Format(time.RFC3339), "+", "%2B"), nil), 200).json(&on)
			if !slices.Equal(on.Users, c.want) {
				t.Errorf("on duty at %s: %v, want %v", c.at.Format(time.RFC3339), on.Users, c.want)
			}
		}
		wantErr(t, "bad at", admin.do("GET", base+"/oncall?at=tomorrow", nil), 400, "at")

		var shifts struct {
			Shifts []oncall.Shift
			Gaps   []oncall.Gap
		}
		to := start.AddDate(0, 0, 7)
		expect(t, admin.do("GET", base+"/shifts?from="+start.UTC().Format(time.RFC3339)+"&to="+to.UTC().Format(time.RFC3339), nil), 200).json(&shifts)
		if len(shifts.Shifts) != 4 {
			t.Fatalf("shifts %+v", shifts.Shifts)
		}
		for i, sh := range shifts.Shifts {
			want := []int64{u1.id, u2.id}[i%2]
			if !sh.Start.Equal(start.AddDate(0, 0, i)) || !sh.End.Equal(start.AddDate(0, 0, i+1)) || !slices.Equal(sh.Users, []int64{want}) {
				t.Errorf("shift %d: %+v", i, sh)
			}
		}
		if len(shifts.Gaps) != 1 || !shifts.Gaps[0].Start.Equal(end) || !shifts.Gaps[0].End.Equal(to) {
			t.Errorf("gaps after the layer ends: %+v", shifts.Gaps)
		}
		wantErr(t, "shifts with to before from", admin.do("GET", base+"/shifts?from="+to.UTC().Format(time.RFC3339)+"&to="+start.UTC().Format(time.RFC3339), nil), 400, "to")

		r := expect(t, admin.do("GET", base+"/calendar.ics?from="+start.UTC().Format(time.RFC3339)+"&to="+to.UTC().Format(time.RFC3339), nil), 200)
		ics := string(r.body)
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/calendar") {
			t.Errorf("calendar Content-Type %q", ct)
		}
		if !strings.HasPrefix(ics, "BEGIN:VCALENDAR\r\n") || !strings.HasSuffix(ics, "END:VCALENDAR\r\n") ||
			strings.Count(ics, "\n") != strings.Count(ics, "\r\n") {
			t.Errorf("calendar is not CRLF-delimited iCalendar: %q", ics)
		}
		if strings.Count(ics, "BEGIN:VEVENT\r\n") != 4 || !strings.Contains(ics, "DTSTART:20260105T003000Z\r\n") ||
			!strings.Contains(ics, "truc.ban.1") || !strings.Contains(ics, "truc.ban.2") {
			t.Errorf("calendar events: %s", ics)
		}

		// Invalid schedules name the offending field.
		bad := func(k string, v any) map[string]any {
			l := map[string]any{}
			for kk, vv := range layer {
				l[kk] = vv
			}
			l[k] = v
			return map[string]any{"name": "x", "layers": []any{l}}
		}
		for _, c := range []struct {
			name  string
			body  any
			field string
		}{
			{"hourly rotation", bad("rotation", "hourly"), "layers[0].rotation"},
			{"no users", bad("users", []int64{}), "layers[0].users"},
			{"unknown user", bad("users", []int64{u1.id, 999999}), "layers[0].users"},
			{"end before start", bad("end", start.Add(-time.Hour)), "layers[0].end"},
			{"unknown field", map[string]any{"name": "x", "rota": []any{}}, "rota"},
			{"no name", map[string]any{"name": " "}, "name"},
		} {
			wantErr(t, c.name, admin.do("POST", "/api/v1/schedules", c.body), 400, c.field)
		}
		var list struct{ Items []oncall.Schedule }
		expect(t, admin.do("GET", "/api/v1/schedules", nil), 200).json(&list)
		if len(list.Items) != 1 {
			t.Errorf("invalid schedules were stored: %+v", list.Items)
		}
		wantErr(t, "missing schedule", admin.do("GET", "/api/v1/schedules/424242/oncall", nil), 404, "")

		// Escalation chains.
		step := func(typ string, id int64) map[string]any {
			return map[string]any{"wait_minutes": 5, "targets": []any{map[string]any{"type": typ, "id": id}}}
		}
		chain := map[string]any{"name": "Sự cố nghiêm trọng", "priority": 10, "severities": []string{"critical", "high"},
			"steps": []any{step("schedule", sc.ID), step("user", u1.id)}, "repeat": 1}
		var ch alert.Chain
		expect(t, admin.do("POST", "/api/v1/escalation-chains", chain), 201).json(&ch)
		if ch.ID == 0 || len(ch.Steps) != 2 || len(ch.Severity) != 2 {
			t.Fatalf("created chain %+v", ch)
		}
		// New alerts it matches are routed to it.
		routed := raise(t, admin, alertBody("routed", "severity", "critical", "agency_id", e.deptA.ID), 201).ID
		if a := getAlert(t, admin, routed); a.ChainID == nil || *a.ChainID != ch.ID {
			t.Errorf("critical alert routed to %v, want chain %d", a.ChainID, ch.ID)
		}
		unrouted := raise(t, admin, alertBody("low", "severity", "low"), 201).ID
		if a := getAlert(t, admin, unrouted); a.ChainID != nil {
			t.Errorf("low alert routed to chain %d", *a.ChainID)
		}

		for _, c := range []struct {
			name  string
			steps []any
			field string
		}{
			{"unknown user", []any{step("user", 999999)}, "steps[0].targets[0].id"},
			{"unknown schedule", []any{step("user", u1.id), step("schedule", 999999)}, "steps[1].targets[0].id"},
			{"unknown channel", []any{step("channel", 999999)}, "steps[0].targets[0].id"},
			{"unknown target type", []any{step("pager", u1.id)}, "steps[0].targets[0].type"},
			{"no steps", []any{}, "steps"},
		} {
			wantErr(t, "chain with "+c.name, admin.do("POST", "/api/v1/escalation-chains", map[string]any{"name": "x", "steps": c.steps}), 400, c.field)
		}
		if r := admin.do("POST", "/api/v1/escalation-chains", chain); r.StatusCode != 409 {
			t.Errorf("duplicate chain name: %d %s", r.StatusCode, r.body)
		}

		chain["name"] = "Sự cố nghiêm trọng (Sở Y tế)"
		chain["agency_id"] = e.deptA.ID
		var upd alert.Chain
		expect(t, admin.do("PUT", fmt.Sprintf("/api/v1/escalation-chains/%d", ch.ID), chain), 200).json(&upd)
		var chains struct{ Items []alert.Chain }
		expect(t, admin.do("GET", "/api/v1/escalation-chains", nil), 200).json(&chains)
		if len(chains.Items) != 1 || chains.Items[0].ID != ch.ID || chains.Items[0].Name != "Sự cố nghiêm trọng (Sở Y tế)" ||
			chains.Items[0].AgencyID == nil || *chains.Items[0].AgencyID != e.deptA.ID || chains.Items[0].Repeat != 1 {
			t.Errorf("chains after update: %+v", chains.Items)
		}
		wantErr(t, "update of a missing chain", admin.do("PUT", "/api/v1/escalation-chains/424242", chain), 404, "")
		expect(t, admin.do("DELETE", fmt.Sprintf("/api/v1/escalation-chains/%d", ch.ID), nil), 204)
		wantErr(t, "delete twice", admin.do("DELETE", fmt.Sprintf("/api/v1/escalation-chains/%d", ch.ID), nil), 404, "")
		expect(t, admin.do("GET", "/api/v1/escalation-chains", nil), 200).json(&chains)
		if len(chains.Items) != 0 {
			t.Errorf("chains after delete: %+v", chains.Items)
		}
		if a := getAlert(t, admin, raise(t, admin, alertBody("after", "severity", "critical"), 201).ID); a.ChainID != nil {
			t.Errorf("alert routed to deleted chain %d", *a.ChainID)
		}

		expect(t, admin.do("DELETE", base, nil), 204)
		wantErr(t, "deleted schedule", admin.do("GET", base, nil), 404, "")
	})
}

func TestContactMethodsThroughAPI(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		e := newEnv(t, s)
		admin := e.user("quantri", model.RoleAdmin, nil)
		offA := e.user("canbo.a", model.RoleOfficer, &e.deptA)
		offB := e.user("canbo.b", model.RoleOfficer, &e.deptB)
		var ch alert.ChannelRecord
		expect(t, admin.do("POST", "/api/v1/channels", map[string]any{"name": "Zalo bridge", "kind": "webhook",
			"config": map[string]any{"url": "https://zalo-bridge.tttt.gov.vn/send"}}), 201).json(&ch)

		contacts := func(c *client, user int64) []alert.ContactMethod {
			t.Helper()
			var l struct{ Items []alert.ContactMethod }
			expect(t, c.do("GET", fmt.Sprintf("/api/v1/users/%d/contacts", user), nil), 200).json(&l)
			return l.Items
		}
		// Each officer manages their own.
		var mine, theirs alert.ContactMethod
		expect(t, offA.do("POST", fmt.Sprintf("/api/v1/users/%d/contacts", offA.id), map[string]any{"channel_id": ch.ID, "address": " 0912345678 "}), 201).json(&mine)
		expect(t, offB.do("POST", fmt.Sprintf("/api/v1/users/%d/contacts", offB.id), map[string]any{"channel_id": ch.ID, "address": "0987654321"}), 201).json(&theirs)
		if mine.UserID != offA.id || mine.Address != "0912345678" || mine.ChannelID != ch.ID {
			t.Errorf("added contact %+v", mine)
		}
		if l := contacts(offA, offA.id); len(l) != 1 || l[0].ID != mine.ID {
			t.Errorf("officer A's contacts: %+v", l)
		}
		if r := offA.do("POST", fmt.Sprintf("/api/v1/users/%d/contacts", offA.id), map[string]any{"channel_id": ch.ID, "address": "0912345678"}); r.StatusCode != 409 {
			t.Errorf("duplicate contact: %d %s", r.StatusCode, r.body)
		}
		wantErr(t, "contact on a missing channel", offA.do("POST", fmt.Sprintf("/api/v1/users/%d/contacts", offA.id), map[string]any{"channel_id": 999999, "address": "x"}), 400, "")

		// Not another user's: 404, and nothing changes.
		for _, req := range []struct {
			method, path string
			body         any
		}{
			{"GET", fmt.Sprintf("/api/v1/users/%d/contacts", offB.id), nil},
			{"POST", fmt.Sprintf("/api/v1/users/%d/contacts", offB.id), map[string]any{"channel_id": ch.ID, "address": "0900000000"}},
			{"DELETE", fmt.Sprintf("/api/v1/users/%d/contacts/%d", offB.id, theirs.ID), nil},
			{"DELETE", fmt.Sprintf("/api/v1/users/%d/contacts/%d", offA.id, theirs.ID), nil}, // B's contact under A's own path
			{"GET", fmt.Sprintf("/api/v1/users/%d/contacts", admin.id), nil},
		} {
			if r := offA.do(req.method, req.path, req.body); r.StatusCode != 404 {
				t.Errorf("officer A %s %s: %d %s, want 404", req.method, req.path, r.StatusCode, r.body)
			}
		}
		if l := contacts(admin, offB.id); len(l) != 1 || l[0].ID != theirs.ID || l[0].Address != "0987654321" {
			t.Errorf("B's contacts after officer A's attempts: %+v", l)
		}

		expect(t, offA.do("DELETE", fmt.Sprintf("/api/v1/users/%d/contacts/%d", offA.id, mine.ID), nil), 204)
		if l := contacts(offA, offA.id); len(l) != 0 {
			t.Errorf("after delete: %+v", l)
		}
		if r := offA.do("DELETE", fmt.Sprintf("/api/v1/users/%d/contacts/%d", offA.id, mine.ID), nil); r.StatusCode != 404 {
			t.Errorf("delete twice: %d", r.StatusCode)
		}
		// An admin manages anyone's.
		expect(t, admin.do("DELETE", fmt.Sprintf("/api/v1/users/%d/contacts/%d", offB.id, theirs.ID), nil), 204)
		if l := contacts(offB, offB.id); len(l) != 0 {
			t.Errorf("B's contacts after the admin deleted them: %+v", l)
		}
	})
}
