package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"canhgac/internal/alert"
	"canhgac/internal/httpd"
	"canhgac/internal/model"
	"canhgac/internal/notify"
	"canhgac/internal/oncall"
)

type alertHandler struct {
	*handler
	svc *alert.Service
}

// RegisterAlerts adds the alert pipeline's routes: alerts and their
// timelines, live stream, silences, channels, contact methods, duty
// schedules, escalation chains and inbound alert sources.
func RegisterAlerts(s *httpd.Server, svc *alert.Service) {
	h := &alertHandler{handler: &handler{store: s.Store, auth: s.Auth}, svc: svc}
	r := s.Router
	read, write := model.ActionRead, model.ActionWrite
	r.Private("GET /api/v1/alerts", h.can(read, model.ResourceAlert, h.listAlerts))
	r.Private("POST /api/v1/alerts", h.can(write, model.ResourceOncall, h.raiseAlert))
	r.Private("GET /api/v1/alerts/{id}", h.can(read, model.ResourceAlert, h.getAlert))
	r.Private("GET /api/v1/alerts/{id}/timeline", h.can(read, model.ResourceAlert, h.alertTimeline))
	r.Private("POST /api/v1/alerts/{id}/ack", h.can(write, model.ResourceAlert, h.ackAlert))
	r.Private("POST /api/v1/alerts/{id}/resolve", h.can(write, model.ResourceAlert, h.resolveAlert))
	r.Private("POST /api/v1/alerts/ack", h.can(write, model.ResourceAlert, h.bulkAck))

	r.Private("GET /api/v1/silences", h.can(read, model.ResourceSilence, h.listSilences))
	r.Private("POST /api/v1/silences", h.can(write, model.ResourceSilence, h.createSilence))
	r.Private("DELETE /api/v1/silences/{id}", h.can(write, model.ResourceSilence, h.endSilence))

	r.Private("GET /api/v1/channels", h.can(read, model.ResourceOncall, h.listChannels))
	r.Private("POST /api/v1/channels", h.can(write, model.ResourceOncall, h.createChannel))
	r.Private("GET /api/v1/channels/{id}", h.can(read, model.ResourceOncall, h.getChannel))
	r.Private("PUT /api/v1/channels/{id}", h.can(write, model.ResourceOncall, h.updateChannel))
	r.Private("DELETE /api/v1/channels/{id}", h.can(write, model.ResourceOncall, h.deleteChannel))
	r.Private("POST /api/v1/channels/{id}/test", h.can(write, model.ResourceOncall, h.testChannel))

	r.Private("GET /api/v1/users/{id}/contacts", h.mustChange(h.listContacts))
	r.Private("POST /api/v1/users/{id}/contacts", h.mustChange(h.addContact))
	r.Private("DELETE /api/v1/users/{id}/contacts/{contact}", h.mustChange(h.deleteContact))

	r.Private("GET /api/v1/schedules", h.can(read, model.ResourceOncall, h.listSchedules))
	r.Private("POST /api/v1/schedules", h.can(write, model.ResourceOncall, h.createSchedule))
	r.Private("GET /api/v1/schedules/{id}", h.can(read, model.ResourceOncall, h.getSchedule))
	r.Private("PUT /api/v1/schedules/{id}", h.can(write, model.ResourceOncall, h.updateSchedule))
	r.Private("DELETE /api/v1/schedules/{id}", h.can(write, model.ResourceOncall, h.deleteSchedule))
	r.Private("GET /api/v1/schedules/{id}/oncall", h.can(read, model.ResourceOncall, h.whoIsOnDuty))
	r.Private("GET /api/v1/schedules/{id}/shifts", h.can(read, model.ResourceOncall, h.scheduleShifts))
	r.Private("GET /api/v1/schedules/{id}/calendar.ics", h.can(read, model.ResourceOncall, h.scheduleICS))

	r.Private("GET /api/v1/escalation-chains", h.can(read, model.ResourceOncall, h.listChains))
	r.Private("POST /api/v1/escalation-chains", h.can(write, model.ResourceOncall, h.createChain))
	r.Private("PUT /api/v1/escalation-chains/{id}", h.can(write, model.ResourceOncall, h.updateChain))
	r.Private("DELETE /api/v1/escalation-chains/{id}", h.can(write, model.ResourceOncall, h.deleteChain))

	r.Private("GET /api/v1/alert-sources", h.can(read, model.ResourceOncall, h.listSources))
	r.Private("POST /api/v1/alert-sources", h.can(write, model.ResourceOncall, h.createSource))
	r.Private("DELETE /api/v1/alert-sources/{id}", h.can(write, model.ResourceOncall, h.deleteSource))
	// Inbound webhooks authenticate with the source's own token, not a user's.
	r.Public("POST /api/v1/inbound/alertmanager", h.inbound(alert.ParseAlertmanager), httpd.MaxBody(InboundMaxBytes))
	r.Public("POST /api/v1/inbound/generic", h.inbound(alert.ParseGeneric), httpd.MaxBody(InboundMaxBytes))
}

// InboundMaxBytes bounds an inbound webhook body.
const InboundMaxBytes = 4 << 20

func (h *alertHandler) inbound(parse func(io.Reader) ([]alert.Inbound, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if tok == "" {
			tok = r.Header.Get("X-Canhgac-Token")
		}
		src, err := h.svc.SourceByToken(r.Context(), strings.TrimSpace(tok))
		if errors.Is(err, model.ErrNotFound) {
			httpd.WriteError(w, http.StatusUnauthorized, httpd.CodeUnauthorized, "", "send the source's token as Authorization: Bearer cgi_…")
			return
		}
		if err != nil {
			writeErr(w, r, err)
			return
		}
		// Read the body whole first, so that one over the limit is a 413
		// whichever parser reads it (a JSON decoder would report a 400).
		body, err := io.ReadAll(r.Body)
		if err != nil {
			writeErr(w, r, err)
			return
		}
		items, err := parse(bytes.NewReader(body))
		if err != nil {
			writeErr(w, r, err)
			return
		}
		raised, resolved, err := h.svc.Receive(r.Context(), src, items)
		if err != nil {
			writeErr(w, r, err)
			return
		}
		httpd.WriteJSON(w, http.StatusOK, map[string]int{"raised": raised, "resolved": resolved})
	}
}

func (h *alertHandler) listSources(w http.ResponseWriter, r *http.Request) {
	xs, err := h.svc.Sources(r.Context())
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, map[string]any{"items": xs})
}

type sourceInput struct {
	Name     string `json:"name"`
	AgencyID *int64 `json:"agency_id"`
}

func (h *alertHandler) createSource(w http.ResponseWriter, r *http.Request) {
	var in sourceInput
	if err := httpd.DecodeJSON(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	src := alert.Source{Name: in.Name, AgencyID: in.AgencyID}
	tok, err := h.svc.CreateSource(r.Context(), httpd.Actor(r), &src)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusCreated, map[string]any{"source": src, "token": tok})
}

func (h *alertHandler) deleteSource(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if err := h.svc.DeleteSource(r.Context(), httpd.Actor(r), id); err != nil {
		writeErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *alertHandler) listAlerts(w http.ResponseWriter, r *http.Request) {
	q := query{r: r}
	f := alert.Filter{AgencyID: q.id("agency_id"), AssetID: q.id("asset_id"), Kind: q.str("kind"), Query: q.str("q"),
		Limit: q.int("limit"), Offset: q.int("offset")}
	for _, v := range splitParam(q.str("state")) {
		st := alert.State(v)
		if !oneOf(st, alert.States) {
			q.fail(model.Invalid("state", "must be open, acknowledged or resolved"))
		}
		f.States = append(f.States, st)
	}
	for _, v := range splitParam(q.str("severity")) {
		sev := alert.Severity(v)
		if !sev.Valid() {
			q.fail(model.Invalid("severity", "must be info, low, medium, high or critical"))
		}
		f.Severities = append(f.Severities, sev)
	}
	if q.err != nil {
		writeErr(w, r, q.err)
		return
	}
	p, err := h.svc.List(r.Context(), scope(r), f)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, p)
}

func splitParam(v string) []string {
	var out []string
	for _, x := range strings.Split(v, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

func oneOf[T comparable](v T, vs []T) bool {
	for _, x := range vs {
		if v == x {
			return true
		}
	}
	return false
}

// raiseInput is an alert raised through the API (by a script or another tool).
type raiseInput struct {
	Source   string            `json:"source"`
	Kind     string            `json:"kind"`
	Severity alert.Severity    `json:"severity"`
	DedupKey string            `json:"dedup_key"`
	AssetID  *int64            `json:"asset_id"`
	AgencyID *int64            `json:"agency_id"`
	Title    string            `json:"title"`
	Details  string            `json:"details"`
	Evidence []alert.Evidence  `json:"evidence"`
	Labels   map[string]string `json:"labels"`
	// Resolved reports recovery: the open alert with this source and key is resolved.
	Resolved bool `json:"resolved"`
}

func (in raiseInput) alert() alert.Alert {
	return alert.Alert{Source: in.Source, Kind: in.Kind, Severity: in.Severity, DedupKey: in.DedupKey, AssetID: in.AssetID,
		AgencyID: in.AgencyID, Title: in.Title, Details: in.Details, Evidence: in.Evidence, Labels: in.Labels}
}

func (h *alertHandler) raiseAlert(w http.ResponseWriter, r *http.Request) {
	var in raiseInput
	if err := httpd.DecodeJSON(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	if in.Resolved {
		a := in.alert()
		if in.Source == "" || a.Validate() != nil && in.DedupKey == "" {
			writeErr(w, r, model.Invalid("dedup_key", "source and dedup_key (or kind) name the alert to resolve"))
			return
		}
		ok, err := h.svc.Recover(r.Context(), a.Source, a.DedupKey)
		if err != nil {
			writeErr(w, r, err)
			return
		}
		httpd.WriteJSON(w, http.StatusOK, map[string]bool{"resolved": ok})
		return
	}
	res, err := h.svc.Raise(r.Context(), in.alert())
	if err != nil {
		writeErr(w, r, err)
		return
	}
	status := http.StatusOK
	if res.Created {
		status = http.StatusCreated
	}
	httpd.WriteJSON(w, status, res)
}

func (h *alertHandler) getAlert(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	a, err := h.svc.Get(r.Context(), scope(r), id)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, a)
}

func (h *alertHandler) alertTimeline(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	evs, err := h.svc.Timeline(r.Context(), scope(r), id)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, map[string]any{"items": evs})
}

func (h *alertHandler) ackAlert(w http.ResponseWriter, r *http.Request) {
	h.transition(w, r, h.svc.Acknowledge)
}

func (h *alertHandler) resolveAlert(w http.ResponseWriter, r *http.Request) {
	h.transition(w, r, h.svc.Resolve)
}

func (h *alertHandler) transition(w http.ResponseWriter, r *http.Request, fn func(ctx context.Context, actor model.Actor, id int64, via string) error) {
	id, err := pathID(r, "id")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	via := "api"
	if httpd.Principal(r).Session != nil {
		via = "ui"
	}
	if err := fn(r.Context(), httpd.Actor(r), id, via); err != nil {
		writeErr(w, r, err)
		return
	}
	a, err := h.svc.Get(r.Context(), scope(r), id)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, a)
}

type bulkInput struct {
	IDs []int64 `json:"ids"`
}

func (h *alertHandler) bulkAck(w http.ResponseWriter, r *http.Request) {
	var in bulkInput
	if err := httpd.DecodeJSON(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	if len(in.IDs) == 0 || len(in.IDs) > 1000 {
		writeErr(w, r, model.Invalid("ids", "give 1 to 1000 alert IDs"))
		return
	}
	via := "api"
	if httpd.Principal(r).Session != nil {
		via = "ui"
	}
	n, err := h.svc.BulkAcknowledge(r.Context(), httpd.Actor(r), in.IDs, via)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, map[string]int{"acknowledged": n})
}

func (h *alertHandler) listSilences(w http.ResponseWriter, r *http.Request) {
	xs, err := h.svc.ListSilences(r.Context(), scope(r), r.URL.Query().Get("ended") == "true")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, map[string]any{"items": xs})
}

type silenceInput struct {
	AssetID  *int64    `json:"asset_id"`
	AgencyID *int64    `json:"agency_id"`
	Kind     string    `json:"kind"`
	Tag      string    `json:"tag"`
	StartsAt time.Time `json:"starts_at"`
	EndsAt   time.Time `json:"ends_at"`
	Comment  string    `json:"comment"`
}

func (h *alertHandler) createSilence(w http.ResponseWriter, r *http.Request) {
	var in silenceInput
	if err := httpd.DecodeJSON(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	x := alert.Silence{AssetID: in.AssetID, AgencyID: in.AgencyID, Kind: in.Kind, Tag: in.Tag, StartsAt: in.StartsAt, EndsAt: in.EndsAt, Comment: in.Comment}
	if err := h.svc.CreateSilence(r.Context(), httpd.Actor(r), &x); err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusCreated, x)
}

func (h *alertHandler) endSilence(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if err := h.svc.EndSilence(r.Context(), httpd.Actor(r), id); err != nil {
		writeErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *alertHandler) listChannels(w http.ResponseWriter, r *http.Request) {
	cs, err := h.svc.Channels(r.Context())
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, map[string]any{"items": cs})
}

type channelInput struct {
	Name    string          `json:"name"`
	Kind    string          `json:"kind"`
	Config  json.RawMessage `json:"config"`
	Enabled *bool           `json:"enabled"`
}

func (h *alertHandler) createChannel(w http.ResponseWriter, r *http.Request) {
	var in channelInput
	if err := httpd.DecodeJSON(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	c := alert.ChannelRecord{Name: in.Name, Kind: in.Kind, Config: in.Config, Enabled: in.Enabled == nil || *in.Enabled}
	if err := h.svc.SaveChannel(r.Context(), httpd.Actor(r), &c); err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusCreated, c)
}

func (h *alertHandler) getChannel(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	c, err := h.svc.GetChannel(r.Context(), id)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, c)
}

func (h *alertHandler) updateChannel(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	var in channelInput
	if err := httpd.DecodeJSON(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	c := alert.ChannelRecord{ID: id, Name: in.Name, Kind: in.Kind, Config: in.Config, Enabled: in.Enabled == nil || *in.Enabled}
	if err := h.svc.SaveChannel(r.Context(), httpd.Actor(r), &c); err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, c)
}

func (h *alertHandler) deleteChannel(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if err := h.svc.DeleteChannel(r.Context(), httpd.Actor(r), id); err != nil {
		writeErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type testInput struct {
	// Address is where to send: an e-mail address or a Telegram chat ID;
	// empty sends to the caller's own contact on this channel, or the
	// channel's default destination.
	Address string `json:"address"`
}

func (h *alertHandler) testChannel(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	var in testInput
	if r.ContentLength != 0 {
		if err := httpd.DecodeJSON(r, &in); err != nil {
			writeErr(w, r, err)
			return
		}
	}
	u := httpd.Principal(r).User
	to := notify.Recipient{UserID: u.ID, Name: u.Username, Email: u.Email, Lang: u.Language}
	if in.Address != "" {
		if strings.Contains(in.Address, "@") {
			to.Email = in.Address
		} else {
			to.TelegramChatID = in.Address
		}
	}
	if err := h.svc.TestChannel(r.Context(), id, to); err != nil {
		if errors.Is(err, model.ErrNotFound) {
			writeErr(w, r, err)
			return
		}
		httpd.WriteError(w, http.StatusBadGateway, "channel_failed", "", "the channel did not accept the test message: %v", err)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, map[string]bool{"sent": true})
}

// contactsAllowed: a user manages their own contact methods; managing
// others' needs the right to change users.
func contactsAllowed(r *http.Request, userID int64) bool {
	p := httpd.Principal(r)
	return p.User.ID == userID || p.Scope.Can(model.ActionWrite, model.ResourceUser)
}

func (h *alertHandler) listContacts(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if !contactsAllowed(r, id) {
		writeErr(w, r, model.ErrNotFound)
		return
	}
	cs, err := h.svc.Contacts(r.Context(), id)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, map[string]any{"items": cs})
}

type contactInput struct {
	ChannelID int64  `json:"channel_id"`
	Address   string `json:"address"`
}

func (h *alertHandler) addContact(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if !contactsAllowed(r, id) {
		writeErr(w, r, model.ErrNotFound)
		return
	}
	var in contactInput
	if err := httpd.DecodeJSON(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	c := alert.ContactMethod{UserID: id, ChannelID: in.ChannelID, Address: in.Address}
	if err := h.svc.AddContact(r.Context(), httpd.Actor(r), &c); err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusCreated, c)
}

func (h *alertHandler) deleteContact(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	cid, err := pathID(r, "contact")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if !contactsAllowed(r, id) {
		writeErr(w, r, model.ErrNotFound)
		return
	}
	cs, err := h.svc.Contacts(r.Context(), id)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if !oneOf(cid, contactIDs(cs)) {
		writeErr(w, r, model.ErrNotFound)
		return
	}
	if err := h.svc.DeleteContact(r.Context(), httpd.Actor(r), cid); err != nil {
		writeErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func contactIDs(cs []alert.ContactMethod) []int64 {
	out := make([]int64, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func (h *alertHandler) listSchedules(w http.ResponseWriter, r *http.Request) {
	ss, err := h.svc.Schedules(r.Context())
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, map[string]any{"items": ss})
}

func (h *alertHandler) createSchedule(w http.ResponseWriter, r *http.Request) {
	var sc oncall.Schedule
	if err := httpd.DecodeJSON(r, &sc); err != nil {
		writeErr(w, r, err)
		return
	}
	sc.ID = 0
	if err := h.svc.SaveSchedule(r.Context(), httpd.Actor(r), &sc); err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusCreated, sc)
}

func (h *alertHandler) scheduleFromPath(w http.ResponseWriter, r *http.Request) *oncall.Schedule {
	id, err := pathID(r, "id")
	if err != nil {
		writeErr(w, r, err)
		return nil
	}
	sc, err := h.svc.Schedule(r.Context(), id)
	if err != nil {
		writeErr(w, r, err)
		return nil
	}
	return sc
}

func (h *alertHandler) getSchedule(w http.ResponseWriter, r *http.Request) {
	if sc := h.scheduleFromPath(w, r); sc != nil {
		httpd.WriteJSON(w, http.StatusOK, sc)
	}
}

func (h *alertHandler) updateSchedule(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	var sc oncall.Schedule
	if err := httpd.DecodeJSON(r, &sc); err != nil {
		writeErr(w, r, err)
		return
	}
	sc.ID = id
	if err := h.svc.SaveSchedule(r.Context(), httpd.Actor(r), &sc); err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, sc)
}

func (h *alertHandler) deleteSchedule(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if err := h.svc.DeleteSchedule(r.Context(), httpd.Actor(r), id); err != nil {
		writeErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// timeRange reads ?from=&to= (RFC 3339), defaulting to the next 14 days.
func timeRange(q *query) (time.Time, time.Time) {
	from, to := timeParam(q, "from"), timeParam(q, "until")
	if v := q.str("to"); v != "" && to.IsZero() {
		to = timeParam(q, "to")
	}
	if from.IsZero() {
		from = time.Now()
	}
	if to.IsZero() {
		to = from.Add(14 * 24 * time.Hour)
	}
	if !to.After(from) {
		q.fail(model.Invalid("to", "must be after from"))
	}
	if to.Sub(from) > 400*24*time.Hour {
		q.fail(model.Invalid("to", "a range may span at most 400 days"))
	}
	return from, to
}

func (h *alertHandler) whoIsOnDuty(w http.ResponseWriter, r *http.Request) {
	sc := h.scheduleFromPath(w, r)
	if sc == nil {
		return
	}
	q := query{r: r}
	at := timeParam(&q, "at")
	if q.err != nil {
		writeErr(w, r, q.err)
		return
	}
	if at.IsZero() {
		at = time.Now()
	}
	users := sc.OnDuty(at)
	if users == nil {
		users = []int64{}
	}
	httpd.WriteJSON(w, http.StatusOK, map[string]any{"at": at, "users": users})
}

func (h *alertHandler) scheduleShifts(w http.ResponseWriter, r *http.Request) {
	sc := h.scheduleFromPath(w, r)
	if sc == nil {
		return
	}
	q := query{r: r}
	from, to := timeRange(&q)
	if q.err != nil {
		writeErr(w, r, q.err)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, map[string]any{"shifts": sc.Shifts(from, to), "gaps": sc.Gaps(from, to)})
}

func (h *alertHandler) scheduleICS(w http.ResponseWriter, r *http.Request) {
	sc := h.scheduleFromPath(w, r)
	if sc == nil {
		return
	}
	q := query{r: r}
	from, to := timeRange(&q)
	if q.err != nil {
		writeErr(w, r, q.err)
		return
	}
	names, err := h.store.UserNames(r.Context())
	if err != nil {
		writeErr(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="schedule-%d.ics"`, sc.ID))
	if err := sc.ICS(w, from, to, names, r.Host); err != nil {
		httpd.WriteErr(w, r, err)
	}
}

func (h *alertHandler) listChains(w http.ResponseWriter, r *http.Request) {
	cs, err := h.svc.Chains(r.Context())
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, map[string]any{"items": cs})
}

type chainInput struct {
	Name                string           `json:"name"`
	Priority            int              `json:"priority"`
	Severities          []alert.Severity `json:"severities"`
	Kinds               []string         `json:"kinds"`
	AgencyID            *int64           `json:"agency_id"`
	Steps               []alert.Step     `json:"steps"`
	Repeat              int              `json:"repeat"`
	UnackTimeoutMinutes int              `json:"unack_timeout_minutes"`
}

func (in chainInput) chain(id int64) alert.Chain {
	return alert.Chain{ID: id, Name: in.Name, Priority: in.Priority, Severity: in.Severities, Kinds: in.Kinds, AgencyID: in.AgencyID,
		Steps: in.Steps, Repeat: in.Repeat, UnackTimeoutMinutes: in.UnackTimeoutMinutes}
}

func (h *alertHandler) createChain(w http.ResponseWriter, r *http.Request) {
	var in chainInput
	if err := httpd.DecodeJSON(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	c := in.chain(0)
	if err := h.svc.SaveChain(r.Context(), httpd.Actor(r), &c); err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusCreated, c)
}

func (h *alertHandler) updateChain(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	var in chainInput
	if err := httpd.DecodeJSON(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	c := in.chain(id)
	if err := h.svc.SaveChain(r.Context(), httpd.Actor(r), &c); err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, c)
}

func (h *alertHandler) deleteChain(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if err := h.svc.DeleteChain(r.Context(), httpd.Actor(r), id); err != nil {
		writeErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
