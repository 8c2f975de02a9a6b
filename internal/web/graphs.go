package web

import (
	"context"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/store"
)

// critBands are the periods of [start, end] (Unix seconds) within tr during
// which the check was hard CRITICAL, from its state-change log: the graphs
// shade them.
func (c *Console) critBands(ctx context.Context, name string, tr timeRange) ([][2]float64, error) {
	crit := false
	var from time.Time
	prev, err := c.d.Store.Events(ctx, store.EventQuery{Checks: []string{name}, Until: tr.Start, HardOnly: true, Limit: 1, Desc: true})
	if err != nil {
		return nil, err
	}
	if len(prev) == 1 && prev[0].To == check.Critical {
		crit, from = true, tr.Start
	}
	evs, err := c.d.Store.Events(ctx, store.EventQuery{Checks: []string{name}, Since: tr.Start, Until: tr.End, HardOnly: true, Limit: 10000})
	if err != nil {
		return nil, err
	}
	var out [][2]float64
	sec := func(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }
	for _, e := range evs {
		switch {
		case e.To == check.Critical && !crit:
			crit, from = true, e.Time
		case e.To != check.Critical && crit:
			crit = false
			out = append(out, [2]float64{sec(from), sec(e.Time)})
		}
	}
	if crit {
		out = append(out, [2]float64{sec(from), sec(tr.End)})
	}
	return out, nil
}

// perfChart is one perfdata metric of a check's results as a chart: ping's
// round-trip time and loss rather than its run time.
type perfChart struct {
	Label    string // perfdata label; "" = the `time` metric, else the run's duration
	TitleKey string
	Unit     string
}

// checkCharts are the charts of a check type's page.
func checkCharts(typ string) []perfChart {
	if typ == "ping" {
		return []perfChart{{Label: "rta", TitleKey: "graph.rtt", Unit: "s"}, {Label: "pl", TitleKey: "graph.loss", Unit: "%"}}
	}
	return []perfChart{{TitleKey: "graph.response", Unit: "s"}}
}

// perfValue reads pc's value from a result's metrics; ok false: none.
func (pc perfChart) value(r store.ResultRow) (float64, bool) {
	want := pc.Label
	if want == "" {
		want = "time"
	}
	for _, m := range r.Perf {
		if m.Label == want {
			if pc.Unit == "s" {
				return perfSeconds(m), true
			}
			return m.Value, true
		}
	}
	if pc.Label == "" {
		return r.Duration, true
	}
	return 0, false
}
