package report

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/incident"
)

// incidents lists the tenant's incidents that were open during the period.
func (r *Report) incidents(ctx context.Context, src Sources, o Options) error {
	if src.Alerts == nil {
		return nil
	}
	cfg := src.Config
	q := incident.Query{Tenant: o.Tenant, Until: o.To, Limit: 500}
	for q.Offset = 0; ; q.Offset += q.Limit {
		ins, err := src.Alerts.Incidents(ctx, q)
		if err != nil {
			return fmt.Errorf("report: incidents: %w", err)
		}
		for _, in := range ins {
			end := in.ClosedAt
			if in.RecoveredAt != nil {
				end = in.RecoveredAt
			}
			if in.OpenedAt.Before(o.From) && end != nil && end.Before(o.From) {
				continue
			}
			full, err := src.Alerts.Incident(ctx, in.ID)
			if err != nil {
				return fmt.Errorf("report: incident %d: %w", in.ID, err)
			}
			r.Incidents = append(r.Incidents, incidentRow(full, cfg.Incidents.AckTarget, cfg.Incidents.ReportTarget, o.Now))
		}
		if len(ins) < q.Limit {
			break
		}
	}
	slices.SortFunc(r.Incidents, func(a, b Incident) int { return a.AlertedAt.Compare(b.AlertedAt) })
	return nil
}

// rootCausePrefixes mark a comment as the recorded root cause.
var rootCausePrefixes = []string{"root cause:", "原因:", "原因："}

func incidentRow(in *incident.Incident, ackGoal, reportGoal time.Duration, now time.Time) Incident {
	row := Incident{
		ID: in.ID, Check: in.Check, Host: in.Host, Title: in.Title, State: in.State.String(), Status: in.Status,
		DetectedAt: in.DetectedAt, AlertedAt: in.OpenedAt, AcknowledgedAt: in.AckedAt, AcknowledgedBy: in.AckedBy,
		RecoveredAt: in.RecoveredAt, RecoveryReportedAt: in.ReportedAt, ClosedAt: in.ClosedAt, Actions: []string{},
		Level: in.Level, Remediation: in.Remediation,
	}
	row.AckTarget = AckTarget(in, ackGoal, now)
	row.AckTargetMet = row.AckTarget.Met
	if t, ok := ReportTarget(in, reportGoal, now); ok {
		row.ReportTarget, row.ReportTargetMet = &t, t.Met
	}
	for _, tl := range in.Timeline {
		switch tl.Kind {
		case "action":
			row.Actions = append(row.Actions, tl.Text)
		case "comment":
			if !incident.CustomerVisible(tl) {
				continue // an internal comment stays out of the tenant's report
			}
			low := strings.ToLower(strings.TrimSpace(tl.Text))
			for _, p := range rootCausePrefixes {
				if strings.HasPrefix(low, p) {
					row.RootCause = strings.TrimSpace(strings.TrimSpace(tl.Text)[len(p):])
				}
			}
		}
	}
	if in.RootCause != "" { // the incident's own field wins over a "root cause:" comment
		row.RootCause = in.RootCause
	}
	return row
}

// tickets lists the tickets opened or closed in the period.
func (r *Report) tickets(ctx context.Context, src Sources) error {
	if src.Tickets == nil {
		return nil
	}
	q := incident.TicketQuery{Tenant: r.Tenant, Until: r.To, Limit: 1000}
	for q.Offset = 0; ; q.Offset += q.Limit {
		ts, err := src.Tickets.Tickets(ctx, q)
		if err != nil {
			return fmt.Errorf("report: tickets: %w", err)
		}
		for _, t := range ts {
			opened := !t.CreatedAt.Before(r.From)
			closed := t.ClosedAt != nil && !t.ClosedAt.Before(r.From) && t.ClosedAt.Before(r.To)
			if !opened && !closed {
				continue
			}
			r.Tickets = append(r.Tickets, Ticket{ID: t.ID, Kind: t.Kind, Title: t.Title, Status: t.Status,
				CreatedAt: t.CreatedAt, ClosedAt: t.ClosedAt, Assignee: t.Assignee})
		}
		if len(ts) < q.Limit {
			break
		}
	}
	slices.SortFunc(r.Tickets, func(a, b Ticket) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return nil
}

// maintenance lists the occurrences of windows that cover any of the
// tenant's checks.
func (r *Report) maintenance(src Sources) {
	checks := tenantChecks(src.Config, r.Tenant)
	for _, w := range src.Windows {
		covers := false
		for _, c := range checks {
			if w.Covers(target(src.Config, c)) {
				covers = true
				break
			}
		}
		if !covers {
			continue
		}
		for _, oc := range w.Occurrences(r.From, r.To) {
			r.Maintenance = append(r.Maintenance, Window{Name: w.Name, Reason: w.Reason, Scope: scopeText(w.Hosts, w.Checks, w.Groups, w.Tags, w.All),
				From: oc[0], To: oc[1]})
		}
	}
	slices.SortFunc(r.Maintenance, func(a, b Window) int { return a.From.Compare(b.From) })
}

func scopeText(hosts, checks, groups, tags []string, all bool) string {
	var parts []string
	for _, p := range []struct {
		k string
		v []string
	}{{"hosts", hosts}, {"checks", checks}, {"groups", groups}, {"tags", tags}} {
		if len(p.v) > 0 {
			parts = append(parts, p.k+": "+strings.Join(p.v, ", "))
		}
	}
	if len(parts) == 0 && all {
		return "all"
	}
	return strings.Join(parts, "; ")
}

// summarize computes the summary figures.
func (r *Report) summarize() {
	s := &r.Summary
	s.Hosts, s.Checks, s.Incidents, s.MaintenanceCount = len(r.Hosts), len(r.Checks), len(r.Incidents), len(r.Maintenance)
	var up, down float64
	for _, c := range r.Checks {
		s.DowntimeSeconds += c.DowntimeSeconds
		up, down = up+c.UpSeconds, down+c.DowntimeSeconds
		if c.TargetMet != nil && !*c.TargetMet {
			s.ChecksBelow++
		}
	}
	if up+down > 0 {
		p := 100 * up / (up + down)
		s.Availability = &p
	}
	for _, in := range r.Incidents {
		if in.AckTargetMet != nil {
			s.AckMeasured++
			if *in.AckTargetMet {
				s.AckMet++
			}
		}
		if in.ReportTargetMet != nil {
			s.ReportMeasured++
			if *in.ReportTargetMet {
				s.ReportMet++
			}
		}
	}
	for _, t := range r.Tickets {
		if !t.CreatedAt.Before(r.From) {
			s.TicketsOpened++
		}
		if t.ClosedAt != nil && !t.ClosedAt.Before(r.From) && t.ClosedAt.Before(r.To) {
			s.TicketsClosed++
		}
	}
}
