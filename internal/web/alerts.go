package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/alerting"
	"github.com/mamori/mamori/internal/duration"
	"github.com/mamori/mamori/internal/maintenance"
	"github.com/mamori/mamori/internal/runbook"
	"github.com/mamori/mamori/internal/store"
)

// flash reads the whitelisted message key of a redirect (?m=...).
func flash(r *http.Request, l *Locale) string {
	m := r.URL.Query().Get("m")
	if m == "" {
		return ""
	}
	key := "flash." + m
	if s := l.T(key); s != key {
		return s
	}
	return ""
}

func parseID(s string) (int64, bool) {
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil && id > 0
}

func (c *Console) noAlerting(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c.fail(w, r, rc, http.StatusServiceUnavailable, "error.noalerting")
}

// ---- incidents ----

var incidentStatuses = []string{store.IncidentOpen, store.IncidentAcknowledged, store.IncidentResolved, store.IncidentClosed}

func (c *Console) incidentList(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if c.alerts == nil {
		c.noAlerting(w, r, rc)
		return
	}
	v := r.URL.Query()
	q := store.IncidentQuery{Check: v.Get("check"), Host: v.Get("host"), Text: v.Get("q"), Limit: PageSize + 1}
	for _, st := range strings.Split(v.Get("status"), ",") {
		if slices.Contains(incidentStatuses, st) {
			q.Statuses = append(q.Statuses, st)
		}
	}
	if v.Get("status") == "active" {
		q.Statuses = []string{store.IncidentOpen, store.IncidentAcknowledged}
	}
	q.Tenant = rc.scope.storeTenant()
	if t := v.Get("tenant"); t != "" && rc.scope.all {
		q.Tenant = t
	}
	page := pageOf(r)
	q.Offset = (page - 1) * PageSize
	ins, err := c.alerts.Incidents(r.Context(), q)
	if err != nil {
		c.internal(w, r, rc, "incidents", err)
		return
	}
	more := len(ins) > PageSize
	if more {
		ins = ins[:PageSize]
	}
	data := c.base(rc, "incidents.title", "incidents")
	data["Incidents"], data["Pager"] = ins, makePager(r, page, more)
	data["FStatus"], data["FCheck"], data["FHost"], data["Q"], data["FTenant"] = v.Get("status"), q.Check, q.Host, q.Text, v.Get("tenant")
	c.render(w, rc, http.StatusOK, "incidents", data)
}

// visibleByID loads the object named by the path's {id}; a bad ID, a
// missing object and another tenant's object all answer 404, so that IDs
// do not leak across tenants.
func visibleByID[T any](c *Console, w http.ResponseWriter, r *http.Request, rc *reqCtx, what string,
	load func(context.Context, int64) (T, error), tenant func(T) string) (T, bool) {
	var zero T
	id, ok := parseID(r.PathValue("id"))
	if !ok {
		c.notFound(w, r, rc)
		return zero, false
	}
	v, err := load(r.Context(), id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		c.internal(w, r, rc, what, err)
		return zero, false
	}
	if err != nil || !rc.scope.sees(tenant(v)) {
		c.notFound(w, r, rc)
		return zero, false
	}
	return v, true
}

// visibleIncident loads {id}; another tenant's incident is 404.
func (c *Console) visibleIncident(w http.ResponseWriter, r *http.Request, rc *reqCtx) (*store.Incident, bool) {
	if c.alerts == nil {
		c.noAlerting(w, r, rc)
		return nil, false
	}
	return visibleByID(c, w, r, rc, "incident", c.alerts.Incident, func(in *store.Incident) string { return in.Tenant })
}

func (c *Console) incidentPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	in, ok := c.visibleIncident(w, r, rc)
	if !ok {
		return
	}
	data := c.base(rc, "incident.title", "incidents")
	data["Incident"], data["Flash"] = in, flash(r, rc.L)
	active := in.Status == store.IncidentOpen || in.Status == store.IncidentAcknowledged
	data["CanAck"] = rc.can(RoleCustomer) && in.Status == store.IncidentOpen && c.d.Alerting != nil
	data["CanComment"] = rc.can(RoleCustomer) && c.d.Alerting != nil
	data["CanResolve"] = rc.can(RoleOperator) && active && c.d.Alerting != nil
	data["CanClose"] = rc.can(RoleOperator) && in.Status != store.IncidentClosed && c.d.Alerting != nil
	if in.Runbook != "" && c.d.Alerting != nil {
		if rb := c.d.Alerting.Runbooks().Get(in.Runbook); rb != nil && c.runbookVisible(rc, rb) {
			data["Runbook"] = rb
		}
	}
	if ns, err := c.alerts.Notifications(r.Context(), in.ID, "", PageSize); err == nil {
		data["Notifications"] = ns
	}
	if v, ok := c.visibleCheck(rc, in.Check); ok {
		data["Check"] = v
	}
	c.render(w, rc, http.StatusOK, "incident", data)
}

// incidentAction answers an incident action.
func (c *Console) incidentDone(w http.ResponseWriter, r *http.Request, rc *reqCtx, id int64, err error, okMsg string) {
	to := "/incidents/" + strconv.FormatInt(id, 10)
	switch {
	case errors.Is(err, alerting.ErrConflict):
		redirect(w, r, to+"?m=conflict")
	case errors.Is(err, store.ErrNotFound):
		c.notFound(w, r, rc)
	case err != nil:
		c.internal(w, r, rc, "incident action", err)
	default:
		redirect(w, r, to+"?m="+okMsg)
	}
}

func (c *Console) incidentAck(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	in, ok := c.visibleIncident(w, r, rc)
	if !ok {
		return
	}
	if c.d.Alerting == nil {
		c.noAlerting(w, r, rc)
		return
	}
	comment := strings.TrimSpace(r.PostForm.Get("comment"))
	if len(comment) > 16<<10 {
		c.fail(w, r, rc, http.StatusBadRequest, "error.toolong")
		return
	}
	_, err := c.d.Alerting.Acknowledge(r.Context(), in.ID, rc.User.Name, "console", comment)
	c.incidentDone(w, r, rc, in.ID, err, "acked")
}

func (c *Console) incidentComment(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	in, ok := c.visibleIncident(w, r, rc)
	if !ok {
		return
	}
	if c.d.Alerting == nil {
		c.noAlerting(w, r, rc)
		return
	}
	text := strings.TrimSpace(r.PostForm.Get("text"))
	if text == "" || len(text) > 16<<10 {
		c.fail(w, r, rc, http.StatusBadRequest, "error.comment")
		return
	}
	_, err := c.d.Alerting.Comment(r.Context(), in.ID, rc.User.Name, text)
	c.incidentDone(w, r, rc, in.ID, err, "commented")
}

func (c *Console) incidentStatus(status string) handler {
	return func(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
		in, ok := c.visibleIncident(w, r, rc)
		if !ok {
			return
		}
		if c.d.Alerting == nil {
			c.noAlerting(w, r, rc)
			return
		}
		comment := strings.TrimSpace(r.PostForm.Get("comment"))
		_, err := c.d.Alerting.SetStatus(r.Context(), in.ID, rc.User.Name, status, comment)
		c.incidentDone(w, r, rc, in.ID, err, status)
	}
}

// ---- tickets ----

func (c *Console) ticketList(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if c.tickets == nil {
		c.fail(w, r, rc, http.StatusNotImplemented, "error.notickets")
		return
	}
	v := r.URL.Query()
	q := store.TicketQuery{Assignee: v.Get("assignee"), Text: v.Get("q"), Limit: PageSize + 1}
	if slices.Contains(store.TicketKinds, v.Get("kind")) {
		q.Kind = v.Get("kind")
	}
	if v.Get("status") == "active" {
		q.Statuses = []string{store.TicketOpen, store.TicketInProgress, store.TicketWaiting}
	} else if slices.Contains(store.TicketStatuses, v.Get("status")) {
		q.Statuses = []string{v.Get("status")}
	}
	q.Tenant = rc.scope.storeTenant()
	if t := v.Get("tenant"); t != "" && rc.scope.all {
		q.Tenant = t
	}
	page := pageOf(r)
	q.Offset = (page - 1) * PageSize
	ts, err := c.tickets.Tickets(r.Context(), q)
	if err != nil {
		c.internal(w, r, rc, "tickets", err)
		return
	}
	more := len(ts) > PageSize
	if more {
		ts = ts[:PageSize]
	}
	data := c.base(rc, "tickets.title", "tickets")
	data["Tickets"], data["Pager"], data["Flash"] = ts, makePager(r, page, more), flash(r, rc.L)
	data["FStatus"], data["FKind"], data["FAssignee"], data["Q"], data["FTenant"] = v.Get("status"), q.Kind, q.Assignee, q.Text, v.Get("tenant")
	data["Kinds"], data["Priorities"], data["Statuses"] = store.TicketKinds, store.TicketPriorities, store.TicketStatuses
	c.render(w, rc, http.StatusOK, "tickets", data)
}

func (c *Console) ticketCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if c.tickets == nil {
		c.fail(w, r, rc, http.StatusNotImplemented, "error.notickets")
		return
	}
	f := r.PostForm
	t := &store.Ticket{Kind: f.Get("kind"), Title: strings.TrimSpace(f.Get("title")), Body: f.Get("body"), Priority: f.Get("priority"),
		Status: store.TicketOpen, CreatedBy: rc.User.Name, Hosts: splitList(f.Get("hosts")), Checks: splitList(f.Get("checks"))}
	if t.Kind == "" {
		t.Kind = store.TicketInquiry
	}
	if t.Priority == "" {
		t.Priority = store.TicketNormal
	}
	if rc.scope.all {
		t.Tenant = strings.TrimSpace(f.Get("tenant"))
		t.Assignee = strings.TrimSpace(f.Get("assignee"))
	} else {
		if f.Get("tenant") != "" && f.Get("tenant") != rc.scope.tenant {
			c.fail(w, r, rc, http.StatusForbidden, "error.forbidden")
			return
		}
		if f.Get("assignee") != "" {
			c.fail(w, r, rc, http.StatusForbidden, "error.forbidden")
			return
		}
		t.Tenant = rc.scope.tenant
	}
	if err := t.Validate(); err != nil {
		c.failText(w, rc, http.StatusBadRequest, err.Error())
		return
	}
	if err := c.tickets.CreateTicket(r.Context(), t); err != nil {
		c.internal(w, r, rc, "create ticket", err)
		return
	}
	redirect(w, r, "/tickets/"+strconv.FormatInt(t.ID, 10)+"?m=created")
}

// failText renders an error page with a (validation) message.
func (c *Console) failText(w http.ResponseWriter, rc *reqCtx, code int, msg string) {
	data := c.base(rc, "error.title", "")
	data["Code"], data["Message"], data["Back"] = code, msg, "/"
	c.render(w, rc, code, "error", data)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == ' ' || r == '\r' }) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// visibleTicket loads {id}; another tenant's ticket is 404.
func (c *Console) visibleTicket(w http.ResponseWriter, r *http.Request, rc *reqCtx) (*store.Ticket, bool) {
	if c.tickets == nil {
		c.fail(w, r, rc, http.StatusNotImplemented, "error.notickets")
		return nil, false
	}
	return visibleByID(c, w, r, rc, "ticket", c.tickets.Ticket, func(t *store.Ticket) string { return t.Tenant })
}

func (c *Console) ticketPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	t, ok := c.visibleTicket(w, r, rc)
	if !ok {
		return
	}
	data := c.base(rc, "ticket.title", "tickets")
	data["Ticket"], data["Flash"], data["Statuses"] = t, flash(r, rc.L), store.TicketStatuses
	data["CanClose"] = t.Status != store.TicketClosed
	data["CanReopen"] = t.Status == store.TicketResolved || t.Status == store.TicketClosed
	c.render(w, rc, http.StatusOK, "ticket", data)
}

func (c *Console) ticketComment(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	t, ok := c.visibleTicket(w, r, rc)
	if !ok {
		return
	}
	text := r.PostForm.Get("text")
	if err := store.ValidateTicketComment(text); err != nil {
		c.failText(w, rc, http.StatusBadRequest, err.Error())
		return
	}
	if err := c.tickets.AddTicketComment(r.Context(), t.ID, rc.User.Name, text); err != nil {
		c.internal(w, r, rc, "ticket comment", err)
		return
	}
	redirect(w, r, "/tickets/"+strconv.FormatInt(t.ID, 10)+"?m=commented")
}

func (c *Console) ticketUpdate(w http.ResponseWriter, r *http.Request, rc *reqCtx, id int64, fn func(*store.Ticket) error, msg string) {
	_, err := c.tickets.UpdateTicket(r.Context(), id, func(t *store.Ticket) error {
		if !rc.scope.sees(t.Tenant) {
			return store.ErrNotFound
		}
		if err := fn(t); err != nil {
			return err
		}
		return t.Validate()
	}, rc.User.Name)
	var te *store.TicketError
	switch {
	case errors.Is(err, store.ErrNotFound):
		c.notFound(w, r, rc)
	case errors.As(err, &te):
		c.failText(w, rc, http.StatusBadRequest, te.Error())
	case err != nil:
		c.internal(w, r, rc, "ticket update", err)
	default:
		redirect(w, r, "/tickets/"+strconv.FormatInt(id, 10)+"?m="+msg)
	}
}

func (c *Console) ticketAssign(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	t, ok := c.visibleTicket(w, r, rc)
	if !ok {
		return
	}
	who := strings.TrimSpace(r.PostForm.Get("assignee"))
	c.ticketUpdate(w, r, rc, t.ID, func(t *store.Ticket) error {
		t.Assignee = who
		if p := r.PostForm.Get("priority"); p != "" {
			t.Priority = p
		}
		return nil
	}, "assigned")
}

// ticketStatus: operators set any status; customers only close a ticket
// or reopen a resolved or closed one.
func (c *Console) ticketStatus(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	t, ok := c.visibleTicket(w, r, rc)
	if !ok {
		return
	}
	st := r.PostForm.Get("status")
	if !slices.Contains(store.TicketStatuses, st) {
		c.fail(w, r, rc, http.StatusBadRequest, "error.badform")
		return
	}
	if !rc.can(RoleOperator) {
		if st != store.TicketClosed && st != store.TicketOpen {
			c.fail(w, r, rc, http.StatusForbidden, "error.forbidden")
			return
		}
	}
	c.ticketUpdate(w, r, rc, t.ID, func(t *store.Ticket) error {
		if !rc.can(RoleOperator) && st == store.TicketOpen && t.Status != store.TicketResolved && t.Status != store.TicketClosed {
			return &store.TicketError{Field: "status", Msg: "only a resolved or closed ticket can be reopened"}
		}
		t.Status = st
		return nil
	}, "status")
}

// ---- runbooks ----

func (c *Console) runbookVisible(rc *reqCtx, rb *runbook.Runbook) bool {
	if rc.scope.all || len(rb.Tenants) == 0 {
		return true
	}
	return rc.scope.tenant != "" && slices.Contains(rb.Tenants, rc.scope.tenant)
}

func (c *Console) runbookList(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if c.d.Alerting == nil {
		c.noAlerting(w, r, rc)
		return
	}
	if name := strings.TrimSpace(r.URL.Query().Get("new")); name != "" && rc.can(RoleOperator) && runbook.ValidName(name) {
		redirect(w, r, "/runbooks/"+checkPath(name)+"?edit=1")
		return
	}
	var list []*runbook.Runbook
	for _, rb := range c.d.Alerting.Runbooks().List() {
		if c.runbookVisible(rc, rb) {
			list = append(list, rb)
		}
	}
	page := pageOf(r)
	lo, hi := min((page-1)*PageSize, len(list)), min(page*PageSize, len(list))
	data := c.base(rc, "runbooks.title", "runbooks")
	data["Runbooks"], data["Pager"] = list[lo:hi], makePager(r, page, len(list) > hi)
	c.render(w, rc, http.StatusOK, "runbooks", data)
}

func (c *Console) runbookPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if c.d.Alerting == nil {
		c.noAlerting(w, r, rc)
		return
	}
	name := r.PathValue("name")
	rb := c.d.Alerting.Runbooks().Get(name)
	edit := r.URL.Query().Get("edit") == "1" && rc.can(RoleOperator)
	if rb == nil && edit && runbook.ValidName(name) {
		rb = &runbook.Runbook{Name: name} // a new one
	}
	if rb == nil || !c.runbookVisible(rc, rb) {
		c.notFound(w, r, rc)
		return
	}
	data := c.base(rc, "runbook.title", "runbooks")
	data["Runbook"], data["Markdown"], data["Body"], data["Edit"], data["Flash"] = rb, string(rb.Markdown()), rb.Body, edit, flash(r, rc.L)
	if c.runbooks != nil {
		vs, err := c.runbooks.RunbookVersions(r.Context(), name)
		if err != nil {
			c.internal(w, r, rc, "runbook versions", err)
			return
		}
		data["Versions"] = vs
		if n, err := strconv.Atoi(r.URL.Query().Get("version")); err == nil && n > 0 {
			v, err := c.runbooks.RunbookVersion(r.Context(), name, n)
			if errors.Is(err, store.ErrNotFound) {
				c.notFound(w, r, rc)
				return
			} else if err != nil {
				c.internal(w, r, rc, "runbook version", err)
				return
			}
			data["Version"], data["Markdown"] = v, v.Markdown
			if old, err := runbook.Parse(name, []byte(v.Markdown)); err == nil {
				data["Body"] = old.Body
			}
		}
	}
	c.render(w, rc, http.StatusOK, "runbook", data)
}

func (c *Console) runbookSave(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if c.d.Alerting == nil {
		c.noAlerting(w, r, rc)
		return
	}
	name := r.PathValue("name")
	if !runbook.ValidName(name) {
		c.notFound(w, r, rc)
		return
	}
	if rb := c.d.Alerting.Runbooks().Get(name); rb != nil && !c.runbookVisible(rc, rb) {
		c.notFound(w, r, rc)
		return
	}
	md := strings.ReplaceAll(r.PostForm.Get("markdown"), "\r\n", "\n")
	if strings.TrimSpace(md) == "" || len(md) > 1<<20 {
		c.fail(w, r, rc, http.StatusBadRequest, "error.runbook")
		return
	}
	if _, _, err := c.d.Alerting.SaveRunbook(r.Context(), name, md, rc.User.Name); err != nil {
		c.failText(w, rc, http.StatusBadRequest, rc.L.T("error.runbook")+": "+err.Error())
		return
	}
	redirect(w, r, "/runbooks/"+checkPath(name)+"?m=saved")
}

// ---- maintenance ----

type windowRow struct {
	*maintenance.Window
	Source    string
	Active    bool
	Next      time.Time
	CanDelete bool
}

func (c *Console) windowVisible(rc *reqCtx, win *maintenance.Window) bool {
	return rc.scope.all || (rc.scope.tenant != "" && win.Tenant == rc.scope.tenant)
}

func (c *Console) maintenanceList(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	c.renderMaintenance(w, r, rc, http.StatusOK, nil)
}

func (c *Console) renderMaintenance(w http.ResponseWriter, r *http.Request, rc *reqCtx, code int, errs []string) {
	if c.d.Alerting == nil {
		c.noAlerting(w, r, rc)
		return
	}
	if err := c.d.Alerting.RefreshMaintenance(r.Context()); err != nil {
		c.log.Warn("console: refresh maintenance", "err", err)
	}
	now := c.now()
	var rows []windowRow
	for _, win := range c.d.Alerting.Windows() {
		if !c.windowVisible(rc, win) {
			continue
		}
		row := windowRow{Window: win, Source: "config"}
		if win.ID != 0 {
			row.Source = "api"
			row.CanDelete = rc.can(RoleCustomer) && c.maint != nil
		}
		_, _, row.Active = win.Occurrence(now)
		if !row.Active {
			row.Next, _ = win.NextStart(now)
		}
		rows = append(rows, row)
	}
	page := pageOf(r)
	lo, hi := min((page-1)*PageSize, len(rows)), min(page*PageSize, len(rows))
	data := c.base(rc, "maintenance.title", "maintenance")
	data["Windows"], data["Pager"], data["Errors"], data["Flash"] = rows[lo:hi], makePager(r, page, len(rows) > hi), errs, flash(r, rc.L)
	data["CanCreate"] = rc.can(RoleCustomer) && c.maint != nil
	data["Form"] = r.PostForm
	c.render(w, rc, code, "maintenance", data)
}

func (c *Console) maintenanceCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if c.d.Alerting == nil || c.maint == nil {
		c.noAlerting(w, r, rc)
		return
	}
	f := r.PostForm
	win := maintenance.Window{Reason: strings.TrimSpace(f.Get("reason")), Hosts: splitList(f.Get("hosts")), Checks: splitList(f.Get("checks")),
		Tags: splitList(f.Get("tags")), TimeZone: rc.L.Loc.String(), CreatedBy: rc.User.Name}
	var errs []string
	const layout = "2006-01-02T15:04"
	start, err := time.ParseInLocation(layout, f.Get("start"), rc.L.Loc)
	if err != nil {
		errs = append(errs, rc.L.T("maintenance.badstart"))
	}
	win.Start = start
	if f.Get("end") != "" {
		end, err := time.ParseInLocation(layout, f.Get("end"), rc.L.Loc)
		if err != nil {
			errs = append(errs, rc.L.T("maintenance.badend"))
		}
		win.End = end
	} else if d, err := duration.Parse(f.Get("duration")); err == nil && d > 0 {
		win.End = start.Add(d)
	} else {
		errs = append(errs, rc.L.T("maintenance.badend"))
	}
	if rc.scope.all {
		win.Tenant = strings.TrimSpace(f.Get("tenant"))
		win.All = f.Get("all") == "1"
	} else {
		if (f.Get("tenant") != "" && f.Get("tenant") != rc.scope.tenant) || f.Get("all") != "" {
			c.fail(w, r, rc, http.StatusForbidden, "error.forbidden")
			return
		}
		win.Tenant = rc.scope.tenant
	}
	if len(errs) == 0 {
		for _, e := range win.Validate() {
			errs = append(errs, e.Error())
		}
	}
	if len(errs) > 0 {
		c.renderMaintenance(w, r, rc, http.StatusBadRequest, errs)
		return
	}
	b, err := json.Marshal(&win)
	if err != nil {
		c.internal(w, r, rc, "maintenance", err)
		return
	}
	if _, err := c.maint.CreateMaintenance(r.Context(), b, rc.User.Name); err != nil {
		c.internal(w, r, rc, "create maintenance", err)
		return
	}
	_ = c.d.Alerting.RefreshMaintenance(r.Context())
	redirect(w, r, "/maintenance?m=created")
}

func (c *Console) maintenanceDelete(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if c.d.Alerting == nil || c.maint == nil {
		c.noAlerting(w, r, rc)
		return
	}
	id, ok := parseID(r.PathValue("id"))
	if !ok {
		c.notFound(w, r, rc)
		return
	}
	_ = c.d.Alerting.RefreshMaintenance(r.Context())
	var found bool
	for _, win := range c.d.Alerting.Windows() {
		if win.ID == id && c.windowVisible(rc, win) {
			found = true
		}
	}
	if !found {
		c.notFound(w, r, rc)
		return
	}
	if err := c.maint.DeleteMaintenance(r.Context(), id); err != nil && !errors.Is(err, store.ErrNotFound) {
		c.internal(w, r, rc, "delete maintenance", err)
		return
	}
	_ = c.d.Alerting.RefreshMaintenance(r.Context())
	redirect(w, r, "/maintenance?m=deleted")
}

// ---- notification log, alert history, settings ----

type notificationRow struct {
	*store.Notification
	Check string
}

func (c *Console) notificationList(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if c.alerts == nil {
		c.noAlerting(w, r, rc)
		return
	}
	v := r.URL.Query()
	var incident int64
	if id, ok := parseID(v.Get("incident")); ok {
		incident = id
	}
	status := v.Get("status")
	if status != store.NotifyPending && status != store.NotifyDelivered && status != store.NotifyFailed {
		status = ""
	}
	page := min(pageOf(r), 10) // the store reads at most 1000
	ns, err := c.alerts.Notifications(r.Context(), incident, status, min(page*PageSize+1, 1000))
	if err != nil {
		c.internal(w, r, rc, "notifications", err)
		return
	}
	incidents := map[int64]*store.Incident{}
	var rows []notificationRow
	skip, more := (page-1)*PageSize, false
	for _, n := range ns {
		in, ok := incidents[n.IncidentID]
		if !ok {
			in, _ = c.alerts.Incident(r.Context(), n.IncidentID)
			incidents[n.IncidentID] = in
		}
		if in == nil || !rc.scope.sees(in.Tenant) {
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		if len(rows) == PageSize {
			more = true
			break
		}
		rows = append(rows, notificationRow{Notification: n, Check: in.Check})
	}
	data := c.base(rc, "notifications.title", "notifications")
	data["Notifications"], data["Pager"], data["FStatus"], data["FIncident"] = rows, makePager(r, page, more && page < 10), status, v.Get("incident")
	c.render(w, rc, http.StatusOK, "notifications", data)
}

type eventRow struct {
	store.Event
	Host string
}

// maxEventChecks bounds the check names sent to the store as a filter;
// beyond it, the page filters what the store returns.
const maxEventChecks = 500

func (c *Console) eventList(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	v := r.URL.Query()
	page := pageOf(r)
	q := store.EventQuery{Desc: true, HardOnly: v.Get("hard") != "0", Limit: min(page*PageSize+1, 10000)}
	if name := v.Get("check"); name != "" {
		q.Checks = []string{name}
	} else if host := v.Get("host"); host != "" || !rc.scope.all {
		var names []string
		for _, ch := range c.d.Engine.Config().Checks {
			if (host == "" || ch.Host == host) && rc.scope.sees(ch.Tenant) {
				names = append(names, ch.Name)
			}
		}
		if len(names) == 0 {
			names = []string{"\x00none"}
		}
		if len(names) <= maxEventChecks {
			q.Checks = names
		}
	}
	evs, err := c.d.Engine.Store().Events(r.Context(), q)
	if err != nil {
		c.internal(w, r, rc, "events", err)
		return
	}
	var rows []eventRow
	skip, more := (page-1)*PageSize, false
	host := v.Get("host")
	for _, e := range evs {
		cv, ok := c.d.Engine.Get(e.Check)
		if !ok && !rc.scope.all {
			continue // a removed check: its tenant is unknown
		}
		if ok && (!rc.scope.sees(cv.Tenant) || (host != "" && cv.Host != host)) {
			continue
		}
		if skip > 0 {
			skip--
			continue
		}
		if len(rows) == PageSize {
			more = true
			break
		}
		rows = append(rows, eventRow{Event: e, Host: cv.Host})
	}
	data := c.base(rc, "events.title", "events")
	data["Events"], data["Pager"] = rows, makePager(r, page, more)
	data["FCheck"], data["FHost"], data["FHard"] = v.Get("check"), host, v.Get("hard")
	c.render(w, rc, http.StatusOK, "events", data)
}

type tokenRow struct {
	Name, Role, Tenant, Source string
}

func (c *Console) settings(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	data := c.base(rc, "settings.title", "settings")
	if ua, ok := c.d.Auth.(UserAdmin); ok {
		users, err := ua.Users(r.Context())
		if err != nil {
			c.internal(w, r, rc, "users", err)
			return
		}
		data["Users"], data["HasUsers"] = users, true
	}
	if tl, ok := c.d.Auth.(TokenLister); ok {
		toks, err := tl.Tokens(r.Context())
		if err != nil {
			c.internal(w, r, rc, "tokens", err)
			return
		}
		data["Tokens"], data["HasTokens"] = toks, true
	}
	var cfgToks []tokenRow
	for _, t := range c.d.Engine.Config().APITokens {
		role := t.Role
		if role == "" {
			role = RoleViewer
		}
		cfgToks = append(cfgToks, tokenRow{Name: t.Name, Role: role, Tenant: t.Tenant, Source: "config"})
	}
	data["ConfigTokens"] = cfgToks
	c.render(w, rc, http.StatusOK, "settings", data)
}
