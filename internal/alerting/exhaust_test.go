package alerting

import (
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/incident"
)

// When automatic recovery gives up it makes the incident's escalation due
// now (internal/recovery); alerting then fires the policy's next level at
// once, and once the levels are spent tells everyone notified again.
func TestExhaustedRecoveryEscalatesNow(t *testing.T) {
	calls := newTwilioCalls(t)
	f := newFlow(t, `contacts:
  - {name: jiro, phone: "+81312345679"}
escalations:
  - name: night
    levels:
      - {after: 0s, notify: [hook]}
      - {after: 30m, notify: [{channel: phone, contact: jiro}]}
`, `  - {name: phone, type: twilio, account_sid: AC0123456789abcdef0123456789abcdef, auth_token: secret, from: "+81300000000", base_url: "`+calls.srv.URL+`"}`)
	f.s.cfg.Check("web1/http").Notify = []string{"night"}
	f.change("web1/http", check.OK, check.Critical)
	f.waitKinds("problem")
	in := f.openIncident("web1/http")
	exhaust := func() {
		t.Helper()
		err := f.st.Write(f.ctx, func(tx incident.Tx) error { // as recovery.Runner records exhaustion
			cur, err := tx.Incident(f.ctx, in.ID)
			if err != nil {
				return err
			}
			now := time.Now()
			cur.EscNextAt = &now
			return tx.UpdateIncident(f.ctx, cur)
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.s.escalateDue(f.ctx); err != nil {
			t.Fatal(err)
		}
	}
	exhaust()
	if got := calls.wait(t, 1, 10*time.Second); len(got) != 1 || got[0] != "+81312345679" {
		t.Fatalf("level 2 (30m) not called at once on exhaustion: %v", got)
	}
	exhaust() // the levels are spent: everyone notified hears again
	f.waitKinds("problem", "reminder")
	if got := calls.wait(t, 2, 10*time.Second); len(got) != 2 {
		t.Errorf("jiro not told again: %v", got)
	}
	if got := f.openIncident("web1/http"); !hasTimeline(got, "escalated", "recovery gave up") {
		t.Errorf("timeline: %+v", got.Timeline)
	}
}
