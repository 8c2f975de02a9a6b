package api

import (
	"errors"
	"net/http"

	"github.com/mamori/mamori/internal/alerting"
)

// incidentPatch is the body of PATCH /api/v1/incidents/{id}: the fields an
// operator sets; those left out stay.
type incidentPatch struct {
	Level       *int    `json:"level"`       // incident level 1..3 (障害対応レベル)
	RootCause   *string `json:"root_cause"`  // shown to the customer and in the report
	Remediation *string `json:"remediation"` // ditto
}

// patchIncident: PATCH /api/v1/incidents/{id} (operators) changes the
// incident level (a raise notifies the targets it newly selects), the root
// cause and the remediation. Every change is a timeline entry naming who
// made it, and is logged.
func (s *Server) patchIncident(w http.ResponseWriter, r *http.Request) {
	var b incidentPatch
	if !readBody(w, r, &b) {
		return
	}
	p := alerting.Patch{Level: b.Level, RootCause: b.RootCause, Remediation: b.Remediation}
	if err := p.Validate(); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	in, ok := s.visibleIncident(w, r)
	if !ok {
		return
	}
	a := s.alerting(w)
	if a == nil {
		return
	}
	who := PrincipalFrom(r.Context()).Name
	out, err := a.Update(r.Context(), in.ID, who, p)
	if err == nil {
		s.log.Info("incident updated", "id", in.ID, "by", who, "level", out.Level,
			"root_cause_changed", b.RootCause != nil, "remediation_changed", b.Remediation != nil)
	}
	if errors.Is(err, alerting.ErrInvalid) {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	s.actionResult(w, r, out, err)
}
