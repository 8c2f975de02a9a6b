package recovery

import (
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/recovery/policy"
	"github.com/mamori/mamori/internal/state"
)

func TestDecideSafetyTable(t *testing.T) {
	now := time.Date(2026, 1, 1, 3, 12, 0, 0, time.UTC)
	pol := &policy.Policy{Steps: []policy.Step{{After: 20 * time.Minute, Action: "service"}, {After: 25 * time.Minute, Action: "reboot"}}}
	hard := state.State{Status: check.Critical, Type: state.Hard, Attempt: 4, LastCheck: now, LastHard: now.Add(-30 * time.Minute)}
	base := func() Input {
		return Input{Now: now, Enabled: true, Policy: pol, State: hard, Host: "web01", HardSince: hard.LastHard,
			CheckBudget: policy.Budget{Max: 3, Per: time.Hour}, HostBudget: policy.Budget{Max: 5, Per: time.Hour}}
	}
	cases := []struct {
		name    string
		mod     func(*Input)
		run     bool
		step    int
		exhaust bool
		reason  string
	}{
		{"hard problem past after: step 1", func(*Input) {}, true, 0, false, "CRITICAL hard for 30m"},
		{"second step after the first", func(in *Input) { in.Done = 1 }, true, 1, false, ""},
		{"no policy", func(in *Input) { in.Policy = nil }, false, 0, false, "no recovery policy"},
		{"disabled", func(in *Input) { in.Enabled = false }, false, 0, false, "disabled"},
		{"recovery (OK)", func(in *Input) { in.State.Status = check.OK }, false, 0, false, "never run on a recovery"},
		{"soft", func(in *Input) { in.State.Type = state.Soft; in.State.Attempt = 2 }, false, 0, false, "soft state"},
		{"flapping", func(in *Input) { in.State.Flapping = true; in.State.FlapPct = 60 }, false, 0, false, "flapping"},
		{"unreachable", func(in *Input) { in.State.Unreachable = true }, false, 0, false, "unreachable"},
		{"maintenance", func(in *Input) { in.InMaint = true }, false, 0, false, "maintenance"},
		{"same check busy", func(in *Input) { in.CheckBusy = true }, false, 0, false, "already running"},
		{"one at a time per host", func(in *Input) { in.HostBusy = "web01/db" }, false, 0, false, "one action at a time per host"},
		{"not yet", func(in *Input) { in.HardSince = now.Add(-time.Minute) }, false, 0, false, "runs after 20m0s hard; hard for 1m0s"},
		{"check budget", func(in *Input) { in.CheckUsed = 3 }, false, 0, true, "budget: 3 actions for this check"},
		{"host budget", func(in *Input) { in.HostUsed = 5 }, false, 0, true, "budget: 5 actions on host web01"},
		{"steps exhausted", func(in *Input) { in.Done = 2 }, false, 0, true, "all 2 steps ran"},
		{"gave up already", func(in *Input) { in.Done = 2; in.Exhausted = true }, false, 0, false, "already gave up"},
		{"manual ignores after", func(in *Input) { in.Manual = true; in.HardSince = now }, true, 0, false, "run by hand"},
		{"manual reruns the last step", func(in *Input) { in.Manual = true; in.Done = 2; in.Exhausted = true }, true, 1, false, ""},
		{"manual: still no action while soft", func(in *Input) { in.Manual = true; in.State.Type = state.Soft }, false, 0, false, "soft state"},
		{"manual: budget holds, no give-up record", func(in *Input) { in.Manual = true; in.CheckUsed = 3 }, false, 0, false, "budget"},
		{"pending", func(in *Input) { in.State = state.State{} }, false, 0, false, "not run yet"},
	}
	for _, c := range cases {
		in := base()
		c.mod(&in)
		d := Decide(in)
		if d.Run != c.run || (c.run && d.Step != c.step) || d.Exhaust != c.exhaust || !strings.Contains(d.Reason, c.reason) {
			t.Errorf("%s: %+v", c.name, d)
		}
		if !d.Run && d.Reason == "" {
			t.Errorf("%s: no reason given", c.name)
		}
	}
}
