package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/store"
)

type eventJSON struct {
	ID            int64     `json:"id"`
	Check         string    `json:"check"`
	Time          time.Time `json:"time"`
	State         string    `json:"state"`
	StateType     string    `json:"state_type"`
	PreviousState string    `json:"previous_state"`
	PreviousType  string    `json:"previous_state_type"`
	Attempt       int       `json:"attempt"`
	Hard          bool      `json:"hard"`
	Recovery      bool      `json:"recovery"`
	Notify        bool      `json:"notify"`
	Flapping      string    `json:"flapping,omitempty"` // "start" or "stop"
	Unreachable   bool      `json:"unreachable"`
	ProblemFor    float64   `json:"problem_duration_seconds,omitempty"`
	Output        string    `json:"output"`
}

func eventToJSON(e event.Event) eventJSON {
	j := eventJSON{ID: e.ID, Check: e.Check, Time: e.Time.UTC(), State: e.To.String(), StateType: e.ToType.String(),
		PreviousState: e.From.String(), PreviousType: e.FromType.String(), Attempt: e.Attempt, Hard: e.Hard,
		Recovery: e.Recovery, Notify: e.Notify, Unreachable: e.Unreachable, ProblemFor: e.ProblemFor.Seconds(), Output: e.Output}
	switch {
	case e.FlapStart:
		j.Flapping = "start"
	case e.FlapStop:
		j.Flapping = "stop"
	}
	return j
}

// eventQuery parses ?check=A&check=B&since=&until=&hard=1&limit=&after_id=&order=asc|desc
func (s *Server) eventQuery(r *http.Request) (store.EventQuery, error) {
	var q store.EventQuery
	var err error
	vals := r.URL.Query()
	q.Checks = vals["check"]
	if q.Since, err = queryTime(r, "since"); err != nil {
		return q, err
	}
	if q.Until, err = queryTime(r, "until"); err != nil {
		return q, err
	}
	if q.Limit, err = queryInt(r, "limit", 100, 1, 10000); err != nil {
		return q, err
	}
	after, err := queryInt(r, "after_id", 0, 0, 1<<62)
	if err != nil {
		return q, err
	}
	q.AfterID = int64(after)
	q.HardOnly = vals.Get("hard") == "1" || vals.Get("hard") == "true"
	switch vals.Get("order") {
	case "", "desc":
		q.Desc = q.AfterID == 0
	case "asc":
	default:
		return q, fmt.Errorf("order must be asc or desc")
	}
	return q, nil
}

// visibleEvent applies tenant isolation to an event.
func (s *Server) visibleEvent(p Principal, e event.Event) bool {
	if p.Tenant == "" {
		return true
	}
	v, ok := s.eng.Get(e.Check)
	return ok && p.Sees(v.Tenant)
}

// listEvents: GET /api/v1/events — the state-change log, newest first.
func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) {
	q, err := s.eventQuery(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	evs, err := s.st.Events(r.Context(), q)
	if err != nil {
		s.log.Error("read events", "err", err)
		writeError(w, http.StatusInternalServerError, "could not read events")
		return
	}
	p := PrincipalFrom(r.Context())
	out := make([]eventJSON, 0, len(evs))
	for _, e := range evs {
		if s.visibleEvent(p, e) {
			out = append(out, eventToJSON(e))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// streamEvents: GET /api/v1/events/stream — server-sent events, one
// "state" event per state change. A client that reconnects with
// Last-Event-ID (or ?after_id=) first gets what it missed from the store.
func (s *Server) streamEvents(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		writeError(w, http.StatusInternalServerError, "streaming unsupported")
		return
	}
	q, err := s.streamQuery(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	sub := s.bus.Subscribe(256, event.StateChange)
	defer s.bus.Unsubscribe(sub)

	// A stream outlives the server's write timeout: each event has its own.
	st := &eventStream{w: w, fl: fl, rc: http.NewResponseController(w), q: q, p: PrincipalFrom(r.Context()), s: s, last: q.AfterID}
	st.want = map[string]bool{}
	for _, c := range q.Checks {
		st.want[c] = true
	}
	_ = st.rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 2000\n\n")
	fl.Flush()

	if q.AfterID > 0 { // backfill what the client missed
		backlog, err := s.st.Events(r.Context(), store.EventQuery{AfterID: q.AfterID, Checks: q.Checks, Limit: 10000})
		if err != nil {
			return
		}
		for _, e := range backlog {
			if !st.send(e) {
				return
			}
		}
	}
	st.follow(r.Context(), sub.C)
}

// streamQuery is the event query of a stream: the list filters, and
// Last-Event-ID (a reconnecting client) as the point to resume after.
func (s *Server) streamQuery(r *http.Request) (store.EventQuery, error) {
	q, err := s.eventQuery(r)
	if err != nil {
		return q, err
	}
	if id := r.Header.Get("Last-Event-ID"); id != "" {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil || n < 0 {
			return q, fmt.Errorf("Last-Event-ID must be an event id")
		}
		q.AfterID = n
	}
	return q, nil
}

// eventStream is one client's server-sent event stream.
type eventStream struct {
	w    http.ResponseWriter
	fl   http.Flusher
	rc   *http.ResponseController
	q    store.EventQuery
	p    Principal
	s    *Server
	want map[string]bool // checks asked for; empty: all
	last int64           // the last event id sent
}

// send writes one event if the client asked for it and may see it; false
// when the client is gone.
func (st *eventStream) send(e event.Event) bool {
	if e.ID <= st.last || (len(st.want) > 0 && !st.want[e.Check]) || (st.q.HardOnly && !e.Hard) || !st.s.visibleEvent(st.p, e) {
		return true
	}
	b, _ := json.Marshal(eventToJSON(e))
	_ = st.rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
	if _, err := fmt.Fprintf(st.w, "id: %d\nevent: state\ndata: %s\n\n", e.ID, b); err != nil {
		return false
	}
	st.last = e.ID
	st.fl.Flush()
	return true
}

// follow sends live events, with a keep-alive comment every 25 s, until
// the client goes or falls behind (it then reconnects with Last-Event-ID).
func (st *eventStream) follow(ctx context.Context, c <-chan event.Event) {
	ping := time.NewTicker(25 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-c:
			if !ok || !st.send(e) {
				return
			}
		case <-ping.C:
			_ = st.rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout))
			if _, err := fmt.Fprint(st.w, ": keep-alive\n\n"); err != nil {
				return
			}
			st.fl.Flush()
		}
	}
}

// streamWriteTimeout bounds one write of an event stream (a client that
// stops reading is dropped).
const streamWriteTimeout = 30 * time.Second

// postReload: POST /api/v1/reload — re-read the config file and apply it;
// a bad config is refused with every error and the running one stays.
func (s *Server) postReload(w http.ResponseWriter, r *http.Request) {
	if s.reload == nil {
		writeError(w, http.StatusConflict, "this server runs on the embedded default config; start it with --config FILE to reload")
		return
	}
	cfg, err := s.reload()
	if err != nil {
		writeError(w, http.StatusUnprocessableEntity, "configuration refused; the running one stays", splitLines(err.Error())...)
		return
	}
	s.SetTokens(cfg)
	writeJSON(w, http.StatusOK, map[string]any{"status": "reloaded", "checks": len(cfg.Checks)})
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
