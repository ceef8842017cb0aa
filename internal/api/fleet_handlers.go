package api

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"

	"canhgac/internal/fleet"
	"canhgac/internal/httpd"
	"canhgac/internal/model"
)

// Agent channel limits: request bodies (compressed) and what they may
// inflate to.
const (
	agentMaxBody     = 8 << 20
	agentMaxInflated = 32 << 20
)

type fleetHandler struct {
	*handler
	svc *fleet.Service
}

// RegisterFleet adds the agent channel (/agent/v1/…, authenticated by each
// agent's secret) and the fleet's management API.
func RegisterFleet(s *httpd.Server, svc *fleet.Service) {
	h := &fleetHandler{handler: &handler{store: s.Store, auth: s.Auth}, svc: svc}
	r := s.Router
	r.Public("POST /agent/v1/enroll", h.enroll, httpd.MaxBody(64<<10))
	r.Public("POST /agent/v1/heartbeat", h.agent(h.heartbeat, true), httpd.MaxBody(64<<10))
	r.Public("GET /agent/v1/tasks", h.agent(h.poll, false)) // waiting holds no slot
	r.Public("POST /agent/v1/tasks/{id}/result", h.agent(h.result, true), httpd.MaxBody(agentMaxBody))
	r.Public("POST /agent/v1/events", h.agent(h.events, true), httpd.MaxBody(agentMaxBody))
	r.Public("POST /agent/v1/inventory", h.agent(h.inventory, false), httpd.MaxBody(agentMaxBody)) // its own, narrower admission

	r.Private("GET /api/v1/agents", h.can(model.ActionRead, model.ResourceAgent, h.list))
	r.Private("GET /api/v1/agents/{id}", h.can(model.ActionRead, model.ResourceAgent, h.get))
	r.Private("POST /api/v1/agents/{id}/revoke", h.can(model.ActionWrite, model.ResourceAgent, h.revoke))
	r.Private("GET /api/v1/agents/{id}/events", h.can(model.ActionRead, model.ResourceAgent, h.listEvents))
	r.Private("GET /api/v1/agents/{id}/tasks", h.can(model.ActionRead, model.ResourceAgent, h.listTasks))
	r.Private("POST /api/v1/agents/{id}/tasks", h.can(model.ActionWrite, model.ResourceAgent, h.createTask))
	r.Private("GET /api/v1/agents/{id}/packages", h.can(model.ActionRead, model.ResourceAgent, h.listPackages))
	r.Private("GET /api/v1/agents/{id}/changes", h.can(model.ActionRead, model.ResourceAgent, h.listChanges))
	r.Private("GET /api/v1/fleet/packages", h.can(model.ActionRead, model.ResourceAgent, h.findPackage))
	r.Private("GET /api/v1/enrollment-tokens", h.can(model.ActionRead, model.ResourceAgent, h.listTokens))
	r.Private("POST /api/v1/enrollment-tokens", h.can(model.ActionWrite, model.ResourceAgent, h.createToken))
	r.Private("DELETE /api/v1/enrollment-tokens/{id}", h.can(model.ActionWrite, model.ResourceAgent, h.revokeToken))
}

// decodeAgent reads an agent's JSON body, gzip-compressed or not, bounded
// after decompression. Unknown fields are ignored: a newer agent may say
// more than this server knows.
func decodeAgent(r *http.Request, v any) error {
	body := io.Reader(r.Body)
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return model.Invalid("body", "is not gzip")
		}
		defer zr.Close()
		body = zr
	}
	lr := &io.LimitedReader{R: body, N: agentMaxInflated + 1}
	if err := json.NewDecoder(lr).Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		if lr.N <= 0 {
			return &http.MaxBytesError{Limit: agentMaxInflated}
		}
		return model.Invalid("body", "is not valid JSON: %v", err)
	}
	if lr.N <= 0 {
		return &http.MaxBytesError{Limit: agentMaxInflated}
	}
	return nil
}

// agent authenticates the calling agent by its secret ("Authorization:
// Bearer cga_…"); anything else gets 401 and nothing more. With admit, the
// request also needs one of the channel's work slots: when the server is
// saturated (everyone reconnecting after a restart) it answers 503 with a
// random Retry-After, which spreads the agents out.
func (h *fleetHandler) agent(next func(http.ResponseWriter, *http.Request, fleet.Agent), admit bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		secret, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		a, err := h.svc.Authenticate(r.Context(), strings.TrimSpace(secret))
		if err != nil {
			writeErr(w, r, err)
			return
		}
		if admit {
			release, err := h.svc.Admit(r.Context())
			if err != nil {
				busy(w)
				return
			}
			defer release()
		}
		next(w, r, a)
	}
}

// busy tells an agent to come back after a random 5–30 s, so that agents
// turned away together do not return together, and closes the
// connection: a turned-away agent should hold none.
func busy(w http.ResponseWriter) { busyFor(w, 5, 30) }

// busyFor is busy with a Retry-After drawn from [lo, hi] seconds.
func busyFor(w http.ResponseWriter, lo, hi int) {
	w.Header().Set("Retry-After", strconv.Itoa(lo+rand.IntN(hi-lo+1)))
	w.Header().Set("Connection", "close")
	httpd.WriteError(w, http.StatusServiceUnavailable, "busy", "", "the server is busy; retry later")
}

func (h *fleetHandler) enroll(w http.ResponseWriter, r *http.Request) {
	var req fleet.EnrollRequest
	if err := decodeAgent(r, &req); err != nil {
		writeErr(w, r, err)
		return
	}
	en, err := h.svc.Enroll(r.Context(), req, httpd.ClientIP(r))
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusCreated, en)
}

type heartbeatIn struct {
	Version string          `json:"version"`
	Status  json.RawMessage `json:"status"`
}

func (h *fleetHandler) heartbeat(w http.ResponseWriter, r *http.Request, a fleet.Agent) {
	var in heartbeatIn
	if err := decodeAgent(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	n, err := h.svc.Heartbeat(r.Context(), a, in.Status, in.Version, httpd.ClientIP(r))
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, map[string]any{"tasks": n, "heartbeat_seconds": int(h.svc.HeartbeatInterval() / time.Second),
		"poll_slot": h.svc.PollSlotFree()})
}

// poll long-polls for tasks: ?wait=SECONDS (at most the server's limit).
// When every long-poll slot is taken it answers at once with
// "wait_for_heartbeat" and closes the connection: the agent then polls
// again when a heartbeat answer says it has tasks or a slot is free.
func (h *fleetHandler) poll(w http.ResponseWriter, r *http.Request, a fleet.Agent) {
	wait, _ := strconv.Atoi(r.URL.Query().Get("wait"))
	noSlot := false
	if wait > 0 {
		if release, ok := h.svc.PollSlot(); ok {
			defer release()
		} else {
			wait, noSlot = 0, true
			w.Header().Set("Connection", "close")
		}
	}
	ts, err := h.svc.Poll(r.Context(), a, time.Duration(max(wait, 0))*time.Second)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, map[string]any{"tasks": ts, "wait_for_heartbeat": noSlot})
}

type resultIn struct {
	Result json.RawMessage `json:"result"`
	Error  string          `json:"error"`
}

func (h *fleetHandler) result(w http.ResponseWriter, r *http.Request, a fleet.Agent) {
	id, err := pathID(r, "id")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	var in resultIn
	if err := decodeAgent(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	if err := h.svc.Complete(r.Context(), a, id, in.Result, in.Error); err != nil {
		writeErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

type eventsIn struct {
	Events []fleet.Event `json:"events"`
}

// events stores a batch exactly once and acknowledges up to its highest
// sequence number, so the agent can drop what it queued.
func (h *fleetHandler) events(w http.ResponseWriter, r *http.Request, a fleet.Agent) {
	var in eventsIn
	if err := decodeAgent(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	n, err := h.svc.Ingest(r.Context(), a, in.Events)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	var acked uint64
	for _, e := range in.Events {
		acked = max(acked, e.Seq)
	}
	httpd.WriteJSON(w, http.StatusOK, map[string]any{"stored": n, "acked": acked})
}

func (h *fleetHandler) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := fleet.Filter{OS: q.Get("os"), Health: fleet.Health(q.Get("health")), Version: q.Get("version"), Revoked: q.Get("revoked") == "true"}
	if v := q.Get("agency_id"); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			writeErr(w, r, model.Invalid("agency_id", "must be a number"))
			return
		}
		f.AgencyID = id
	}
	switch f.Health {
	case "", fleet.Online, fleet.Late, fleet.Offline, fleet.Revoked:
	default:
		writeErr(w, r, model.Invalid("health", "must be online, late, offline or revoked"))
		return
	}
	items, err := h.svc.List(r.Context(), scope(r), f)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, map[string]any{"items": items})
}

func (h *fleetHandler) get(w http.ResponseWriter, r *http.Request) {
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

func (h *fleetHandler) revoke(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if err := h.svc.Revoke(r.Context(), httpd.Actor(r), id); err != nil {
		writeErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *fleetHandler) listEvents(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	after, _ := strconv.ParseUint(r.URL.Query().Get("after"), 10, 64)
	evs, err := h.svc.Events(r.Context(), scope(r), id, after, 500)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, map[string]any{"items": evs})
}

func (h *fleetHandler) listTasks(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	ts, err := h.svc.Tasks(r.Context(), scope(r), id)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, map[string]any{"items": ts})
}

type taskIn struct {
	Kind           string          `json:"kind"`
	Payload        json.RawMessage `json:"payload"`
	TimeoutSeconds int             `json:"timeout_seconds"`
}

func (h *fleetHandler) createTask(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	var in taskIn
	if err := httpd.DecodeJSON(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	t, err := h.svc.CreateTask(r.Context(), httpd.Actor(r), id, in.Kind, in.Payload, time.Duration(in.TimeoutSeconds)*time.Second)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusCreated, t)
}

func (h *fleetHandler) listTokens(w http.ResponseWriter, r *http.Request) {
	ts, err := h.svc.ListTokens(r.Context(), scope(r))
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, map[string]any{"items": ts})
}

type tokenIn struct {
	AgencyID         int64  `json:"agency_id"`
	Name             string `json:"name"`
	MaxUses          int    `json:"max_uses"`
	ExpiresInSeconds int    `json:"expires_in_seconds"`
}

// createToken answers the token's secret once; only its hash is kept.
func (h *fleetHandler) createToken(w http.ResponseWriter, r *http.Request) {
	var in tokenIn
	if err := httpd.DecodeJSON(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	t := fleet.EnrollmentToken{AgencyID: in.AgencyID, Name: in.Name, MaxUses: in.MaxUses}
	secret, err := h.svc.CreateToken(r.Context(), httpd.Actor(r), &t, time.Duration(in.ExpiresInSeconds)*time.Second)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusCreated, map[string]any{"token": secret, "enrollment_token": t})
}

func (h *fleetHandler) revokeToken(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	if err := h.svc.RevokeToken(r.Context(), httpd.Actor(r), id); err != nil {
		writeErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// inventory stores an agent's inventory (full or delta); 409 asks for the
// full list.
func (h *fleetHandler) inventory(w http.ResponseWriter, r *http.Request, a fleet.Agent) {
	release, err := h.svc.AdmitHeavy(r.Context())
	if err != nil {
		// An inventory can wait: spread a fleet's uploads over minutes.
		busyFor(w, 30, 300)
		return
	}
	defer release()
	var up fleet.InventoryUpload
	if err := decodeAgent(r, &up); err != nil {
		writeErr(w, r, err)
		return
	}
	n, err := h.svc.StoreInventory(r.Context(), a, up)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, map[string]any{"changes": n})
}

func (h *fleetHandler) listPackages(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	ps, err := h.svc.Packages(r.Context(), scope(r), id, r.URL.Query().Get("q"))
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, map[string]any{"items": ps})
}

func (h *fleetHandler) listChanges(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "id")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	cs, err := h.svc.Changes(r.Context(), scope(r), id, 500)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, map[string]any{"items": cs})
}

// findPackage answers "which hosts have package X" across the caller's
// fleet: ?name=openssl[&ecosystem=deb][&below=3.0.13].
func (h *fleetHandler) findPackage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	items, err := h.svc.FindPackage(r.Context(), scope(r), fleet.PackageQuery{Name: q.Get("name"), Ecosystem: q.Get("ecosystem"), Below: q.Get("below")})
	if err != nil {
		writeErr(w, r, err)
		return
	}
	httpd.WriteJSON(w, http.StatusOK, map[string]any{"items": items})
}
