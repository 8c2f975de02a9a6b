package alerting

import (
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
)

// Twilio's StatusCallback: every problem call asks for it; an unanswered
// call goes on the timeline and escalation moves on to the next level at
// once instead of after its 30 minutes.
func TestCallStatusNoAnswerEscalatesNow(t *testing.T) {
	calls := newTwilioCalls(t)
	f := newFlow(t, `contacts:
  - {name: taro, phone: "+81312345678"}
  - {name: jiro, phone: "+81312345679"}
escalations:
  - name: night
    levels:
      - {after: 0s, notify: [{channel: phone, contact: taro}]}
      - {after: 30m, notify: [{channel: phone, contact: jiro}]}
`, `  - {name: phone, type: twilio, account_sid: AC0123456789abcdef0123456789abcdef, auth_token: secret, from: "+81300000000", base_url: "`+calls.srv.URL+`"}`)
	f.s.cfg.Check("web1/http").Notify = []string{"night"}
	f.change("web1/http", check.OK, check.Critical)
	if got := calls.wait(t, 1, 10*time.Second); len(got) != 1 {
		t.Fatalf("calls %v", got)
	}
	calls.mu.Lock()
	cb := calls.statusCB[0]
	calls.mu.Unlock()
	if !strings.Contains(cb.Get("StatusCallback"), "/hooks/twilio/status/") || strings.Join(cb["StatusCallbackEvent"], ",") != "answered,completed" {
		t.Errorf("the call asks for no status callback: %v", cb)
	}
	in := f.openIncident("web1/http")
	if err := f.s.CallStatus(f.ctx, in.ID, "taro", "in-progress"); err != nil {
		t.Fatal(err)
	}
	if got := calls.wait(t, 2, 500*time.Millisecond); len(got) != 1 {
		t.Errorf("an answered call escalated: %v", got)
	}
	if err := f.s.CallStatus(f.ctx, in.ID, "taro", "no-answer"); err != nil {
		t.Fatal(err)
	}
	if got := calls.wait(t, 2, 10*time.Second); len(got) != 2 || got[1] != "+81312345679" {
		t.Errorf("no answer from taro: jiro not called at once: %v", got)
	}
	got := f.openIncident("web1/http")
	if !hasTimeline(got, "call", "phone call to taro: answered") || !hasTimeline(got, "call", "taro: not answered; escalating") {
		t.Errorf("timeline %+v", got.Timeline)
	}
}
