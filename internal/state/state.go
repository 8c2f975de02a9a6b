// Package state is the pure soft/hard state machine: given a check's
// previous state, one new result and the policy, Next returns the new state
// and, if anything an operator cares about changed, a Transition. No I/O, no
// clock, no logging: the result carries its own time.
//
// Semantics follow Nagios/Icinga:
//   - A problem starts SOFT at attempt 1 and becomes HARD when `attempts`
//     consecutive results are non-OK. WARNING→CRITICAL (or back) while soft
//     keeps counting: it is the same problem getting worse.
//   - A HARD problem that changes severity (WARNING→CRITICAL) is a new hard
//     state change and is notified.
//   - OK after a hard problem is a HARD recovery (notified); OK after a soft
//     problem is a soft recovery (logged, not notified).
//   - Flapping: the share of state changes among the last 21 results,
//     weighted from 0.8 (oldest) to 1.2 (newest), above FlapHigh starts
//     flapping, below FlapLow stops it; notifications are held meanwhile.
//     A shorter history counts as if preceded by its first state, so
//     flapping is seen from the first results on, as in Nagios.
//   - Dependencies: while a parent is hard down, a child's problem is marked
//     unreachable and not notified on its own. A child that would turn hard
//     while a parent is undecided (ParentPending) is held soft at its last
//     attempt until the parent is decided: host check on demand.
package state

import (
	"time"

	"github.com/mamori/mamori/internal/check"
)

// Type is SOFT or HARD.
type Type int

// State types.
const (
	Hard Type = iota // the zero value: a fresh check is HARD OK
	Soft
)

func (t Type) String() string {
	if t == Soft {
		return "soft"
	}
	return "hard"
}

// MarshalText writes "soft" or "hard".
func (t Type) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText reads "soft" or "hard".
func (t *Type) UnmarshalText(b []byte) error {
	if string(b) == "soft" {
		*t = Soft
	} else {
		*t = Hard
	}
	return nil
}

// HistoryLen is the number of results flap detection looks at.
const HistoryLen = 21

// State is a check's current state. The zero value is a check never run:
// HARD OK at attempt 0 (pending).
type State struct {
	Status     check.Status `json:"state"`
	Type       Type         `json:"state_type"`
	Attempt    int          `json:"attempt"`     // consecutive results in the current (soft) state, 1..attempts
	HardStatus check.Status `json:"hard_state"`  // the last hard status
	LastCheck  time.Time    `json:"last_check"`  // time of the last result
	LastChange time.Time    `json:"last_change"` // last change of Status or Type
	LastHard   time.Time    `json:"last_hard_change"`
	ProblemAt  time.Time    `json:"problem_since,omitempty"` // first non-OK result of the current problem
	Flapping   bool         `json:"flapping"`
	FlapPct    float64      `json:"flap_percent"`
	// Unreachable marks a problem seen while a parent was hard down.
	Unreachable bool `json:"unreachable"`
	// History holds the last HistoryLen statuses, oldest first, as digits "0".."3".
	History string `json:"-"`
}

// Pending reports whether the check has never produced a result.
func (s State) Pending() bool { return s.LastCheck.IsZero() }

// Kept reports whether next, the state after a result, is prev apart from
// the time of the last result: the result changed nothing the state
// machine decides (the usual OK after OK once the history is full).
func Kept(prev, next State) bool {
	return !prev.Pending() && prev.Status == next.Status && prev.Type == next.Type && prev.Attempt == next.Attempt &&
		prev.HardStatus == next.HardStatus && prev.LastChange.Equal(next.LastChange) && prev.LastHard.Equal(next.LastHard) &&
		prev.ProblemAt.Equal(next.ProblemAt) && prev.Flapping == next.Flapping && prev.FlapPct == next.FlapPct &&
		prev.Unreachable == next.Unreachable && prev.History == next.History
}

// Policy is what Next needs to know besides the result.
type Policy struct {
	Attempts   int     // results needed for HARD; < 1 means 1
	FlapLow    float64 // percent; 0 disables flap detection
	FlapHigh   float64 // percent
	ParentDown bool    // a parent (host reachability or depends_on) is hard non-OK
	// ParentPending: a parent's verdict is not in yet (it is in a soft
	// problem, or its OK is older than this check's problem) and the
	// engine has it re-checked now. A problem that would turn hard is held
	// soft at its last attempt until the parent is decided.
	ParentPending bool
	// MaxHold bounds the hold, counted from the problem's first result
	// (0: no bound).
	MaxHold time.Duration
}

// DefaultPolicy is the product default: 4 attempts, flapping 25 %/50 % as Nagios.
func DefaultPolicy() Policy { return Policy{Attempts: 4, FlapLow: 25, FlapHigh: 50} }

// Transition describes a change worth recording.
type Transition struct {
	Time        time.Time     `json:"time"`
	From        check.Status  `json:"previous_state"`
	FromType    Type          `json:"previous_state_type"`
	To          check.Status  `json:"state"`
	ToType      Type          `json:"state_type"`
	Attempt     int           `json:"attempt"`
	Hard        bool          `json:"hard"`        // a hard state change (problem, severity change or recovery)
	Recovery    bool          `json:"recovery"`    // a hard problem ended
	Notify      bool          `json:"notify"`      // Hard and not held back (flapping, unreachable)
	FlapStart   bool          `json:"flap_start"`  // flapping started with this result
	FlapStop    bool          `json:"flap_stop"`   // flapping stopped with this result
	Unreachable bool          `json:"unreachable"` // suppressed because a parent is down
	Output      string        `json:"output"`
	ProblemFor  time.Duration `json:"problem_duration,omitempty"` // on recovery: how long it was down
}

// Next computes the state after result r.
func Next(prev State, r check.Result, p Policy) (State, *Transition) {
	attempts := p.Attempts
	if attempts < 1 {
		attempts = 1
	}
	next := prev
	next.LastCheck = r.Time
	next.History = pushHistory(prev.History, r.Status)

	advance(prev, &next, r, attempts)
	if next.Status.Problem() {
		next.Unreachable = p.ParentDown
		if next.Type == Hard && prev.HardStatus == check.OK && p.holds(next.ProblemAt, r.Time) {
			// Host check on demand: wait for the parent's verdict instead
			// of alerting on our own (Nagios/Icinga).
			next.Type, next.HardStatus, next.Attempt = Soft, prev.HardStatus, attempts
		}
	}

	wasFlapping := prev.Flapping
	p.detectFlapping(&next, wasFlapping)

	changed := next.Status != prev.Status || next.Type != prev.Type || prev.Pending()
	if changed {
		next.LastChange = r.Time
	}
	hard := next.Type == Hard && (prev.HardStatus != next.HardStatus || (prev.Pending() && next.Status.Problem()))
	if hard {
		next.LastHard = r.Time
	}
	flapEdge := next.Flapping != wasFlapping
	if !changed && !hard && !flapEdge && next.Unreachable == prev.Unreachable {
		return next, nil
	}
	t := &Transition{
		Time: r.Time, From: prev.Status, FromType: prev.Type, To: next.Status, ToType: next.Type,
		Attempt: next.Attempt, Hard: hard, Output: r.Output,
		FlapStart: flapEdge && next.Flapping, FlapStop: flapEdge && !next.Flapping,
		Unreachable: next.Unreachable,
	}
	if hard && next.Status == check.OK && prev.HardStatus.Problem() {
		t.Recovery = true
		if !prev.ProblemAt.IsZero() {
			t.ProblemFor = r.Time.Sub(prev.ProblemAt)
		}
	}
	// A first result that is OK is not news; a pending check becoming OK is
	// recorded (changed) but is not a hard change.
	t.Notify = t.Hard && !next.Flapping && !(next.Unreachable && next.Status.Problem())
	if prev.Pending() && next.Status == check.OK {
		t.Hard, t.Notify = false, false
	}
	return next, t
}

// advance moves next (a copy of prev) through the soft/hard state
// machine for result r: OK resets, a new problem starts soft (hard at
// once with one attempt), a soft problem counts attempts up to hard, a
// hard problem follows the result's severity.
func advance(prev State, next *State, r check.Result, attempts int) {
	switch {
	case r.Status == check.OK:
		next.Status = check.OK
		next.Attempt = 1
		next.Type = Hard
		next.HardStatus = check.OK
		next.ProblemAt = time.Time{}
		next.Unreachable = false
	case prev.Status == check.OK || prev.Pending():
		// A new problem.
		next.Status = r.Status
		next.Attempt = 1
		next.ProblemAt = r.Time
		if attempts == 1 {
			next.Type, next.HardStatus = Hard, r.Status
		} else {
			next.Type = Soft
		}
	case prev.Type == Soft:
		next.Status = r.Status
		next.Attempt = min(prev.Attempt+1, attempts)
		if next.Attempt >= attempts {
			next.Type, next.HardStatus = Hard, r.Status
		}
	default: // hard problem continues, maybe with another severity
		next.Status = r.Status
		next.HardStatus = r.Status
		next.Attempt = attempts
	}
}

// detectFlapping updates next's flap percentage and flapping flag with
// the hysteresis of FlapHigh/FlapLow (off when FlapHigh is 0).
func (p Policy) detectFlapping(next *State, wasFlapping bool) {
	next.FlapPct = flapPercent(next.History)
	if p.FlapHigh > 0 {
		switch {
		case !wasFlapping && next.FlapPct > p.FlapHigh:
			next.Flapping = true
		case wasFlapping && next.FlapPct < p.FlapLow:
			next.Flapping = false
		}
	} else {
		next.Flapping = false
	}
}

// holds reports whether a problem that began at since must wait for a
// parent at now.
func (p Policy) holds(since, now time.Time) bool {
	if !p.ParentPending || p.ParentDown {
		return false
	}
	return p.MaxHold <= 0 || since.IsZero() || now.Sub(since) < p.MaxHold
}

// Held reports whether the state is a problem held soft at its last attempt
// (of attempts) while a parent's verdict is awaited.
func (s State) Held(attempts int) bool {
	return s.Type == Soft && s.Status.Problem() && s.Attempt >= max(attempts, 1)
}

func pushHistory(h string, s check.Status) string {
	h += string(rune('0' + s.ExitCode()))
	if len(h) > HistoryLen {
		h = h[len(h)-HistoryLen:]
	}
	return h
}

// flapPercent is Nagios' weighted state-change percentage over the history:
// each change between consecutive results weighs from 0.8 (oldest) to 1.2
// (newest); the sum over the 20 possible changes is scaled to 100. A
// history shorter than HistoryLen is read as if the results before it had
// all been its first state (Nagios starts a new check's history that way),
// so a check that flaps from its start is seen after about ten results and
// a single outage and recovery stays far below any threshold.
func flapPercent(h string) float64 {
	n := len(h)
	if n < 2 {
		return 0
	}
	pad := HistoryLen - n // results before the first one, taken as h[0]
	if pad < 0 {
		pad = 0
	}
	var sum float64
	for i := 1; i < n; i++ {
		if h[i] != h[i-1] {
			// position in the full window 1..20 → weight 0.8..1.2
			pos := pad + i
			sum += 0.8 + 0.4*float64(pos-1)/float64(HistoryLen-2)
		}
	}
	return sum * 100 / float64(HistoryLen-1)
}
