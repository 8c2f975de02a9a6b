package report

import (
	"context"
	"time"

	"github.com/mamori/mamori/internal/config"
)

// Span is a named period ending now, as the console shows them.
type Span struct {
	Key      string // 24h, 7d, 30d, month
	From, To time.Time
}

// Spans are the last 24 hours, 7 days and 30 days, and the current
// calendar month in loc.
func Spans(now time.Time, loc *time.Location) []Span {
	n := now.In(loc)
	return []Span{
		{"24h", now.Add(-24 * time.Hour), now},
		{"7d", now.Add(-7 * 24 * time.Hour), now},
		{"30d", now.Add(-30 * 24 * time.Hour), now},
		{"month", time.Date(n.Year(), n.Month(), 1, 0, 0, 0, 0, loc), now},
	}
}

// Figure is one availability over one span.
type Figure struct {
	Span Span
	Avail
}

// Scope selects what a figure covers.
type Scope int

// Scopes: one check; a host (its host check, else its checks combined);
// a set of checks together (up and down time added over them).
const (
	ScopeCheck Scope = iota
	ScopeHost
	ScopeAll
)

// Figures computes the availability of checks over each span. For
// ScopeHost, hostCheck names the host's host check ("" = combine).
func Figures(ctx context.Context, src Sources, checks []*config.Check, scope Scope, hostCheck string, spans []Span) ([]Figure, error) {
	out := make([]Figure, 0, len(spans))
	for _, sp := range spans {
		lines, _, err := timelines(ctx, src, checks, sp.From, sp.To)
		if err != nil {
			return nil, err
		}
		f := Figure{Span: sp}
		switch {
		case scope == ScopeHost && lines[hostCheck] != nil:
			f.Avail = newAvail(lines[hostCheck], nil)
		case scope == ScopeHost:
			all := make([][]Segment, 0, len(lines))
			for _, l := range lines {
				all = append(all, l)
			}
			f.Avail = newAvail(Combine(sp.From, sp.To, all), nil)
		case scope == ScopeCheck:
			for _, l := range lines {
				f.Avail = newAvail(l, nil)
			}
		default:
			f.Avail = sumAvail(lines)
		}
		out = append(out, f)
	}
	return out, nil
}

// sumAvail adds up several checks' time by class.
func sumAvail(lines map[string][]Segment) Avail {
	var a Avail
	for _, l := range lines {
		one := newAvail(l, nil)
		a.UpSeconds += one.UpSeconds
		a.DowntimeSeconds += one.DowntimeSeconds
		a.UnknownSeconds += one.UnknownSeconds
		a.NoDataSeconds += one.NoDataSeconds
		a.MaintenanceSeconds += one.MaintenanceSeconds
		a.Outages += one.Outages
	}
	if known := a.UpSeconds + a.DowntimeSeconds; known > 0 {
		p := 100 * a.UpSeconds / known
		a.AvailabilityPercent = &p
	}
	return a
}
