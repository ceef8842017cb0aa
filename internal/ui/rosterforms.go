package ui

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"canhgac/internal/alert"
	"canhgac/internal/httpd"
	"canhgac/internal/lunar"
	"canhgac/internal/model"
	"canhgac/internal/oncall"
	"canhgac/internal/storage"
)

// The duty team lead edits rosters and escalation chains in forms: people
// by username in rotation order, times on the local clock. (The JSON
// editor stays for what the forms do not cover.)

// localLayout is how <input type="datetime-local"> sends a time.
const localLayout = "2006-01-02T15:04"

type layerRow struct {
	Name, Rotation, Start, End, Users string
	PerShift                          int
}

type overrideRow struct {
	Start, End, Users, Note, Rotation string
	PerShift                          int
}

type scheduleFormData struct {
	ID        int64
	Name      string
	Layers    []layerRow
	Overrides []overrideRow
	Rotations []oncall.Rotation
	// TetStart and TetEnd prefill an override for the coming Tết: from the
	// morning of the last day of the lunar year to the end of mùng 6.
	TetNote string
}

func localTime(t time.Time) string { return t.In(oncall.Location).Format(localLayout) }

// usernames maps user IDs to usernames and back.
func (h *handler) usernames(r *http.Request) (map[int64]string, map[string]int64, error) {
	dir, err := h.store.UserDirectory(r.Context())
	byID, byName := make(map[int64]string, len(dir)), make(map[string]int64, len(dir))
	for _, u := range dir {
		byID[u.ID], byName[u.Username] = u.Username, u.ID
	}
	return byID, byName, err
}

func joinUsers(ids []int64, byID map[int64]string) string {
	var out []string
	for _, id := range ids {
		if n, ok := byID[id]; ok {
			out = append(out, n)
		} else {
			out = append(out, fmt.Sprintf("#%d", id))
		}
	}
	return strings.Join(out, ", ")
}

// scheduleForm builds the form for a schedule with two empty layer rows
// and an override row prefilled for the coming Tết.
func (h *alertUI) scheduleForm(r *http.Request, sc *oncall.Schedule) (scheduleFormData, error) {
	byID, _, err := h.usernames(r)
	if err != nil {
		return scheduleFormData{}, err
	}
	d := scheduleFormData{Rotations: []oncall.Rotation{oncall.Daily, oncall.TwelveHour, oncall.Weekly}}
	if sc != nil {
		d.ID, d.Name = sc.ID, sc.Name
		for _, l := range sc.Layers {
			row := layerRow{Name: l.Name, Rotation: string(l.Rotation), Start: localTime(l.Start), Users: joinUsers(l.Users, byID), PerShift: l.PerShift}
			if l.End != nil {
				row.End = localTime(*l.End)
			}
			d.Layers = append(d.Layers, row)
		}
		for _, o := range sc.Overrides {
			d.Overrides = append(d.Overrides, overrideRow{Start: localTime(o.Start), End: localTime(o.End), Users: joinUsers(o.Users, byID),
				Note: o.Note, Rotation: string(o.Rotation), PerShift: o.PerShift})
		}
	}
	now := h.store.Now().In(oncall.Location)
	next := now.Year()
	if !lunar.Tet(next).After(now) {
		next++
	}
	tet := lunar.Tet(next)
	eve := lunar.LastDayOfYear(next - 1)
	d.Layers = append(d.Layers, layerRow{Rotation: string(oncall.Daily), PerShift: 1,
		Start: time.Date(now.Year(), now.Month(), now.Day(), 7, 30, 0, 0, oncall.Location).Format(localLayout)})
	d.Overrides = append(d.Overrides, overrideRow{Start: time.Date(eve.Year(), eve.Month(), eve.Day(), 7, 30, 0, 0, oncall.Location).Format(localLayout),
		End: time.Date(tet.Year(), tet.Month(), tet.Day()+6, 7, 30, 0, 0, oncall.Location).Format(localLayout), Rotation: string(oncall.TwelveHour), PerShift: 2})
	d.TetNote = fmt.Sprintf("Tết %d", next)
	return d, nil
}

// parseUsers turns "truc-ban, du-phong" into user IDs in order.
func parseUsers(field, v string, byName map[string]int64) ([]int64, error) {
	var ids []int64
	for _, n := range strings.FieldsFunc(v, func(c rune) bool { return c == ',' || c == ' ' || c == ';' }) {
		id, ok := byName[strings.ToLower(strings.TrimSpace(n))]
		if !ok {
			return nil, model.Invalid(field, "%q is not a username", n)
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func parseLocal(field, v string) (time.Time, error) {
	t, err := time.ParseInLocation(localLayout, strings.TrimSpace(v), oncall.Location)
	if err != nil {
		return t, model.Invalid(field, "is not a date and time")
	}
	return t, nil
}

// scheduleFromForm reads the structured form. Rows left without users are
// ignored, so the empty rows the form offers cost nothing.
func (h *alertUI) scheduleFromForm(r *http.Request) (*oncall.Schedule, error) {
	if err := r.ParseForm(); err != nil {
		return nil, model.Invalid("body", "unreadable form")
	}
	_, byName, err := h.usernames(r)
	if err != nil {
		return nil, err
	}
	f := r.PostForm
	sc := &oncall.Schedule{ID: formID(r, "id"), Name: strings.TrimSpace(f.Get("name"))}
	for i := range f["layer_users"] {
		at := func(k string) string { return idx(f[k], i) }
		if strings.TrimSpace(at("layer_users")) == "" {
			continue
		}
		p := fmt.Sprintf("layers[%d]", len(sc.Layers))
		l := oncall.Layer{Name: at("layer_name"), Rotation: oncall.Rotation(at("layer_rotation")), PerShift: atoi(at("layer_per_shift"))}
		if l.Users, err = parseUsers(p+".users", at("layer_users"), byName); err != nil {
			return sc, err
		}
		if l.Start, err = parseLocal(p+".start", at("layer_start")); err != nil {
			return sc, err
		}
		if e := strings.TrimSpace(at("layer_end")); e != "" {
			end, err := parseLocal(p+".end", e)
			if err != nil {
				return sc, err
			}
			l.End = &end
		}
		sc.Layers = append(sc.Layers, l)
	}
	for i := range f["override_users"] {
		at := func(k string) string { return idx(f[k], i) }
		if strings.TrimSpace(at("override_users")) == "" {
			continue
		}
		p := fmt.Sprintf("overrides[%d]", len(sc.Overrides))
		o := oncall.Override{Note: at("override_note"), Rotation: oncall.Rotation(at("override_rotation")), PerShift: atoi(at("override_per_shift"))}
		if o.Users, err = parseUsers(p+".users", at("override_users"), byName); err != nil {
			return sc, err
		}
		if o.Start, err = parseLocal(p+".start", at("override_start")); err != nil {
			return sc, err
		}
		if o.End, err = parseLocal(p+".end", at("override_end")); err != nil {
			return sc, err
		}
		if o.Rotation == "" {
			o.PerShift = 0
		}
		sc.Overrides = append(sc.Overrides, o)
	}
	return sc, nil
}

func idx(vs []string, i int) string {
	if i < len(vs) {
		return vs[i]
	}
	return ""
}

func atoi(s string) int { n, _ := strconv.Atoi(strings.TrimSpace(s)); return n }

func (h *alertUI) scheduleNew(w http.ResponseWriter, r *http.Request) {
	d, err := h.scheduleForm(r, nil)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := h.newView(r, "schedules.new", "schedules")
	v.Data = d
	h.render(w, http.StatusOK, "schedule_form", v)
}

func (h *alertUI) scheduleEdit(w http.ResponseWriter, r *http.Request) {
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
	d, err := h.scheduleForm(r, sc)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := h.newView(r, "schedules.edit", "schedules")
	v.Data = d
	h.render(w, http.StatusOK, "schedule_form", v)
}

// scheduleSubmit saves the structured form; on a problem the form comes
// back as typed, with the field named.
func (h *alertUI) scheduleSubmit(w http.ResponseWriter, r *http.Request) {
	sc, err := h.scheduleFromForm(r)
	if err == nil {
		err = h.svc.SaveSchedule(r.Context(), httpd.Actor(r), sc)
	}
	if err != nil {
		v := h.newView(r, "schedules.edit", "schedules")
		if !formError(v, err) {
			h.fail(w, r, err)
			return
		}
		d, ferr := h.scheduleForm(r, nil)
		if ferr != nil {
			h.fail(w, r, ferr)
			return
		}
		// Show what was typed rather than a fresh form.
		f := r.PostForm
		d.ID, d.Name, d.Layers, d.Overrides = formID(r, "id"), f.Get("name"), nil, nil
		for i := range f["layer_users"] {
			d.Layers = append(d.Layers, layerRow{Name: idx(f["layer_name"], i), Rotation: idx(f["layer_rotation"], i), Start: idx(f["layer_start"], i),
				End: idx(f["layer_end"], i), Users: idx(f["layer_users"], i), PerShift: atoi(idx(f["layer_per_shift"], i))})
		}
		for i := range f["override_users"] {
			d.Overrides = append(d.Overrides, overrideRow{Start: idx(f["override_start"], i), End: idx(f["override_end"], i), Users: idx(f["override_users"], i),
				Note: idx(f["override_note"], i), Rotation: idx(f["override_rotation"], i), PerShift: atoi(idx(f["override_per_shift"], i))})
		}
		v.Data = d
		h.render(w, http.StatusBadRequest, "schedule_form", v)
		return
	}
	redirect(w, r, fmt.Sprintf("/schedules/%d", sc.ID), "saved")
}

// stepRow is one escalation step in the form: up to one schedule, one
// person and one channel.
type stepRow struct {
	Wait                    int
	Schedule, User, Channel int64
}

type chainFormData struct {
	C          alert.Chain
	Kinds      string
	Steps      []stepRow
	Severities []alert.Severity
	Schedules  []oncall.Schedule
	Users      []storage.UserRef
	Channels   []alert.ChannelRecord
	Agencies   []agencyOption
	Checked    map[alert.Severity]bool
}

func (h *alertUI) chainForm(r *http.Request, c alert.Chain) (chainFormData, error) {
	d := chainFormData{C: c, Kinds: strings.Join(c.Kinds, ", "), Severities: alert.Severities, Checked: map[alert.Severity]bool{}}
	for _, s := range c.Severity {
		d.Checked[s] = true
	}
	var err error
	if d.Schedules, err = h.svc.Schedules(r.Context()); err != nil {
		return d, err
	}
	if d.Channels, err = h.svc.Channels(r.Context()); err != nil {
		return d, err
	}
	if d.Agencies, err = h.agencyOptions(r); err != nil {
		return d, err
	}
	if d.Users, err = h.store.UserDirectory(r.Context()); err != nil {
		return d, err
	}
	for _, st := range c.Steps {
		row := stepRow{Wait: st.WaitMinutes}
		for _, t := range st.Targets {
			switch t.Type {
			case "schedule":
				row.Schedule = t.ID
			case "user":
				row.User = t.ID
			case "channel":
				row.Channel = t.ID
			}
		}
		d.Steps = append(d.Steps, row)
	}
	for len(d.Steps) < len(c.Steps)+2 || len(d.Steps) < 3 {
		d.Steps = append(d.Steps, stepRow{Wait: 10})
	}
	return d, nil
}

func (h *alertUI) chainNew(w http.ResponseWriter, r *http.Request) {
	d, err := h.chainForm(r, alert.Chain{Severity: []alert.Severity{alert.Critical, alert.High}, UnackTimeoutMinutes: 30})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	v := h.newView(r, "chains.new", "chains")
	v.Data = d
	h.render(w, http.StatusOK, "chain_form", v)
}

func (h *alertUI) chainEdit(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	cs, err := h.svc.Chains(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, c := range cs {
		if c.ID == id {
			d, err := h.chainForm(r, c)
			if err != nil {
				h.fail(w, r, err)
				return
			}
			v := h.newView(r, "chains.edit", "chains")
			v.Data = d
			h.render(w, http.StatusOK, "chain_form", v)
			return
		}
	}
	h.fail(w, r, fmt.Errorf("chain %d: %w", id, model.ErrNotFound))
}

func chainFromForm(r *http.Request) alert.Chain {
	r.ParseForm()
	f := r.PostForm
	c := alert.Chain{ID: formID(r, "id"), Name: f.Get("name"), Priority: atoi(f.Get("priority")), Repeat: atoi(f.Get("repeat")),
		UnackTimeoutMinutes: atoi(f.Get("unack_timeout_minutes"))}
	for _, s := range f["severity"] {
		c.Severity = append(c.Severity, alert.Severity(s))
	}
	for _, k := range strings.Split(f.Get("kinds"), ",") {
		if k = strings.TrimSpace(k); k != "" {
			c.Kinds = append(c.Kinds, k)
		}
	}
	if id := formID(r, "agency_id"); id > 0 {
		c.AgencyID = &id
	}
	for i := range f["step_wait"] {
		var st alert.Step
		st.WaitMinutes = atoi(idx(f["step_wait"], i))
		for _, t := range []struct{ typ, key string }{{"schedule", "step_schedule"}, {"user", "step_user"}, {"channel", "step_channel"}} {
			if id, _ := strconv.ParseInt(idx(f[t.key], i), 10, 64); id > 0 {
				st.Targets = append(st.Targets, alert.Target{Type: t.typ, ID: id})
			}
		}
		if len(st.Targets) > 0 {
			c.Steps = append(c.Steps, st)
		}
	}
	return c
}

func (h *alertUI) chainSubmit(w http.ResponseWriter, r *http.Request) {
	c := chainFromForm(r)
	if err := h.svc.SaveChain(r.Context(), httpd.Actor(r), &c); err != nil {
		v := h.newView(r, "chains.edit", "chains")
		if !formError(v, err) {
			h.fail(w, r, err)
			return
		}
		d, ferr := h.chainForm(r, c)
		if ferr != nil {
			h.fail(w, r, ferr)
			return
		}
		v.Data = d
		h.render(w, http.StatusBadRequest, "chain_form", v)
		return
	}
	redirect(w, r, "/chains", "saved")
}

func (h *alertUI) chainDelete(w http.ResponseWriter, r *http.Request) {
	h.byID(w, r, h.svc.DeleteChain, "/chains", "deleted")
}
