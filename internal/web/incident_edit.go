package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/mamori/mamori/internal/alerting"
)

// incidentEdit: POST /incidents/{id}/edit (operators) sets the incident
// level (障害対応レベル), the root cause and the remediation from the
// incident page's form; the alerting service records each change on the
// timeline and notifies what a raised level newly selects.
func (c *Console) incidentEdit(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	in, ok := c.visibleIncident(w, r, rc)
	if !ok {
		return
	}
	if c.d.Alerting == nil {
		c.noAlerting(w, r, rc)
		return
	}
	var p alerting.Patch
	if v := r.PostForm.Get("level"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 3 {
			c.fail(w, r, rc, http.StatusBadRequest, "error.level")
			return
		}
		p.Level = &n
	}
	if _, ok := r.PostForm["root_cause"]; ok {
		v := r.PostForm.Get("root_cause")
		p.RootCause = &v
	}
	if _, ok := r.PostForm["remediation"]; ok {
		v := r.PostForm.Get("remediation")
		p.Remediation = &v
	}
	_, err := c.d.Alerting.Update(r.Context(), in.ID, rc.User.Name, p)
	if errors.Is(err, alerting.ErrInvalid) {
		c.fail(w, r, rc, http.StatusBadRequest, "error.toolong")
		return
	}
	c.incidentDone(w, r, rc, in.ID, err, "updated")
}
