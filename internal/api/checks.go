package api

import (
	"net/http"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/engine"
	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/store"
)

// checkJSON is the API form of a check (SPEC section 8 names).
type checkJSON struct {
	Name         string         `json:"name"`
	Host         string         `json:"host,omitempty"`
	Tenant       string         `json:"tenant,omitempty"`
	Type         string         `json:"type"`
	Tags         []string       `json:"tags,omitempty"`
	State        string         `json:"state"`
	StateType    string         `json:"state_type"`
	HardState    string         `json:"hard_state"`
	Attempt      int            `json:"attempt"`
	LastCheck    *time.Time     `json:"last_check"`
	LastChange   *time.Time     `json:"last_change,omitempty"`
	LastHard     *time.Time     `json:"last_hard_change,omitempty"`
	ProblemSince *time.Time     `json:"problem_since,omitempty"`
	NextCheck    *time.Time     `json:"next_check,omitempty"`
	Interval     float64        `json:"interval_seconds"`
	Output       string         `json:"output"`
	Perf         []check.Metric `json:"perfdata,omitempty"`
	Duration     float64        `json:"duration_seconds"`
	Flapping     bool           `json:"flapping"`
	FlapPercent  float64        `json:"flap_percent"`
	Unreachable  bool           `json:"unreachable"`
	Pending      bool           `json:"pending"`
	Parents      []string       `json:"depends_on,omitempty"`
	Zone         string         `json:"zone,omitempty"`
	Poller       string         `json:"poller"` // who ran the last result ("server", a poller's name; "" while pending)
}

func tp(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func toJSON(v engine.View) checkJSON {
	return checkJSON{
		Name: v.Name, Host: v.Host, Tenant: v.Tenant, Type: v.CheckType, Tags: v.Tags,
		State: v.Status.String(), StateType: v.State.Type.String(), HardState: v.HardStatus.String(), Attempt: v.Attempt,
		LastCheck: tp(v.LastCheck), LastChange: tp(v.LastChange), LastHard: tp(v.LastHard), ProblemSince: tp(v.ProblemAt),
		NextCheck: tp(v.Next), Interval: v.Interval.Seconds(), Output: v.Output, Perf: v.Perf, Duration: v.Duration.Seconds(),
		Flapping: v.Flapping, FlapPercent: v.FlapPct, Unreachable: v.Unreachable, Pending: v.Pending(), Parents: v.Parents,
		Zone: v.Zone, Poller: ranBy(v),
	}
}

func ranBy(v engine.View) string {
	switch {
	case v.Pending():
		return ""
	case v.Poller == "":
		return "server"
	}
	return v.Poller
}

// listChecks: GET /api/v1/checks?state=CRITICAL&state_type=hard&host=&tenant=&type=&problems=1&q=&limit=&offset=
func (s *Server) listChecks(w http.ResponseWriter, r *http.Request) {
	p := PrincipalFrom(r.Context())
	q := r.URL.Query()
	limit, err := queryInt(r, "limit", 0, 0, 1_000_000)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	offset, err := queryInt(r, "offset", 0, 0, 1_000_000_000)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	var wantState []check.Status
	for _, st := range q["state"] {
		for _, one := range strings.Split(st, ",") {
			v, err := check.ParseStatus(one)
			if err != nil {
				writeError(w, http.StatusBadRequest, "state: "+err.Error())
				return
			}
			wantState = append(wantState, v)
		}
	}
	stateType := q.Get("state_type")
	if stateType != "" && stateType != "soft" && stateType != "hard" {
		writeError(w, http.StatusBadRequest, "state_type must be soft or hard")
		return
	}
	problems := q.Get("problems") == "1" || q.Get("problems") == "true"
	out := make([]checkJSON, 0)
	skipped := 0
	for _, v := range s.eng.Snapshot() {
		switch {
		case !p.Sees(v.Tenant),
			q.Has("host") && v.Host != q.Get("host"),
			q.Has("tenant") && v.Tenant != q.Get("tenant"),
			q.Has("type") && v.CheckType != q.Get("type"),
			stateType != "" && v.State.Type.String() != stateType,
			problems && !v.Status.Problem(),
			len(wantState) > 0 && !containsStatus(wantState, v.Status),
			q.Has("q") && !strings.Contains(strings.ToLower(v.Name), strings.ToLower(q.Get("q"))):
			continue
		}
		if skipped < offset {
			skipped++
			continue
		}
		out = append(out, toJSON(v))
		if limit > 0 && len(out) >= limit {
			break
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func containsStatus(list []check.Status, s check.Status) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

type checkDetail struct {
	checkJSON
	Results []store.ResultRow `json:"results"`
	Events  []event.Event     `json:"events"`
}

// getCheck: GET /api/v1/checks/{name...}?results=20&events=20
func (s *Server) getCheck(w http.ResponseWriter, r *http.Request) {
	v, ok := s.visibleCheck(w, r)
	if !ok {
		return
	}
	nres, err := queryInt(r, "results", 20, 0, 10000)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	nev, err := queryInt(r, "events", 20, 0, 10000)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	d := checkDetail{checkJSON: toJSON(v), Results: []store.ResultRow{}, Events: []event.Event{}}
	if nres > 0 {
		rs, err := s.st.Results(r.Context(), v.Name, time.Time{}, nres)
		if err != nil {
			s.log.Error("read results", "check", v.Name, "err", err)
			writeError(w, http.StatusInternalServerError, "could not read results")
			return
		}
		if rs != nil {
			d.Results = rs
		}
	}
	if nev > 0 {
		evs, err := s.st.Events(r.Context(), store.EventQuery{Checks: []string{v.Name}, Limit: nev, Desc: true})
		if err != nil {
			s.log.Error("read events", "check", v.Name, "err", err)
			writeError(w, http.StatusInternalServerError, "could not read events")
			return
		}
		if evs != nil {
			d.Events = evs
		}
	}
	writeJSON(w, http.StatusOK, d)
}

// visibleCheck finds the {name} of the path; another tenant's check is 404
// like a missing one, so that names do not leak across tenants.
func (s *Server) visibleCheck(w http.ResponseWriter, r *http.Request) (engine.View, bool) {
	name := r.PathValue("name")
	v, ok := s.eng.Get(name)
	if !ok || !PrincipalFrom(r.Context()).Sees(v.Tenant) {
		writeError(w, http.StatusNotFound, "no check named "+quote(name))
		return engine.View{}, false
	}
	return v, true
}

func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

// runCheck: POST /api/v1/run/{name...} runs a check now.
func (s *Server) runCheck(w http.ResponseWriter, r *http.Request) {
	v, ok := s.visibleCheck(w, r)
	if !ok {
		return
	}
	if s.refuseFollower(w) {
		return
	}
	if !s.eng.RunNow(v.Name) {
		writeError(w, http.StatusConflict, "check "+quote(v.Name)+" is disabled")
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "scheduled", "check": v.Name})
}
