package recovery

import (
	"fmt"
	"time"

	"github.com/mamori/mamori/internal/recovery/policy"
	"github.com/mamori/mamori/internal/state"
)

// Input is everything the safety rules look at for one check.
type Input struct {
	Now       time.Time
	Manual    bool // an operator asked: `after` does not apply
	Enabled   bool // the global recovery.enabled
	Policy    *policy.Policy
	State     state.State
	InMaint   bool
	CheckBusy bool   // an action for this check is running
	HostBusy  string // the check whose action runs on the same host, if any
	Host      string
	HardSince time.Time // when the problem became hard (or its maintenance window ended)
	// AwaitNotice: a problem a maintenance window kept quiet is not
	// alerted yet; people are told before anything runs.
	AwaitNotice bool
	Done        int  // steps already run for this problem
	Exhausted   bool // recovery for this problem already gave up
	// Actions run (not dry, not refused) within the budget windows.
	CheckUsed, HostUsed     int
	CheckBudget, HostBudget policy.Budget
}

// Decision is what to do now.
type Decision struct {
	Run       bool
	Step      int    // index into Policy.Steps when Run
	Reason    string // why not (or, when Run, why now)
	Wait      bool   // not yet: the step's `after` has not passed
	Exhaust   bool   // give up and escalate to people (record once)
	Exhausted string // why recovery gives up
}

// Decide applies the safety rules in order; the first that holds decides.
func Decide(in Input) Decision {
	no := func(format string, args ...any) Decision { return Decision{Reason: fmt.Sprintf(format, args...)} }
	st := in.State
	switch {
	case in.Policy == nil || len(in.Policy.Steps) == 0:
		return no("no recovery policy for this check")
	case !in.Enabled:
		return no("recovery is disabled (recovery.enabled: false)")
	case st.Pending():
		return no("the check has not run yet")
	case !st.Status.Problem():
		return no("the check is %s: nothing to recover (actions never run on a recovery)", st.Status)
	case st.Type != state.Hard:
		return no("soft state (%s, attempt %d): actions run only for hard states", st.Status, st.Attempt)
	case st.Flapping:
		return no("the check is flapping (%.0f%% state changes): no action, it would restart in a loop", st.FlapPct)
	case st.Unreachable:
		return no("a parent is down: the check is unreachable, not broken")
	case in.InMaint:
		return no("in a maintenance window: no action")
	case in.AwaitNotice && !in.Manual:
		return no("the maintenance window ended: waiting until people are told of the problem")
	case in.CheckBusy:
		return no("an action for this check is already running")
	case in.HostBusy != "":
		return no("an action for %s is already running on host %s (one action at a time per host)", in.HostBusy, in.Host)
	case in.Exhausted && !in.Manual:
		return no("recovery already gave up on this problem: people are escalated to")
	}
	step := in.Done
	if step >= len(in.Policy.Steps) {
		if !in.Manual {
			return Decision{Reason: fmt.Sprintf("all %d steps ran and the check is still %s", len(in.Policy.Steps), st.Status),
				Exhaust: true, Exhausted: fmt.Sprintf("all %d steps ran and the check is still %s", len(in.Policy.Steps), st.Status)}
		}
		step = len(in.Policy.Steps) - 1 // an operator may run the last step again
	}
	s := in.Policy.Steps[step]
	hardFor := in.Now.Sub(in.HardSince)
	if !in.Manual && hardFor < s.After {
		return Decision{Wait: true, Reason: fmt.Sprintf("step %d (%s) runs after %s hard; hard for %s", step+1, s.Action, s.After, hardFor.Round(time.Second))}
	}
	if in.CheckBudget.Max > 0 && in.CheckUsed >= in.CheckBudget.Max {
		why := fmt.Sprintf("budget: %d actions for this check within %s (at most %s)", in.CheckUsed, in.CheckBudget.Per, in.CheckBudget)
		return Decision{Reason: why, Exhaust: !in.Manual, Exhausted: why}
	}
	if in.HostBudget.Max > 0 && in.HostUsed >= in.HostBudget.Max {
		why := fmt.Sprintf("budget: %d actions on host %s within %s (at most %s)", in.HostUsed, in.Host, in.HostBudget.Per, in.HostBudget)
		return Decision{Reason: why, Exhaust: !in.Manual, Exhausted: why}
	}
	why := fmt.Sprintf("%s hard for %s", st.Status, hardFor.Round(time.Second))
	if in.Manual {
		why = "run by hand"
	}
	return Decision{Run: true, Step: step, Reason: why}
}
