package alerting

import (
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/incident"
)

// levelFlow is a flow whose check is routed through a policy where the
// chat channel (the webhook "hook") hears of every incident and the
// customer's contact and the provider's on-call are phoned from level 3.
func levelFlow(t *testing.T, level int) (*flow, *twilioCalls) {
	t.Helper()
	calls := newTwilioCalls(t)
	f := newFlow(t, `contacts:
  - {name: customer, phone: "+81312345678", tenant: acme}
  - {name: oncall, phone: "+81312345679"}
escalations:
  - name: bylevel
    levels:
      - after: 0s
        notify:
          - hook
          - {channel: phone, contact: customer, min_level: 3}
          - {channel: phone, contact: oncall, min_level: 3}
      - {after: 30m, min_level: 2, notify: [{channel: phone, contact: oncall}]}
`, `  - {name: phone, type: twilio, account_sid: AC0123456789abcdef0123456789abcdef, auth_token: secret, from: "+81300000000", base_url: "`+calls.srv.URL+`"}`)
	c := f.s.cfg.Check("web1/http")
	c.Notify, c.Level = []string{"bylevel"}, level
	return f, calls
}

// Level 1 posts to chat only: no phone call, not even at the later step
// that needs level 2.
func TestLevelOneChatOnly(t *testing.T) {
	f, calls := levelFlow(t, 1)
	f.change("web1/http", check.OK, check.Critical)
	f.waitKinds("problem")
	if in := f.openIncident("web1/http"); in.Level != 1 {
		t.Errorf("incident level %d, want the check's 1", in.Level)
	}
	f.clock.advance(31 * time.Minute)
	if err := f.s.escalateDue(f.ctx); err != nil {
		t.Fatal(err)
	}
	if got := calls.wait(t, 1, 500*time.Millisecond); len(got) != 0 {
		t.Errorf("level 1 phoned %v", got)
	}
}

// Level 3 phones the customer's contact and the on-call besides chat.
func TestLevelThreePhonesToo(t *testing.T) {
	f, calls := levelFlow(t, 3)
	f.change("web1/http", check.OK, check.Critical)
	f.waitKinds("problem")
	got := calls.wait(t, 2, 10*time.Second)
	if len(got) != 2 || got[0] != "+81312345678" || got[1] != "+81312345679" {
		t.Fatalf("level 3 calls %v, want the customer and the on-call", got)
	}
	if in := f.openIncident("web1/http"); in.Level != 3 {
		t.Errorf("incident level %d, want 3", in.Level)
	}
	f.hook.mu.Lock()
	lv := f.hook.got[0]["incident_level"]
	f.hook.mu.Unlock()
	if lv != float64(3) {
		t.Errorf("the chat message says incident level %v, want 3", lv)
	}
}

// Raising an open incident from 1 to 3 phones the targets of the step
// already reached that level 3 selects, once; lowering it calls no one.
func TestRaisingTheLevelTriggersThePhoneStep(t *testing.T) {
	f, calls := levelFlow(t, 1)
	f.change("web1/http", check.OK, check.Critical)
	f.waitKinds("problem")
	if got := calls.wait(t, 1, 300*time.Millisecond); len(got) != 0 {
		t.Fatalf("level 1 phoned %v before the raise", got)
	}
	in := f.openIncident("web1/http")
	three := 3
	up, err := f.s.Update(f.ctx, in.ID, "hanako", Patch{Level: &three})
	if err != nil {
		t.Fatal(err)
	}
	if up.Level != 3 || !hasTimeline(up, "level", "1 → 3") {
		t.Errorf("after the raise: level %d, timeline %+v", up.Level, up.Timeline)
	}
	got := calls.wait(t, 2, 10*time.Second)
	if len(got) != 2 {
		t.Fatalf("raised to 3: calls %v, want the customer and the on-call", got)
	}
	one := 1
	if _, err := f.s.Update(f.ctx, in.ID, "hanako", Patch{Level: &one}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.Update(f.ctx, in.ID, "hanako", Patch{Level: &three}); err != nil {
		t.Fatal(err)
	}
	if got := calls.wait(t, 3, 500*time.Millisecond); len(got) != 2 {
		t.Errorf("a second raise to 3 rang again: %v", got)
	}
	if k := f.hook.kinds(); len(k) != 1 {
		t.Errorf("chat got %v, want the one problem message", k)
	}
}

// A patch is validated field by field; root cause and remediation are
// kept trimmed and each change is on the timeline.
func TestUpdateRootCauseAndValidation(t *testing.T) {
	f, _ := levelFlow(t, 2)
	f.change("web1/http", check.OK, check.Critical)
	in := f.openIncident("web1/http")
	four := 4
	if _, err := f.s.Update(f.ctx, in.ID, "x", Patch{Level: &four}); err == nil {
		t.Error("level 4 accepted")
	}
	if _, err := f.s.Update(f.ctx, in.ID, "x", Patch{}); err == nil {
		t.Error("an empty patch accepted")
	}
	rc, rem := " disk full on /var ", "log rotation added"
	up, err := f.s.Update(f.ctx, in.ID, "hanako", Patch{RootCause: &rc, Remediation: &rem})
	if err != nil {
		t.Fatal(err)
	}
	if up.RootCause != "disk full on /var" || up.Remediation != rem {
		t.Errorf("stored %q / %q", up.RootCause, up.Remediation)
	}
	if !hasTimeline(up, "root_cause", "disk full") || !hasTimeline(up, "remediation", "rotation") {
		t.Errorf("timeline %+v", up.Timeline)
	}
	cv := up.CustomerView()
	if cv.RootCause == "" || !hasTimeline(cv, "remediation", "rotation") {
		t.Errorf("the customer does not see the analysis: %+v", cv)
	}
	if _, err := f.s.Update(f.ctx, 999999, "x", Patch{RootCause: &rc}); err == nil {
		t.Error("unknown incident accepted")
	}
	_ = incident.Open
}
