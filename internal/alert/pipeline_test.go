package alert_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"canhgac/internal/alert"
	"canhgac/internal/model"
	"canhgac/internal/storage"
	"canhgac/internal/storage/storagetest"
)

// hook is a local webhook receiver that records deliveries and can be told
// to fail.
type hook struct {
	mu      sync.Mutex
	bodies  []map[string]any
	ids     []string
	status  int // reply status; 0 means 204
	srv     *httptest.Server
	channel alert.ChannelRecord
}

func newHook(t *testing.T, svc *alert.Service, name string) *hook {
	h := &hook{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.status != 0 {
			w.WriteHeader(h.status)
			return
		}
		var m map[string]any
		json.Unmarshal(b, &m)
		h.bodies = append(h.bodies, m)
		h.ids = append(h.ids, r.Header.Get("X-Canhgac-Delivery"))
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(h.srv.Close)
	cfg, _ := json.Marshal(map[string]any{"url": h.srv.URL + "/hook", "secret": "hook secret"})
	h.channel = alert.ChannelRecord{Name: name, Kind: "webhook", Config: cfg, Enabled: true}
	must(t, svc.SaveChannel(ctx, model.Actor{Scope: model.System}, &h.channel))
	return h
}

func (h *hook) fail(status int) { h.mu.Lock(); h.status = status; h.mu.Unlock() }

func (h *hook) got() []map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]map[string]any(nil), h.bodies...)
}

// setup is a province with a webhook channel as the only step of a chain
// for every alert.
func setup(t *testing.T, s *storage.Store, cfg alert.Config) (*province, *alert.Service, *hook) {
	p := newProvince(t, s)
	p.clk.Set(tetNight)
	if cfg.PublicURL == "" {
		cfg = p.cfg
	}
	svc, err := alert.New(ctx, s, cfg)
	must(t, err)
	h := newHook(t, svc, "Nhóm trực ban")
	chain := alert.Chain{Name: "Mọi cảnh báo", Steps: []alert.Step{{WaitMinutes: 10, Targets: []alert.Target{{Type: "channel", ID: h.channel.ID}}}}}
	must(t, svc.SaveChain(ctx, model.Actor{Scope: model.System}, &chain))
	return p, svc, h
}

func down(p *province, key string) alert.Alert {
	return alert.Alert{Source: "webmon", Kind: "webmon.down", Severity: alert.High, AssetID: &p.site.ID, DedupKey: key, Title: "Website không truy cập được"}
}

func TestDedupUpdatesTheOpenAlert(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		p, svc, h := setup(t, s, alert.Config{})
		first, err := svc.Raise(ctx, down(p, "syt-down"))
		must(t, err)
		run(t, svc)
		for i := 0; i < 4; i++ {
			p.clk.Advance(time.Minute)
			res, err := svc.Raise(ctx, down(p, "syt-down"))
			must(t, err)
			if !res.Deduped || res.ID != first.ID {
				t.Fatalf("repeat %d: %+v", i, res)
			}
		}
		crit := down(p, "syt-down")
		crit.Severity = alert.Critical
		must2(svc.Raise(ctx, crit))
		run(t, svc)
		a, err := svc.Get(ctx, model.System, first.ID)
		must(t, err)
		if a.Count != 6 || !a.LastSeen.Equal(tetNight.Add(4*time.Minute)) || a.Severity != alert.Critical || a.AgencyName != "Sở Y tế" {
			t.Fatalf("after repeats: count %d, last seen %v, severity %s, agency %q", a.Count, a.LastSeen, a.Severity, a.AgencyName)
		}
		if n := len(h.got()); n != 1 {
			t.Fatalf("repeats notified %d times, want once", n)
		}
		page, err := svc.List(ctx, model.System, alert.Filter{States: []alert.State{alert.StateOpen}})
		must(t, err)
		if page.Total != 1 {
			t.Fatalf("%d open alerts, want 1", page.Total)
		}
	})
}

func must2[T any](_ T, err error) {
	if err != nil {
		panic(err)
	}
}

func TestFlappingAlertIsReopenedQuietly(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		p, svc, h := setup(t, s, alert.Config{})
		first, err := svc.Raise(ctx, down(p, "flap"))
		must(t, err)
		run(t, svc)
		p.clk.Advance(time.Minute)
		ok, err := svc.Recover(ctx, "webmon", "flap")
		must(t, err)
		if !ok {
			t.Fatal("recover found no alert")
		}
		a, _ := svc.Get(ctx, model.System, first.ID)
		if a.State != alert.StateResolved || a.ResolvedBy != "webmon" || a.NextEscalationAt != nil {
			t.Fatalf("after recovery: %+v", a)
		}
		// Back within the flap window: the same alert, reopened, not re-notified.
		p.clk.Advance(3 * time.Minute)
		res, err := svc.Raise(ctx, down(p, "flap"))
		must(t, err)
		run(t, svc)
		if !res.Reopened || res.ID != first.ID {
			t.Fatalf("re-fire in the window: %+v", res)
		}
		a, _ = svc.Get(ctx, model.System, first.ID)
		if a.State != alert.StateOpen || !a.Flapping {
			t.Fatalf("reopened alert: state %s flapping %v", a.State, a.Flapping)
		}
		if n := len(h.got()); n != 1 {
			t.Fatalf("flapping alert notified %d times, want once", n)
		}
		// Long after the window it is a new problem, and notified.
		svc.Recover(ctx, "webmon", "flap")
		p.clk.Advance(time.Hour)
		res, err = svc.Raise(ctx, down(p, "flap"))
		must(t, err)
		run(t, svc)
		if !res.Created || res.ID == first.ID || len(h.got()) != 2 {
			t.Fatalf("re-fire after the window: %+v, %d notifications", res, len(h.got()))
		}
	})
}

func TestSilencesHoldAlertsUntilTheyEnd(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		p, svc, h := setup(t, s, alert.Config{})
		officer := model.Actor{Scope: model.Scope{Role: model.RoleOfficer, Username: "can-bo", AgencyPath: "/999/"}}
		// An officer cannot silence the province, or another agency.
		if err := svc.CreateSilence(ctx, officer, &alert.Silence{Kind: "webmon.", EndsAt: tetNight.Add(time.Hour), Comment: "bảo trì"}); err == nil {
			t.Fatal("an officer silenced every agency")
		}
		if err := svc.CreateSilence(ctx, officer, &alert.Silence{AssetID: &p.site.ID, EndsAt: tetNight.Add(time.Hour), Comment: "bảo trì"}); err == nil {
			t.Fatal("an officer silenced another agency's asset")
		}
		var ve *model.ValidationError
		if err := svc.CreateSilence(ctx, model.Actor{Scope: model.System}, &alert.Silence{AssetID: &p.site.ID, EndsAt: tetNight.Add(time.Hour)}); !errors.As(err, &ve) || ve.Field != "comment" {
			t.Fatalf("silence without a reason: %v", err)
		}
		maint := alert.Silence{AgencyID: &p.dept.ID, Kind: "webmon.", EndsAt: tetNight.Add(2 * time.Hour), Comment: "Nâng cấp máy chủ web Sở Y tế"}
		must(t, svc.CreateSilence(ctx, model.Actor{Scope: model.System}, &maint))

		res, err := svc.Raise(ctx, down(p, "maint"))
		must(t, err)
		other := alert.Alert{Source: "agent", Kind: "agent.ransomware", Severity: alert.Critical, AssetID: &p.site.ID, Title: "Mã hoá hàng loạt tệp"}
		res2, err := svc.Raise(ctx, other)
		must(t, err)
		run(t, svc)
		if !res.Silenced || res2.Silenced {
			t.Fatalf("silence matched wrongly: web %+v, ransomware %+v", res, res2)
		}
		if got := h.got(); len(got) != 1 || got[0]["kind"] != "agent.ransomware" {
			t.Fatalf("notifications during the silence: %v", got)
		}
		// When it ends early, the held alert starts escalating.
		p.clk.Advance(30 * time.Minute)
		must(t, svc.EndSilence(ctx, model.Actor{Scope: model.System}, maint.ID))
		run(t, svc)
		if got := h.got(); len(got) != 2 || got[1]["kind"] != "webmon.down" {
			t.Fatalf("after the silence ended: %v", got)
		}
		if err := svc.EndSilence(ctx, model.Actor{Scope: model.System}, maint.ID); !errors.Is(err, model.ErrConflict) {
			t.Fatalf("ending an ended silence: %v", err)
		}
	})
}

// Many alerts of one agency and kind within the group wait go out as one
// message: "12 websites of Sở Y tế down".
func TestGroupedNotification(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		cfg := alert.DefaultConfig()
		cfg.PublicURL = "https://canhgac.example"
		cfg.GroupWait = 30 * time.Second
		p, svc, h := setup(t, s, cfg)
		sys := model.Actor{Scope: model.System}
		for i := 0; i < 12; i++ {
			a := model.Asset{AgencyID: p.dept.ID, Kind: model.AssetWebsite, Name: "Website " + string(rune('A'+i)), Address: "https://x.example"}
			must(t, s.CreateAsset(ctx, sys, &a))
			must2(svc.Raise(ctx, alert.Alert{Source: "webmon", Kind: "webmon.down", Severity: alert.High, AssetID: &a.ID, Title: "Website không truy cập được"}))
			p.clk.Advance(time.Second)
		}
		run(t, svc)
		if n := len(h.got()); n != 0 {
			t.Fatalf("%d notifications before the group wait ran out", n)
		}
		p.clk.Advance(30 * time.Second)
		run(t, svc)
		got := h.got()
		if len(got) != 1 {
			t.Fatalf("%d notifications, want one grouped", len(got))
		}
		group, _ := got[0]["group"].([]any)
		if len(group) != 12 || !strings.Contains(got[0]["text"].(string), "Website L") || got[0]["count"] != float64(12) ||
			!strings.Contains(got[0]["text"].(string), "Sở Y tế") {
			t.Fatalf("grouped message: %v", got[0])
		}
	})
}

func TestOutboxRetriesAndGivesUp(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		p, svc, h := setup(t, s, alert.Config{})
		h.fail(http.StatusServiceUnavailable)
		res, err := svc.Raise(ctx, down(p, "retry"))
		must(t, err)
		run(t, svc)
		run(t, svc) // not due again yet
		if n := len(h.got()); n != 0 {
			t.Fatalf("%d deliveries while failing", n)
		}
		// Backoff: 30 s after the first failure, then 60 s.
		h.fail(0)
		p.clk.Advance(29 * time.Second)
		run(t, svc)
		if len(h.got()) != 0 {
			t.Fatal("retried before the backoff")
		}
		p.clk.Advance(time.Second)
		run(t, svc)
		run(t, svc)
		if got := h.got(); len(got) != 1 {
			t.Fatalf("after the backoff: %d deliveries, want exactly 1", len(got))
		}
		types := eventTypes(t, svc, res.ID)
		if strings.Join(types, "|") != "raised|escalated:1|notified:1:Nhóm trực ban" {
			t.Fatalf("timeline %v", types)
		}

		// A permanent refusal (400) is given up at once and shown on the timeline.
		h.fail(http.StatusBadRequest)
		res, err = svc.Raise(ctx, down(p, "perm"))
		must(t, err)
		run(t, svc)
		p.clk.Advance(time.Hour)
		run(t, svc)
		types = eventTypes(t, svc, res.ID)
		if len(types) < 3 || types[2] != "notify_failed:Nhóm trực ban" {
			t.Fatalf("timeline after a permanent failure: %v", types)
		}
	})
}

// A worker that claimed a notification and died before sending leaves it
// leased; after the lease it is sent once, with the same delivery ID.
func TestOutboxLeaseRecovery(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		p, svc, h := setup(t, s, alert.Config{})
		must2(svc.Raise(ctx, down(p, "lease")))
		_, err := svc.Escalate(ctx)
		must(t, err)
		// Simulate the crash: the row is claimed, the send never happens.
		_, err = s.DB().Exec(s.Rebind(`UPDATE outbox SET state = 'sending', lease_until = ?, attempts = 1`), tetNight.Add(alert.Lease).UTC())
		must(t, err)
		run(t, svc)
		if len(h.got()) != 0 {
			t.Fatal("a leased notification was sent before its lease ran out")
		}
		p.clk.Advance(alert.Lease)
		run(t, svc)
		run(t, svc)
		if len(h.got()) != 1 || h.ids[0] == "" {
			t.Fatalf("after the lease: %d deliveries, ids %v", len(h.got()), h.ids)
		}
	})
}

func TestRoutingBySeverityAgencyAndKind(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		p, svc, general := setup(t, s, alert.Config{})
		sys := model.Actor{Scope: model.System}
		health := newHook(t, svc, "Sở Y tế — CNTT")
		ransom := newHook(t, svc, "Nhóm ứng cứu mã độc")
		must(t, svc.SaveChain(ctx, sys, &alert.Chain{Name: "Sở Y tế", Priority: 5, AgencyID: &p.dept.ID,
			Steps: []alert.Step{{WaitMinutes: 5, Targets: []alert.Target{{Type: "channel", ID: health.channel.ID}}}}}))
		must(t, svc.SaveChain(ctx, sys, &alert.Chain{Name: "Mã độc tống tiền", Priority: 10, Kinds: []string{"agent.ransomware"},
			Severity: []alert.Severity{alert.Critical}, Steps: []alert.Step{{WaitMinutes: 5, Targets: []alert.Target{{Type: "channel", ID: ransom.channel.ID}}}}}))
		must2(svc.Raise(ctx, down(p, "r1")))
		must2(svc.Raise(ctx, alert.Alert{Source: "agent", Kind: "agent.ransomware.canary", Severity: alert.Critical, AssetID: &p.site.ID, Title: "Tệp mồi bị mã hoá"}))
		must2(svc.Raise(ctx, alert.Alert{Source: "vuln", Kind: "vuln.kev", Severity: alert.Medium, Title: "Lỗ hổng KEV mới trong tỉnh"}))
		run(t, svc)
		if len(health.got()) != 1 || len(ransom.got()) != 1 || len(general.got()) != 1 || general.got()[0]["kind"] != "vuln.kev" {
			t.Fatalf("routing: health %d, ransomware %d, general %v", len(health.got()), len(ransom.got()), general.got())
		}
		var ve *model.ValidationError
		if err := svc.SaveChain(ctx, sys, &alert.Chain{Name: "Hỏng", Steps: []alert.Step{{WaitMinutes: 5, Targets: []alert.Target{{Type: "user", ID: 9999}}}}}); !errors.As(err, &ve) {
			t.Fatalf("chain with a missing user: %v", err)
		}
	})
}

// An officer sees and acknowledges only their own agencies' alerts.
func TestAlertScoping(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		p, svc, _ := setup(t, s, alert.Config{})
		sys := model.Actor{Scope: model.System}
		other := model.Agency{Name: "Sở Tài chính", Kind: model.AgencyDepartment, ParentID: p.dept.ParentID}
		must(t, s.CreateAgency(ctx, sys, &other))
		theirs := model.Asset{AgencyID: other.ID, Kind: model.AssetServer, Name: "Máy chủ kế toán", Address: "10.1.1.1"}
		must(t, s.CreateAsset(ctx, sys, &theirs))
		mine, err := svc.Raise(ctx, down(p, "mine"))
		must(t, err)
		notMine, err := svc.Raise(ctx, alert.Alert{Source: "agent", Kind: "agent.ransomware", Severity: alert.Critical, AssetID: &theirs.ID, Title: "Mã hoá tệp"})
		must(t, err)
		provinceWide, err := svc.Raise(ctx, alert.Alert{Source: "vuln", Kind: "vuln.bulletin", Severity: alert.Medium, Title: "Cảnh báo tuần của Bộ"})
		must(t, err)
		path, _ := s.AgencyPath(ctx, s.DB(), model.System, p.dept.ID)
		officer := model.Actor{Scope: model.Scope{Role: model.RoleOfficer, Username: "can-bo", UserID: 77, AgencyPath: path}}
		page, err := svc.List(ctx, officer.Scope, alert.Filter{})
		must(t, err)
		if page.Total != 1 || page.Items[0].ID != mine.ID {
			t.Fatalf("officer sees %d alerts: %+v", page.Total, page.Items)
		}
		for _, id := range []int64{notMine.ID, provinceWide.ID} {
			if _, err := svc.Get(ctx, officer.Scope, id); !errors.Is(err, model.ErrNotFound) {
				t.Fatalf("officer reads alert %d: %v", id, err)
			}
			if err := svc.Acknowledge(ctx, officer, id, "api"); !errors.Is(err, model.ErrNotFound) {
				t.Fatalf("officer acknowledges alert %d: %v", id, err)
			}
			if _, err := svc.Timeline(ctx, officer.Scope, id); !errors.Is(err, model.ErrNotFound) {
				t.Fatalf("officer reads the timeline of alert %d: %v", id, err)
			}
		}
		must(t, svc.Acknowledge(ctx, officer, mine.ID, "ui"))
		if err := svc.Acknowledge(ctx, officer, mine.ID, "ui"); !errors.Is(err, model.ErrConflict) {
			t.Fatalf("second acknowledgement: %v", err)
		}
		// Every acknowledgement is audit-logged.
		audit, err := s.ListAudit(ctx, model.System, storage.AuditFilter{ResourceType: "alert"})
		must(t, err)
		if audit.Total != 1 || audit.Items[0].ActorName != "can-bo" {
			t.Fatalf("audit of the acknowledgement: %+v", audit.Items)
		}
	})
}

func TestRaiseRefusesBadInput(t *testing.T) {
	s := storagetest.Backends(t)[0].Open(t)
	svc, err := alert.New(ctx, s, alert.DefaultConfig())
	must(t, err)
	missing := int64(424242)
	for _, c := range []struct {
		a     alert.Alert
		field string
	}{
		{alert.Alert{Kind: "k", Severity: alert.High, Title: "t"}, "source"},
		{alert.Alert{Source: "s", Severity: alert.High, Title: "t"}, "kind"},
		{alert.Alert{Source: "s", Kind: "k", Severity: "urgent", Title: "t"}, "severity"},
		{alert.Alert{Source: "s", Kind: "k", Severity: alert.High}, "title"},
		{alert.Alert{Source: "s", Kind: "k", Severity: alert.High, Title: strings.Repeat("x", 301)}, "title"},
		{alert.Alert{Source: "s", Kind: "k", Severity: alert.High, Title: "t", AssetID: &missing}, "asset_id"},
	} {
		_, err := svc.Raise(ctx, c.a)
		var ve *model.ValidationError
		if !errors.As(err, &ve) || ve.Field != c.field {
			t.Errorf("%+v: %v, want a %s error", c.a, err, c.field)
		}
	}
	// A bad alert in a burst fails alone.
	var wg sync.WaitGroup
	errs := make([]error, 50)
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			a := alert.Alert{Source: "s", Kind: "k", Severity: alert.High, Title: "t", DedupKey: "burst" + string(rune('a'+i%26)) + string(rune('a'+i/26))}
			if i == 7 {
				a.AssetID = &missing
			}
			_, errs[i] = svc.Raise(ctx, a)
		}(i)
	}
	wg.Wait()
	for i, err := range errs {
		if (i == 7) != (err != nil) {
			t.Fatalf("burst member %d: %v", i, err)
		}
	}
	page, _ := svc.List(ctx, model.System, alert.Filter{})
	if page.Total != 49 {
		t.Fatalf("%d alerts stored from the burst, want 49", page.Total)
	}
}

// A chain nobody answers runs Repeat more times, then stops and says so.
func TestChainRepeatsThenStops(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		p := newProvince(t, s)
		p.clk.Set(tetNight)
		svc, err := alert.New(ctx, s, p.cfg)
		must(t, err)
		h := newHook(t, svc, "Nhóm trực")
		must(t, svc.SaveChain(ctx, model.Actor{Scope: model.System}, &alert.Chain{Name: "Lặp", Repeat: 2,
			Steps: []alert.Step{{WaitMinutes: 10, Targets: []alert.Target{{Type: "channel", ID: h.channel.ID}}}}}))
		res, err := svc.Raise(ctx, down(p, "repeat"))
		must(t, err)
		for i := 0; i < 6; i++ {
			run(t, svc)
			p.clk.Advance(10 * time.Minute)
		}
		if n := len(h.got()); n != 3 {
			t.Fatalf("%d notifications, want 3 (once and two repeats)", n)
		}
		types := eventTypes(t, svc, res.ID)
		if types[len(types)-1] != alert.EvExhausted {
			t.Fatalf("timeline does not end with exhaustion: %v", types)
		}
		a, _ := svc.Get(ctx, model.System, res.ID)
		if a.NextEscalationAt != nil || a.State != alert.StateOpen {
			t.Fatalf("after exhaustion: %+v", a)
		}
	})
}

// A silence by tag matches assets carrying that tag.
func TestSilenceByTag(t *testing.T) {
	s := storagetest.Backends(t)[0].Open(t)
	p, svc, h := setup(t, s, alert.Config{})
	sys := model.Actor{Scope: model.System}
	tagged := model.Asset{AgencyID: p.dept.ID, Kind: model.AssetWebsite, Name: "Cổng thử nghiệm", Address: "https://test.example.gov.vn", Tags: []string{"thu-nghiem"}}
	must(t, s.CreateAsset(ctx, sys, &tagged))
	must(t, svc.CreateSilence(ctx, sys, &alert.Silence{Tag: "thu-nghiem", EndsAt: tetNight.Add(24 * time.Hour), Comment: "Môi trường thử nghiệm"}))
	a1, err := svc.Raise(ctx, alert.Alert{Source: "webmon", Kind: "webmon.down", Severity: alert.High, AssetID: &tagged.ID, Title: "x"})
	must(t, err)
	a2, err := svc.Raise(ctx, down(p, "untagged"))
	must(t, err)
	run(t, svc)
	if !a1.Silenced || a2.Silenced || len(h.got()) != 1 {
		t.Fatalf("tag silence: tagged %+v, untagged %+v, %d notifications", a1, a2, len(h.got()))
	}
}

// Alert search folds case and diacritics on both backends, in the title
// and the asset's name.
func TestAlertSearchFoldsDiacritics(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		p, svc, _ := setup(t, s, alert.Config{})
		must2(svc.Raise(ctx, alert.Alert{Source: "webmon", Kind: "webmon.down", Severity: alert.High, AssetID: &p.site.ID, Title: "Cổng ĐẮK LẮK không truy cập được"}))
		for _, q := range []string{"đắk lắk", "dak lak", "ĐẮK", "KHONG TRUY CAP", "so y te"} {
			page, err := svc.List(ctx, model.System, alert.Filter{Query: q})
			must(t, err)
			if page.Total != 1 {
				t.Errorf("q=%q finds %d alerts, want 1", q, page.Total)
			}
		}
		if page, _ := svc.List(ctx, model.System, alert.Filter{Query: "kho bac"}); page.Total != 0 {
			t.Error("an unrelated query matches")
		}
	})
}
