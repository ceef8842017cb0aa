package alert_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"canhgac/internal/alert"
	"canhgac/internal/auth"
	"canhgac/internal/lunar"
	"canhgac/internal/model"
	"canhgac/internal/notify/smtptest"
	"canhgac/internal/oncall"
	"canhgac/internal/storage"
	"canhgac/internal/storage/storagetest"
)

var ctx = context.Background()

// clock is a settable time source shared by the store and the test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time)         { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// province is a small real setup: the province, a department with a
// website, three duty people with e-mail through a real local SMTP server,
// a Tết roster and a three-step escalation chain for critical alerts.
type province struct {
	store                *storage.Store
	clk                  *clock
	smtp                 *smtptest.Server
	dept                 model.Agency
	site                 model.Asset
	onDuty, backup, lead model.User
	schedule             oncall.Schedule
	chain                alert.Chain
	cfg                  alert.Config
}

// tetNight is 02:00 on mùng 1 Tết 2027.
var tetNight = lunar.Tet(2027).Add(2 * time.Hour)

func newProvince(t *testing.T, s *storage.Store) *province {
	t.Helper()
	p := &province{store: s, clk: &clock{t: tetNight.Add(-24 * time.Hour)}}
	s.SetClock(p.clk.Now)
	sys := model.Actor{Scope: model.System}
	root := model.Agency{Name: "Sở Thông tin và Truyền thông", Kind: model.AgencyProvince}
	must(t, s.CreateAgency(ctx, sys, &root))
	p.dept = model.Agency{Name: "Sở Y tế", Code: "SYT", Kind: model.AgencyDepartment, ParentID: &root.ID}
	must(t, s.CreateAgency(ctx, sys, &p.dept))
	p.site = model.Asset{AgencyID: p.dept.ID, Kind: model.AssetWebsite, Name: "Cổng thông tin Sở Y tế", Address: "https://syt.example.gov.vn", SecurityLevel: 3}
	must(t, s.CreateAsset(ctx, sys, &p.site))
	hash, _ := auth.HashPassword("a long enough password")
	mk := func(name, display, lang string) model.User {
		u := model.User{Username: name, DisplayName: display, Role: model.RoleAnalyst, PasswordHash: hash, Language: lang}
		must(t, s.CreateUser(ctx, sys, &u))
		return u
	}
	p.onDuty = mk("truc-ban", "Nguyễn Văn Trực", "vi")
	p.backup = mk("du-phong", "Trần Thị Dự Phòng", "vi")
	p.lead = mk("truong-nhom", "Lê Văn Trưởng", "en")

	p.smtp = smtptest.NewServer(smtptest.Options{Username: "canhgac", Password: "smtp secret"})
	t.Cleanup(p.smtp.Close)
	p.cfg = alert.DefaultConfig()
	p.cfg.PublicURL = "https://canhgac.stttt.example.gov.vn"
	p.cfg.GroupWait = 0
	return p
}

// configure stores the channel, contacts, roster and chain through svc.
func (p *province) configure(t *testing.T, svc *alert.Service) {
	t.Helper()
	sys := model.Actor{Scope: model.System}
	cfg, _ := json.Marshal(map[string]any{"host": p.smtp.Host, "port": p.smtp.Port, "username": "canhgac", "password": "smtp secret",
		"from": "Canh gác <canhgac@stttt.example.gov.vn>", "security": "starttls", "ca_pem": p.smtp.CertPEM})
	email := alert.ChannelRecord{Name: "Thư điện tử", Kind: "email", Config: cfg, Enabled: true}
	must(t, svc.SaveChannel(ctx, sys, &email))
	for _, u := range []model.User{p.onDuty, p.backup, p.lead} {
		must(t, svc.AddContact(ctx, sys, &alert.ContactMethod{UserID: u.ID, ChannelID: email.ID, Address: u.Username + "@stttt.example.gov.vn"}))
	}
	// Normally the lead and the backup alternate daily at 07:30; over Tết,
	// from 29 Tết to the end of mùng 6, the duty analyst holds the line.
	tet := lunar.Tet(2027)
	p.schedule = oncall.Schedule{Name: "Trực ban Sở TTTT",
		Layers: []oncall.Layer{{Name: "Hằng ngày", Rotation: oncall.Daily, Start: time.Date(2027, 1, 1, 7, 30, 0, 0, oncall.Location),
			Users: []int64{p.lead.ID, p.backup.ID}, PerShift: 1}},
		Overrides: []oncall.Override{{Start: lunar.LastDayOfYear(2026), End: tet.AddDate(0, 0, 6), Users: []int64{p.onDuty.ID}, Note: "Tết Đinh Mùi"}}}
	must(t, svc.SaveSchedule(ctx, sys, &p.schedule))
	p.chain = alert.Chain{Name: "Nghiêm trọng", Severity: []alert.Severity{alert.Critical}, Steps: []alert.Step{
		{WaitMinutes: 5, Targets: []alert.Target{{Type: "schedule", ID: p.schedule.ID}}},
		{WaitMinutes: 10, Targets: []alert.Target{{Type: "user", ID: p.backup.ID}}},
		{WaitMinutes: 15, Targets: []alert.Target{{Type: "user", ID: p.lead.ID}}},
	}}
	must(t, svc.SaveChain(ctx, sys, &p.chain))
}

func (p *province) raiseDefacement(t *testing.T, svc *alert.Service) int64 {
	t.Helper()
	res, err := svc.Raise(ctx, alert.Alert{Source: "webmon", Kind: "webmon.defacement", Severity: alert.Critical, AssetID: &p.site.ID,
		Title: "Trang chủ bị thay đổi giao diện", Details: "Trang chủ chứa nội dung cờ bạc trực tuyến (nhà cái)."})
	must(t, err)
	if !res.Created {
		t.Fatalf("raise: %+v", res)
	}
	return res.ID
}

// mail is one delivered e-mail, decoded.
type mailMsg struct {
	to, subject, body string
}

func (p *province) mails(t *testing.T) []mailMsg {
	t.Helper()
	var out []mailMsg
	for _, m := range p.smtp.Messages() {
		msg, err := mail.ReadMessage(strings.NewReader(string(m.Data)))
		if err != nil {
			t.Fatalf("delivered mail does not parse: %v", err)
		}
		subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		must(t, err)
		var body io.Reader = msg.Body
		if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
			body = quotedprintable.NewReader(body)
		}
		b, _ := io.ReadAll(body)
		out = append(out, mailMsg{to: strings.Join(m.To, ","), subject: subject, body: string(b)})
	}
	return out
}

// run performs whatever is due, as the server's loop would.
func run(t *testing.T, svc *alert.Service) {
	t.Helper()
	_, err := svc.Escalate(ctx)
	must(t, err)
	_, err = svc.Deliver(ctx)
	must(t, err)
}

var ackRE = regexp.MustCompile(`https://canhgac\.stttt\.example\.gov\.vn/ack/([A-Za-z0-9_-]+)`)

func eventTypes(t *testing.T, svc *alert.Service, id int64) []string {
	t.Helper()
	evs, err := svc.Timeline(ctx, model.System, id)
	must(t, err)
	var out []string
	for _, e := range evs {
		s := e.Type
		if step, ok := e.Detail["step"]; ok && (e.Type == alert.EvEscalated || e.Type == alert.EvNotified) {
			s += fmt.Sprintf(":%v", step)
		}
		if to, ok := e.Detail["to"]; ok {
			s += ":" + fmt.Sprint(to)
		}
		if via, ok := e.Detail["via"]; ok {
			s += ":" + fmt.Sprint(via)
		}
		out = append(out, s)
	}
	return out
}

// A critical alert at 02:00 on mùng 1 Tết goes to the on-duty analyst, is
// not acknowledged, escalates to the backup after the step's wait, is
// acknowledged through the link in the backup's e-mail, and the timeline
// shows every step. restart, when set, replaces the service (and the
// store) between steps, as a crash and restart would.
func scenario(t *testing.T, p *province, svc *alert.Service, restart func(*alert.Service) *alert.Service) {
	p.configure(t, svc)
	p.clk.Set(tetNight)
	if on := p.schedule.OnDuty(tetNight); len(on) != 1 || on[0] != p.onDuty.ID {
		t.Fatalf("on duty at 02:00 mùng 1 Tết: %v, want the duty analyst %d", on, p.onDuty.ID)
	}
	id := p.raiseDefacement(t, svc)
	svc = restart(svc) // the alert was acknowledged to its source: it must survive
	run(t, svc)
	mails := p.mails(t)
	if len(mails) != 1 || mails[0].to != "truc-ban@stttt.example.gov.vn" {
		evs, _ := svc.Timeline(ctx, model.System, id)
		t.Fatalf("first notification: %+v\ntimeline: %+v", mails, evs)
	}
	m := mails[0]
	for _, want := range []string{"Nghiêm trọng", "Trang chủ bị thay đổi giao diện"} {
		if !strings.Contains(m.subject+m.body, want) {
			t.Errorf("first e-mail lacks %q:\n%s\n%s", want, m.subject, m.body)
		}
	}
	for _, want := range []string{"Cổng thông tin Sở Y tế", "Sở Y tế", "https://canhgac.stttt.example.gov.vn/alerts/", "/ack/"} {
		if !strings.Contains(m.body, want) {
			t.Errorf("first e-mail body lacks %q:\n%s", want, m.body)
		}
	}

	// Nobody acknowledges. Nothing more happens before the step's 5 minutes.
	p.clk.Advance(5*time.Minute - time.Second)
	svc = restart(svc)
	run(t, svc)
	if n := len(p.mails(t)); n != 1 {
		t.Fatalf("%d e-mails before the first step's wait ran out", n)
	}
	p.clk.Advance(time.Second)
	run(t, svc)
	svc = restart(svc)
	run(t, svc) // replaying after a restart must not send again
	mails = p.mails(t)
	if len(mails) != 2 || mails[1].to != "du-phong@stttt.example.gov.vn" {
		t.Fatalf("escalation to the backup: %+v", mails)
	}
	link := ackRE.FindStringSubmatch(mails[1].body)
	if link == nil {
		t.Fatalf("the backup's e-mail has no acknowledgement link:\n%s", mails[1].body)
	}

	// The backup acknowledges from the link, three minutes later.
	p.clk.Advance(3 * time.Minute)
	svc = restart(svc)
	a, err := svc.AcknowledgeByLink(ctx, link[1], "203.0.113.7")
	must(t, err)
	if a.State != alert.StateAcknowledged || a.AckedBy != "du-phong" {
		t.Fatalf("after the link: %s by %q", a.State, a.AckedBy)
	}
	if _, err := svc.AcknowledgeByLink(ctx, link[1], "203.0.113.7"); !errors.Is(err, model.ErrConflict) {
		t.Fatalf("a spent link: %v, want a conflict", err)
	}
	if _, err := svc.AcknowledgeByLink(ctx, link[1][:len(link[1])-2]+"xx", "203.0.113.7"); !errors.Is(err, alert.ErrBadAckLink) {
		t.Fatalf("a forged link: %v", err)
	}

	// Acknowledged: the lead is not paged when the backup's wait runs out.
	p.clk.Advance(15 * time.Minute)
	svc = restart(svc)
	run(t, svc)
	if n := len(p.mails(t)); n != 2 {
		t.Fatalf("%d e-mails after the acknowledgement", n)
	}
	want := []string{
		"raised",
		"escalated:1", "notified:1:Nguyễn Văn Trực",
		"escalated:2", "notified:2:Trần Thị Dự Phòng",
		"acknowledged:link",
	}
	if got := eventTypes(t, svc, id); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("timeline:\n got %v\nwant %v", got, want)
	}

	// Critical and still unresolved 30 minutes after the acknowledgement:
	// it escalates again from the first step, with fresh links.
	p.clk.Advance(15 * time.Minute) // 30 min after the acknowledgement
	run(t, svc)
	mails = p.mails(t)
	if len(mails) != 3 || mails[2].to != "truc-ban@stttt.example.gov.vn" {
		t.Fatalf("re-escalation after the unacknowledge timeout: %+v", mails)
	}
	got := eventTypes(t, svc, id)
	if tail := strings.Join(got[len(want):], "|"); tail != "unacknowledged|escalated:1|notified:1:Nguyễn Văn Trực" {
		t.Fatalf("after the unacknowledge timeout: %s", tail)
	}
	must(t, svc.Resolve(ctx, model.Actor{Scope: model.System}, id, "api"))
}

func TestTetNightEscalationScenario(t *testing.T) {
	storagetest.Each(t, func(t *testing.T, s *storage.Store) {
		p := newProvince(t, s)
		svc, err := alert.New(ctx, s, p.cfg)
		must(t, err)
		scenario(t, p, svc, func(svc *alert.Service) *alert.Service { return svc })
	})
}

// The same scenario with the service torn down and rebuilt from the
// database between every step, as after a crash: nothing is lost and
// nothing is sent twice. (cmd/canhgac runs it with a real kill -9.)
func TestTetNightScenarioSurvivesRestarts(t *testing.T) {
	for _, b := range storagetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			dir, url := b.URL(t)
			s, err := storage.Open(ctx, dir, url)
			must(t, err)
			p := newProvince(t, s)
			svc, err := alert.New(ctx, s, p.cfg)
			must(t, err)
			restart := func(*alert.Service) *alert.Service {
				p.store.Close()
				s, err := storage.Open(ctx, dir, url)
				must(t, err)
				s.SetClock(p.clk.Now)
				p.store = s
				svc, err := alert.New(ctx, s, p.cfg)
				must(t, err)
				return svc
			}
			scenario(t, p, svc, restart)
			p.store.Close()
		})
	}
}
