package recovery

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/mamori/mamori/internal/notify"
	_ "github.com/mamori/mamori/internal/recovery/all" // the action types the policies name

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/incident"
	"github.com/mamori/mamori/internal/recovery/policy"
	"github.com/mamori/mamori/internal/state"
	"github.com/mamori/mamori/internal/store"
	"github.com/mamori/mamori/internal/store/sqlite"
	"github.com/mamori/mamori/internal/wire"
)

// fakeEngine holds check states and publishes each change to its bus, as
// the engine does after a commit.
type fakeEngine struct {
	mu     sync.Mutex
	cfg    *config.Config
	bus    *event.Bus
	views  map[string]store.CheckState
	reruns int
	onRun  func(name string) // what a re-check finds
}

func (f *fakeEngine) Config() *config.Config { return f.cfg }
func (f *fakeEngine) CheckState(name string) (store.CheckState, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.views[name]
	return v, ok
}
func (f *fakeEngine) RunNow(name string) bool {
	f.mu.Lock()
	f.reruns++
	on := f.onRun
	f.mu.Unlock()
	if on != nil {
		on(name)
	}
	return true
}
func (f *fakeEngine) set(name string, st state.State) {
	f.mu.Lock()
	v := f.views[name]
	v.Name, v.State = name, st
	f.views[name] = v
	f.mu.Unlock()
	f.bus.Publish(event.Event{Kind: event.Result, Check: name, State: st, Result: check.Result{Output: v.Output}})
}

type fakeAgent struct {
	mu    sync.Mutex
	allow map[string]bool
	got   []wire.Request
	after func(req wire.Request)
}

func (a *fakeAgent) Send(ctx context.Context, host string, req wire.Request) (wire.Response, error) {
	a.mu.Lock()
	a.got = append(a.got, req)
	a.mu.Unlock()
	if !a.allow[req.Action] {
		return wire.Response{ID: req.ID, ExitCode: -1, Refused: true, Error: "not in this agent's local allowlist"}, nil
	}
	if req.DryRun {
		return wire.Response{ID: req.ID, Output: "dry run: would run it"}, nil
	}
	if a.after != nil {
		a.after(req)
	}
	return wire.Response{ID: req.ID, Output: "restarted"}, nil
}
func (a *fakeAgent) Seen(string) (time.Time, bool) { return time.Now(), true }
func (a *fakeAgent) Hello(string) time.Time        { return time.Time{} }

type fakeMaint struct{ on bool }

func (m *fakeMaint) InMaintenance(string, time.Time) bool { return m.on }

func mustPolicy(t *testing.T, src string) *policy.Policy {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	p, issues := policy.Decode(doc.Content[0], nil)
	if len(issues) > 0 {
		t.Fatal(issues)
	}
	return p
}

type rig struct {
	st    *sqlite.Store
	eng   *fakeEngine
	agent *fakeAgent
	maint *fakeMaint
	pol   *policy.Policy
	glob  policy.Global
	in    *incident.Incident
}

func newRig(t *testing.T, pol string) *rig {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := &config.Check{Name: "web01/web", ShortName: "web", Host: "web01", Type: "http"}
	cfg := &config.Config{Hosts: []*config.Host{{Name: "web01", Address: "127.0.0.1", Agent: true}}, Checks: []*config.Check{c}}
	r := &rig{st: st, eng: &fakeEngine{cfg: cfg, bus: event.NewBus(), views: map[string]store.CheckState{}}, agent: &fakeAgent{allow: map[string]bool{"restart_web": true}},
		maint: &fakeMaint{}, pol: mustPolicy(t, pol), glob: policy.DefaultGlobal()}
	now := time.Now()
	r.in = &incident.Incident{Check: c.Name, Host: "web01", Scope: "check", Status: incident.Open, State: check.Critical, OpenedAt: now, DetectedAt: now, EscLevel: -1, Attached: []string{}}
	if err := st.Write(ctx, func(tx incident.Tx) error { return tx.CreateIncident(ctx, r.in) }); err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) runner() *Runner {
	run := New(Options{Config: r.eng.Config, Checks: r.eng, States: r.eng, Store: r.st, Maint: r.maint, Agent: r.agent, Poll: 50 * time.Millisecond,
		Policy: func(*config.Check) *policy.Policy { return r.pol }, Global: func(*config.Config) policy.Global { return r.glob }})
	r.eng.bus.Attach(event.Result|event.StateChange, run)
	return run
}

func hardCritical(since time.Time) state.State {
	return state.State{Status: check.Critical, Type: state.Hard, Attempt: 2, LastCheck: time.Now(), LastHard: since, ProblemAt: since}
}

func (r *rig) timeline(t *testing.T) string {
	in, err := r.st.Incident(context.Background(), r.in.ID)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range in.Timeline {
		b.WriteString("[" + e.Kind + "/" + e.Actor + "] " + e.Text + "\n")
	}
	return b.String()
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not reached within %s: %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestRunnerRestartVerifiedAndRecorded(t *testing.T) {
	r := newRig(t, `[{after: 1s, action: command, command: restart_web, verify_within: 5s}]`)
	since := time.Now().Add(-2 * time.Second)
	r.eng.set("web01/web", hardCritical(since))
	r.agent.after = func(wire.Request) {
		r.eng.set("web01/web", state.State{Status: check.OK, Type: state.Hard, LastCheck: time.Now().Add(time.Second)})
	}
	run := r.runner()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go run.Run(ctx)
	waitUntil(t, 5*time.Second, "verified", func() bool { return strings.Contains(r.timeline(t), "verification: OK") })
	tl := r.timeline(t)
	for _, want := range []string{"[action/mamori] recovery step 1/1: agent action restart_web on web01 (automatic: CRITICAL hard for", "exit code 0; output: restarted; verification: OK"} {
		if !strings.Contains(tl, want) {
			t.Errorf("timeline lacks %q:\n%s", want, tl)
		}
	}
	// The lines carry their messages for readers in other languages, and
	// the action's record beside them.
	in, err := r.st.Incident(context.Background(), r.in.ID)
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, e := range in.Timeline {
		if m, ok := e.Message(); ok && e.Kind == "action" {
			keys = append(keys, m.Key)
			if !strings.Contains(string(e.Data), `"what":"agent action restart_web on web01"`) {
				t.Errorf("action line without its record: %s", e.Data)
			}
		}
	}
	if strings.Join(keys, ",") != "action.start.auto,action.finished" {
		t.Errorf("action line messages %q, want the start and the finish", keys)
	}
	acts := run.ActionNotesFor(r.in.ID)
	if len(acts) != 1 || acts[0].Action != "command" || acts[0].What != "restart_web" || !acts[0].Auto || acts[0].Exit != 0 || acts[0].Outcome != notify.ActionRecovered {
		t.Errorf("ActionNotesFor: %+v", acts)
	}
	if h := run.History("web01/web", 0); len(h) != 1 || h[0].Verified != "ok" || !h[0].Counted {
		t.Errorf("history %+v", h)
	}
}

func TestRunnerRefusedDryRunBudgetPersisted(t *testing.T) {
	r := newRig(t, `
budget: {max: 1, per: 1h}
steps:
  - {after: 0s, action: command, command: not_allowed}
  - {after: 0s, action: command, command: restart_web, verify_within: 1s}
  - {after: 0s, action: command, command: restart_web, verify_within: 1s}
`)
	since := time.Now().Add(-time.Minute)
	r.eng.set("web01/web", hardCritical(since))
	ctx := context.Background()
	run := r.runner()
	if err := run.Load(ctx); err != nil {
		t.Fatal(err)
	}
	// Step 1 is refused by the agent: recorded, not counted.
	out, err := run.RunManual(ctx, "web01/web", "taro", false)
	if err != nil || !out.Refused || out.Step != 1 {
		t.Fatalf("%+v %v", out, err)
	}
	// Step 2 runs (and does not help): the budget of 1 is spent.
	out, err = run.RunManual(ctx, "web01/web", "taro", false)
	if err != nil || out.Refused || out.Verified != "failed" || out.Step != 2 {
		t.Fatalf("%+v %v", out, err)
	}
	// A new runner on the same store (a server restart) still knows the budget.
	run2 := r.runner()
	ctx2, cancel := context.WithCancel(ctx)
	defer cancel()
	go run2.Run(ctx2)
	waitUntil(t, 5*time.Second, "exhausted", func() bool { return strings.Contains(r.timeline(t), "recovery exhausted: escalating to people") })
	// Exhaustion makes the escalation due now (issue 14 #8): alerting
	// notifies the policy at once instead of waiting for its next level.
	if in, err := r.st.Incident(ctx, r.in.ID); err != nil || in.EscNextAt == nil || time.Since(*in.EscNextAt) > time.Minute {
		t.Errorf("exhausted: escalation not due now: %+v %v", in, err)
	}
	tl := r.timeline(t)
	if !strings.Contains(tl, "refused by the agent") || !strings.Contains(tl, "budget: 1 actions for this check") || strings.Contains(tl, "step 3/3") {
		t.Errorf("timeline:\n%s", tl)
	}
	if _, err := run2.RunManual(ctx, "web01/web", "taro", false); err == nil || !strings.Contains(err.Error(), "budget") {
		t.Errorf("manual run past the budget: %v", err)
	}
	// Dry run: the agent is asked for a dry run only; nothing counted.
	r2 := newRig(t, `{dry_run: true, steps: [{after: 0s, action: command, command: restart_web}]}`)
	r2.eng.set("web01/web", hardCritical(since))
	run3 := r2.runner()
	run3.Load(ctx)
	out, err = run3.RunManual(ctx, "web01/web", "", false)
	if err != nil || !out.DryRun || out.Verified != "skipped" {
		t.Fatalf("%+v %v", out, err)
	}
	if len(r2.agent.got) != 1 || !r2.agent.got[0].DryRun {
		t.Errorf("agent requests %+v", r2.agent.got)
	}
	if h := run3.History("", 0); len(h) != 1 || h[0].Counted || !h[0].DryRun {
		t.Errorf("%+v", h)
	}
	if r2.eng.reruns != 0 {
		t.Error("a dry run re-checked")
	}
}

func TestRunnerNoActionWhenUnsafe(t *testing.T) {
	r := newRig(t, `[{after: 0s, action: command, command: restart_web}]`)
	since := time.Now().Add(-time.Hour)
	run := r.runner()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	run.Load(ctx)
	for name, st := range map[string]state.State{
		"soft":        {Status: check.Critical, Type: state.Soft, Attempt: 1, LastCheck: time.Now(), ProblemAt: since},
		"flapping":    func() state.State { s := hardCritical(since); s.Flapping = true; return s }(),
		"recovered":   {Status: check.OK, Type: state.Hard, LastCheck: time.Now()},
		"unreachable": func() state.State { s := hardCritical(since); s.Unreachable = true; return s }(),
	} {
		r.eng.set("web01/web", st)
		run.Tick(ctx)
		time.Sleep(50 * time.Millisecond)
		if len(r.agent.got) != 0 {
			t.Fatalf("%s: an action ran", name)
		}
	}
	r.maint.on = true
	r.eng.set("web01/web", hardCritical(since))
	run.Tick(ctx)
	time.Sleep(50 * time.Millisecond)
	if len(r.agent.got) != 0 {
		t.Fatal("maintenance: an action ran")
	}
	if _, err := run.RunManual(ctx, "web01/web", "taro", false); err == nil || !strings.Contains(err.Error(), "maintenance") {
		t.Errorf("manual run in maintenance: %v", err)
	}
}
