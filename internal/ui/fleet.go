package ui

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"canhgac/internal/fleet"
	"canhgac/internal/httpd"
	"canhgac/internal/inventory"
	"canhgac/internal/model"
)

type fleetUI struct {
	*handler
	svc *fleet.Service
}

// RegisterFleet adds the endpoint agents' pages: the fleet list with its
// fleet-wide package search, each agent's page, and enrollment tokens.
func RegisterFleet(s *httpd.Server, svc *fleet.Service) {
	h := &fleetUI{handler: &handler{store: s.Store, auth: s.Auth, pages: parsePages()}, svc: svc}
	r := s.Router
	read, write, res := model.ActionRead, model.ActionWrite, model.ResourceAgent
	r.Private("GET /agents", h.can(read, res, h.list))
	r.Private("GET /agents/packages", h.can(read, res, h.findPackage))
	r.Private("GET /agents/tokens", h.can(read, res, h.tokens))
	r.Private("POST /agents/tokens", h.can(write, res, h.createToken))
	r.Private("POST /agents/tokens/{id}/revoke", h.can(write, res, h.revokeToken))
	r.Private("GET /agents/{id}", h.can(read, res, h.detail))
	r.Private("POST /agents/{id}/inventory", h.can(write, res, h.collectInventory))
	r.Private("POST /agents/{id}/revoke", h.can(write, res, h.revoke))
}

// healths are the agent states, in the order the tiles show them.
var healths = []fleet.Health{fleet.Online, fleet.Late, fleet.Offline, fleet.Revoked}

// ecosystems are the package ecosystems the search may be narrowed to.
var ecosystems = []string{inventory.EcosystemDeb, inventory.EcosystemRPM, inventory.EcosystemAPK, inventory.EcosystemWindows}

// healthCount is one tile of the fleet page.
type healthCount struct {
	Health fleet.Health
	Count  int
}

type agentsData struct {
	Items      []fleet.Agent
	Agencies   []agencyOption
	Names      map[int64]string
	Healths    []fleet.Health
	Tiles      []healthCount
	Ecosystems []string
}

// agencyNames maps agency ids to their names (without the tree indent).
func agencyNames(opts []agencyOption) map[int64]string {
	names := map[int64]string{}
	for _, a := range opts {
		label := a.Label
		for strings.HasPrefix(label, "— ") {
			label = strings.TrimPrefix(label, "— ")
		}
		names[a.ID] = label
	}
	return names
}

// list shows the agents in the caller's scope, filtered by the query, with
// a count per health over the same filter.
func (h *fleetUI) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := fleet.Filter{OS: strings.TrimSpace(q.Get("os")), Version: strings.TrimSpace(q.Get("version")), Revoked: true}
	f.AgencyID, _ = strconv.ParseInt(q.Get("agency"), 10, 64)
	want := fleet.Health(q.Get("health"))
	if !slices.Contains(healths, want) {
		want = ""
	}
	all, err := h.svc.List(r.Context(), scope(r), f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	agencies, err := h.agencyOptions(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := agentsData{Agencies: agencies, Names: agencyNames(agencies), Healths: healths, Items: []fleet.Agent{}, Ecosystems: ecosystems}
	counts := map[fleet.Health]int{}
	for _, a := range all {
		counts[a.Health]++
		// Without a health filter revoked agents are left out, as the API does.
		if a.Health == want || (want == "" && a.Health != fleet.Revoked) {
			d.Items = append(d.Items, a)
		}
	}
	for _, hl := range healths {
		d.Tiles = append(d.Tiles, healthCount{Health: hl, Count: counts[hl]})
	}
	v := h.newView(r, "agents.title", "agents")
	v.Data = d
	h.render(w, http.StatusOK, "agents", v)
}

type packageSearchData struct {
	Name, Ecosystem string
	Below           string // only versions older than this
	Ecosystems      []string
	Names           map[int64]string
	Items           []fleet.Installation
	Hosts           int
}

// findPackage answers "which machines have package X" across the
// caller's scope.
func (h *fleetUI) findPackage(w http.ResponseWriter, r *http.Request) {
	name, eco, below := strings.TrimSpace(r.URL.Query().Get("name")), r.URL.Query().Get("ecosystem"), strings.TrimSpace(r.URL.Query().Get("below"))
	if !slices.Contains(ecosystems, eco) {
		eco = ""
	}
	v := h.newView(r, "agents.packages_title", "agents")
	d := packageSearchData{Name: name, Ecosystem: eco, Below: below, Ecosystems: ecosystems, Items: []fleet.Installation{}}
	agencies, err := h.agencyOptions(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d.Names = agencyNames(agencies)
	if name != "" {
		if d.Items, err = h.svc.FindPackage(r.Context(), scope(r), fleet.PackageQuery{Name: name, Ecosystem: eco, Below: below}); err != nil {
			if !formError(v, err) {
				h.fail(w, r, err)
				return
			}
		}
		hosts := map[int64]bool{}
		for _, in := range d.Items {
			hosts[in.AgentID] = true
		}
		d.Hosts = len(hosts)
	}
	v.Data = d
	h.render(w, http.StatusOK, "agent_packages", v)
}

// statusItem is one key of an agent's self-reported status.
type statusItem struct {
	Key, Value string
}

// statusItems flattens an agent's status JSON into sorted key/value pairs;
// nested values are shown as compact JSON.
func statusItems(raw json.RawMessage) []statusItem {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return nil
	}
	out := make([]statusItem, 0, len(m))
	for k, val := range m {
		s, ok := val.(string)
		if !ok {
			b, _ := json.Marshal(val)
			s = string(b)
		}
		out = append(out, statusItem{Key: k, Value: s})
	}
	slices.SortFunc(out, func(a, b statusItem) int { return strings.Compare(a.Key, b.Key) })
	return out
}

type agentData struct {
	A        fleet.Agent
	Agency   string
	Status   []statusItem
	Packages []inventory.Package
	Q        string
	Changes  []fleet.PackageChange
	Tasks    []fleet.Task
	Events   []fleet.Event
}

// recentEvents is how many of an agent's latest events its page shows.
const recentEvents = 50

func (h *fleetUI) detail(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	ctx, sc := r.Context(), scope(r)
	a, err := h.svc.Get(ctx, sc, id)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := agentData{A: a, Status: statusItems(a.Status), Q: strings.TrimSpace(r.URL.Query().Get("q"))}
	if d.Packages, err = h.svc.Packages(ctx, sc, id, d.Q); err == nil {
		if d.Changes, err = h.svc.Changes(ctx, sc, id, 100); err == nil {
			d.Tasks, err = h.svc.Tasks(ctx, sc, id)
		}
	}
	if err == nil {
		d.Events, err = h.latestEvents(r, a.ID)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	if len(d.Tasks) > 20 {
		d.Tasks = d.Tasks[:20]
	}
	if ag, err := h.store.GetAgency(ctx, sc, a.AgencyID); err == nil {
		d.Agency = ag.Name
	}
	v := h.newView(r, "agents.title", "agents")
	v.Data = d
	h.render(w, http.StatusOK, "agent", v)
}

// latestEvents returns an agent's most recent events, newest first. The
// agent was already found in the caller's scope.
func (h *fleetUI) latestEvents(r *http.Request, agentID int64) ([]fleet.Event, error) {
	var last int64
	if err := h.store.DB().QueryRowContext(r.Context(), h.store.Rebind(`SELECT COALESCE(MAX(seq), 0) FROM agent_events WHERE agent_id = ?`),
		agentID).Scan(&last); err != nil {
		return nil, err
	}
	evs, err := h.svc.Events(r.Context(), scope(r), agentID, uint64(max(last-recentEvents, 0)), recentEvents)
	if err != nil {
		return nil, err
	}
	slices.Reverse(evs)
	return evs, nil
}

// collectInventory asks the agent for a fresh software inventory.
func (h *fleetUI) collectInventory(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r)
	if err == nil {
		_, err = h.svc.CreateTask(r.Context(), httpd.Actor(r), id, fleet.TaskInventory, nil, time.Hour)
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	redirect(w, r, fmt.Sprintf("/agents/%d", id), "inventory_requested")
}

func (h *fleetUI) revoke(w http.ResponseWriter, r *http.Request) {
	id, _ := pathID(r)
	h.byID(w, r, h.svc.Revoke, fmt.Sprintf("/agents/%d", id), "agent_revoked")
}

// validities are the lifetimes an enrollment token may be given.
var validities = []struct {
	Key string
	D   time.Duration
}{{"1h", time.Hour}, {"24h", 24 * time.Hour}, {"7d", 7 * 24 * time.Hour}, {"30d", 30 * 24 * time.Hour}}

type tokenForm struct {
	AgencyID int64
	Name     string
	MaxUses  int
	Validity string
}

type tokensData struct {
	Items      []fleet.EnrollmentToken
	Agencies   []agencyOption
	Names      map[int64]string
	Validities []string
	Form       tokenForm
	Now        time.Time
	// Secret is the token just created, shown once, with the command that
	// enrolls a machine with it.
	Secret  string
	Command string
}

func (h *fleetUI) tokensView(r *http.Request, form tokenForm) (*view, error) {
	items, err := h.svc.ListTokens(r.Context(), scope(r))
	if err != nil {
		return nil, err
	}
	agencies, err := h.agencyOptions(r)
	if err != nil {
		return nil, err
	}
	d := tokensData{Items: items, Agencies: agencies, Names: agencyNames(agencies), Form: form, Now: h.store.Now()}
	for _, v := range validities {
		d.Validities = append(d.Validities, v.Key)
	}
	v := h.newView(r, "agents.tokens_title", "agents")
	v.Data = d
	return v, nil
}

func (h *fleetUI) tokens(w http.ResponseWriter, r *http.Request) {
	v, err := h.tokensView(r, tokenForm{MaxUses: 1, Validity: "24h"})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, http.StatusOK, "enrollment_tokens", v)
}

// createToken issues an enrollment token and shows its secret on this
// response only: it is never stored, and never put in a URL.
func (h *fleetUI) createToken(w http.ResponseWriter, r *http.Request) {
	form := tokenForm{AgencyID: formID(r, "agency_id"), Name: r.PostFormValue("name"), MaxUses: formInt(r, "max_uses"), Validity: r.PostFormValue("validity")}
	var valid time.Duration
	for _, v := range validities {
		if v.Key == form.Validity {
			valid = v.D
		}
	}
	var secret string
	var err error
	if valid == 0 {
		err = model.Invalid("expires_in", "must be between 1 minute and 90 days")
	} else if strings.TrimSpace(r.PostFormValue("max_uses")) != "" && form.MaxUses == 0 {
		err = model.Invalid("max_uses", "must be 1 to %d", fleet.MaxTokenUses)
	} else {
		t := fleet.EnrollmentToken{AgencyID: form.AgencyID, Name: form.Name, MaxUses: form.MaxUses}
		secret, err = h.svc.CreateToken(r.Context(), httpd.Actor(r), &t, valid)
	}
	if err != nil {
		v, verr := h.tokensView(r, form)
		if verr != nil || !formError(v, err) {
			h.fail(w, r, err)
			return
		}
		h.render(w, http.StatusBadRequest, "enrollment_tokens", v)
		return
	}
	v, err := h.tokensView(r, tokenForm{MaxUses: 1, Validity: "24h"})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	d := v.Data.(tokensData)
	d.Secret = secret
	d.Command = "canhgac agent enroll --server " + serverURL(r) + " --token " + secret
	v.Data = d
	v.Flash = v.T("flash.token_created")
	h.render(w, http.StatusOK, "enrollment_tokens", v)
}

// serverURL is the address the browser reached canhgac at, which agents
// on the same network can use too.
func serverURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (h *fleetUI) revokeToken(w http.ResponseWriter, r *http.Request) {
	h.byID(w, r, h.svc.RevokeToken, "/agents/tokens", "token_revoked")
}
