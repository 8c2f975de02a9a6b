package recovery

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/incident"
)

// A problem that lasted through a maintenance window: the recovery clock
// starts when the window ends (time inside it does not count), and nothing
// runs before the problem is alerted (issue 14 #9).
func TestMaintenanceEndStartsTheClock(t *testing.T) {
	r := newRig(t, `{steps: [{after: 10m, action: command, command: restart_web, verify_within: 1s}]}`)
	r.eng.set("web01/web", hardCritical(time.Now().Add(-time.Hour)))
	run := r.runner()
	if err := run.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	cfg := r.eng.Config()
	c := cfg.Checks[0]
	decide := func() Decision {
		in, _, ok := run.input(cfg, c, r.pol, r.glob, false)
		if !ok {
			t.Fatal("no view of the check")
		}
		return Decide(in)
	}
	r.maint.on = true
	if d := decide(); d.Run || !strings.Contains(d.Reason, "maintenance") {
		t.Fatalf("in the window: %+v", d)
	}
	r.maint.on = false
	if d := decide(); d.Run || !d.Wait || !strings.Contains(d.Reason, "hard for 0s") {
		t.Errorf("the window just ended, the problem is an hour old: %+v, want a wait of 10m from the window's end", d)
	}

	// Not alerted yet (no open incident): people are told first.
	err := r.st.Write(context.Background(), func(tx incident.Tx) error {
		r.in.Status = incident.Resolved
		return tx.UpdateIncident(context.Background(), r.in)
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := decide(); d.Run || !strings.Contains(d.Reason, "waiting until people are told") {
		t.Errorf("before the incident opened: %+v", d)
	}
}
