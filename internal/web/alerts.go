package web

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/mamori/mamori/internal/alerting"
	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/incident"
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

var incidentStatuses = []string{incident.Open, incident.Acknowledged, incident.Resolved, incident.Closed}

func (c *Console) incidentList(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if c.alerts == nil {
		c.noAlerting(w, r, rc)
		return
	}
	v := r.URL.Query()
	q := incident.Query{Check: v.Get("check"), Host: v.Get("host"), Text: v.Get("q"), Limit: PageSize + 1}
	for _, st := range strings.Split(v.Get("status"), ",") {
		if slices.Contains(incidentStatuses, st) {
			q.Statuses = append(q.Statuses, st)
		}
	}
	if v.Get("status") == "active" {
		q.Statuses = []string{incident.Open, incident.Acknowledged}
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
func (c *Console) visibleIncident(w http.ResponseWriter, r *http.Request, rc *reqCtx) (*incident.Incident, bool) {
	if c.alerts == nil {
		c.noAlerting(w, r, rc)
		return nil, false
	}
	return visibleByID(c, w, r, rc, "incident", c.alerts.Incident, func(in *incident.Incident) string { return in.Tenant })
}

func (c *Console) incidentPage(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	in, ok := c.visibleIncident(w, r, rc)
	if !ok {
		return
	}
	internal := rc.can(RoleOperator) // operators see the internal record
	if !internal {
		in = in.CustomerView()
	}
	data := c.base(rc, "incident.title", "incidents")
	data["Incident"], data["Flash"], data["Internal"] = in, flash(r, rc.L), internal
	active := in.Status == incident.Open || in.Status == incident.Acknowledged
	data["CanAck"] = rc.can(RoleCustomer) && in.Status == incident.Open && c.d.Alerting != nil
	data["CanComment"] = rc.can(RoleCustomer) && c.d.Alerting != nil
	data["CanResolve"] = rc.can(RoleOperator) && active && c.d.Alerting != nil
	if cf := r.URL.Query().Get("confirm"); (cf == incident.Resolved || cf == incident.Closed) && rc.can(RoleOperator) && in.Status != incident.Closed {
		data["ConfirmForce"] = cf // resolve/close although the check still fails
	}
	data["CanClose"] = rc.can(RoleOperator) && in.Status != incident.Closed && c.d.Alerting != nil
	data["CanEdit"], data["Levels"] = rc.can(RoleOperator) && c.d.Alerting != nil, []int{1, 2, 3}
	if in.Runbook != "" && c.d.Alerting != nil {
		if rb := c.d.Alerting.Runbooks().Get(in.Runbook); rb != nil && c.runbookVisible(rc, rb) {
			data["Runbook"] = rb
		}
	}
	if internal {
		if ns, err := c.alerts.Notifications(r.Context(), in.ID, "", PageSize); err == nil {
			data["Notifications"] = ns
		}
	}
	if v, ok := c.visibleCheck(rc, in.Check); ok {
		data["Check"] = v
	}
	c.render(w, rc, http.StatusOK, "incident", data)
}

// incidentAction answers an incident action.
func (c *Console) incidentDone(w http.ResponseWriter, r *http.Request, rc *reqCtx, id int64, err error, okMsg string) {
	to := "/incidents/" + strconv.FormatInt(id, 10)
	if r.PostForm.Get("back") == "overview" {
		to = "/"
	}
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
	vis, ok := c.noteVisibility(w, r, rc)
	if !ok {
		return
	}
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
	_, err := c.d.Alerting.AcknowledgeNote(r.Context(), in.ID, rc.User.Name, "console", alerting.Note{Text: comment, Visibility: vis})
	c.incidentDone(w, r, rc, in.ID, err, "acked")
}

func (c *Console) incidentComment(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	vis, ok := c.noteVisibility(w, r, rc)
	if !ok {
		return
	}
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
	_, err := c.d.Alerting.CommentNote(r.Context(), in.ID, rc.User.Name, alerting.Note{Text: text, Visibility: vis})
	c.incidentDone(w, r, rc, in.ID, err, "commented")
}

func (c *Console) incidentStatus(status string) handler {
	return func(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
		vis, ok := c.noteVisibility(w, r, rc)
		if !ok {
			return
		}
		in, ok := c.visibleIncident(w, r, rc)
		if !ok {
			return
		}
		if c.d.Alerting == nil {
			c.noAlerting(w, r, rc)
			return
		}
		comment := strings.TrimSpace(r.PostForm.Get("comment"))
		force := r.PostForm.Get("force") == "1"
		_, err := c.d.Alerting.SetStatusForce(r.Context(), in.ID, rc.User.Name, status, alerting.Note{Text: comment, Visibility: vis}, force)
		if errors.Is(err, alerting.ErrStillFailing) {
			// The confirmation step: the page asks again, with force.
			redirect(w, r, "/incidents/"+strconv.FormatInt(in.ID, 10)+"?m=stillfailing&confirm="+status)
			return
		}
		c.incidentDone(w, r, rc, in.ID, err, status)
	}
}

// noteVisibility reads a comment's visibility from the form: operators
// choose (internal unless they say customer); a customer's or viewer's
// comment is always for customers (asking for another is 403).
func (c *Console) noteVisibility(w http.ResponseWriter, r *http.Request, rc *reqCtx) (string, bool) {
	v := r.PostForm.Get("visibility")
	if !rc.can(RoleOperator) {
		if v != "" && v != incident.VisibilityCustomer {
			c.fail(w, r, rc, http.StatusForbidden, "error.forbidden")
			return "", false
		}
		return incident.VisibilityCustomer, true
	}
	vis, err := incident.ParseVisibility(v, incident.VisibilityInternal)
	if err != nil {
		c.fail(w, r, rc, http.StatusBadRequest, "error.visibility")
		return "", false
	}
	return vis, true
}

// ---- tickets ----

type notificationRow struct {
	*incident.Notification
	Check string
}

func (c *Console) notificationList(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if c.alerts == nil {
		c.noAlerting(w, r, rc)
		return
	}
	v := r.URL.Query()
	var incidentID int64
	if id, ok := parseID(v.Get("incident")); ok {
		incidentID = id
	}
	status := v.Get("status")
	if status != incident.NotifyPending && status != incident.NotifyDelivered && status != incident.NotifyFailed {
		status = ""
	}
	page := min(pageOf(r), 10) // the store reads at most 1000
	ns, err := c.alerts.Notifications(r.Context(), incidentID, status, min(page*PageSize+1, 1000))
	if err != nil {
		c.internal(w, r, rc, "notifications", err)
		return
	}
	incidents := map[int64]*incident.Incident{}
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
	event.Event
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
		for _, ch := range c.d.Config().Checks {
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
	evs, err := c.d.Store.Events(r.Context(), q)
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

// settings: every user sees their own login attempts; admins also the
// users, tokens and everyone's login attempts.
func (c *Console) settings(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	data := c.base(rc, "settings.title", "settings")
	if lh, ok := c.d.Auth.(LoginHistory); ok {
		own, err := lh.LoginAttempts(r.Context(), rc.User.Name, 50)
		if err != nil {
			c.internal(w, r, rc, "login attempts", err)
			return
		}
		data["OwnAttempts"], data["HasAttempts"] = own, true
		if rc.can(RoleAdmin) {
			all, err := lh.LoginAttempts(r.Context(), "", 200)
			if err != nil {
				c.internal(w, r, rc, "login attempts", err)
				return
			}
			data["AllAttempts"] = all
		}
	}
	if !rc.can(RoleAdmin) {
		c.render(w, rc, http.StatusOK, "settings", data)
		return
	}
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
	for _, t := range c.d.Config().APITokens {
		role := t.Role
		if role == "" {
			role = RoleViewer
		}
		cfgToks = append(cfgToks, tokenRow{Name: t.Name, Role: role, Tenant: t.Tenant, Source: "config"})
	}
	data["ConfigTokens"] = cfgToks
	c.render(w, rc, http.StatusOK, "settings", data)
}
