package ui_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"canhgac/internal/alert"
	"canhgac/internal/model"
	"canhgac/internal/storage"
	"canhgac/internal/storage/storagetest"
)

// alertEnv is the UI env plus the alert service behind it.
func alertEnv(t *testing.T, s *storage.Store) (*env, *alert.Service) {
	e := newEnv(t, s)
	return e, e.alerts
}

func raise(t *testing.T, svc *alert.Service, asset model.Asset, sev alert.Severity, title string) int64 {
	t.Helper()
	res, err := svc.Raise(ctx, alert.Alert{Source: "webmon", Kind: "webmon.down", Severity: sev, AssetID: &asset.ID, DedupKey: title, Title: title})
	must(t, err)
	return res.ID
}

func TestAlertBoardScopedAndAcknowledged(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		e, svc := alertEnv(t, s)
		mine := raise(t, svc, e.assetA, alert.Critical, "Cổng Sở Y tế không truy cập được")
		theirs := raise(t, svc, e.assetB, alert.High, "Máy chủ kho bạc mất kết nối")
		e.user("can-bo-a", model.RoleOfficer, &e.deptA, false)
		b := e.browser()
		b.login("can-bo-a")
		p := want(t, b.get("/alerts"), http.StatusOK)
		if !strings.Contains(p.body, "Cổng Sở Y tế không truy cập được") || strings.Contains(p.body, "kho bạc") {
			t.Fatalf("officer's board:\n%s", p.body)
		}
		want(t, b.get(fmt.Sprintf("/alerts/%d", theirs)), http.StatusNotFound)
		want(t, b.post(fmt.Sprintf("/alerts/%d/ack", theirs), nil), http.StatusNotFound)
		// Acknowledge from the board; the alert page shows who and how.
		want(t, b.post(fmt.Sprintf("/alerts/%d/ack", mine), url.Values{"back": {"board"}}), http.StatusSeeOther)
		p = want(t, b.get(fmt.Sprintf("/alerts/%d", mine)), http.StatusOK)
		if !strings.Contains(p.body, "can-bo-a") || !strings.Contains(p.body, "qua giao diện") || !strings.Contains(p.body, "Đang xử lý") {
			t.Fatalf("alert page after acknowledgement:\n%s", p.body)
		}
		a, _ := svc.Get(ctx, model.System, theirs)
		if a.State != alert.StateOpen {
			t.Fatal("the other agency's alert changed")
		}

		// The duty analyst sees both and bulk-acknowledges.
		e.user("truc-ban", model.RoleAnalyst, nil, false)
		d := e.browser()
		d.login("truc-ban")
		p = want(t, d.get("/alerts"), http.StatusOK)
		if !strings.Contains(p.body, "kho bạc") {
			t.Fatal("the duty team does not see every agency's alerts")
		}
		want(t, d.post("/alerts/ack", url.Values{"id": {fmt.Sprint(theirs), fmt.Sprint(mine)}}), http.StatusSeeOther)
		a, _ = svc.Get(ctx, model.System, theirs)
		if a.State != alert.StateAcknowledged || a.AckedBy != "truc-ban" {
			t.Fatalf("after bulk acknowledgement: %s by %s", a.State, a.AckedBy)
		}
		// A viewer can look but not acknowledge.
		e.user("xem", model.RoleViewer, nil, false)
		v := e.browser()
		v.login("xem")
		want(t, v.get("/alerts"), http.StatusOK)
		want(t, v.post(fmt.Sprintf("/alerts/%d/resolve", mine), nil), http.StatusForbidden)
	})
}

// The link in a message shows the alert on GET and acknowledges only on
// POST, once.
func TestAckLinkPage(t *testing.T) {
	e, svc := alertEnv(t, storagetest.Backends(t)[0].Open(t))
	id := raise(t, svc, e.assetA, alert.Critical, "Trang chủ bị thay đổi")
	link := svc.AckLink(id, 0, 0)
	path := link[strings.Index(link, "/ack/"):]
	b := e.browser()
	p := want(t, b.get(path), http.StatusOK)
	if !strings.Contains(p.body, "Trang chủ bị thay đổi") || !strings.Contains(p.body, `id="ack-submit"`) {
		t.Fatalf("link page:\n%s", p.body)
	}
	if a, _ := svc.Get(ctx, model.System, id); a.State != alert.StateOpen {
		t.Fatal("fetching the link acknowledged the alert")
	}
	p = want(t, b.post(path, nil), http.StatusOK)
	if !strings.Contains(p.body, "Việc leo thang đã dừng") {
		t.Fatalf("after acknowledging:\n%s", p.body)
	}
	want(t, b.post(path, nil), http.StatusConflict)
	want(t, b.get("/ack/forged-token"), http.StatusNotFound)
	want(t, b.post("/ack/forged-token", nil), http.StatusNotFound)
}

// The stream sends an event when an alert in the viewer's scope changes,
// and nothing about other agencies.
func TestAlertStream(t *testing.T) {
	e, svc := alertEnv(t, storagetest.Backends(t)[0].Open(t))
	// The stream needs a server whose shutdown ends it; httptest's does.
	e.user("can-bo-a", model.RoleOfficer, &e.deptA, false)
	b := e.browser()
	b.login("can-bo-a")
	req, _ := http.NewRequest("GET", e.url+"/alerts/stream", nil)
	resp, err := b.hc.Do(req)
	must(t, err)
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	events := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "data: ") {
				events <- strings.TrimPrefix(sc.Text(), "data: ")
			}
		}
		close(events)
	}()
	time.Sleep(100 * time.Millisecond) // let the handler subscribe
	raise(t, svc, e.assetB, alert.Critical, "của cơ quan khác")
	id := raise(t, svc, e.assetA, alert.Critical, "của mình")
	select {
	case ev := <-events:
		var c map[string]any
		json.Unmarshal([]byte(ev), &c)
		if c["alert_id"] != float64(id) || c["type"] != "raised" || c["severity"] != "critical" {
			t.Fatalf("first event %s, want the officer's own alert %d", ev, id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10 s")
	}
}

func TestDutyConfigurationPages(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		e, svc := alertEnv(t, s)
		admin := e.user("admin", model.RoleAdmin, nil, false)
		b := e.browser()
		b.login("admin")

		// A channel, tested against a local webhook receiver.
		var mu sync.Mutex
		var got []string
		hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			mu.Lock()
			got = append(got, string(body))
			mu.Unlock()
		}))
		defer hook.Close()
		p := want(t, b.post("/channels", url.Values{"name": {"Nhóm trực"}, "kind": {"webhook"}, "config": {`{"url": "` + hook.URL + `", "secret": "bí mật lắm"}`}}), http.StatusSeeOther)
		p = want(t, b.get("/channels"), http.StatusOK)
		if !strings.Contains(p.body, "Nhóm trực") || strings.Contains(p.body, "bí mật lắm") {
			t.Fatalf("channel list shows the secret or not the channel:\n%s", p.body)
		}
		p = want(t, b.post("/channels", url.Values{"name": {"Hỏng"}, "kind": {"webhook"}, "config": {`{"url": "ftp://x"}`}}), http.StatusBadRequest)
		if !strings.Contains(p.body, `id="error"`) {
			t.Fatal("a bad channel is not explained")
		}
		chs, _ := svc.Channels(ctx)
		want(t, b.post(fmt.Sprintf("/channels/%d/test", chs[0].ID), nil), http.StatusOK)
		mu.Lock()
		if len(got) != 1 || !strings.Contains(got[0], `"test":true`) {
			t.Fatalf("test message: %v", got)
		}
		mu.Unlock()

		// A schedule from JSON: who is on duty now, and a gap warning.
		now := s.Now()
		def := fmt.Sprintf(`{"name": "Trực ban", "layers": [{"name": "Ngày", "rotation": "daily", "start": %q, "end": %q, "users": [%d], "per_shift": 1}]}`,
			now.Add(-time.Hour).Format(time.RFC3339), now.Add(5*24*time.Hour).Format(time.RFC3339), admin.ID)
		p = want(t, b.post("/schedules", url.Values{"definition": {def}}), http.StatusSeeOther)
		p = want(t, b.get(p.location), http.StatusOK)
		if !strings.Contains(p.body, `id="on-duty-now"`) || !strings.Contains(p.body, "admin") || !strings.Contains(p.body, `id="schedule-gaps"`) {
			t.Fatalf("schedule page:\n%s", p.body)
		}
		p = want(t, b.post("/schedules", url.Values{"definition": {`{"name": "x", "layers": [{"rotation": "hourly", "users": [1]}]}`}}), http.StatusBadRequest)
		if !strings.Contains(p.body, "rotation") {
			t.Fatalf("bad schedule not explained:\n%s", p.body)
		}
		// A chain from JSON.
		want(t, b.post("/chains", url.Values{"definition": {fmt.Sprintf(`{"name": "Nghiêm trọng", "severities": ["critical"], "steps": [{"wait_minutes": 5, "targets": [{"type": "channel", "id": %d}]}]}`, chs[0].ID)}}), http.StatusSeeOther)
		if p := want(t, b.get("/chains"), http.StatusOK); !strings.Contains(p.body, "chờ 5 phút") {
			t.Fatalf("chain list:\n%s", p.body)
		}
		// A silence; an officer cannot see the duty team's configuration.
		want(t, b.post("/silences", url.Values{"agency_id": {fmt.Sprint(e.deptA.ID)}, "hours": {"2"}, "comment": {"Bảo trì"}}), http.StatusSeeOther)
		p = want(t, b.post("/silences", url.Values{"hours": {"2"}}), http.StatusBadRequest)
		e.user("can-bo-b", model.RoleOfficer, &e.deptB, false)
		o := e.browser()
		o.login("can-bo-b")
		if p := want(t, o.get("/silences"), http.StatusOK); strings.Contains(p.body, "Bảo trì") {
			t.Fatal("an officer of another agency sees the silence")
		}
		want(t, o.post("/chains", url.Values{"definition": {"{}"}}), http.StatusForbidden)
		want(t, o.post("/channels", url.Values{"name": {"x"}}), http.StatusForbidden)
	})
}

// The board renders 10,000 open alerts; BenchmarkBoard10k times it.
func BenchmarkBoard10k(b *testing.B) {
	s := storagetest.Backends(b)[0].Open(b)
	e := newEnv(b, s)
	e.user("truc-ban", model.RoleAnalyst, nil, false)
	svc := e.alerts
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < 10000; i += 16 {
				if _, err := svc.Raise(ctx, alert.Alert{Source: "bench", Kind: "webmon.down", Severity: alert.Severities[i%5], AssetID: &e.assetA.ID,
					DedupKey: fmt.Sprint(i), Title: fmt.Sprintf("Website %d không truy cập được", i)}); err != nil {
					b.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	cl := e.browser()
	cl.login("truc-ban")
	// Server time: the handler is called directly with the browser's
	// session cookie, without the network or the client's parsing.
	u, _ := url.Parse(e.url)
	cookies := cl.hc.Jar.Cookies(u)
	rowRE := regexp.MustCompile(`class="alert-title"`)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		req := httptest.NewRequest("GET", "/alerts", nil)
		for _, c := range cookies {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		e.handler.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("board: %d", rec.Code)
		}
		if i == 0 {
			if n := len(rowRE.FindAllIndex(rec.Body.Bytes(), -1)); n != 10000 {
				b.Fatalf("board shows %d rows, want 10000", n)
			}
		}
	}
}

// Each person manages how they are reached, and only their own.
func TestContactMethodsPage(t *testing.T) {
	e, svc := alertEnv(t, storagetest.Backends(t)[0].Open(t))
	cfg, _ := json.Marshal(map[string]any{"host": "mail.example.gov.vn", "from": "canhgac@example.gov.vn"})
	ch := alert.ChannelRecord{Name: "Thư điện tử", Kind: "email", Config: cfg, Enabled: true}
	must(t, svc.SaveChannel(ctx, model.Actor{Scope: model.System}, &ch))
	me := e.user("truc-ban", model.RoleAnalyst, nil, false)
	b := e.browser()
	b.login("truc-ban")
	p := want(t, b.get("/profile/contacts"), http.StatusOK)
	if !strings.Contains(p.body, `id="no-contacts"`) {
		t.Fatal("no warning for a user nobody can reach")
	}
	want(t, b.post("/profile/contacts", url.Values{"channel_id": {fmt.Sprint(ch.ID)}, "address": {""}}), http.StatusBadRequest)
	want(t, b.post("/profile/contacts", url.Values{"channel_id": {fmt.Sprint(ch.ID)}, "address": {"truc-ban@example.gov.vn"}}), http.StatusSeeOther)
	cs, err := svc.Contacts(ctx, me.ID)
	must(t, err)
	if len(cs) != 1 || cs[0].Address != "truc-ban@example.gov.vn" {
		t.Fatalf("contacts %+v", cs)
	}
	e.user("khac", model.RoleAnalyst, nil, false)
	o := e.browser()
	o.login("khac")
	want(t, o.post(fmt.Sprintf("/profile/contacts/%d/delete", cs[0].ID), nil), http.StatusNotFound)
	want(t, b.post(fmt.Sprintf("/profile/contacts/%d/delete", cs[0].ID), nil), http.StatusSeeOther)
	if cs, _ := svc.Contacts(ctx, me.ID); len(cs) != 0 {
		t.Fatal("contact not deleted")
	}
}

// The duty lead builds a roster and a chain in forms: people by username,
// times on the local clock, a Tết override prefilled.
func TestRosterAndChainForms(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		e, svc := alertEnv(t, s)
		e.user("admin", model.RoleAdmin, nil, false)
		a := e.user("truc-ban-1", model.RoleAnalyst, nil, false)
		c := e.user("truc-ban-2", model.RoleAnalyst, nil, false)
		b := e.browser()
		b.login("admin")
		p := want(t, b.get("/schedules/new"), http.StatusOK)
		if !strings.Contains(p.body, `name="override_start"`) || !strings.Contains(p.body, "Tết ") {
			t.Fatalf("new schedule form has no Tết override row:\n%s", p.body)
		}
		form := url.Values{"name": {"Trực ban Sở"},
			"layer_name": {"Hằng ngày", ""}, "layer_rotation": {"daily", "daily"}, "layer_start": {"2027-01-01T07:30", "2027-01-01T07:30"},
			"layer_end": {"", ""}, "layer_users": {"truc-ban-1, truc-ban-2", ""}, "layer_per_shift": {"1", "1"},
			"override_start": {"2027-02-05T07:30"}, "override_end": {"2027-02-12T07:30"}, "override_users": {"truc-ban-2"},
			"override_rotation": {""}, "override_per_shift": {"0"}, "override_note": {"Tết Đinh Mùi"}}
		bad := url.Values{}
		for k, v := range form {
			bad[k] = v
		}
		bad["layer_users"] = []string{"truc-ban-1, khong-ai", ""}
		p = want(t, b.post("/schedules", bad), http.StatusBadRequest)
		if !strings.Contains(p.body, "khong-ai") || !strings.Contains(p.body, `value="truc-ban-1, khong-ai"`) {
			t.Fatalf("unknown username not explained or the form not refilled:\n%s", p.body)
		}
		p = want(t, b.post("/schedules", form), http.StatusSeeOther)
		ss, err := svc.Schedules(ctx)
		must(t, err)
		if len(ss) != 1 {
			t.Fatalf("%d schedules", len(ss))
		}
		sc := ss[0]
		at := func(v string) time.Time {
			tm, _ := time.ParseInLocation("2006-01-02T15:04", v, time.FixedZone("ICT", 7*3600))
			return tm
		}
		if on := sc.OnDuty(at("2027-01-01T08:00")); len(on) != 1 || on[0] != a.ID {
			t.Fatalf("1 Jan 08:00: %v, want %d", on, a.ID)
		}
		if on := sc.OnDuty(at("2027-01-02T07:29")); len(on) != 1 || on[0] != a.ID {
			t.Fatalf("2 Jan 07:29: %v", on)
		}
		if on := sc.OnDuty(at("2027-01-02T07:30")); len(on) != 1 || on[0] != c.ID {
			t.Fatalf("2 Jan 07:30: %v, want %d", on, c.ID)
		}
		if on := sc.OnDuty(at("2027-02-06T02:00")); len(on) != 1 || on[0] != c.ID {
			t.Fatalf("mùng 1 Tết 02:00: %v, want the override", on)
		}
		p = want(t, b.get(fmt.Sprintf("/schedules/%d/edit", sc.ID)), http.StatusOK)
		if !strings.Contains(p.body, `value="truc-ban-1, truc-ban-2"`) || !strings.Contains(p.body, `value="2027-02-05T07:30"`) {
			t.Fatalf("edit form not filled:\n%s", p.body)
		}

		// A chain: the roster, then a person, waiting 5 and 10 minutes.
		p = want(t, b.get("/chains/new"), http.StatusOK)
		want(t, b.post("/chains", url.Values{"name": {"Nghiêm trọng"}, "severity": {"critical"}, "repeat": {"1"}, "unack_timeout_minutes": {"30"},
			"step_schedule": {fmt.Sprint(sc.ID), "", ""}, "step_user": {"", fmt.Sprint(c.ID), ""}, "step_channel": {"", "", ""},
			"step_wait": {"5", "10", "10"}}), http.StatusSeeOther)
		cs, err := svc.Chains(ctx)
		must(t, err)
		if len(cs) != 1 || len(cs[0].Steps) != 2 || cs[0].Steps[0].Targets[0] != (alert.Target{Type: "schedule", ID: sc.ID}) ||
			cs[0].Steps[1].WaitMinutes != 10 || cs[0].Repeat != 1 || len(cs[0].Severity) != 1 {
			t.Fatalf("chain from the form: %+v", cs)
		}
		p = want(t, b.post("/chains", url.Values{"name": {"Trống"}}), http.StatusBadRequest)
		if !strings.Contains(p.body, `id="error"`) {
			t.Fatal("a chain without steps is not explained")
		}
		want(t, b.post(fmt.Sprintf("/chains/%d/delete", cs[0].ID), nil), http.StatusSeeOther)
		if cs, _ := svc.Chains(ctx); len(cs) != 0 {
			t.Fatal("chain not deleted")
		}
	})
}
