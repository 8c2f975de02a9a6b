package report

import (
	"testing"
	"time"

	"github.com/mamori/mamori/internal/incident"
)

// The root cause a report shows comes from comments meant for the
// customer; an internal comment stays out of the tenant's report.
func TestRootCauseOnlyFromCustomerComments(t *testing.T) {
	now := time.Now()
	in := &incident.Incident{ID: 1, OpenedAt: now, DetectedAt: now, Timeline: []incident.Timeline{
		{Kind: "comment", Text: "root cause: the vendor's bug, do not tell", Visibility: incident.VisibilityInternal},
	}}
	if row := incidentRow(in, time.Hour, time.Hour, now); row.RootCause != "" {
		t.Errorf("root cause from an internal comment: %q", row.RootCause)
	}
	in.Timeline = append(in.Timeline, incident.Timeline{Kind: "comment", Text: "root cause: disk full", Visibility: incident.VisibilityCustomer})
	if row := incidentRow(in, time.Hour, time.Hour, now); row.RootCause != "disk full" {
		t.Errorf("root cause %q, want disk full", row.RootCause)
	}
}

// The incident's own root cause and remediation (PATCH, console) are
// listed; the field wins over a "root cause:" comment.
func TestRootCauseAndRemediationFields(t *testing.T) {
	now := time.Now()
	in := &incident.Incident{ID: 1, OpenedAt: now, DetectedAt: now, Level: 3, RootCause: "disk full on /var", Remediation: "log rotation weekly",
		Timeline: []incident.Timeline{{Kind: "comment", Text: "root cause: guess", Visibility: incident.VisibilityCustomer}}}
	row := incidentRow(in, time.Hour, time.Hour, now)
	if row.RootCause != "disk full on /var" || row.Remediation != "log rotation weekly" || row.Level != 3 {
		t.Errorf("row %+v", row)
	}
}
