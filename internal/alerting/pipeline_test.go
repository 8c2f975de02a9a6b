package alerting

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/incident"
	"github.com/mamori/mamori/internal/maintenance"
)

// These are alerting's own unit tests: routing, escalation, suppression and
// the outbox, each on a real store with events handed in as the durable
// subscription would (no engine, no scheduler).

// One problem is one incident however its severity moves; the recovery
// resolves it and is reported to the same channel.
func TestRoutingOneIncidentPerProblem(t *testing.T) {
	f := newFlow(t, "")
	f.change("web1/http", check.OK, check.Critical)
	f.waitKinds("problem")
	f.change("web1/http", check.Critical, check.Warning)
	f.change("web1/http", check.Warning, check.Critical)
	f.change("web1/http", check.Critical, check.OK)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if k := f.hook.kinds(); len(k) > 0 && k[len(k)-1] == "recovery" {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	k := f.hook.kinds()
	if len(k) < 2 || k[0] != "problem" || k[len(k)-1] != "recovery" {
		t.Fatalf("webhook kinds %v: want problem first and recovery last", k)
	}
	ins, err := f.st.Incidents(f.ctx, incident.Query{Check: "web1/http"})
	if err != nil {
		t.Fatal(err)
	}
	if len(ins) != 1 {
		t.Fatalf("%d incidents for one problem, want 1", len(ins))
	}
	if ins[0].Status != incident.Resolved {
		t.Errorf("incident %s after the recovery, want resolved", ins[0].Status)
	}
}

// A check's problem reaches only the channels it names; with notify
// emptied a new problem opens its incident but queues no message, while
// the recovery of the earlier one still reaches whoever heard of it.
func TestRoutingOnlyTheNamedChannels(t *testing.T) {
	other := newHooks(t)
	f := newFlow(t, "", `  - {name: other, type: webhook, url: "`+other.srv.URL+`"}`)
	f.change("web1/http", check.OK, check.Critical)
	f.waitKinds("problem")
	time.Sleep(300 * time.Millisecond)
	if k := other.kinds(); len(k) != 0 {
		t.Errorf("a channel the check does not name got %v", k)
	}
	f.s.cfg.Check("web1/http").Notify = nil
	f.change("web1/http", check.Critical, check.OK)
	f.change("web1/http", check.OK, check.Critical)
	time.Sleep(300 * time.Millisecond)
	// The recovery still goes to whoever heard of the problem; the new
	// problem goes nowhere.
	if k := f.hook.kinds(); strings.Join(k, ",") != "problem,recovery" {
		t.Errorf("with notify emptied the channel got %v, want only the first problem and its recovery", k)
	}
	ins, _ := f.st.Incidents(f.ctx, incident.Query{Check: "web1/http"})
	if len(ins) != 2 {
		t.Errorf("%d incidents, want 2 (the second unnotified)", len(ins))
	}
}

// Escalation: the next level fires when due and not before; an
// acknowledgement stops the later levels.
func TestEscalationLevelsAndAcknowledge(t *testing.T) {
	second, third := newHooks(t), newHooks(t)
	f := newFlow(t, `escalations:
  - name: night
    levels:
      - {after: 0s, notify: [hook]}
      - {after: 10m, notify: [second]}
      - {after: 20m, notify: [third]}
`, `  - {name: second, type: webhook, url: "`+second.srv.URL+`"}`,
		`  - {name: third, type: webhook, url: "`+third.srv.URL+`"}`)
	f.s.cfg.Check("web1/http").Notify = []string{"night"}
	f.change("web1/http", check.OK, check.Critical)
	f.waitKinds("problem")

	f.clock.advance(5 * time.Minute)
	if err := f.s.escalateDue(f.ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if k := second.kinds(); len(k) != 0 {
		t.Fatalf("level 2 fired after 5 of its 10 minutes: %v", k)
	}
	f.clock.advance(6 * time.Minute)
	if err := f.s.escalateDue(f.ctx); err != nil {
		t.Fatal(err)
	}
	waitHook(t, second, 1)
	in := f.openIncident("web1/http")
	if !hasTimeline(in, "escalated", "level 2") {
		t.Errorf("timeline lacks the escalation: %+v", in.Timeline)
	}
	if _, err := f.s.Acknowledge(f.ctx, in.ID, "taro", "api", "looking"); err != nil {
		t.Fatal(err)
	}
	f.clock.advance(30 * time.Minute)
	if err := f.s.escalateDue(f.ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if k := third.kinds(); len(k) != 0 {
		t.Errorf("level 3 fired after the acknowledgement: %v", k)
	}
}

// Suppression: a problem inside a maintenance window opens nothing and
// tells no one; when the window ends with the problem still there it is
// alerted then.
func TestSuppressionByMaintenanceThenAlertedAtItsEnd(t *testing.T) {
	f := newFlow(t, "")
	now := time.Now()
	body, _ := json.Marshal(maintenance.Window{Name: "patch", Checks: []string{"web1/http"}, Start: now.Add(-time.Minute), End: now.Add(time.Hour)})
	if _, err := f.st.CreateMaintenance(f.ctx, body, "test"); err != nil {
		t.Fatal(err)
	}
	if err := f.s.RefreshMaintenance(f.ctx); err != nil {
		t.Fatal(err)
	}
	f.change("web1/http", check.OK, check.Critical)
	time.Sleep(300 * time.Millisecond)
	if k := f.hook.kinds(); len(k) != 0 {
		t.Fatalf("notified inside the window: %v", k)
	}
	if ins, err := f.st.Incidents(f.ctx, incident.Query{Check: "web1/http"}); err != nil || len(ins) != 0 {
		t.Fatalf("incidents inside the window: %v (%v)", ins, err)
	}
	if err := f.s.sweepSuppressed(f.ctx); err != nil { // still inside: nothing
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if k := f.hook.kinds(); len(k) != 0 {
		t.Fatalf("notified before the window ended: %v", k)
	}
	f.clock.advance(2 * time.Hour)
	if err := f.s.sweepSuppressed(f.ctx); err != nil {
		t.Fatal(err)
	}
	f.waitKinds("problem")
	f.openIncident("web1/http")
}

// The outbox: a channel whose provider fails keeps its messages in order
// and delivers them, oldest first, once the provider answers again;
// every attempt is recorded.
func TestOutboxRetriesInOrder(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	var got atomic.Value
	got.Store([]string{})
	var attempts atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		attempts.Add(1)
		if fail.Load() {
			http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
			return
		}
		var m map[string]any
		if err := json.NewDecoder(r.Body).Decode(&m); err != nil {
			t.Errorf("body: %v", err)
		}
		got.Store(append(got.Load().([]string), m["kind"].(string)))
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	f := newFlow(t, "", `  - {name: flaky, type: webhook, url: "`+srv.URL+`"}`)
	f.s.cfg.Check("web1/http").Notify = []string{"flaky"}
	f.change("web1/http", check.OK, check.Critical)
	f.change("web1/http", check.Critical, check.OK)
	deadline := time.Now().Add(10 * time.Second)
	for attempts.Load() < 1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if attempts.Load() < 1 {
		t.Fatal("no delivery attempt")
	}
	fail.Store(false)
	deadline = time.Now().Add(20 * time.Second) // the first retry waits 2 s ±20 %
	for len(got.Load().([]string)) < 2 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if k := got.Load().([]string); strings.Join(k, ",") != "problem,recovery" {
		t.Fatalf("delivered %v, want problem then recovery", k)
	}
	ns, err := f.st.Notifications(f.ctx, f.openIncident("web1/http").ID, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range ns {
		if n.Kind == "problem" && (n.Status != incident.NotifyDelivered || n.Attempts < 2) {
			t.Errorf("problem notification: status %s after %d attempts; want delivered on a retry", n.Status, n.Attempts)
		}
	}
	if len(ns) != 2 {
		t.Errorf("%d outbox rows, want 2", len(ns))
	}
}

func waitHook(t *testing.T, h *hooks, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if len(h.kinds()) >= n {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("webhook got %v, want %d messages", h.kinds(), n)
}
