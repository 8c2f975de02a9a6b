package state

import (
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
)

var t0 = time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)

// run feeds statuses (one letter each: O W C U) through Next and returns
// every state and transition.
func run(p Policy, seq string) ([]State, []*Transition) {
	var s State
	var states []State
	var trs []*Transition
	for i, c := range seq {
		st := map[rune]check.Status{'O': check.OK, 'W': check.Warning, 'C': check.Critical, 'U': check.Unknown}[c]
		var tr *Transition
		s, tr = Next(s, check.Result{Status: st, Time: t0.Add(time.Duration(i) * time.Minute), Output: string(c)}, p)
		states = append(states, s)
		trs = append(trs, tr)
	}
	return states, trs
}

// describe renders a state as "C/soft/2".
func describe(s State) string {
	return s.Status.String()[:1] + "/" + s.Type.String() + "/" + string(rune('0'+s.Attempt))
}

func TestSoftHard(t *testing.T) {
	noFlap := Policy{Attempts: 4}
	tests := []struct {
		name   string
		p      Policy
		seq    string
		states string // space separated describe() per result
		hard   string // per result: H hard change, R recovery, s soft change, - none
		notify string // per result: N notified, - not
	}{
		{"ok stays ok", noFlap, "OOO", "O/hard/1 O/hard/1 O/hard/1", "s--", "---"},
		{"four criticals go hard", noFlap, "OCCCCC", "O/hard/1 C/soft/1 C/soft/2 C/soft/3 C/hard/4 C/hard/4", "ss--H-", "----N-"},
		{"soft recovery is not notified", noFlap, "OCCO", "O/hard/1 C/soft/1 C/soft/2 O/hard/1", "ss-s", "----"},
		{"warning then critical keeps counting", noFlap, "OWWCC", "O/hard/1 W/soft/1 W/soft/2 C/soft/3 C/hard/4", "ss-sH", "----N"},
		{"hard severity change is notified", noFlap, "OCCCCWC", "O/hard/1 C/soft/1 C/soft/2 C/soft/3 C/hard/4 W/hard/4 C/hard/4", "ss--HHH", "----NNN"},
		{"hard recovery", noFlap, "OCCCCO", "O/hard/1 C/soft/1 C/soft/2 C/soft/3 C/hard/4 O/hard/1", "ss--HR", "----NN"},
		{"attempts 1 is hard at once", Policy{Attempts: 1}, "OCO", "O/hard/1 C/hard/1 O/hard/1", "sHR", "-NN"},
		{"unknown counts as a problem", noFlap, "OUUUU", "O/hard/1 U/soft/1 U/soft/2 U/soft/3 U/hard/4", "ss--H", "----N"},
		{"first result a problem starts soft", noFlap, "CCCC", "C/soft/1 C/soft/2 C/soft/3 C/hard/4", "s--H", "---N"},
		{"zero attempts means one", Policy{}, "OC", "O/hard/1 C/hard/1", "sH", "-N"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			states, trs := run(tt.p, tt.seq)
			var got []string
			var hard, notify strings.Builder
			for i, s := range states {
				got = append(got, describe(s))
				tr := trs[i]
				switch {
				case tr == nil:
					hard.WriteByte('-')
				case tr.Recovery:
					hard.WriteByte('R')
				case tr.Hard:
					hard.WriteByte('H')
				default:
					hard.WriteByte('s')
				}
				if tr != nil && tr.Notify {
					notify.WriteByte('N')
				} else {
					notify.WriteByte('-')
				}
			}
			if g := strings.Join(got, " "); g != tt.states {
				t.Errorf("states\n got %s\nwant %s", g, tt.states)
			}
			if hard.String() != tt.hard {
				t.Errorf("transitions got %s want %s", hard.String(), tt.hard)
			}
			if notify.String() != tt.notify {
				t.Errorf("notify got %s want %s", notify.String(), tt.notify)
			}
		})
	}
}

func TestRecoveryDuration(t *testing.T) {
	_, trs := run(Policy{Attempts: 2}, "OCCCO")
	tr := trs[4]
	if tr == nil || !tr.Recovery {
		t.Fatalf("want recovery, got %+v", tr)
	}
	if tr.ProblemFor != 3*time.Minute {
		t.Errorf("problem duration %s, want 3m (from the first non-OK result)", tr.ProblemFor)
	}
	if tr.From != check.Critical || tr.To != check.OK {
		t.Errorf("from %s to %s", tr.From, tr.To)
	}
}

func TestFlapping(t *testing.T) {
	p := Policy{Attempts: 1, FlapLow: 25, FlapHigh: 50}
	// 21 alternating results: every result is a state change → flapping.
	states, trs := run(p, strings.Repeat("OC", 11)[:21])
	last := states[len(states)-1]
	if !last.Flapping {
		t.Fatalf("alternating results should flap, pct=%.1f", last.FlapPct)
	}
	started := 0
	for _, tr := range trs {
		if tr != nil && tr.FlapStart {
			started++
		}
	}
	if started != 1 {
		t.Errorf("flap start reported %d times, want 1", started)
	}
	if tr := trs[len(trs)-1]; tr == nil || !tr.Hard || tr.Notify {
		t.Errorf("a hard change while flapping must be held: %+v", tr)
	}
	// A long run of OK settles it.
	s := last
	var stop bool
	for i := 0; i < 21; i++ {
		var tr *Transition
		s, tr = Next(s, check.Result{Status: check.OK, Time: t0.Add(time.Hour + time.Duration(i)*time.Minute)}, p)
		if tr != nil && tr.FlapStop {
			stop = true
		}
	}
	if s.Flapping || !stop {
		t.Errorf("flapping should stop after a stable run (pct=%.1f, stop=%v)", s.FlapPct, stop)
	}
}

func TestFlapPercentWeights(t *testing.T) {
	tests := []struct {
		h    string
		want float64
	}{
		{"", 0},
		{"0", 0},
		{strings.Repeat("0", 21), 0},
		{strings.Repeat("02", 10) + "0", 100},
	}
	for _, tt := range tests {
		if got := flapPercent(tt.h); got < tt.want-0.01 || got > tt.want+0.01 {
			t.Errorf("flapPercent(%q) = %.2f, want %.2f", tt.h, got, tt.want)
		}
	}
	// Newer changes weigh more than older ones.
	old := flapPercent("020000000000000000000")
	recent := flapPercent("000000000000000000020")
	if !(recent > old) {
		t.Errorf("recent change %.2f should weigh more than old %.2f", recent, old)
	}
}

func TestUnreachableChildIsNotNotified(t *testing.T) {
	p := Policy{Attempts: 2, ParentDown: true}
	var s State
	var tr *Transition
	for i := 0; i < 3; i++ {
		s, tr = Next(s, check.Result{Status: check.Critical, Time: t0.Add(time.Duration(i) * time.Minute)}, p)
		if tr != nil && tr.Notify {
			t.Fatalf("child of a down parent notified at result %d: %+v", i, tr)
		}
	}
	if s.Type != Hard || !s.Unreachable {
		t.Fatalf("want hard and unreachable, got %+v", s)
	}
	// Parent back, child still down: the state says reachable again, a
	// transition records it.
	p.ParentDown = false
	s, tr = Next(s, check.Result{Status: check.Critical, Time: t0.Add(time.Hour)}, p)
	if s.Unreachable || tr == nil || tr.Unreachable {
		t.Fatalf("parent back: want reachable and a transition, got %+v %+v", s, tr)
	}
}

func TestHistoryBounded(t *testing.T) {
	states, _ := run(Policy{Attempts: 4}, strings.Repeat("OCW", 20))
	if h := states[len(states)-1].History; len(h) != HistoryLen {
		t.Fatalf("history length %d, want %d", len(h), HistoryLen)
	}
}

func TestPendingFirstOKIsNotAHardChange(t *testing.T) {
	_, tr := Next(State{}, check.Result{Status: check.OK, Time: t0}, DefaultPolicy())
	if tr == nil || tr.Hard || tr.Notify {
		t.Fatalf("first OK: %+v", tr)
	}
}

// Flapping is detected with the history there is, as Nagios does: the
// results before the first one count as that first state, so a new check
// that alternates flaps after about ten results, not twenty-one.
func TestFlappingWithShortHistory(t *testing.T) {
	p := Policy{Attempts: 1, FlapLow: 25, FlapHigh: 50}
	states, trs := run(p, strings.Repeat("OC", 11)[:21])
	notified, flapAt := 0, -1
	for i, tr := range trs {
		if flapAt < 0 && states[i].Flapping {
			flapAt = i
		}
		if flapAt < 0 && tr != nil && tr.Notify {
			notified++
		}
	}
	if flapAt < 0 || flapAt > 10 {
		t.Fatalf("flapping detected at result %d, want by the 11th", flapAt+1)
	}
	if notified > 9 {
		t.Errorf("%d notifications before flapping was detected", notified)
	}
	// One outage and its recovery, or two short ones, are not flapping.
	for _, seq := range []string{"OCCCCO", "OCOCO", "CO"} {
		if states, _ := run(p, seq); states[len(states)-1].Flapping {
			t.Errorf("%s: flapping at %.1f %%", seq, states[len(states)-1].FlapPct)
		}
	}
}

// Host check on demand: a child whose parent is in a problem that is not
// decided yet (soft, or an OK older than the child's problem) does not go
// hard on its own; it waits for the parent's verdict.
func TestChildHeldWhileParentUndecided(t *testing.T) {
	at := func(i int) check.Result {
		return check.Result{Status: check.Critical, Time: t0.Add(time.Duration(i) * time.Minute)}
	}
	pending := Policy{Attempts: 2, ParentPending: true}
	var s State
	var tr *Transition
	s, _ = Next(s, check.Result{Status: check.OK, Time: t0}, pending)
	for i := 1; i <= 3; i++ {
		s, tr = Next(s, at(i), pending)
		if s.Type == Hard || (tr != nil && (tr.Hard || tr.Notify)) {
			t.Fatalf("result %d: went hard while the parent is undecided: %+v %+v", i, s, tr)
		}
	}
	if !s.Held(2) || s.Attempt != 2 {
		t.Fatalf("want held at the last attempt: %+v", s)
	}
	// The parent is down: hard, unreachable, not notified (attached to the
	// parent's incident).
	down, tr := Next(s, at(4), Policy{Attempts: 2, ParentDown: true})
	if down.Type != Hard || tr == nil || !tr.Hard || tr.Notify || !tr.Unreachable {
		t.Fatalf("parent down: %+v %+v", down, tr)
	}
	// The parent is up: the child's own problem, notified.
	up, tr := Next(s, at(4), Policy{Attempts: 2})
	if up.Type != Hard || up.Held(2) || tr == nil || !tr.Hard || !tr.Notify || tr.Unreachable {
		t.Fatalf("parent up: %+v %+v", up, tr)
	}
	// With attempts 1 the first failure is held too.
	one, tr := Next(State{}, at(0), Policy{Attempts: 1, ParentPending: true})
	if one.Type != Soft || !one.Held(1) || (tr != nil && tr.Notify) {
		t.Fatalf("attempts 1: %+v %+v", one, tr)
	}
	// A parent that never decides does not hold its child forever.
	late, tr := Next(s, at(30), Policy{Attempts: 2, ParentPending: true, MaxHold: 10 * time.Minute})
	if late.Type != Hard || tr == nil || !tr.Notify {
		t.Fatalf("hold past MaxHold: %+v %+v", late, tr)
	}
}

func TestKept(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)
	ok := func(i int) check.Result {
		return check.Result{Status: check.OK, Time: t0.Add(time.Duration(i) * time.Minute)}
	}
	p := Policy{Attempts: 3}
	var s State
	for i := 0; i < HistoryLen; i++ {
		prev := s
		s, _ = Next(s, ok(i), p)
		if Kept(prev, s) {
			t.Fatalf("result %d kept the state although the history changed (%q → %q)", i, prev.History, s.History)
		}
	}
	prev := s
	s, _ = Next(s, ok(HistoryLen), p)
	if !Kept(prev, s) || s.LastCheck.Equal(prev.LastCheck) {
		t.Fatalf("an OK after a full history of OKs: kept %v, last check %v → %v", Kept(prev, s), prev.LastCheck, s.LastCheck)
	}
	for _, change := range []func(*State){
		func(s *State) { s.Status = check.Warning },
		func(s *State) { s.Attempt++ },
		func(s *State) { s.LastHard = t0 },
		func(s *State) { s.Flapping = true },
		func(s *State) { s.FlapPct = 1 },
		func(s *State) { s.Unreachable = true },
		func(s *State) { s.ProblemAt = t0 },
	} {
		next := s
		change(&next)
		if Kept(s, next) {
			t.Fatalf("a change kept the state: %+v → %+v", s, next)
		}
	}
	if Kept(State{}, State{}) {
		t.Fatal("a pending check's first result kept the state")
	}
}
