package alerting

import (
	"errors"
	"testing"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/incident"
)

// Resolving an incident whose check still fails asks for confirmation
// (ErrStillFailing unless forced); once forced, the real recovery later
// still tells everyone notified.
func TestResolveWhileFailing(t *testing.T) {
	f := newFlow(t, "")
	f.change("web1/http", check.OK, check.Critical)
	f.waitKinds("problem")
	in := f.openIncident("web1/http")
	_, err := f.s.SetStatusNote(f.ctx, in.ID, "ops", incident.Resolved, Note{})
	if !errors.Is(err, ErrStillFailing) || !errors.Is(err, ErrConflict) {
		t.Fatalf("resolve while CRITICAL: %v, want ErrStillFailing", err)
	}
	if got := f.openIncident("web1/http"); got.Status != incident.Open {
		t.Fatalf("refused resolve changed the status to %s", got.Status)
	}
	out, err := f.s.SetStatusForce(f.ctx, in.ID, "ops", incident.Resolved, Note{}, true)
	if err != nil || out.Status != incident.Resolved {
		t.Fatalf("forced resolve: %v %+v", err, out)
	}
	if !hasTimeline(out, "resolved", "CRITICAL") {
		t.Errorf("the timeline does not say it was resolved while still failing: %+v", out.Timeline)
	}
	f.change("web1/http", check.Critical, check.OK)
	f.waitKinds("problem", "recovery")
	got := f.openIncident("web1/http")
	if got.ID != in.ID || got.RecoveredAt == nil || !hasTimeline(got, "recovered", "recovered") {
		t.Errorf("the recovery is not on the resolved incident: %+v", got)
	}
}

// An incident opened without a runbook loses its runbook_missing flag once
// a runbook matching its check is written.
func TestRunbookFlagFollowsNewRunbook(t *testing.T) {
	f := newFlow(t, "")
	f.change("web1/http", check.OK, check.Critical)
	in := f.openIncident("web1/http")
	if in.Runbook != "" || !hasTimeline(in, "runbook_missing", "") {
		t.Fatalf("want a runbook_missing incident: %+v", in)
	}
	if _, _, err := f.s.SaveRunbook(f.ctx, "web", "---\nchecks: [web1/http]\n---\n1. restart nginx\n", "ops"); err != nil {
		t.Fatal(err)
	}
	if got := f.openIncident("web1/http"); got.Runbook != "web" || !hasTimeline(got, "runbook", "web") {
		t.Errorf("after the runbook was written: runbook %q, timeline %+v", got.Runbook, got.Timeline)
	}
}
