package ui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"canhgac/internal/alert"
	"canhgac/internal/httpd"
	"canhgac/internal/lunar"
	"canhgac/internal/model"
	"canhgac/internal/notify"
	"canhgac/internal/oncall"
)

type alertUI struct {
	*handler
	svc *alert.Service
}

// RegisterAlerts adds the duty room's pages: the live alert board, alert
// timelines, acknowledgement links, silences, channels, duty schedules and
// escalation chains.
func RegisterAlerts(s *httpd.Server, svc *alert.Service) {
	h := &alertUI{handler: &handler{store: s.Store, auth: s.Auth, pages: parsePages()}, svc: svc}
	r := s.Router
	read, write := model.ActionRead, model.ActionWrite
	r.Private("GET /alerts", h.can(read, model.ResourceAlert, h.board))
	r.Private("GET /alerts/stream", h.can(read, model.ResourceAlert, h.stream))
	r.Private("POST /alerts/ack", h.can(write, model.ResourceAlert, h.bulkAck))
	r.Private("GET /alerts/{id}", h.can(read, model.ResourceAlert, h.alertPage))
	r.Private("POST /alerts/{id}/ack", h.can(write, model.ResourceAlert, h.ack))
	r.Private("POST /alerts/{id}/resolve", h.can(write, model.ResourceAlert, h.resolve))
	// Acknowledgement links in messages work without logging in: the
	// signed token is the credential. GET only shows; POST acknowledges, so
	// link previewers in chat apps cannot take an alert by fetching it.
	r.Public("GET /ack/{token}", h.ackLinkPage)
	r.Public("POST /ack/{token}", h.ackLinkSubmit)

	r.Private("GET /silences", h.can(read, model.ResourceSilence, h.silences))
	r.Private("POST /silences", h.can(write, model.ResourceSilence, h.silenceCreate))
	r.Private("POST /silences/{id}/end", h.can(write, model.ResourceSilence, h.silenceEnd))
	r.Private("GET /channels", h.can(read, model.ResourceOncall, h.channels))
	r.Private("POST /channels", h.can(write, model.ResourceOncall, h.channelCreate))
	r.Private("POST /channels/{id}/test", h.can(write, model.ResourceOncall, h.channelTest))
	r.Private("GET /schedules", h.can(read, model.ResourceOncall, h.schedules))
	r.Private("POST /schedules", h.can(write, model.ResourceOncall, h.scheduleSave))
	r.Private("GET /schedules/new", h.can(write, model.ResourceOncall, h.scheduleNew))
	r.Private("GET /schedules/{id}", h.can(read, model.ResourceOncall, h.schedulePage))
	r.Private("GET /schedules/{id}/edit", h.can(write, model.ResourceOncall, h.scheduleEdit))
	r.Private("GET /profile/contacts", h.page(h.contacts))
	r.Private("POST /profile/contacts", h.page(h.contactAdd))
	r.Private("POST /profile/contacts/{id}/delete", h.page(h.contactDelete))
	r.Private("GET /chains", h.can(read, model.ResourceOncall, h.chains))
	r.Private("POST /chains", h.can(write, model.ResourceOncall, h.chainSave))
	r.Private("GET /chains/new", h.can(write, model.ResourceOncall, h.chainNew))
	r.Private("GET /chains/{id}/edit", h.can(write, model.ResourceOncall, h.chainEdit))
	r.Private("POST /chains/{id}/delete", h.can(write, model.ResourceOncall, h.chainDelete))
}

// boardMax is how many alerts the board shows at once.
const boardMax = 10000

type boardData struct {
	Items      []alert.Alert
	Total      int
	Counts     map[alert.Severity]int
	Severities []alert.Severity
	States     []alert.State
	Agencies   []agencyOption
	Critical   int
	// Rows is the board's table body, written directly: at 10,000 alerts
	// a template range costs more than the query.
	Rows template.HTML
}

// board is the duty room's live alert board: unresolved alerts, most
// urgent first, refreshed by the server-sent event stream.
func (h *alertUI) board(w http.ResponseWriter, r *http.Request) {
	v := h.newView(r, "alerts.title", "alerts")
	q := r.URL.Query()
	f := alert.Filter{AgencyID: formID(r, "agency"), Kind: q.Get("kind"), Query: q.Get("q"), Limit: boardMax, Board: true}
	switch st := alert.State(q.Get("state")); st {
	case "":
		f.States = []alert.State{alert.StateOpen, alert.StateAcknowledged}
	case "all":
	default:
		if validKind(st, alert.States) {
			f.States = []alert.State{st}
		}
	}
	if sev := alert.Severity(q.Get("severity")); sev.Valid() {
		f.Severities = []alert.Severity{sev}
	}
	page, err := h.svc.List(r.Context(), scope(r), f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	counts, err := h.svc.Counts(r.Context(), scope(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	agencies, err := h.agencyOptions(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v.Data = boardData{Items: page.Items, Total: page.Total, Counts: counts, Severities: []alert.Severity{alert.Critical, alert.High, alert.Medium, alert.Low, alert.Info},
		States: alert.States, Agencies: agencies, Critical: counts[alert.Critical], Rows: boardRows(v, page.Items)}
	h.render(w, http.StatusOK, "alerts", v)
}

// boardRows renders the board's rows. Every value from an alert is
// HTML-escaped; labels come from the catalogs.
func boardRows(v *view, items []alert.Alert) template.HTML {
	if len(items) == 0 {
		return template.HTML(`<tr><td colspan="8" class="muted" id="no-alerts">` + html.EscapeString(v.T("alerts.none")) + `</td></tr>`)
	}
	sev := map[alert.Severity]string{}
	for _, x := range alert.Severities {
		sev[x] = html.EscapeString(v.T("severity." + string(x)))
	}
	state := map[alert.State]string{}
	for _, x := range alert.States {
		state[x] = html.EscapeString(v.T("state." + string(x)))
	}
	ack := html.EscapeString(v.T("alerts.ack"))
	sel := html.EscapeString(v.T("alerts.select"))
	flap := html.EscapeString(v.T("alerts.flapping"))
	canAck := v.Can("write", "alert")
	var b strings.Builder
	b.Grow(len(items) * 600)
	esc := html.EscapeString
	for _, a := range items {
		id := strconv.FormatInt(a.ID, 10)
		s := esc(string(a.Severity))
		b.WriteString(`<tr class="sev-row-` + s + `"><td>`)
		if a.State == alert.StateOpen {
			b.WriteString(`<input type="checkbox" name="id" value="` + id + `" aria-label="` + sel + ` ` + id + `">`)
		}
		b.WriteString(`</td><td><span class="sev sev-` + s + `">` + sev[a.Severity] + `</span>`)
		if a.Flapping {
			b.WriteString(` <span class="tag">` + flap + `</span>`)
		}
		b.WriteString(`</td><td class="alert-title"><a href="/alerts/` + id + `">` + esc(a.Title) + `</a>`)
		if a.AssetName != "" {
			b.WriteString(`<br><small class="muted">` + esc(a.AssetName) + ` ` + esc(a.Address) + `</small>`)
		}
		b.WriteString(`</td><td>` + esc(a.AgencyName) + `</td><td class="num">` + strconv.Itoa(a.Count) + `</td><td class="nowrap">` +
			a.LastSeen.In(vietnam).Format("02/01/2006 15:04") + `</td><td>` + state[a.State])
		if a.AckedBy != "" {
			b.WriteString(`<br><small class="muted">` + esc(a.AckedBy) + `</small>`)
		}
		b.WriteString(`</td><td class="actions">`)
		if canAck && a.State == alert.StateOpen {
			b.WriteString(`<button type="submit" class="secondary" formaction="/alerts/` + id + `/ack" name="back" value="board">` + ack + `</button>`)
		}
		b.WriteString("</td></tr>\n")
	}
	return template.HTML(b.String())
}

// stream sends a server-sent event whenever an alert in the caller's scope
// changes; the board reloads its table on each.
func (h *alertUI) stream(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	sc := scope(r)
	changes, cancel := h.svc.Subscribe()
	defer cancel()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 3000\n\n")
	rc.Flush()
	heartbeat := time.NewTicker(25 * time.Second)
	defer heartbeat.Stop()
	for {
		rc.SetWriteDeadline(time.Now().Add(60 * time.Second))
		select {
		case <-r.Context().Done():
			return
		case <-heartbeat.C:
			fmt.Fprint(w, ": keep-alive\n\n")
		case c, ok := <-changes:
			if !ok {
				return // shutting down
			}
			if !sc.Global() && (c.AgencyPath == "" || !sc.Covers(c.AgencyPath)) {
				continue
			}
			b, _ := json.Marshal(c)
			fmt.Fprintf(w, "event: alert\ndata: %s\n\n", b)
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

func (h *alertUI) ack(w http.ResponseWriter, r *http.Request) {
	h.transition(w, r, h.svc.Acknowledge, "acked")
}

func (h *alertUI) resolve(w http.ResponseWriter, r *http.Request) {
	h.transition(w, r, h.svc.Resolve, "resolved")
}

func (h *alertUI) transition(w http.ResponseWriter, r *http.Request, fn func(ctx context.Context, actor model.Actor, id int64, via string) error, flash string) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if err := fn(r.Context(), httpd.Actor(r), id, "ui"); err != nil {
		h.fail(w, r, err)
		return
	}
	back := r.PostFormValue("back")
	if back != "board" {
		redirect(w, r, fmt.Sprintf("/alerts/%d", id), flash)
		return
	}
	redirect(w, r, "/alerts", flash)
}

func (h *alertUI) bulkAck(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, model.Invalid("body", "unreadable form"))
		return
	}
	var ids []int64
	for _, v := range r.PostForm["id"] {
		if id, err := strconv.ParseInt(v, 10, 64); err == nil && id > 0 && len(ids) < 1000 {
			ids = append(ids, id)
		}
	}
	if _, err := h.svc.BulkAcknowledge(r.Context(), httpd.Actor(r), ids, "ui"); err != nil {
		h.fail(w, r, err)
		return
	}
	redirect(w, r, "/alerts", "acked")
}

type alertPageData struct {
	A        alert.Alert
	Timeline []alert.Event
}

func (h *alertUI) alertPage(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	a, err := h.svc.Get(r.Context(), scope(r), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	tl, err := h.svc.Timeline(r.Context(), scope(r), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := h.newView(r, "alert.title", "alerts")
	v.Data = alertPageData{A: a, Timeline: tl}
	h.render(w, http.StatusOK, "alert", v)
}

type ackData struct {
	A     alert.Alert
	Token string
	Done  bool
}

func (h *alertUI) ackLinkPage(w http.ResponseWriter, r *http.Request) {
	v := h.newView(r, "ack.title", "")
	a, err := h.svc.AckLinkAlert(r.Context(), r.PathValue("token"))
	if err != nil {
		v.Error = v.T("ack.invalid")
		h.render(w, http.StatusNotFound, "ack", v)
		return
	}
	v.Data = ackData{A: a, Token: r.PathValue("token")}
	h.render(w, http.StatusOK, "ack", v)
}

func (h *alertUI) ackLinkSubmit(w http.ResponseWriter, r *http.Request) {
	v := h.newView(r, "ack.title", "")
	a, err := h.svc.AcknowledgeByLink(r.Context(), r.PathValue("token"), httpd.ClientIP(r))
	switch {
	case errors.Is(err, alert.ErrBadAckLink), errors.Is(err, model.ErrNotFound):
		v.Error = v.T("ack.invalid")
		h.render(w, http.StatusNotFound, "ack", v)
		return
	case errors.Is(err, model.ErrConflict):
		v.Error = v.T("ack.too_late")
		v.Data = ackData{A: a}
		h.render(w, http.StatusConflict, "ack", v)
		return
	case err != nil:
		h.fail(w, r, err)
		return
	}
	v.Flash = v.T("ack.done")
	v.Data = ackData{A: a, Done: true}
	h.render(w, http.StatusOK, "ack", v)
}

type silencesData struct {
	Items    []alert.Silence
	Agencies []agencyOption
	Assets   map[int64]string
}

func (h *alertUI) silencesView(r *http.Request) (*view, error) {
	v := h.newView(r, "silences.title", "silences")
	xs, err := h.svc.ListSilences(r.Context(), scope(r), r.URL.Query().Get("ended") == "true")
	if err != nil {
		return nil, err
	}
	agencies, err := h.agencyOptions(r)
	if err != nil {
		return nil, err
	}
	assets := map[int64]string{}
	for _, x := range xs {
		if x.AssetID != nil {
			if a, err := h.store.GetAsset(r.Context(), scope(r), *x.AssetID); err == nil {
				assets[a.ID] = a.Name
			}
		}
	}
	v.Data = silencesData{Items: xs, Agencies: agencies, Assets: assets}
	return v, nil
}

func (h *alertUI) silences(w http.ResponseWriter, r *http.Request) {
	v, err := h.silencesView(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, http.StatusOK, "silences", v)
}

// silenceCreate makes a maintenance window from the form: an agency, kind
// or tag (or an asset by ID) and a duration in hours.
func (h *alertUI) silenceCreate(w http.ResponseWriter, r *http.Request) {
	x := alert.Silence{Kind: r.PostFormValue("kind"), Tag: r.PostFormValue("tag"), Comment: r.PostFormValue("comment")}
	if id := formID(r, "agency_id"); id > 0 {
		x.AgencyID = &id
	}
	if id := formID(r, "asset_id"); id > 0 {
		x.AssetID = &id
	}
	hours, _ := strconv.ParseFloat(strings.TrimSpace(r.PostFormValue("hours")), 64)
	x.StartsAt = h.store.Now()
	if hours > 0 {
		x.EndsAt = x.StartsAt.Add(time.Duration(hours * float64(time.Hour)))
	}
	if err := h.svc.CreateSilence(r.Context(), httpd.Actor(r), &x); err != nil {
		v, verr := h.silencesView(r)
		if verr != nil || !formError(v, err) {
			h.fail(w, r, err)
			return
		}
		h.render(w, http.StatusBadRequest, "silences", v)
		return
	}
	redirect(w, r, "/silences", "saved")
}

func (h *alertUI) silenceEnd(w http.ResponseWriter, r *http.Request) {
	h.byID(w, r, h.svc.EndSilence, "/silences", "saved")
}

type channelsData struct {
	Items []alert.ChannelRecord
	Kinds []string
	// Example is a configuration template per kind, for the form.
	Example map[string]string
	Config  string
	Kind    string
	Name    string
}

var channelExamples = map[string]string{
	"email":    `{"host": "mail.stttt.example.gov.vn", "port": 587, "security": "starttls", "username": "canhgac", "password": "…", "from": "Canh gác <canhgac@stttt.example.gov.vn>"}`,
	"telegram": `{"bot_token": "123456:ABC…", "chat_id": "-1001234567890"}`,
	"webhook":  `{"url": "https://soc.example.gov.vn/hooks/canhgac", "secret": "…"}`,
	"slack":    `{"url": "https://chat.example.gov.vn/hooks/…"}`,
}

func (h *alertUI) channelsView(r *http.Request) (*view, error) {
	v := h.newView(r, "channels.title", "channels")
	cs, err := h.svc.Channels(r.Context())
	if err != nil {
		return nil, err
	}
	v.Data = channelsData{Items: cs, Kinds: notify.Kinds, Example: channelExamples, Kind: "email", Config: channelExamples["email"]}
	return v, nil
}

func (h *alertUI) channels(w http.ResponseWriter, r *http.Request) {
	v, err := h.channelsView(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, http.StatusOK, "channels", v)
}

func (h *alertUI) channelCreate(w http.ResponseWriter, r *http.Request) {
	c := alert.ChannelRecord{Name: r.PostFormValue("name"), Kind: r.PostFormValue("kind"), Config: json.RawMessage(r.PostFormValue("config")), Enabled: true}
	if !json.Valid(c.Config) {
		c.Config = nil
	}
	err := h.svc.SaveChannel(r.Context(), httpd.Actor(r), &c)
	if err != nil {
		v, verr := h.channelsView(r)
		if verr != nil || !formError(v, err) {
			h.fail(w, r, err)
			return
		}
		d := v.Data.(channelsData)
		// Refill the form, but never echo a secret back into the page.
		d.Name, d.Kind, d.Config = c.Name, c.Kind, ""
		v.Data = d
		h.render(w, http.StatusBadRequest, "channels", v)
		return
	}
	redirect(w, r, "/channels", "saved")
}

// channelTest sends a test message to the caller through a channel.
func (h *alertUI) channelTest(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	u := httpd.Principal(r).User
	to := notify.Recipient{UserID: u.ID, Name: u.Username, Email: u.Email, Lang: u.Language}
	if addr := strings.TrimSpace(r.PostFormValue("address")); addr != "" {
		if strings.Contains(addr, "@") {
			to.Email = addr
		} else {
			to.TelegramChatID = addr
		}
	}
	v, verr := h.channelsView(r)
	if verr != nil {
		h.fail(w, r, verr)
		return
	}
	if err := h.svc.TestChannel(r.Context(), id, to); err != nil {
		v.Error = v.T("channels.test_failed", err.Error())
		h.render(w, http.StatusBadGateway, "channels", v)
		return
	}
	v.Flash = v.T("channels.test_sent")
	h.render(w, http.StatusOK, "channels", v)
}

type schedulesData struct {
	Items   []scheduleSummary
	Example string
	JSON    string
}

type scheduleSummary struct {
	S     oncall.Schedule
	Now   string
	Gaps  int
	Error string
}

func (h *alertUI) schedulesView(r *http.Request) (*view, error) {
	v := h.newView(r, "schedules.title", "schedules")
	ss, err := h.svc.Schedules(r.Context())
	if err != nil {
		return nil, err
	}
	names, err := h.store.UserNames(r.Context())
	if err != nil {
		return nil, err
	}
	now := h.store.Now()
	d := schedulesData{Example: scheduleExample}
	for _, s := range ss {
		sum := scheduleSummary{S: s, Now: nameList(s.OnDuty(now), names), Gaps: len(s.Gaps(now, now.Add(14*24*time.Hour)))}
		d.Items = append(d.Items, sum)
	}
	v.Data = d
	return v, nil
}

const scheduleExample = `{
  "name": "Trực ban Sở TTTT",
  "layers": [{"name": "Hằng ngày", "rotation": "daily", "start": "2027-01-01T07:30:00+07:00", "users": [2, 3], "per_shift": 1}],
  "overrides": [{"start": "2027-02-05T07:30:00+07:00", "end": "2027-02-12T07:30:00+07:00", "users": [2, 3, 4, 5], "rotation": "12h", "per_shift": 2, "note": "Tết Đinh Mùi"}]
}`

func (h *alertUI) schedules(w http.ResponseWriter, r *http.Request) {
	v, err := h.schedulesView(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, http.StatusOK, "schedules", v)
}

// scheduleSave creates or replaces a schedule from its JSON definition.
func (h *alertUI) scheduleSave(w http.ResponseWriter, r *http.Request) {
	var sc oncall.Schedule
	src := r.PostFormValue("definition")
	if src == "" {
		h.scheduleSubmit(w, r)
		return
	}
	err := json.Unmarshal([]byte(src), &sc)
	if err != nil {
		err = model.Invalid("definition", "is not valid JSON: %v", err)
	} else {
		err = h.svc.SaveSchedule(r.Context(), httpd.Actor(r), &sc)
	}
	if err != nil {
		v, verr := h.schedulesView(r)
		if verr != nil || !formError(v, err) {
			h.fail(w, r, err)
			return
		}
		d := v.Data.(schedulesData)
		d.JSON = src
		v.Data = d
		h.render(w, http.StatusBadRequest, "schedules", v)
		return
	}
	redirect(w, r, fmt.Sprintf("/schedules/%d", sc.ID), "saved")
}

type scheduleData struct {
	S      *oncall.Schedule
	Days   []dayRow
	Gaps   []oncall.Gap
	NowOn  string
	Users  map[int64]string
	ICSURL string
}

// dayRow is one day of the duty calendar: the shifts that touch it.
type dayRow struct {
	Date   time.Time
	Tet    bool
	Shifts []shiftCell
}

type shiftCell struct {
	From, To string
	Names    string
	Note     string
	Override bool
}

// schedulePage shows who is on duty now and a 14-day calendar with gaps.
func (h *alertUI) schedulePage(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	sc, err := h.svc.Schedule(r.Context(), id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	names, err := h.store.UserNames(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	now := h.store.Now().In(oncall.Location)
	start := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, oncall.Location)
	end := start.AddDate(0, 0, 14)
	d := scheduleData{S: sc, Gaps: sc.Gaps(now, end), NowOn: nameList(sc.OnDuty(now), names), Users: names,
		ICSURL: fmt.Sprintf("/api/v1/schedules/%d/calendar.ics", sc.ID)}
	shifts := sc.Shifts(start, end)
	for day := start; day.Before(end); day = day.AddDate(0, 0, 1) {
		next := day.AddDate(0, 0, 1)
		ld := lunar.FromSolar(day.Year(), day.Month(), day.Day())
		row := dayRow{Date: day, Tet: ld.Month == 1 && ld.Day <= 3 && !ld.Leap}
		for _, s := range shifts {
			if s.End.After(day) && s.Start.Before(next) {
				row.Shifts = append(row.Shifts, shiftCell{From: clip(s.Start, day), To: clip(s.End, day), Names: nameList(s.Users, names),
					Note: s.Note, Override: s.Override})
			}
		}
		d.Days = append(d.Days, row)
	}
	v := h.newView(r, "schedules.title", "schedules")
	v.Data = d
	h.render(w, http.StatusOK, "schedule", v)
}

// clip shows a shift boundary as a time on the day, or "…" if it lies on
// another day.
func clip(t, day time.Time) string {
	t = t.In(oncall.Location)
	if t.Before(day) || !t.Before(day.AddDate(0, 0, 1)) {
		return "…"
	}
	return t.Format("15:04")
}

func nameList(ids []int64, names map[int64]string) string {
	var out []string
	for _, id := range ids {
		if n, ok := names[id]; ok {
			out = append(out, n)
		} else {
			out = append(out, fmt.Sprintf("#%d", id))
		}
	}
	return strings.Join(out, ", ")
}

type chainsData struct {
	Items   []alert.Chain
	Example string
	JSON    string
}

const chainExample = `{
  "name": "Cảnh báo nghiêm trọng",
  "severities": ["critical", "high"],
  "steps": [
    {"wait_minutes": 5, "targets": [{"type": "schedule", "id": 1}]},
    {"wait_minutes": 10, "targets": [{"type": "user", "id": 3}]},
    {"wait_minutes": 15, "targets": [{"type": "user", "id": 4}, {"type": "channel", "id": 2}]}
  ],
  "repeat": 1,
  "unack_timeout_minutes": 30
}`

func (h *alertUI) chainsView(r *http.Request) (*view, error) {
	v := h.newView(r, "chains.title", "chains")
	cs, err := h.svc.Chains(r.Context())
	if err != nil {
		return nil, err
	}
	v.Data = chainsData{Items: cs, Example: chainExample}
	return v, nil
}

func (h *alertUI) chains(w http.ResponseWriter, r *http.Request) {
	v, err := h.chainsView(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, http.StatusOK, "chains", v)
}

// chainSave creates or replaces an escalation chain from its JSON definition.
func (h *alertUI) chainSave(w http.ResponseWriter, r *http.Request) {
	var c alert.Chain
	src := r.PostFormValue("definition")
	if src == "" {
		h.chainSubmit(w, r)
		return
	}
	err := json.Unmarshal([]byte(src), &c)
	if err != nil {
		err = model.Invalid("definition", "is not valid JSON: %v", err)
	} else {
		err = h.svc.SaveChain(r.Context(), httpd.Actor(r), &c)
	}
	if err != nil {
		v, verr := h.chainsView(r)
		if verr != nil || !formError(v, err) {
			h.fail(w, r, err)
			return
		}
		d := v.Data.(chainsData)
		d.JSON = src
		v.Data = d
		h.render(w, http.StatusBadRequest, "chains", v)
		return
	}
	redirect(w, r, "/chains", "saved")
}

type contactsData struct {
	Items    []contactRow
	Channels []alert.ChannelRecord
}

type contactRow struct {
	ID      int64
	Channel string
	Kind    string
	Address string
}

// contactsView lists how the caller is reached: each contact method names a
// channel and the caller's address on it (e-mail, Telegram chat ID).
func (h *alertUI) contactsView(r *http.Request) (*view, error) {
	v := h.newView(r, "contacts.title", "profile")
	me := httpd.Principal(r).User.ID
	cs, err := h.svc.Contacts(r.Context(), me)
	if err != nil {
		return nil, err
	}
	chs, err := h.svc.Channels(r.Context())
	if err != nil {
		return nil, err
	}
	byID := map[int64]alert.ChannelRecord{}
	d := contactsData{}
	for _, c := range chs {
		byID[c.ID] = c
		if c.Enabled && (c.Kind == "email" || c.Kind == "telegram") {
			d.Channels = append(d.Channels, c)
		}
	}
	for _, c := range cs {
		d.Items = append(d.Items, contactRow{ID: c.ID, Channel: byID[c.ChannelID].Name, Kind: byID[c.ChannelID].Kind, Address: c.Address})
	}
	v.Data = d
	return v, nil
}

func (h *alertUI) contacts(w http.ResponseWriter, r *http.Request) {
	v, err := h.contactsView(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, http.StatusOK, "contacts", v)
}

func (h *alertUI) contactAdd(w http.ResponseWriter, r *http.Request) {
	c := alert.ContactMethod{UserID: httpd.Principal(r).User.ID, ChannelID: formID(r, "channel_id"), Address: r.PostFormValue("address")}
	err := model.Invalid("address", "is required")
	if c.Address != "" && c.ChannelID > 0 {
		err = h.svc.AddContact(r.Context(), httpd.Actor(r), &c)
	}
	if err != nil {
		v, verr := h.contactsView(r)
		if verr != nil || !formError(v, err) {
			h.fail(w, r, err)
			return
		}
		h.render(w, http.StatusBadRequest, "contacts", v)
		return
	}
	redirect(w, r, "/profile/contacts", "saved")
}

func (h *alertUI) contactDelete(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	cs, err := h.svc.Contacts(r.Context(), httpd.Principal(r).User.ID)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, c := range cs {
		if c.ID == id {
			if err := h.svc.DeleteContact(r.Context(), httpd.Actor(r), id); err != nil {
				h.fail(w, r, err)
				return
			}
			redirect(w, r, "/profile/contacts", "deleted")
			return
		}
	}
	h.fail(w, r, fmt.Errorf("contact method %d: %w", id, model.ErrNotFound))
}
