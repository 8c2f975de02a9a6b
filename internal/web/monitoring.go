package web

import (
	"context"
	"math"
	"net/http"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/engine"
	"github.com/mamori/mamori/internal/incident"
	"github.com/mamori/mamori/internal/report"
	"github.com/mamori/mamori/internal/state"
	"github.com/mamori/mamori/internal/store"
)

// GraphQuery is one PromQL query of a graph. In Expr, $host is replaced by
// the host's name as a quoted PromQL string.
type GraphQuery struct {
	Expr string
	// Legend names each series: the value of this label if the series has
	// it, else Name.
	Legend string
	Name   string
}

// Graph is one resource graph of the host page.
type Graph struct {
	ID       string
	TitleKey string // i18n key
	Unit     string // "%", "B/s", "" ...
	Queries  []GraphQuery
}

// DefaultHostGraphs are the host page's graphs, on node_exporter metric
// names with the host label the server adds to agent samples.
var DefaultHostGraphs = []Graph{
	{ID: "load", TitleKey: "graph.load", Queries: []GraphQuery{
		{Expr: `node_load1{host=$host}`, Name: "load1"},
		{Expr: `node_load5{host=$host}`, Name: "load5"},
		{Expr: `node_load15{host=$host}`, Name: "load15"},
	}},
	{ID: "cpu", TitleKey: "graph.cpu", Unit: "%", Queries: []GraphQuery{
		{Expr: `100 * sum by (mode) (rate(node_cpu_seconds_total{host=$host,mode!="idle"}[5m])) / scalar(count(node_cpu_seconds_total{host=$host,mode="idle"}))`, Legend: "mode", Name: "cpu"},
	}},
	{ID: "memory", TitleKey: "graph.memory", Unit: "%", Queries: []GraphQuery{
		{Expr: `100 * (1 - node_memory_MemAvailable_bytes{host=$host} / node_memory_MemTotal_bytes{host=$host})`, Name: "memory"},
		{Expr: `100 * (1 - node_memory_SwapFree_bytes{host=$host} / node_memory_SwapTotal_bytes{host=$host})`, Name: "swap"},
	}},
	{ID: "disk", TitleKey: "graph.disk", Unit: "%", Queries: []GraphQuery{
		{Expr: `100 * (1 - node_filesystem_avail_bytes{host=$host} / node_filesystem_size_bytes{host=$host})`, Legend: "mountpoint", Name: "disk"},
	}},
	{ID: "network", TitleKey: "graph.network", Unit: "B/s", Queries: []GraphQuery{
		{Expr: `rate(node_network_receive_bytes_total{host=$host,` + realNICs + `}[5m])`, Legend: "device", Name: "rx"},
		{Expr: `-rate(node_network_transmit_bytes_total{host=$host,` + realNICs + `}[5m])`, Legend: "device", Name: "tx"},
	}},
}

// realNICs leaves loopback and virtual interfaces (traffic shapers,
// container and bridge ends) out of the network graph.
const realNICs = `device!~"lo|ifb.*|veth.*|docker.*|br-.*|virbr.*|cni.*|flannel.*|cali.*|tun.*|tap.*|dummy.*"`

// promString quotes a string for PromQL.
func promString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

// timeRange is a graph's range: a preset or a custom start and end.
type timeRange struct {
	Preset     string // 1h 1d 1w 1m, or "" for custom
	Start, End time.Time
	Step       time.Duration
	StartText  string // for the custom form (datetime-local, user's zone)
	EndText    string
}

var presets = map[string]time.Duration{"1h": time.Hour, "1d": 24 * time.Hour, "1w": 7 * 24 * time.Hour, "1m": 30 * 24 * time.Hour}

// chartPoints is the number of points a graph aims at.
const chartPoints = 300

func parseRange(r *http.Request, l *Locale, now time.Time) timeRange {
	q := r.URL.Query()
	tr := timeRange{Preset: "1d", End: now}
	const layout = "2006-01-02T15:04"
	if q.Get("start") != "" || q.Get("end") != "" {
		s, err1 := time.ParseInLocation(layout, q.Get("start"), l.Loc)
		e, err2 := time.ParseInLocation(layout, q.Get("end"), l.Loc)
		if q.Get("end") == "" {
			e, err2 = now, nil
		}
		if err1 == nil && err2 == nil && e.After(s) && e.Sub(s) <= 400*24*time.Hour {
			tr.Preset, tr.Start, tr.End = "", s, e
		}
	}
	if tr.Preset != "" {
		if p, ok := presets[q.Get("range")]; ok {
			tr.Preset = q.Get("range")
			tr.Start = now.Add(-p)
		} else {
			tr.Start = now.Add(-presets["1d"])
		}
	}
	tr.Step = max(tr.End.Sub(tr.Start)/chartPoints, 15*time.Second).Round(time.Second)
	tr.StartText, tr.EndText = tr.Start.In(l.Loc).Format(layout), tr.End.In(l.Loc).Format(layout)
	return tr
}

// chart is what the page's script draws (JSON in a data attribute).
type chart struct {
	ID     string        `json:"id"`
	Title  string        `json:"title"`
	Unit   string        `json:"unit,omitempty"`
	Series []chartSeries `json:"series"`
	Error  string        `json:"error,omitempty"`
	Start  float64       `json:"start,omitempty"` // the range asked for (Unix seconds): the x axis
	End    float64       `json:"end,omitempty"`
	Bands  [][2]float64  `json:"bands,omitempty"` // hard CRITICAL periods, shaded
}

type chartSeries struct {
	Name   string       `json:"name"`
	Points [][2]float64 `json:"points"` // [unix seconds, value]
}

func seriesName(s Series, q GraphQuery) string {
	if q.Legend != "" {
		if v, ok := s.Labels[q.Legend]; ok && v != "" {
			if q.Name != "" && q.Name != v && utf8.RuneCountInString(q.Name) <= 3 {
				return q.Name + " " + v
			}
			return v
		}
	}
	if q.Name != "" {
		return q.Name
	}
	var parts []string
	for k, v := range s.Labels {
		if k != "__name__" && k != "host" && k != "instance" && k != "job" && k != "tenant" {
			parts = append(parts, k+"="+v)
		}
	}
	sort.Strings(parts)
	return strings.Join(parts, ",")
}

func toChartSeries(m Matrix, q GraphQuery) []chartSeries {
	var out []chartSeries
	for _, s := range m {
		cs := chartSeries{Name: seriesName(s, q), Points: make([][2]float64, 0, len(s.Points))}
		for _, p := range s.Points {
			if math.IsNaN(p.V) || math.IsInf(p.V, 0) {
				continue
			}
			cs.Points = append(cs.Points, [2]float64{float64(p.T) / 1000, p.V})
		}
		out = append(out, cs)
	}
	return out
}

// ---- hosts ----

type hostRow struct {
	*config.Host
	State    check.Status
	Known    bool // the host check has a result
	Down     bool
	Checks   int
	Problems int
}

func (c *Console) hostList(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	q := r.URL.Query()
	text := strings.ToLower(strings.TrimSpace(q.Get("q")))
	tenant, group, st := q.Get("tenant"), q.Get("group"), q.Get("state")
	idx := c.hostIndex()
	// One pass over the checks for per-host numbers.
	type agg struct{ checks, problems int }
	per := map[string]*agg{}
	for _, cc := range c.d.Config().Checks {
		if cc.Host == "" || !rc.scope.sees(cc.Tenant) {
			continue
		}
		v, ok := c.d.Engine.Get(cc.Name)
		if !ok {
			continue
		}
		a := per[v.Host]
		if a == nil {
			a = &agg{}
			per[v.Host] = a
		}
		a.checks++
		if v.Status.Problem() && v.Type == state.Hard {
			a.problems++
		}
	}
	page := pageOf(r)
	skip := (page - 1) * PageSize
	var rows []hostRow
	total, more := 0, false
	for _, h := range idx.hosts {
		if !rc.scope.sees(h.Tenant) ||
			(tenant != "" && h.Tenant != tenant) ||
			(group != "" && !contains(h.Groups, group)) ||
			(text != "" && !strings.Contains(strings.ToLower(h.Name), text) && !strings.Contains(strings.ToLower(h.Address), text)) {
			continue
		}
		row := hostRow{Host: h}
		if a := per[h.Name]; a != nil {
			row.Checks, row.Problems = a.checks, a.problems
		}
		if h.HostCheck != "" {
			if v, ok := c.d.Engine.Get(h.HostCheck); ok && !v.Pending() {
				row.Known, row.State = true, v.Status
				row.Down = v.Status.Problem() && v.Type == state.Hard
			}
		}
		if (st == "down" && !row.Down) || (st == "problems" && row.Problems == 0 && !row.Down) || (st == "up" && row.Down) {
			continue
		}
		total++
		if total <= skip {
			continue
		}
		if len(rows) == PageSize {
			more = true
			continue
		}
		rows = append(rows, row)
	}
	data := c.base(rc, "hosts.title", "hosts")
	data["Hosts"], data["Total"], data["Pager"] = rows, total, makePager(r, page, more)
	data["Q"], data["FTenant"], data["FGroup"], data["FState"] = q.Get("q"), tenant, group, st
	data["Grid"] = q.Get("view") == "grid"
	c.render(w, rc, http.StatusOK, "hosts", data)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// visibleHost finds {name}; another tenant's host is 404.
func (c *Console) visibleHost(rc *reqCtx, name string) (*config.Host, bool) {
	h, ok := c.hostIndex().byName[name]
	if !ok || !rc.scope.sees(h.Tenant) {
		return nil, false
	}
	return h, true
}

func (c *Console) hostPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	h, ok := c.visibleHost(rc, r.PathValue("name"))
	if !ok {
		c.notFound(w, r, rc)
		return
	}
	var checks []engine.View
	for _, ch := range c.d.Config().Checks {
		if ch.Host == h.Name && rc.scope.sees(ch.Tenant) {
			if v, ok := c.d.Engine.Get(ch.Name); ok {
				checks = append(checks, v)
			}
		}
	}
	tr := parseRange(r, rc.L, c.now())
	data := c.base(rc, "host.title", "hosts")
	data["Host"], data["Checks"], data["Range"] = h, checks, tr
	if hv, ok := c.d.Engine.Get(h.HostCheck); ok && h.HostCheck != "" {
		data["HostState"] = hv
	}
	var own []*config.Check
	for _, ch := range c.d.Config().Checks {
		if ch.Host == h.Name && rc.scope.sees(ch.Tenant) && !ch.Disabled {
			own = append(own, ch)
		}
	}
	data["Avail"] = c.availability(r.Context(), rc, own, report.ScopeHost, h.HostCheck)
	if c.d.Metrics == nil {
		data["NoMetrics"] = true
	} else {
		data["Charts"] = c.hostCharts(r.Context(), rc, h, tr)
	}
	c.render(w, rc, http.StatusOK, "host", data)
}

func (c *Console) hostCharts(ctx context.Context, rc *reqCtx, h *config.Host, tr timeRange) []chart {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	tenant := rc.scope.storeTenant()
	out := make([]chart, 0, len(c.graphs))
	for _, g := range c.graphs {
		ch := chart{ID: g.ID, Title: rc.L.T(g.TitleKey), Unit: g.Unit, Series: []chartSeries{},
			Start: float64(tr.Start.UnixMilli()) / 1000, End: float64(tr.End.UnixMilli()) / 1000}
		for _, q := range g.Queries {
			q.Name = rc.L.Word("legend", q.Name) // legends in the user's language
			expr := strings.ReplaceAll(q.Expr, "$host", promString(h.Name))
			m, err := c.d.Metrics.QueryRange(ctx, expr, tr.Start, tr.End, tr.Step, tenant)
			if err != nil {
				c.log.Warn("console: metrics query", "host", h.Name, "graph", g.ID, "err", err)
				ch.Error = rc.L.T("graph.error")
				continue
			}
			ch.Series = append(ch.Series, toChartSeries(m, q)...)
		}
		out = append(out, ch)
	}
	return out
}

// ---- checks ----

func (c *Console) checkList(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	q := r.URL.Query()
	text := strings.ToLower(strings.TrimSpace(q.Get("q")))
	st, typ, host, tenant := q.Get("state"), q.Get("type"), q.Get("host"), q.Get("tenant")
	var want check.Status = -1
	if st != "" && st != "problems" && st != "pending" {
		if s, err := check.ParseStatus(st); err == nil {
			want = s
		}
	}
	page := pageOf(r)
	skip := (page - 1) * PageSize
	rows := make([]engine.View, 0, PageSize)
	total, more := 0, false
	for _, v := range c.d.Engine.Snapshot() {
		if !rc.scope.sees(v.Tenant) ||
			(host != "" && v.Host != host) || (tenant != "" && v.Tenant != tenant) || (typ != "" && v.CheckType != typ) ||
			(st == "problems" && (!v.Status.Problem() || v.Pending())) || (st == "pending" && !v.Pending()) ||
			(want >= 0 && (v.Status != want || v.Pending())) ||
			(text != "" && !strings.Contains(strings.ToLower(v.Name), text) && !strings.Contains(strings.ToLower(v.Output), text)) {
			continue
		}
		total++
		if total <= skip {
			continue
		}
		if len(rows) == PageSize {
			more = true
			continue
		}
		rows = append(rows, v)
	}
	data := c.base(rc, "checks.title", "checks")
	data["Checks"], data["Total"], data["Pager"] = rows, total, makePager(r, page, more)
	data["Q"], data["FState"], data["FType"], data["FHost"], data["FTenant"] = q.Get("q"), st, typ, host, tenant
	data["Types"] = check.Names()
	c.render(w, rc, http.StatusOK, "checks", data)
}

// visibleCheck finds a check by name; another tenant's check is 404.
func (c *Console) visibleCheck(rc *reqCtx, name string) (engine.View, bool) {
	v, ok := c.d.Engine.Get(name)
	if !ok || !rc.scope.sees(v.Tenant) {
		return engine.View{}, false
	}
	return v, true
}

// checkRunNow asks the scheduler for an immediate run of a visible check
// ("run now" on the check page) and returns to the page, which shows the
// new result once it is in.
func (c *Console) checkRunNow(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	v, ok := c.visibleCheck(rc, r.PathValue("name"))
	if !ok {
		c.notFound(w, r, rc)
		return
	}
	m := "scheduled"
	if !c.d.Engine.RunNow(v.Name) {
		m = "disabled"
	}
	redirect(w, r, "/checks/"+checkPath(v.Name)+"?m="+m)
}

// maxGraphResults bounds the results read for a response-time graph.
const maxGraphResults = 10000

func (c *Console) checkPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	v, ok := c.visibleCheck(rc, r.PathValue("name"))
	if !ok {
		c.notFound(w, r, rc)
		return
	}
	ctx := r.Context()
	st := c.d.Store
	page := pageOf(r)
	data := c.base(rc, "check.title", "checks")
	data["Check"], data["Flash"] = v, flash(r, rc.L)
	if cc := c.d.Config().Check(v.Name); cc != nil {
		data["Config"] = cc
	}
	rows, err := st.Results(ctx, v.Name, time.Time{}, page*PageSize+1)
	if err != nil {
		c.internal(w, r, rc, "results", err)
		return
	}
	more := len(rows) > page*PageSize
	lo := min((page-1)*PageSize, len(rows))
	hi := min(page*PageSize, len(rows))
	data["Results"], data["Pager"] = rows[lo:hi], makePager(r, page, more)
	evs, err := st.Events(ctx, store.EventQuery{Checks: []string{v.Name}, Limit: PageSize, Desc: true})
	if err != nil {
		c.internal(w, r, rc, "events", err)
		return
	}
	data["Events"] = evs
	tr := parseRange(r, rc.L, c.now())
	data["Range"] = tr
	bands, err := c.critBands(ctx, v.Name, tr)
	if err != nil {
		c.internal(w, r, rc, "state history", err)
		return
	}
	var charts []chart
	for _, pc := range checkCharts(v.CheckType) {
		ch, err := c.responseChart(ctx, rc, v.Name, tr, pc)
		if err != nil {
			c.internal(w, r, rc, "results graph", err)
			return
		}
		ch.Bands = bands
		charts = append(charts, ch)
	}
	data["Charts"] = charts
	if cc := c.d.Config().Check(v.Name); cc != nil {
		data["Avail"] = c.availability(ctx, rc, []*config.Check{cc}, report.ScopeCheck, "")
	}
	if c.alerts != nil {
		ins, err := c.alerts.Incidents(ctx, incident.Query{Check: v.Name, Tenant: rc.scope.storeTenant(), Limit: 10})
		if err == nil {
			data["Incidents"] = ins
		}
	}
	c.render(w, rc, http.StatusOK, "check", data)
}

// responseChart draws the `time` perfdata of a check's results in a range
// (the run's duration when a result has none), averaged into at most
// chartPoints buckets.
func (c *Console) responseChart(ctx context.Context, rc *reqCtx, name string, tr timeRange, pc perfChart) (chart, error) {
	id := pc.Label
	if id == "" {
		id = "time"
	}
	ch := chart{ID: id, Title: rc.L.T(pc.TitleKey), Unit: pc.Unit, Series: []chartSeries{},
		Start: float64(tr.Start.UnixMilli()) / 1000, End: float64(tr.End.UnixMilli()) / 1000}
	type pt struct {
		t time.Time
		v float64
	}
	var pts []pt
	before := tr.End
	read := 0
	for read < maxGraphResults {
		rs, err := c.d.Store.Results(ctx, name, before, 1000)
		if err != nil {
			return ch, err
		}
		done := len(rs) < 1000
		for _, r := range rs {
			if r.Time.Before(tr.Start) {
				done = true
				break
			}
			if val, ok := pc.value(r); ok {
				pts = append(pts, pt{r.Time, val})
			}
		}
		read += len(rs)
		if done || len(rs) == 0 {
			break
		}
		before = rs[len(rs)-1].Time
	}
	if len(pts) == 0 {
		return ch, nil
	}
	// Oldest first, bucketed.
	sort.Slice(pts, func(i, j int) bool { return pts[i].t.Before(pts[j].t) })
	span := tr.End.Sub(tr.Start)
	bucket := span / chartPoints
	s := chartSeries{Name: ch.Title, Points: make([][2]float64, 0, min(len(pts), chartPoints+1))}
	if len(pts) <= chartPoints || bucket <= 0 {
		for _, p := range pts {
			s.Points = append(s.Points, [2]float64{float64(p.t.UnixMilli()) / 1000, p.v})
		}
	} else {
		var cur int64 = -1
		var sum float64
		var n int
		var bt time.Time
		flush := func() {
			if n > 0 {
				s.Points = append(s.Points, [2]float64{float64(bt.UnixMilli()) / 1000, sum / float64(n)})
			}
		}
		for _, p := range pts {
			b := int64(p.t.Sub(tr.Start) / bucket)
			if b != cur {
				flush()
				cur, sum, n, bt = b, 0, 0, p.t
			}
			sum += p.v
			n++
		}
		flush()
	}
	ch.Series = append(ch.Series, s)
	return ch, nil
}

// perfSeconds converts a time metric to seconds.
func perfSeconds(m check.Metric) float64 {
	switch m.Unit {
	case "ms":
		return m.Value / 1e3
	case "us":
		return m.Value / 1e6
	}
	return m.Value
}
