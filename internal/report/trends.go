package report

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/prometheus/promql"

	"github.com/mamori/mamori/internal/metrics"
)

// RangeQuerier runs PromQL range queries restricted to a tenant
// (*metrics.Store).
type RangeQuerier interface {
	QueryRange(ctx context.Context, q string, start, end time.Time, step time.Duration, tenant string) (*metrics.Result, error)
}

// trendQuery is one line family of a resource graph, on the agent's
// node_exporter-style metrics; series are told apart by legend labels.
type trendQuery struct {
	graph, unit, expr, name string
	legend                  []string
}

// trendStep is the resolution the daily statistics are taken at.
const trendStep = 10 * time.Minute

var trendQueries = []trendQuery{
	{graph: "cpu", unit: "%", name: "cpu", expr: `100 * (1 - avg by (host) (rate(node_cpu_seconds_total{mode="idle"}[15m])))`},
	{graph: "load", unit: "", name: "load1", expr: `node_load1`},
	{graph: "memory", unit: "%", name: "memory", expr: `100 * (1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes)`},
	{graph: "disk", unit: "%", name: "", legend: []string{"mountpoint"}, expr: `100 * (1 - node_filesystem_avail_bytes / node_filesystem_size_bytes)`},
	{graph: "network", unit: "B/s", name: "rx", expr: `sum by (host) (rate(node_network_receive_bytes_total{device!="lo"}[15m]))`},
	{graph: "network", unit: "B/s", name: "tx", expr: `sum by (host) (rate(node_network_transmit_bytes_total{device!="lo"}[15m]))`},
}

// GraphIDs are the graphs of a host, in the order they are drawn.
var GraphIDs = []string{"cpu", "load", "memory", "disk", "network"}

// acc accumulates one series' day.
type acc struct {
	min, max, sum float64
	n             int
}

func (a *acc) add(v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return
	}
	if a.n == 0 {
		a.min, a.max = math.Inf(1), math.Inf(-1)
	}
	a.min, a.max, a.sum, a.n = math.Min(a.min, v), math.Max(a.max, v), a.sum+v, a.n+1
}

// trendDay is one local day of the period (the first and the last may be
// partial): its statistics are taken at start+step, start+2·step, … ≤ end.
type trendDay struct {
	start, end time.Time
	date       string
	step       time.Duration
}

func trendDays(from, to time.Time, loc *time.Location) []trendDay {
	var days []trendDay
	for d := from.In(loc); d.Before(to); d = nextDay(d, loc) {
		end := minT(nextDay(d, loc), to)
		days = append(days, trendDay{start: d, end: end, date: d.Format("2006-01-02"),
			step: min(trendStep, end.Sub(d))}) // a period shorter than a step: one point
	}
	return days
}

// trendSeries is one result series of a trend query with its day's
// statistics.
type trendSeries struct {
	host, name string
	day        acc
}

// trendQuery runs one query over one day (bounded memory whatever the
// number of hosts) and folds each series' points into the day's statistics.
func (r *Report) trendQuery(ctx context.Context, src Sources, tq trendQuery, d trendDay) ([]trendSeries, error) {
	res, err := src.Metrics.QueryRange(ctx, tq.expr, d.start.Add(d.step), d.end, d.step, r.Tenant)
	if err != nil {
		return nil, fmt.Errorf("report: metrics %s: %w", tq.graph, err)
	}
	m, ok := res.Value.(promql.Matrix)
	if !ok {
		return nil, nil
	}
	out := make([]trendSeries, 0, len(m))
	for _, s := range m {
		host := s.Metric.Get("host")
		if host == "" || len(s.Floats) == 0 {
			continue
		}
		ts := trendSeries{host: host, name: tq.name}
		for _, l := range tq.legend {
			ts.name = strings.TrimSpace(ts.name + " " + s.Metric.Get(l))
		}
		for _, p := range s.Floats {
			ts.day.add(p.F)
		}
		if ts.day.n > 0 {
			out = append(out, ts)
		}
	}
	return out, nil
}

// trendWorkers is how many trend queries run at once: one per CPU the
// process may use, at most 4.
func trendWorkers() int { return min(runtime.GOMAXPROCS(0), 4) }

// trends reads the tenant's resource metrics and keeps daily min/avg/max:
// one range query per graph line and day, trendWorkers at a time.
func (r *Report) trends(ctx context.Context, src Sources) error {
	days := trendDays(r.From, r.To, r.Location())
	type job struct {
		res []trendSeries
		err error
	}
	nq := len(trendQueries)
	jobs := make([]job, len(days)*nq) // day by day, in query order
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(trendWorkers(), len(jobs)) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= len(jobs) {
					return
				}
				j := &jobs[i]
				if j.res, j.err = r.trendQuery(ctx, src, trendQueries[i%nq], days[i/nq]); j.err != nil {
					cancel()
				}
			}
		})
	}
	wg.Wait()
	for _, j := range jobs {
		if j.err != nil {
			return j.err
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// host → graph → series → days, in day, query and series order.
	data := map[string]map[string]map[string][]Day{}
	for i, j := range jobs {
		date, graph := days[i/nq].date, trendQueries[i%nq].graph
		for _, s := range j.res {
			g := ensure(ensure(data, s.host), graph)
			g[s.name] = append(g[s.name], Day{Date: date, Min: s.day.min, Avg: s.day.sum / float64(s.day.n), Max: s.day.max})
		}
	}
	r.collectTrends(data)
	return nil
}

func ensure[V any](m map[string]map[string]V, k string) map[string]V {
	if m[k] == nil {
		m[k] = map[string]V{}
	}
	return m[k]
}

// nextDay is the next local midnight (days are 23 or 25 hours long on a
// daylight-saving change).
func nextDay(d time.Time, loc *time.Location) time.Time {
	y, m, dd := d.In(loc).Date()
	return time.Date(y, m, dd+1, 0, 0, 0, 0, loc)
}

// collectTrends orders the graphs of each of the report's hosts.
func (r *Report) collectTrends(data map[string]map[string]map[string][]Day) {
	units := map[string]string{}
	for _, tq := range trendQueries {
		units[tq.graph] = tq.unit
	}
	for _, h := range r.Hosts {
		graphs := data[h.Name]
		if len(graphs) == 0 {
			continue
		}
		ht := HostTrends{Host: h.Name}
		for _, id := range GraphIDs {
			series := graphs[id]
			if len(series) == 0 {
				continue
			}
			g := Graph{ID: id, Unit: units[id]}
			names := make([]string, 0, len(series))
			for n := range series {
				names = append(names, n)
			}
			slices.Sort(names)
			for _, n := range names {
				g.Series = append(g.Series, Series{Name: n, Days: series[n]})
			}
			ht.Graphs = append(ht.Graphs, g)
		}
		r.Trends = append(r.Trends, ht)
	}
}
