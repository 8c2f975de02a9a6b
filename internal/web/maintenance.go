package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/duration"
	"github.com/mamori/mamori/internal/maintenance"
	"github.com/mamori/mamori/internal/runbook"
	"github.com/mamori/mamori/internal/store"
)

// runbookVisible: operators and admins read every runbook; a customer or
// viewer reads a runbook bound only to its tenant's checks and hosts, or
// naming its tenant in its front matter (alerting.RunbookReaders).
func (c *Console) runbookVisible(rc *reqCtx, rb *runbook.Runbook) bool {
	if rc.scope.all {
		return true
	}
	return c.d.Alerting != nil && c.d.Alerting.RunbookReadable(rb.Name, rc.scope.tenant)
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
