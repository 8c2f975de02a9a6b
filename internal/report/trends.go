package report

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
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

// trends reads the tenant's resource metrics one day at a time (bounded
// memory whatever the number of hosts) and keeps daily min/avg/max.
func (r *Report) trends(ctx context.Context, src Sources) error {
	loc := r.Location()
	// host → graph → series → days
	data := map[string]map[string]map[string][]Day{}
	for d := r.From.In(loc); d.Before(r.To); d = nextDay(d, loc) {
		end := minT(nextDay(d, loc), r.To)
		date := d.Format("2006-01-02")
		step := min(trendStep, end.Sub(d)) // a period shorter than a step: one point
		for _, tq := range trendQueries {
			res, err := src.Metrics.QueryRange(ctx, tq.expr, d.Add(step), end, step, r.Tenant)
			if err != nil {
				return fmt.Errorf("report: metrics %s: %w", tq.graph, err)
			}
			m, ok := res.Value.(promql.Matrix)
			if !ok {
				continue
			}
			for _, s := range m {
				host := s.Metric.Get("host")
				if host == "" || len(s.Floats) == 0 {
					continue
				}
				a := acc{min: math.Inf(1), max: math.Inf(-1)}
				for _, p := range s.Floats {
					if math.IsNaN(p.F) || math.IsInf(p.F, 0) {
						continue
					}
					a.min, a.max, a.sum, a.n = math.Min(a.min, p.F), math.Max(a.max, p.F), a.sum+p.F, a.n+1
				}
				if a.n == 0 {
					continue
				}
				name := tq.name
				for _, l := range tq.legend {
					name = strings.TrimSpace(name + " " + s.Metric.Get(l))
				}
				g := ensure(ensure(data, host), tq.graph)
				g[name] = append(g[name], Day{Date: date, Min: a.min, Avg: a.sum / float64(a.n), Max: a.max})
			}
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
