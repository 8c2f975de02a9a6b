package report

import (
	"fmt"
	"strings"
)

// cover is the first page: who it is for, the period, and the summary.
func (d *pdfDoc) cover() {
	r := d.r
	d.AddPage()
	// The provider's band.
	d.fill(accent)
	d.Rect(0, 0, pageW, 30, "F")
	d.SetXY(margin, 8)
	d.SetTextColor(255, 255, 255)
	d.size(15)
	d.text(contentW*0.6, 8, r.Provider, "L")
	d.size(8.5)
	d.SetXY(margin+contentW*0.4, 8)
	d.text(contentW*0.6, 8, r.Contact, "R")
	d.SetXY(margin, 18)
	d.size(9)
	d.text(contentW, 6, r.T("title"), "L")
	// Title block.
	d.SetXY(margin, 40)
	d.color(ink)
	d.size(20)
	d.text(contentW, 10, r.TenantName, "L")
	d.Ln(11)
	d.size(13)
	d.color(accent)
	d.text(contentW, 7, r.T("title")+"  "+r.Period(), "L")
	d.Ln(9)
	d.size(8.5)
	d.color(muted)
	d.text(contentW, 5, r.T("period")+": "+r.PeriodDetail(), "L")
	d.Ln(4.5)
	d.text(contentW, 5, r.T("generated")+": "+r.Time(r.GeneratedAt), "L")
	d.Ln(8)
	d.tiles()
	d.section(r.T("hosts_avail"), 30)
	d.hostTable()
	d.Ln(2)
	d.note(r.T("avail_note"))
}

// tiles are the summary figures in boxes.
func (d *pdfDoc) tiles() {
	r, s := d.r, d.r.Summary
	avail := r.Pct(s.Availability)
	target := ""
	if r.AvailabilityTarget != nil {
		target = fmt.Sprintf("%s %.3f%%", r.T("target"), *r.AvailabilityTarget)
	}
	tiles := []struct{ label, value, sub string }{
		{r.T("availability"), avail, target},
		{r.T("incidents"), fmt.Sprint(s.Incidents), r.T("downtime") + " " + r.Dur(s.DowntimeSeconds)},
		{r.T("ack_met"), r.Ratio(s.AckMet, s.AckMeasured), ""},
		{r.T("report_met"), r.Ratio(s.ReportMet, s.ReportMeasured), ""},
		{r.T("tickets"), fmt.Sprint(s.TicketsOpened), r.T("closed") + " " + fmt.Sprint(s.TicketsClosed)},
	}
	const gap, h = 3.0, 22.0
	w := (contentW - gap*float64(len(tiles)-1)) / float64(len(tiles))
	y := d.GetY()
	for i, t := range tiles {
		x := margin + float64(i)*(w+gap)
		d.fill(shade)
		d.draw(rule)
		d.SetLineWidth(0.2)
		d.Rect(x, y, w, h, "FD")
		d.fill(accent)
		d.Rect(x, y, 1.2, h, "F")
		d.SetXY(x+2, y+2)
		d.size(7)
		d.color(muted)
		d.text(w-3, 4, t.label, "L")
		d.SetXY(x+2, y+7.5)
		d.size(13)
		d.color(ink)
		d.text(w-3, 7, t.value, "L")
		d.SetXY(x+2, y+15.5)
		d.size(6.5)
		d.color(muted)
		d.text(w-3, 4, t.sub, "L")
	}
	d.SetXY(margin, y+h+2)
	d.size(7)
	d.note(fmt.Sprintf(r.T("targets_note"), r.Dur(r.AckTargetSeconds), r.Dur(r.ReportTargetSecs)))
}

func (d *pdfDoc) hostTable() {
	r := d.r
	if len(r.Hosts) == 0 {
		d.none()
		return
	}
	cols := []column{{r.T("host"), 0.24, "L"}, {r.T("address"), 0.18, "L"}, {r.T("availability"), 0.14, "R"},
		{r.T("downtime"), 0.14, "R"}, {r.T("maint"), 0.12, "R"}, {r.T("unknown") + "/" + r.T("no_data"), 0.18, "R"}}
	var rows [][]cell
	for _, h := range r.Hosts {
		rows = append(rows, []cell{plain(h.Name), plain(h.Address), d.pct(h.Avail), plain(r.Dur(h.DowntimeSeconds)),
			plain(r.Dur(h.MaintenanceSeconds)), plain(r.Dur(h.UnknownSeconds + h.NoDataSeconds))})
	}
	d.table(cols, rows)
}

// availabilityTables: every check, then the longest downtimes.
func (d *pdfDoc) availabilityTables() {
	r := d.r
	d.section(r.T("checks_avail"), 40)
	if len(r.Checks) == 0 {
		d.none()
	} else {
		cols := []column{{r.T("check"), 0.34, "L"}, {r.T("type"), 0.1, "L"}, {r.T("availability"), 0.13, "R"},
			{r.T("downtime"), 0.13, "R"}, {r.T("outages"), 0.08, "R"}, {r.T("maint"), 0.1, "R"}, {r.T("no_data"), 0.12, "R"}}
		var rows [][]cell
		for _, c := range r.Checks {
			rows = append(rows, []cell{plain(c.Name), plain(c.Type), d.pct(c.Avail), plain(r.Dur(c.DowntimeSeconds)),
				plain(fmt.Sprint(c.Outages)), plain(r.Dur(c.MaintenanceSeconds)), plain(r.Dur(c.NoDataSeconds + c.UnknownSeconds))})
		}
		d.table(cols, rows)
	}
	d.section(r.T("worst"), 30)
	if len(r.Worst) == 0 {
		d.none()
		return
	}
	cols := []column{{r.T("check"), 0.46, "L"}, {r.T("from"), 0.2, "L"}, {r.T("to"), 0.2, "L"}, {r.T("downtime"), 0.14, "R"}}
	var rows [][]cell
	for _, o := range r.Worst {
		rows = append(rows, []cell{plain(o.Check), plain(r.Time(o.From)), plain(r.Time(o.To)), plain(r.Dur(o.Seconds))})
	}
	d.table(cols, rows)
}

// incidentPages: the incident list against the targets, then the details
// (who acknowledged, actions, root cause) of those that have any.
func (d *pdfDoc) incidentPages() {
	r := d.r
	d.section(r.T("incident_list"), 40)
	if len(r.Incidents) == 0 {
		d.none()
		return
	}
	cols := []column{{r.T("id"), 0.05, "R"}, {r.T("check"), 0.17, "L"}, {r.T("detected"), 0.11, "L"}, {r.T("alerted"), 0.11, "L"},
		{r.T("acked"), 0.11, "L"}, {r.T("recovered"), 0.11, "L"}, {r.T("reported"), 0.11, "L"}, {r.T("acked") + " " + r.T("target"), 0.115, "C"},
		{r.T("reported") + " " + r.T("target"), 0.115, "C"}}
	var rows [][]cell
	for _, in := range r.Incidents {
		rows = append(rows, []cell{plain(fmt.Sprint(in.ID)), plain(in.Check), plain(r.Short(&in.DetectedAt)), plain(r.Short(&in.AlertedAt)),
			plain(r.Short(in.AcknowledgedAt)), plain(r.Short(in.RecoveredAt)), plain(r.Short(in.RecoveryReportedAt)),
			d.verdict(in.AckTargetMet), d.verdict(in.ReportTargetMet)})
	}
	d.table(cols, rows)
	for _, in := range r.Incidents {
		if in.AcknowledgedBy == "" && len(in.Actions) == 0 && in.RootCause == "" && in.Remediation == "" {
			continue
		}
		d.Ln(2)
		d.size(8.5)
		d.color(accent)
		d.text(contentW, 5, fmt.Sprintf("#%d  %s", in.ID, in.Title), "L")
		d.Ln(5)
		d.size(8)
		d.color(ink)
		lines := []string{}
		if in.Level != 0 {
			lines = append(lines, fmt.Sprintf("%s: %d", r.T("level"), in.Level))
		}
		if in.AcknowledgedBy != "" {
			lines = append(lines, r.T("acked_by")+": "+in.AcknowledgedBy)
		}
		if len(in.Actions) > 0 {
			lines = append(lines, r.T("actions")+": "+strings.Join(in.Actions, " / "))
		}
		if in.RootCause != "" {
			lines = append(lines, r.T("root_cause")+": "+in.RootCause)
		}
		if in.Remediation != "" {
			lines = append(lines, r.T("remediation")+": "+in.Remediation)
		}
		d.MultiCell(contentW, 4.2, strings.Join(lines, "\n"), "", "L", false)
	}
}

func (d *pdfDoc) ticketPages() {
	r := d.r
	d.section(r.T("ticket_list"), 30)
	if len(r.Tickets) == 0 {
		d.none()
		return
	}
	cols := []column{{r.T("id"), 0.07, "R"}, {r.T("kind"), 0.13, "L"}, {r.T("subject"), 0.44, "L"}, {r.T("status"), 0.12, "L"},
		{r.T("opened"), 0.12, "L"}, {r.T("closed"), 0.12, "L"}}
	var rows [][]cell
	for _, t := range r.Tickets {
		rows = append(rows, []cell{plain(fmt.Sprint(t.ID)), plain(r.Kind(t.Kind)), plain(t.Title), plain(r.T("ticket_" + t.Status)),
			plain(r.Short(&t.CreatedAt)), plain(r.Short(t.ClosedAt))})
	}
	d.table(cols, rows)
}

func (d *pdfDoc) maintenancePages() {
	r := d.r
	d.section(r.T("maint_list"), 30)
	if len(r.Maintenance) == 0 && len(r.ServerGaps) == 0 {
		d.none()
		return
	}
	cols := []column{{r.T("name"), 0.34, "L"}, {r.T("scope"), 0.24, "L"}, {r.T("from"), 0.16, "L"}, {r.T("to"), 0.16, "L"}, {r.T("downtime"), 0.1, "R"}}
	var rows [][]cell
	for _, m := range r.Maintenance {
		rows = append(rows, []cell{plain(joinNonEmpty(" — ", m.Name, m.Reason)), plain(m.Scope), plain(r.Time(m.From)), plain(r.Time(m.To)),
			plain(r.Dur(m.To.Sub(m.From).Seconds()))})
	}
	for _, g := range r.ServerGaps {
		rows = append(rows, []cell{{text: r.T("gaps"), color: &muted}, plain(""), plain(r.Time(g.From)), plain(r.Time(g.To)), plain(r.Dur(g.Duration().Seconds()))})
	}
	d.table(cols, rows)
}

// trendPages draw each host's graphs, two per row.
func (d *pdfDoc) trendPages() error {
	r := d.r
	if len(r.Trends) == 0 {
		return nil
	}
	const gw, gh, gap = (contentW - 4) / 2, 52.0, 4.0
	for i, ht := range r.Trends {
		if i == 0 {
			d.AddPage()
			d.section(r.T("trends"), 0)
			d.note(r.T("trend_note"))
		}
		rowsNeeded := float64((len(ht.Graphs)+1)/2) * (gh + gap)
		if d.GetY()+min(rowsNeeded, 2*(gh+gap))+10 > pageH-margin-8 {
			d.AddPage()
		}
		d.Ln(2)
		d.size(10)
		d.color(accent)
		d.text(contentW, 6, r.T("host")+": "+ht.Host, "L")
		d.Ln(7)
		for j, g := range ht.Graphs {
			if j%2 == 0 && j > 0 {
				d.SetY(d.GetY() + gh + gap)
			}
			if d.GetY()+gh > pageH-margin-8 {
				d.AddPage()
			}
			p, err := r.newGraphPlot(g, d.font)
			if err != nil {
				return err
			}
			x, y := margin+float64(j%2)*(gw+4), d.GetY()
			drawPlot(newPDFCanvas(d.Fpdf, x, y, gw, gh, fam), p)
			d.SetY(y) // drawing moves the current position
		}
		d.SetY(d.GetY() + gh + gap)
	}
	return nil
}
