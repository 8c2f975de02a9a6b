package engine

import (
	"time"

	"github.com/mamori/mamori/internal/state"
)

// Host check on demand (Nagios/Icinga): when a check is about to turn hard
// while a parent's verdict is not in — the parent is in a soft problem, or
// its last OK is older than the check's problem — the state machine holds
// the check soft at its last attempt (state.Policy.ParentPending) and the
// engine re-checks the parent at once. When the parent is decided, the held
// checks are re-run: under a down parent they turn hard as unreachable and
// are attached to its incident; under a parent that is up they alert as
// their own problem. One outage, one incident, one message.

// parentVerdict is what the state machine needs to know of c's parents for
// a result at a problem that began at since (zero: no problem yet). A check
// that runs on an agent is not held for an undecided parent: the server could
// not re-run it when the parent's verdict comes in, so it would stay soft.
type parentVerdict struct {
	down    bool
	pending []string // parents to re-check on demand, or awaited
	maxHold time.Duration
}

func (e *Engine) parents(c *Spec, since time.Time) parentVerdict {
	var pv parentVerdict
	if len(c.Parents) == 0 {
		return pv
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	for _, p := range c.Parents {
		pe, ok := e.checks[p]
		if !ok {
			continue
		}
		s := pe.snapshot()
		switch {
		case s.Status.Problem() && s.Type == state.Hard:
			pv.down = true
		case c.OnAgent:
			// c runs on an agent and cannot be re-run on demand once its
			// parent is decided: only a parent already down holds it back.
			continue
		case s.Status.Problem():
			pv.pending = append(pv.pending, p) // soft: its own retries decide it
		case pe.cfg.Disabled || pe.cfg.OnAgent:
			// Cannot be run on demand: its last OK stands.
		case s.Pending() || s.LastCheck.Before(since):
			pv.pending = append(pv.pending, p)
		default:
			continue
		}
		if h := holdFor(c, pe.cfg); h > pv.maxHold {
			pv.maxHold = h
		}
	}
	return pv
}

// holdFor bounds how long c may wait for parent p, from c's first failing
// result: c's own way to its last attempt, then p run at once and through
// all its attempts, with every run's timeout, and one more run of c.
func holdFor(c, p *Spec) time.Duration {
	attempts := func(n int) time.Duration { return time.Duration(max(n, 1)) }
	own := (attempts(c.Attempts)-1)*c.RetryInterval + attempts(c.Attempts)*c.Timeout
	parent := attempts(p.Attempts) * (p.RetryInterval + p.Timeout)
	return own + parent + c.RetryInterval + c.Timeout
}

// onDemand runs after a committed result of check name: it re-checks the
// parents a newly held check waits for, and re-runs the checks held for
// name once name is decided.
func (e *Engine) onDemand(name string, c *Spec, prev, next state.State, pv parentVerdict) {
	held := next.Held(c.Attempts)
	e.heldMu.Lock()
	if held {
		if e.held == nil {
			e.held = map[string][]string{}
		}
		e.held[name] = c.Parents
	} else {
		delete(e.held, name)
	}
	var rerun []string
	if !(next.Status.Problem() && next.Type == state.Soft) { // name is decided
		for child, parents := range e.held {
			for _, p := range parents {
				if p == name {
					rerun = append(rerun, child)
					break
				}
			}
		}
	}
	e.heldMu.Unlock()
	if held && !prev.Held(c.Attempts) {
		for _, p := range pv.pending {
			e.sched.RunNow(p)
		}
	}
	for _, child := range rerun {
		e.sched.RunNow(child)
	}
}
