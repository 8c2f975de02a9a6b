package web

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/mamori/mamori/internal/incident"
	"github.com/mamori/mamori/internal/store"
)

func (c *Console) ticketList(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if c.tickets == nil {
		c.fail(w, r, rc, http.StatusNotImplemented, "error.notickets")
		return
	}
	v := r.URL.Query()
	q := incident.TicketQuery{Assignee: v.Get("assignee"), Text: v.Get("q"), Limit: PageSize + 1}
	if slices.Contains(incident.TicketKinds, v.Get("kind")) {
		q.Kind = v.Get("kind")
	}
	if v.Get("status") == "active" {
		q.Statuses = []string{incident.TicketOpen, incident.TicketInProgress, incident.TicketWaiting}
	} else if slices.Contains(incident.TicketStatuses, v.Get("status")) {
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
	data["Kinds"], data["Priorities"], data["Statuses"] = incident.TicketKinds, incident.TicketPriorities, incident.TicketStatuses
	c.render(w, rc, http.StatusOK, "tickets", data)
}

func (c *Console) ticketCreate(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if c.tickets == nil {
		c.fail(w, r, rc, http.StatusNotImplemented, "error.notickets")
		return
	}
	f := r.PostForm
	t := &incident.Ticket{Kind: f.Get("kind"), Title: strings.TrimSpace(f.Get("title")), Body: f.Get("body"), Priority: f.Get("priority"),
		Status: incident.TicketOpen, CreatedBy: rc.User.Name, Hosts: splitList(f.Get("hosts")), Checks: splitList(f.Get("checks"))}
	if t.Kind == "" {
		t.Kind = incident.TicketInquiry
	}
	if t.Priority == "" {
		t.Priority = incident.TicketNormal
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
	if err := c.tickets.CreateTicket(r.Context(), t, c.d.Alerting.TicketOpenedNotices(t, rc.can(RoleOperator))...); err != nil {
		c.internal(w, r, rc, "create ticket", err)
		return
	}
	c.kickOutbox()
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
func (c *Console) visibleTicket(w http.ResponseWriter, r *http.Request, rc *reqCtx) (*incident.Ticket, bool) {
	if c.tickets == nil {
		c.fail(w, r, rc, http.StatusNotImplemented, "error.notickets")
		return nil, false
	}
	return visibleByID(c, w, r, rc, "ticket", c.tickets.Ticket, func(t *incident.Ticket) string { return t.Tenant })
}

func (c *Console) ticketPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	t, ok := c.visibleTicket(w, r, rc)
	if !ok {
		return
	}
	if !rc.can(RoleOperator) {
		t = t.CustomerView()
	}
	data := c.base(rc, "ticket.title", "tickets")
	data["Ticket"], data["Flash"], data["Statuses"] = t, flash(r, rc.L), incident.TicketStatuses
	data["CanClose"] = t.Status != incident.TicketClosed
	data["CanReopen"] = t.Status == incident.TicketResolved || t.Status == incident.TicketClosed
	c.render(w, rc, http.StatusOK, "ticket", data)
}

func (c *Console) ticketComment(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	vis, ok := c.noteVisibility(w, r, rc)
	if !ok {
		return
	}
	t, ok := c.visibleTicket(w, r, rc)
	if !ok {
		return
	}
	text := r.PostForm.Get("text")
	if err := incident.ValidateTicketComment(text); err != nil {
		c.failText(w, rc, http.StatusBadRequest, err.Error())
		return
	}
	notices := c.d.Alerting.TicketCommentNotices(t, rc.User.Name, text, vis, rc.can(RoleOperator))
	if err := c.tickets.AddTicketComment(r.Context(), t.ID, rc.User.Name, text, vis, notices...); err != nil {
		c.internal(w, r, rc, "ticket comment", err)
		return
	}
	c.kickOutbox()
	redirect(w, r, "/tickets/"+strconv.FormatInt(t.ID, 10)+"?m=commented")
}

func (c *Console) ticketUpdate(w http.ResponseWriter, r *http.Request, rc *reqCtx, id int64, fn func(*incident.Ticket) error, msg string) {
	_, err := c.tickets.UpdateTicket(r.Context(), id, func(t *incident.Ticket) error {
		if !rc.scope.sees(t.Tenant) {
			return store.ErrNotFound
		}
		if err := fn(t); err != nil {
			return err
		}
		return t.Validate()
	}, rc.User.Name)
	var te *incident.TicketError
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
	c.ticketUpdate(w, r, rc, t.ID, func(t *incident.Ticket) error {
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
	if !slices.Contains(incident.TicketStatuses, st) {
		c.fail(w, r, rc, http.StatusBadRequest, "error.badform")
		return
	}
	if !rc.can(RoleOperator) {
		if st != incident.TicketClosed && st != incident.TicketOpen {
			c.fail(w, r, rc, http.StatusForbidden, "error.forbidden")
			return
		}
	}
	c.ticketUpdate(w, r, rc, t.ID, func(t *incident.Ticket) error {
		if !rc.can(RoleOperator) && st == incident.TicketOpen && t.Status != incident.TicketResolved && t.Status != incident.TicketClosed {
			return &incident.TicketError{Field: "status", Msg: "only a resolved or closed ticket can be reopened"}
		}
		t.Status = st
		return nil
	}, "status")
}

// ---- runbooks ----

// kickOutbox wakes the outbox after a ticket write queued notifications.
func (c *Console) kickOutbox() {
	if c.d.Alerting != nil {
		c.d.Alerting.KickOutbox()
	}
}
