package report

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/incident"
	"github.com/mamori/mamori/internal/maintenance"
	"github.com/mamori/mamori/internal/state"
	"github.com/mamori/mamori/internal/store"
)

// Incidents are the incident reads a report needs.
type Incidents interface {
	Incidents(ctx context.Context, q incident.Query) ([]*incident.Incident, error)
	Incident(ctx context.Context, id int64) (*incident.Incident, error)
}

// Tickets are the ticket reads a report needs.
type Tickets interface {
	Tickets(ctx context.Context, q incident.TicketQuery) ([]*incident.Ticket, error)
}

// Maintenances are the maintenance windows made through the API or CLI.
type Maintenances interface {
	Maintenances(ctx context.Context) ([]store.MaintenanceRow, error)
}

// Sources are what a report is built from.
type Sources struct {
	Config  *config.Config
	History store.Reports
	Alerts  Incidents // nil: no incidents
	Tickets Tickets   // nil: no tickets
	Windows maintenance.Set
	Metrics RangeQuerier // nil: no resource graphs
}

// Options choose the report.
type Options struct {
	Tenant string
	From   time.Time
	To     time.Time
	Lang   string // "" = the tenant's
	Now    time.Time
}

// Month returns the calendar month "YYYY-MM" in loc as a period.
func Month(month string, loc *time.Location) (from, to time.Time, err error) {
	t, err := time.ParseInLocation("2006-01", month, loc)
	if err != nil {
		return from, to, fmt.Errorf("month must be YYYY-MM: %q", month)
	}
	return t, t.AddDate(0, 1, 0), nil
}

// Build computes a tenant's report for [o.From, o.To).
func Build(ctx context.Context, src Sources, o Options) (*Report, error) {
	cfg := src.Config
	if !o.From.Before(o.To) {
		return nil, errors.New("the period is empty: from must be before to")
	}
	if !slices.Contains(cfg.TenantNames(), o.Tenant) {
		return nil, fmt.Errorf("unknown tenant %q", o.Tenant)
	}
	t := cfg.Tenant(o.Tenant)
	r := &Report{
		Tenant: o.Tenant, TenantName: t.Title(), Provider: cfg.Report.Provider, Contact: cfg.Report.Contact,
		Lang: o.Lang, TimeZone: t.Location().String(), From: o.From, To: o.To, GeneratedAt: o.Now,
		AckTargetSeconds: cfg.Incidents.AckTarget.Seconds(), ReportTargetSecs: cfg.Incidents.ReportTarget.Seconds(),
		Hosts: []HostAvail{}, Checks: []CheckAvail{}, Worst: []Outage{}, Incidents: []Incident{}, Tickets: []Ticket{},
		Maintenance: []Window{}, Trends: []HostTrends{}, ServerGaps: []Interval{},
	}
	if r.Provider == "" {
		r.Provider = "mamori"
	}
	if r.Lang == "" {
		r.Lang = t.Lang
	}
	if r.Lang != "en" {
		r.Lang = "ja"
	}
	loc := t.Location()
	if f := o.From.In(loc); f.Day() == 1 && f.Hour() == 0 && f.Minute() == 0 && f.Second() == 0 && f.AddDate(0, 1, 0).Equal(o.To) {
		r.Month = f.Format("2006-01")
	}
	if t.AvailabilityTarget > 0 {
		v := t.AvailabilityTarget
		r.AvailabilityTarget = &v
	}
	if err := r.availability(ctx, src, o); err != nil {
		return nil, err
	}
	if err := r.incidents(ctx, src, o); err != nil {
		return nil, err
	}
	if err := r.tickets(ctx, src); err != nil {
		return nil, err
	}
	r.maintenance(src)
	if src.Metrics != nil {
		if err := r.trends(ctx, src); err != nil {
			return nil, err
		}
	}
	r.summarize()
	return r, nil
}

// tenantChecks are the tenant's checks, in config order.
func tenantChecks(cfg *config.Config, tenant string) []*config.Check {
	var out []*config.Check
	for _, c := range cfg.Checks {
		if c.Tenant == tenant && !c.Disabled {
			out = append(out, c)
		}
	}
	return out
}

func target(cfg *config.Config, c *config.Check) maintenance.Target {
	t := maintenance.Target{Check: c.Name, Host: c.Host, Tenant: c.Tenant, Tags: c.Tags}
	for _, h := range cfg.Hosts {
		if h.Name == c.Host {
			t.Groups = h.Groups
		}
	}
	return t
}

// gaps are the times the server was not running between two recorded
// runs (no result could be taken then).
func gaps(runs []store.ServerRun, from, to time.Time) []Interval {
	var out []Interval
	for i := 1; i < len(runs); i++ {
		if runs[i].Start.After(runs[i-1].Last) {
			out = append(out, Interval{runs[i-1].Last, runs[i].Start})
		}
	}
	return Clip(Merge(out), from, to)
}

func (r *Report) availability(ctx context.Context, src Sources, o Options) error {
	cfg := src.Config
	checks := tenantChecks(cfg, o.Tenant)
	lines, gaps, err := timelines(ctx, src, checks, o.From, o.To)
	if err != nil {
		return err
	}
	r.ServerGaps = append(r.ServerGaps, gaps...)
	for _, c := range checks {
		segs := lines[c.Name]
		ca := CheckAvail{Name: c.Name, Host: c.Host, Type: c.Type, Avail: newAvail(segs, r.AvailabilityTarget), Downtimes: Downs(segs)}
		if ca.Downtimes == nil {
			ca.Downtimes = []Interval{}
		}
		r.Checks = append(r.Checks, ca)
		for _, d := range ca.Downtimes {
			r.Worst = append(r.Worst, Outage{Check: c.Name, From: d.From, To: d.To, Seconds: d.Duration().Seconds()})
		}
	}
	slices.SortStableFunc(r.Worst, func(a, b Outage) int { return cmp.Compare(b.Seconds, a.Seconds) })
	r.Worst = r.Worst[:min(len(r.Worst), 10)]
	r.hostAvailability(cfg, o, lines)
	return nil
}

// timelines classifies [from, to) for each check, with the server's gaps.
func timelines(ctx context.Context, src Sources, checks []*config.Check, from, to time.Time) (map[string][]Segment, []Interval, error) {
	names := make([]string, len(checks))
	for i, c := range checks {
		names[i] = c.Name
	}
	hist, err := src.History.StateHistory(ctx, names, from, to)
	if err != nil {
		return nil, nil, err
	}
	runs, err := src.History.ServerRuns(ctx, from.Add(-24*time.Hour), to)
	if err != nil {
		return nil, nil, err
	}
	gs := gaps(runs, from, to)
	lines := make(map[string][]Segment, len(checks))
	for _, c := range checks {
		h := history(hist[c.Name], gs)
		for _, w := range src.Windows {
			if w.Covers(target(src.Config, c)) {
				for _, oc := range w.Occurrences(from, to) {
					h.Maintenance = append(h.Maintenance, Interval{oc[0], oc[1]})
				}
			}
		}
		lines[c.Name] = Timeline(from, to, h)
	}
	return lines, gs, nil
}

// history turns the stored history into the computation's input.
func history(h *store.CheckHistory, gaps []Interval) History {
	out := History{Gaps: gaps}
	if h == nil || h.FirstSeen.IsZero() {
		return out
	}
	out.Since = h.FirstSeen
	// A check that never changed state before the period was OK (a fresh
	// check starts HARD OK; its first problem is a stored change).
	out.Initial = &Change{Status: check.OK, Type: state.Hard}
	if h.Before != nil {
		out.Initial = &Change{Time: h.Before.Time, Status: h.Before.Status, Type: h.Before.Type}
	}
	out.Changes = make([]Change, len(h.Changes))
	for i, c := range h.Changes {
		out.Changes[i] = Change{Time: c.Time, Status: c.Status, Type: c.Type}
	}
	return out
}

func (r *Report) hostAvailability(cfg *config.Config, o Options, lines map[string][]Segment) {
	for _, h := range cfg.Hosts {
		if h.Tenant != o.Tenant {
			continue
		}
		var own [][]Segment
		for _, c := range r.Checks {
			if c.Host == h.Name {
				own = append(own, lines[c.Name])
			}
		}
		ha := HostAvail{Name: h.Name, Address: h.Address, Checks: len(own), Basis: "checks"}
		switch {
		case h.HostCheck != "" && lines[h.HostCheck] != nil:
			ha.Basis = h.HostCheck
			ha.Avail = newAvail(lines[h.HostCheck], r.AvailabilityTarget)
		case len(own) > 0:
			ha.Avail = newAvail(Combine(o.From, o.To, own), r.AvailabilityTarget)
		default:
			ha.Avail = newAvail(nil, r.AvailabilityTarget)
		}
		r.Hosts = append(r.Hosts, ha)
	}
}
