package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/engine"
	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/incident"
	"github.com/mamori/mamori/internal/maintenance"
	"github.com/mamori/mamori/internal/state"
)

// TopProblems is how many problems the overview lists (the counts cover all).
const TopProblems = 50

// hostIndex is derived from the configuration once per configuration.
type hostIndex struct {
	hosts  []*config.Host // sorted by name
	byName map[string]*config.Host
	// hostCheck maps a host check's name to its host.
	hostCheck map[string]string
}

func (c *Console) hostIndex() *hostIndex {
	cfg := c.d.Config()
	c.hostMu.Lock()
	defer c.hostMu.Unlock()
	if c.hostCfg == cfg && c.hostIdx != nil {
		return c.hostIdx
	}
	idx := &hostIndex{byName: make(map[string]*config.Host, len(cfg.Hosts)), hostCheck: make(map[string]string, len(cfg.Hosts))}
	idx.hosts = append(idx.hosts, cfg.Hosts...)
	sort.Slice(idx.hosts, func(i, j int) bool { return idx.hosts[i].Name < idx.hosts[j].Name })
	for _, h := range cfg.Hosts {
		idx.byName[h.Name] = h
		if h.HostCheck != "" {
			idx.hostCheck[h.HostCheck] = h.Name
		}
	}
	c.hostCfg, c.hostIdx = cfg, idx
	return idx
}

// Counts are the overview's numbers.
type Counts struct {
	Checks, OK, Warning, Critical, Unknown, Pending   int
	HardProblems, SoftProblems, Unreachable, Flapping int
	Hosts, HostsDown                                  int
}

type overviewData struct {
	Counts    Counts
	Problems  []engine.View
	More      int // problems not listed
	HostsDown []engine.View
	Incidents []*incident.Incident
	Maint     []*maintenance.Window // running now, as the user may see them
	NoChannel bool                  // nobody is notified of anything
}

// problemLess orders the overview's problems: reachable before
// unreachable, CRITICAL before WARNING before UNKNOWN, newest first.
func problemLess(a, b *engine.View) bool {
	if a.Type != b.Type {
		return a.Type == state.Hard
	}
	if a.Unreachable != b.Unreachable {
		return !a.Unreachable
	}
	if sa, sb := a.Status.Severity(), b.Status.Severity(); sa != sb {
		return sa > sb
	}
	if !a.LastHard.Equal(b.LastHard) {
		return a.LastHard.After(b.LastHard)
	}
	return a.Name < b.Name
}

// computeOverview counts in one pass over the checks and keeps only the
// top problems. It walks the configuration and reads each visible check's
// view (engine.Get) instead of engine.Snapshot: Snapshot copies and sorts
// every view, which alone costs ~150 ms at 100,000 checks; this pass needs
// no sort and no allocation per check (a few ms, see BenchmarkOverview100k).
func (c *Console) computeOverview(sc scope) overviewData {
	idx := c.hostIndex()
	var d overviewData
	var problems []engine.View
	n := &d.Counts
	for _, cc := range c.d.Config().Checks {
		if !sc.sees(cc.Tenant) {
			continue
		}
		v, ok := c.d.Engine.Get(cc.Name)
		if !ok {
			continue // removed by a reload meanwhile
		}
		n.Checks++
		if v.Pending() {
			n.Pending++
			continue
		}
		switch v.Status {
		case check.OK:
			n.OK++
		case check.Warning:
			n.Warning++
		case check.Critical:
			n.Critical++
		default:
			n.Unknown++
		}
		if v.Flapping {
			n.Flapping++
		}
		if !v.Status.Problem() {
			continue
		}
		if v.Unreachable {
			n.Unreachable++
		}
		if v.Type == state.Soft {
			n.SoftProblems++
			problems = append(problems, v) // listed too, marked soft, after the hard ones
			continue
		}
		n.HardProblems++
		if _, ok := idx.hostCheck[v.Name]; ok {
			n.HostsDown++
			if len(d.HostsDown) < TopProblems {
				d.HostsDown = append(d.HostsDown, v)
			}
		}
		problems = append(problems, v)
	}
	for _, h := range idx.hosts {
		if sc.sees(h.Tenant) {
			n.Hosts++
		}
	}
	sort.Slice(problems, func(i, j int) bool { return problemLess(&problems[i], &problems[j]) })
	if len(problems) > TopProblems {
		d.More = len(problems) - TopProblems
		problems = problems[:TopProblems]
	}
	d.Problems = problems
	sort.Slice(d.HostsDown, func(i, j int) bool { return d.HostsDown[i].Host < d.HostsDown[j].Host })
	return d
}

func (c *Console) overview(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	d := c.computeOverview(rc.scope)
	if c.alerts != nil {
		ins, err := c.alerts.Incidents(r.Context(), incident.Query{Statuses: []string{incident.Open, incident.Acknowledged}, Tenant: rc.scope.storeTenant(), Limit: 20})
		if err != nil {
			c.log.Error("console: overview incidents", "err", err)
		}
		d.Incidents = ins
		now := c.now()
		for _, win := range c.d.Alerting.Windows() {
			if _, _, on := win.Occurrence(now); on && c.windowVisible(rc, win) {
				d.Maint = append(d.Maint, win)
			}
		}
	}
	d.NoChannel = rc.can(RoleOperator) && len(c.d.Config().Channels) == 0
	data := c.base(rc, "overview.title", "overview")
	data["O"] = d
	data["Now"], data["Flash"] = c.now(), flash(r, rc.L)
	if r.URL.Query().Get("partial") != "1" {
		data["Avail"] = c.overviewAvailability(r.Context(), rc)
	}
	if r.URL.Query().Get("partial") == "1" {
		c.renderTemplate(w, http.StatusOK, "overview", "overview_body", data)
		return
	}
	c.render(w, rc, http.StatusOK, "overview", data)
}

// liveEvent is what /live sends per state change.
type liveEvent struct {
	ID        int64     `json:"id"`
	Check     string    `json:"check"`
	Host      string    `json:"host,omitempty"`
	State     string    `json:"state"`
	StateType string    `json:"state_type"`
	Hard      bool      `json:"hard"`
	Output    string    `json:"output"`
	Time      time.Time `json:"time"`
	TimeText  string    `json:"time_text"`
}

// liveKeepAlive is the interval of SSE comments that keep proxies open.
var liveKeepAlive = 25 * time.Second

// live streams the state changes the user may see (server-sent events):
// the overview refreshes itself on each.
func (c *Console) live(w http.ResponseWriter, r *http.Request) {
	sid, u, ok := c.session(r)
	if !ok {
		http.Error(w, "login required", http.StatusUnauthorized)
		return
	}
	_ = sid
	if rank(u.Role) == 0 {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	sc := scopeOf(u)
	l := c.locale(r, u)
	bus := c.d.Events
	sub := bus.Subscribe(256, event.StateChange)
	defer bus.Unsubscribe(sub)
	// A stream outlives the server's write timeout: lifted here.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 3000\n\n")
	fl.Flush()
	ping := time.NewTicker(liveKeepAlive)
	defer ping.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case e, ok := <-sub.C:
			if !ok {
				return // fell behind: the browser reconnects and refreshes
			}
			v, found := c.d.Engine.Get(e.Check)
			if !found || !sc.sees(v.Tenant) {
				continue
			}
			b, _ := json.Marshal(liveEvent{ID: e.ID, Check: e.Check, Host: v.Host, State: e.To.String(), StateType: e.ToType.String(),
				Hard: e.Hard, Output: e.Output, Time: e.Time, TimeText: l.Time(e.Time)})
			if _, err := fmt.Fprintf(w, "id: %d\nevent: state\ndata: %s\n\n", e.ID, b); err != nil {
				return
			}
			fl.Flush()
		case <-ping.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return
			}
			fl.Flush()
		}
	}
}
