// Package recovery is mamori's first response: per-check recovery policies
// (internal/recovery/policy) run by a Runner that watches check states and,
// when a problem has been hard long enough, runs the next step's action
// (internal/recovery/action and its type packages), re-checks, and puts the
// whole story on the incident's timeline and in the audit log
// (table recovery_actions).
//
// Safety: never on a recovery, for a soft state, for a flapping or
// unreachable check, or during maintenance; one action at a time per host;
// a budget per check and per host in a sliding window (the audit log is
// the record, so a restart does not reset it); dry runs record what would
// run. When the steps or the budget are exhausted the timeline says so and
// people take over.
package recovery

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/incident"
	"github.com/mamori/mamori/internal/recovery/action"
	"github.com/mamori/mamori/internal/recovery/policy"
	"github.com/mamori/mamori/internal/state"
	"github.com/mamori/mamori/internal/store"
)

// Rechecker runs a check again now (the engine): how the runner verifies
// an action.
type Rechecker interface {
	RunNow(name string) bool
}

// CheckStates tells a check's current state (the engine). The runner asks
// only for a check it has not heard of through events yet.
type CheckStates interface {
	CheckState(name string) (store.CheckState, bool)
}

// Maintenance tells whether a check is in a window (alerting.Service).
type Maintenance interface {
	InMaintenance(check string, at time.Time) bool
}

// Store is what the runner needs of the store: the audit log and the
// incident timeline its actions are written to.
type Store interface {
	// LoadActions closes the rows of actions a stopped server never
	// finished and returns the rows from since on, oldest first.
	LoadActions(ctx context.Context, since, now time.Time) ([]*incident.Action, error)
	// Write runs fn in one transaction.
	Write(ctx context.Context, fn func(tx incident.Tx) error) error
}

// Options configure a Runner.
type Options struct {
	// Config is the configuration in force (checks, hosts, policies).
	Config func() *config.Config
	Checks Rechecker
	States CheckStates
	Store  Store
	Maint  Maintenance  // nil: no windows
	Agent  action.Agent // nil: agent actions fail
	Log    *slog.Logger
	HTTP   *http.Client
	// Shared reaches actions as action.Env.Shared (cloud accounts).
	Shared check.Shared
	// Policy returns a check's policy (config.Check.Recovery); Global the
	// config's recovery section (config.Config.Recovery).
	Policy func(c *config.Check) *policy.Policy
	Global func(cfg *config.Config) policy.Global
	Now    func() time.Time
	Poll   time.Duration // how often due steps are looked for (default 1s)
}

// Runner runs recovery policies.
type Runner struct {
	o Options

	mu        sync.Mutex
	hist      []*Record            // the audit log of the last days, oldest first
	busyHost  map[string]string    // host key → check running an action
	busyCheck map[string]bool      // check → running
	hardSeen  map[string]hardMark  // check → when its current problem was first seen hard
	maintSeen map[string]time.Time // check → last seen in a maintenance window during its current problem
	lastWhy   map[string]string    // check → last decision logged (debug)
	loaded    bool

	vmu   sync.Mutex
	views map[string]view // check → state as the last event told
	kick  chan struct{}   // a state change: look now
}

// view is a check's state as the runner knows it from events.
type view struct {
	state.State
	Output string
}

type hardMark struct {
	key   string
	since time.Time
}

// Record is one row of the audit log.
type Record = incident.Action

// New builds a runner.
func New(o Options) *Runner {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.HTTP == nil {
		o.HTTP = &http.Client{Timeout: 5 * time.Minute}
	}
	if o.Global == nil {
		o.Global = func(*config.Config) policy.Global { return policy.DefaultGlobal() }
	}
	if o.Policy == nil {
		o.Policy = func(*config.Check) *policy.Policy { return nil }
	}
	return &Runner{o: o, busyHost: map[string]string{}, busyCheck: map[string]bool{}, hardSeen: map[string]hardMark{}, maintSeen: map[string]time.Time{}, lastWhy: map[string]string{},
		views: map[string]view{}, kick: make(chan struct{}, 1)}
}

// keep is how long the audit log stays in memory (for budgets and ActionsFor).
const keep = 7 * 24 * time.Hour

// Handle takes a check's new state from a Result or StateChange event
// (the runner is attached to the event bus: it must not block). A state
// change makes the runner look for due steps at once.
func (r *Runner) Handle(_ context.Context, e event.Event) error {
	r.vmu.Lock()
	r.views[e.Check] = view{State: e.State, Output: e.Result.Output}
	r.vmu.Unlock()
	if e.Kind == event.StateChange {
		select {
		case r.kick <- struct{}{}:
		default:
		}
	}
	return nil
}

// view returns a check's state: the last event's, or the engine's for a
// check no event has told of yet.
func (r *Runner) view(name string) (view, bool) {
	r.vmu.Lock()
	v, ok := r.views[name]
	r.vmu.Unlock()
	if ok || r.o.States == nil {
		return v, ok
	}
	cs, ok := r.o.States.CheckState(name)
	if !ok {
		return view{}, false
	}
	v = view{State: cs.State, Output: cs.Output}
	r.vmu.Lock()
	if cur, seen := r.views[name]; seen {
		v = cur // an event came in meanwhile: it is newer
	} else {
		r.views[name] = v
	}
	r.vmu.Unlock()
	return v, true
}

// Run looks for due steps until ctx ends: at once on a state change, and
// every Poll for steps whose time has come.
func (r *Runner) Run(ctx context.Context) {
	for ctx.Err() == nil {
		if err := r.Load(ctx); err == nil {
			break
		} else {
			r.o.Log.Error("recovery: audit log", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Second):
		}
	}
	t := time.NewTicker(r.o.Poll)
	defer t.Stop()
	for {
		r.Tick(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-r.kick:
		}
	}
}

// Tick looks at every check with a policy once and starts what is due.
func (r *Runner) Tick(ctx context.Context) {
	cfg := r.o.Config()
	g := r.o.Global(cfg)
	for _, c := range cfg.Checks {
		p := r.o.Policy(c)
		if p == nil || len(p.Steps) == 0 {
			continue
		}
		in, view, ok := r.input(cfg, c, p, g, false)
		if !ok {
			continue
		}
		d := Decide(in)
		r.mu.Lock()
		if r.lastWhy[c.Name] != d.Reason {
			r.lastWhy[c.Name] = d.Reason
			r.o.Log.Debug("recovery", "check", c.Name, "decision", d.Reason, "run", d.Run)
		}
		r.mu.Unlock()
		switch {
		case d.Exhaust:
			if err := r.exhaust(ctx, c, view, in, d.Exhausted); err != nil {
				r.o.Log.Error("recovery: record", "check", c.Name, "err", err)
			}
		case d.Run:
			if !r.claim(c) {
				continue
			}
			go func() {
				defer r.release(c)
				if _, err := r.execute(ctx, cfg, c, p, g, view, in, d, "mamori", false); err != nil && ctx.Err() == nil {
					r.o.Log.Error("recovery: action", "check", c.Name, "err", err)
				}
			}()
		}
	}
}

func hostKey(c *config.Check) string {
	if c.Host != "" {
		return c.Host
	}
	return "check:" + c.Name
}

func (r *Runner) claim(c *config.Check) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.busyCheck[c.Name] || r.busyHost[hostKey(c)] != "" {
		return false
	}
	r.busyCheck[c.Name] = true
	r.busyHost[hostKey(c)] = c.Name
	return true
}

func (r *Runner) release(c *config.Check) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.busyCheck, c.Name)
	if r.busyHost[hostKey(c)] == c.Name {
		delete(r.busyHost, hostKey(c))
	}
}

// problemKey names a check's current problem: its first failing result.
func problemKey(st state.State) string {
	t := st.ProblemAt
	if t.IsZero() {
		t = st.LastHard
	}
	return fmt.Sprint(t.UnixMilli())
}

func (r *Runner) input(cfg *config.Config, c *config.Check, p *policy.Policy, g policy.Global, manual bool) (Input, view, bool) {
	v, ok := r.view(c.Name)
	if !ok {
		return Input{}, v, false
	}
	now := r.o.Now()
	in := Input{Now: now, Manual: manual, Enabled: g.Enabled, Policy: p, State: v.State, Host: c.Host,
		CheckBudget: p.CheckBudget(g), HostBudget: g.HostBudget}
	if in.Host == "" {
		in.Host = hostKey(c)
	}
	if r.o.Maint != nil {
		in.InMaint = r.o.Maint.InMaintenance(c.Name, now)
	}
	key := problemKey(v.State)
	r.mu.Lock()
	defer r.mu.Unlock()
	in.CheckBusy = r.busyCheck[c.Name]
	if b := r.busyHost[hostKey(c)]; b != "" && b != c.Name {
		in.HostBusy = b
	}
	// When the problem became hard: the state's last hard change, or the
	// first time this runner saw it hard if that is earlier (a hard
	// WARNING → CRITICAL change does not restart the clock).
	if v.Type == state.Hard && v.Status.Problem() {
		m, ok := r.hardSeen[c.Name]
		if !ok || m.key != key {
			m = hardMark{key: key, since: v.LastHard}
			if m.since.IsZero() {
				m.since = now
			}
			r.hardSeen[c.Name] = m
		}
		in.HardSince = m.since
		if !v.LastHard.IsZero() && v.LastHard.Before(in.HardSince) {
			in.HardSince = v.LastHard
		}
		r.maintClock(c.Name, &in)
	} else {
		delete(r.hardSeen, c.Name)
		delete(r.maintSeen, c.Name)
	}
	for _, rec := range r.hist {
		if rec.Check == c.Name && rec.Problem == key {
			switch rec.Kind {
			case "action":
				in.Done++
			case "exhausted":
				in.Exhausted = true
			}
		}
		if rec.Kind != "action" || !rec.Counted {
			continue
		}
		if rec.Check == c.Name && now.Sub(rec.Time) < in.CheckBudget.Per {
			in.CheckUsed++
		}
		if rec.Host == c.Host && c.Host != "" && now.Sub(rec.Time) < in.HostBudget.Per {
			in.HostUsed++
		}
	}
	return in, v, true
}

// Outcome is what a run did.
type Outcome struct {
	Check       string `json:"check"`
	Step        int    `json:"step"` // 1-based
	Action      string `json:"action"`
	Description string `json:"description"`
	DryRun      bool   `json:"dry_run"`
	Refused     bool   `json:"refused"`
	ExitCode    int    `json:"exit_code"`
	Output      string `json:"output,omitempty"`
	Error       string `json:"error,omitempty"`
	Verified    string `json:"verified,omitempty"` // ok, failed, skipped
	VerifyText  string `json:"verify_text,omitempty"`
	IncidentID  int64  `json:"incident_id,omitempty"`
}

// ErrNotAllowed wraps the reason a run was refused by the safety rules.
var ErrNotAllowed = errors.New("recovery not allowed")

// ErrNoPolicy is returned for a check without a recovery policy.
var ErrNoPolicy = errors.New("no recovery policy")

// RunManual runs a check's next policy step now (the last one again if all
// ran), on an operator's request: the same safety rules apply except the
// step's `after`. It returns after the verification.
func (r *Runner) RunManual(ctx context.Context, checkName, who string, dryRun bool) (Outcome, error) {
	cfg := r.o.Config()
	c := cfg.Check(checkName)
	if c == nil {
		return Outcome{}, fmt.Errorf("no check %q", checkName)
	}
	p := r.o.Policy(c)
	if p == nil || len(p.Steps) == 0 {
		return Outcome{}, fmt.Errorf("%w for %s", ErrNoPolicy, checkName)
	}
	if err := r.Load(ctx); err != nil {
		return Outcome{}, err
	}
	g := r.o.Global(cfg)
	in, view, ok := r.input(cfg, c, p, g, true)
	if !ok {
		return Outcome{}, fmt.Errorf("no check %q in the engine", checkName)
	}
	d := Decide(in)
	if !d.Run {
		return Outcome{}, fmt.Errorf("%w: %s", ErrNotAllowed, d.Reason)
	}
	if !r.claim(c) {
		return Outcome{}, fmt.Errorf("%w: an action is already running on %s", ErrNotAllowed, in.Host)
	}
	defer r.release(c)
	if who == "" {
		who = "operator"
	}
	return r.execute(ctx, cfg, c, p, g, view, in, d, who, dryRun)
}

// execute runs one step, verifies, and records everything.
func (r *Runner) execute(ctx context.Context, cfg *config.Config, c *config.Check, p *policy.Policy, g policy.Global, v view, in Input, d Decision, who string, dryRun bool) (Outcome, error) {
	s := p.Steps[d.Step]
	env := action.Env{Agent: r.o.Agent, HTTP: r.o.HTTP, Log: r.o.Log, Now: r.o.Now, Shared: r.o.Shared}
	t := action.Target{Check: c.Name, Host: c.Host, Port: policy.PortOf(c.Spec), Service: s.Service, State: v.Status.String(),
		Output: v.Output, Timeout: s.Timeout, DryRun: dryRun || s.DryRun || p.DryRun || g.DryRun}
	if h := cfg.Host(c.Host); h != nil {
		t.Address = h.Address
	}
	if t.Service == "" {
		t.Service = policy.ServiceForPort(t.Port)
	}
	trigger := "automatic: " + d.Reason
	if who != "mamori" {
		trigger = "manual"
	}
	rec := &Record{Kind: "action", Time: r.o.Now(), Check: c.Name, Host: c.Host, Problem: problemKey(v.State), Step: d.Step + 1,
		Action: s.Action, Service: t.Service, Trigger: trigger, Who: who, DryRun: t.DryRun}
	act, err := s.Spec.New(env)
	if err != nil {
		rec.What, rec.Error, rec.ExitCode = s.Action, "cannot build the action: "+err.Error(), -1
	} else {
		rec.What = act.Describe(t)
	}
	rec.Counted = !rec.DryRun
	if err := r.insert(ctx, rec, startLine(rec, len(p.Steps), trigger, d.Reason)); err != nil {
		return Outcome{}, err
	}
	t.Incident = rec.Incident
	r.o.Log.Info("recovery action", "check", c.Name, "step", rec.Step, "what", rec.What, "dry_run", rec.DryRun, "who", who)

	if act != nil {
		res := act.Run(ctx, t)
		rec.ExitCode, rec.Output, rec.Error, rec.Refused = res.ExitCode, res.Output, res.Error, res.Refused
		if res.Refused {
			rec.Counted = false
		}
	}
	end := r.o.Now()
	rec.FinishedAt = &end
	switch {
	case rec.Refused:
		rec.Verified, rec.VerifyText = "skipped", "refused: not in the agent's allowlist"
	case rec.DryRun:
		rec.Verified, rec.VerifyText = "skipped", "dry run: nothing ran"
	case act == nil:
		rec.Verified, rec.VerifyText = "skipped", "the action could not be built"
	default:
		r.update(ctx, rec, incident.Timeline{}, false) // exit code known: ActionsFor can say it while we verify
		ok, text := r.verify(ctx, c.Name, end, s.VerifyWithin)
		rec.Verified, rec.VerifyText = "failed", text
		if ok {
			rec.Verified = "ok"
		}
	}
	if err := r.update(ctx, rec, finishLine(rec), true); err != nil {
		return Outcome{}, err
	}
	return Outcome{Check: c.Name, Step: rec.Step, Action: rec.Action, Description: rec.What, DryRun: rec.DryRun, Refused: rec.Refused,
		ExitCode: rec.ExitCode, Output: rec.Output, Error: rec.Error, Verified: rec.Verified, VerifyText: rec.VerifyText, IncidentID: rec.Incident}, nil
}

// verify re-runs the check and waits for an OK result after the action.
func (r *Runner) verify(ctx context.Context, name string, after time.Time, within time.Duration) (bool, string) {
	deadline := r.o.Now().Add(within)
	ask := max(within/5, 2*time.Second)
	nextAsk := time.Time{}
	var last view
	for {
		now := r.o.Now()
		if !now.Before(nextAsk) {
			r.o.Checks.RunNow(name)
			nextAsk = now.Add(ask)
		}
		if v, ok := r.view(name); ok && v.LastCheck.After(after) {
			last = v
			if v.Status == check.OK {
				return true, fmt.Sprintf("%s OK %s after the action: %s", name, v.LastCheck.Sub(after).Round(100*time.Millisecond), tail(v.Output, 200))
			}
		}
		if !now.Before(deadline) {
			if last.LastCheck.IsZero() {
				return false, fmt.Sprintf("no new result within %s", within)
			}
			return false, fmt.Sprintf("still %s %s after the action: %s", last.Status, within, tail(last.Output, 200))
		}
		select {
		case <-ctx.Done():
			return false, "interrupted: " + ctx.Err().Error()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// maintClock starts a problem's recovery clock at the end of the
// maintenance window that covered it: time inside a window does not count.
// A problem that became hard inside a window this runner did not see end
// (a restart) counts from now. Until the window's problem is alerted (its
// incident is open) no step runs: people are told first. r.mu is held.
func (r *Runner) maintClock(name string, in *Input) {
	now := in.Now
	if in.InMaint {
		r.maintSeen[name] = now
		return
	}
	seen, ok := r.maintSeen[name]
	if !ok && r.o.Maint != nil && r.o.Maint.InMaintenance(name, in.HardSince) {
		seen, ok = now, true
		r.maintSeen[name] = now
	}
	if !ok {
		return
	}
	if seen.After(in.HardSince) {
		in.HardSince = seen
	}
	in.AwaitNotice = !r.incidentOpen(name)
}

// incidentOpen reports whether the check has an open incident.
func (r *Runner) incidentOpen(name string) bool {
	open := false
	err := r.o.Store.Write(context.Background(), func(tx incident.Tx) error {
		in, err := tx.OpenIncident(context.Background(), name)
		open = in != nil
		return err
	})
	return err == nil && open
}

// exhaust records, once per problem, that recovery gives up.
func (r *Runner) exhaust(ctx context.Context, c *config.Check, v view, in Input, why string) error {
	rec := &Record{Kind: "exhausted", Time: r.o.Now(), Check: c.Name, Host: c.Host, Problem: problemKey(v.State), Step: in.Done,
		What: "recovery exhausted", Trigger: why, Who: "mamori", Verified: "skipped"}
	now := rec.Time
	rec.FinishedAt = &now
	r.o.Log.Warn("recovery exhausted: escalating to people", "check", c.Name, "why", why)
	return r.insert(ctx, rec, incident.Line(now, "action", "action.exhausted", "recovery exhausted: escalating to people ("+why+")", incident.Str(why)))
}

func marshal(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}
