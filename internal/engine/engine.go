// Package engine is the pipeline: it schedules every configured check, runs
// it, passes the result through the state machine, commits result, state
// and state change in one transaction, and only then shows the new state
// (API, SSE, metrics) and publishes the change to consumers.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/engine/spec"
	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/schedule"
	"github.com/mamori/mamori/internal/state"
	"github.com/mamori/mamori/internal/store"
)

// Spec is one check as the engine runs it; Plan is everything it runs.
// The server assembly builds them from the configuration.
type (
	Spec = spec.Check
	Plan = spec.Plan
)

// Engine runs the checks of a plan.
type Engine struct {
	log     *slog.Logger
	store   store.Store
	sched   *schedule.Scheduler
	pub     event.Publisher
	Metrics *Metrics

	mu     sync.RWMutex
	plan   Plan
	checks map[string]*entry

	writes   chan *pending
	passive  check.Passive
	shared   check.Shared
	heldMu   sync.Mutex
	held     map[string][]string // checks held for their parents → those parents
	registry *prometheus.Registry
	remote   Remote

	following atomic.Bool    // a follower of the database's leader (see leader.go)
	leadWG    sync.WaitGroup // Lead calls running
	term      atomic.Pointer[term]
}

// Remote hands the due run of a zone's check to that zone's pollers; their
// results come back through RecordFrom.
type Remote interface {
	Dispatch(ctx context.Context, c *Spec, due time.Time) error
}

// WithRemote makes the engine hand the runs of checks with a zone to r
// instead of running them.
func WithRemote(r Remote) Option { return func(e *Engine) { e.remote = r } }

type entry struct {
	cfg     *Spec
	checker check.Checker

	mu  sync.Mutex // held by Record from reading cur to showing the committed result
	vmu sync.Mutex // guards cur for readers: they never wait for a commit
	cur store.CheckState
}

type pending struct {
	w    store.Write
	done chan commitResult
}

type commitResult struct {
	eventID int64
	err     error
}

// smallSetup is the number of checks up to which never-run checks get a
// first run within 30 s; larger setups spread first runs over the interval.
const smallSetup = 1000

// View is what the API shows of a check.
type View struct {
	Name      string
	Host      string
	Tenant    string
	CheckType string
	Tags      []string
	Parents   []string
	Interval  time.Duration
	Next      time.Time
	Zone      string // run by this zone's pollers ("": the server)
	store.CheckState
}

// Option configures an engine.
type Option func(*Engine)

// WithPassive gives checkers the server's record of agent and job reports.
func WithPassive(p check.Passive) Option { return func(e *Engine) { e.passive = p } }

// WithShared hands check types what the process shares across checks
// (check.Env.Shared: cloud accounts, batched API clients).
func WithShared(s check.Shared) Option { return func(e *Engine) { e.shared = s } }

// WithRegistry makes the engine register its metrics on reg (shared with
// the rest of the server) instead of a registry of its own.
func WithRegistry(reg *prometheus.Registry) Option { return func(e *Engine) { e.registry = reg } }

// WithEvents makes the engine publish every committed result and state
// change to p (the event bus). Publish must not block.
func WithEvents(p event.Publisher) Option { return func(e *Engine) { e.pub = p } }

type discard struct{}

func (discard) Publish(event.Event) {}

// New builds an engine on a plan and the store's persisted states. It does
// not start anything; call Run.
func New(ctx context.Context, plan Plan, st store.Store, log *slog.Logger, opts ...Option) (*Engine, error) {
	e := &Engine{log: log, store: st, pub: discard{}, checks: map[string]*entry{}, writes: make(chan *pending, 4096)}
	for _, o := range opts {
		o(e)
	}
	e.sched = schedule.New(e.runCheck, plan.MaxConcurrent)
	e.Metrics = newMetrics(e)
	e.sched.Lag = func(d time.Duration) {
		e.Metrics.lag.Observe(d.Seconds())
		e.Metrics.lastLagSecond.Set(d.Seconds())
	}
	saved, err := st.LoadStates(ctx)
	if err != nil {
		return nil, err
	}
	if err := e.apply(plan, saved); err != nil {
		return nil, err
	}
	return e, nil
}

// Reload applies a new plan: checks that keep their name keep their state;
// new ones are scheduled; removed ones stop. If any checker cannot be
// built, nothing changes and the error says why. (MaxConcurrent takes
// effect at the next start.)
func (e *Engine) Reload(plan Plan) error {
	err := e.apply(plan, nil)
	outcome := "ok"
	if err != nil {
		outcome = "refused"
	}
	e.Metrics.reloads.WithLabelValues(outcome).Inc()
	return err
}

func (e *Engine) apply(plan Plan, saved map[string]store.CheckState) error {
	env := check.Env{Logger: e.log, Passive: e.passive, Shared: e.shared}
	built := map[string]check.Checker{}
	var errs []error
	e.mu.RLock()
	for _, c := range plan.Checks {
		if old, ok := e.checks[c.Name]; ok && old.cfg.Digest == c.Digest {
			built[c.Name] = old.checker
			continue
		}
		ck, err := c.Params.New(env)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: check %q: %w", c.File, c.Line, c.Name, err))
			continue
		}
		built[c.Name] = ck
	}
	e.mu.RUnlock()
	if len(errs) > 0 {
		return errors.Join(errs...)
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	now := time.Now()
	next := make(map[string]*entry, len(plan.Checks))
	for _, c := range plan.Checks {
		old, existed := e.checks[c.Name]
		en := &entry{cfg: c, checker: built[c.Name]}
		switch {
		case existed:
			en.cur = old.snapshot()
		case saved != nil:
			if cs, ok := saved[c.Name]; ok {
				en.cur = cs
			}
		}
		en.cur.Name = c.Name
		next[c.Name] = en
		if c.Disabled || c.OnAgent {
			// Agent-side checks run on the host's agent; their results
			// arrive through Record.
			e.sched.Remove(c.Name)
			continue
		}
		var first time.Time
		if !existed && en.cur.Pending() && len(plan.Checks) <= smallSetup {
			// Never run: in a small setup, show a first result within
			// seconds instead of up to a whole interval (still spread).
			first = now.Add(schedule.Phase(c.Name, min(c.Interval, 30*time.Second)))
		}
		if !existed && en.cur.Type == state.Soft && en.cur.Status.Problem() {
			// A problem that was being confirmed when we stopped: carry on
			// confirming it instead of waiting a whole interval.
			first = en.cur.LastCheck.Add(c.RetryInterval)
			if first.Before(now) {
				first = now.Add(schedule.Phase(c.Name, min(c.RetryInterval, 30*time.Second)))
			}
		}
		e.sched.Add(c.Name, schedule.Timing{Interval: c.Interval, Retry: c.RetryInterval}, first)
	}
	for name := range e.checks {
		if _, keep := next[name]; !keep {
			e.sched.Remove(name)
			if e.following.Load() {
				continue // the leader owns the stored states; its reload forgets them
			}
			if err := e.store.Forget(e.termCtx(), name); err != nil {
				e.log.Warn("forget removed check", "check", name, "err", err)
			}
		}
	}
	e.checks, e.plan = next, plan
	return nil
}

func (en *entry) snapshot() store.CheckState {
	en.vmu.Lock()
	defer en.vmu.Unlock()
	return en.cur
}

// Run starts the writer, the scheduler and housekeeping, until ctx ends.
// Results already taken are committed before Run returns.
func (e *Engine) Run(ctx context.Context) {
	writerDone := make(chan struct{})
	go func() { e.writer(); close(writerDone) }()
	go e.housekeeping(ctx)
	e.sched.Run(ctx) // returns after running checks finished
	close(e.writes)
	<-writerDone
}

// runCheck is the scheduler's job: run, advance the state, commit, show.
func (e *Engine) runCheck(ctx context.Context, name string) (soft bool) {
	e.mu.RLock()
	en, ok := e.checks[name]
	e.mu.RUnlock()
	if !ok {
		return false
	}
	c := en.cfg
	if c.Zone != "" && e.remote != nil {
		// The zone's pollers run it; the result arrives through RecordFrom.
		if err := e.remote.Dispatch(ctx, c, time.Now()); err != nil && ctx.Err() == nil {
			e.log.Warn("hand check to its zone", "check", name, "zone", c.Zone, "err", err)
		}
		cur := en.snapshot()
		return cur.Type == state.Soft && cur.Status.Problem()
	}
	r := check.Run(ctx, c.Kind, en.checker, c.Timeout)
	if ctx.Err() != nil {
		return false // shutting down: a cancelled run is not a verdict
	}
	if d, ok := en.checker.(check.Deadliner); ok {
		e.sched.Due(name, d.NextDeadline(time.Now()))
	}
	if w, ok := en.checker.(interface{ Waiting() bool }); ok && r.Status == check.Unknown && en.snapshot().Pending() && w.Waiting() {
		return false // a passive check waiting for its first report stays pending
	}
	e.Metrics.runs.WithLabelValues(c.Type, r.Status.String()).Inc()
	e.Metrics.duration.WithLabelValues(c.Type).Observe(r.Duration.Seconds())
	_, err := e.Record(ctx, name, r)
	if err != nil {
		return true // not committed: retry soon
	}
	cur := en.snapshot()
	return cur.Type == state.Soft && cur.Status.Problem()
}

// Record advances a check's state with a result (from a run, or pushed by
// an agent or job), commits it, and publishes the change. It returns the
// transition, if any.
func (e *Engine) Record(ctx context.Context, name string, r check.Result) (*state.Transition, error) {
	return e.RecordFrom(ctx, name, r, "")
}

// RecordFrom is Record for a result run by a zone's poller (poller names
// it; "" is the server). A result older than the check's last one (a
// buffered result delivered late) is kept in the history only: it does not
// move the state, which newer results already decided.
func (e *Engine) RecordFrom(ctx context.Context, name string, r check.Result, poller string) (*state.Transition, error) {
	if e.following.Load() {
		return nil, ErrFollower
	}
	e.mu.RLock()
	en, ok := e.checks[name]
	e.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("no check %q", name)
	}
	c := en.cfg
	// Show only what the store can give back after a restart.
	r.Time = r.Time.UTC().Truncate(time.Millisecond)
	since := en.snapshot().ProblemAt
	if since.IsZero() {
		since = r.Time
	}
	pv := e.parents(c, since)
	pol := state.Policy{Attempts: c.Attempts, FlapLow: c.FlapLow, FlapHigh: c.FlapHigh,
		ParentDown: pv.down, ParentPending: len(pv.pending) > 0, MaxHold: pv.maxHold}
	en.mu.Lock()
	defer en.mu.Unlock()
	prev := en.cur.State
	if late := !prev.LastCheck.IsZero() && r.Time.Before(prev.LastCheck); late {
		return nil, e.commit(ctx, store.Write{Check: name, Result: r, State: prev, Poller: poller, Late: true})
	}
	next, tr := state.Next(prev, r, pol)
	kept := tr == nil && poller == en.cur.Poller && state.Kept(prev, next)
	p := &pending{w: store.Write{Check: name, Result: r, State: next, Transition: tr, Poller: poller, Kept: kept}, done: make(chan commitResult, 1)}
	select {
	case e.writes <- p:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	res := <-p.done
	if res.err != nil {
		return nil, res.err
	}
	en.vmu.Lock()
	en.cur = store.CheckState{Name: name, State: next, Output: r.Output, Perf: r.Perf, Duration: r.Duration, Poller: poller}
	en.vmu.Unlock()
	e.onDemand(name, c, prev, next, pv)
	ev := event.Event{Kind: event.Result, Check: name, Host: c.Host, Tenant: c.Tenant, State: next, Result: r}
	e.pub.Publish(ev)
	if tr != nil {
		kind := "soft"
		if tr.Hard {
			kind = "hard"
		}
		e.Metrics.stateChanges.WithLabelValues(kind).Inc()
		ev.Kind, ev.ID, ev.Transition = event.StateChange, res.eventID, *tr
		e.pub.Publish(ev)
		lvl := slog.LevelDebug
		if tr.Hard {
			lvl = slog.LevelInfo
		}
		e.log.Log(ctx, lvl, "state change", "check", name, "from", tr.From, "to", tr.To, "type", tr.ToType, "attempt", tr.Attempt, "notify", tr.Notify, "output", r.Output)
	}
	return tr, nil
}

// commit hands one write to the writer and waits for its commit.
func (e *Engine) commit(ctx context.Context, w store.Write) error {
	p := &pending{w: w, done: make(chan commitResult, 1)}
	select {
	case e.writes <- p:
	case <-ctx.Done():
		return ctx.Err()
	}
	e.Metrics.lateResults.Inc()
	return (<-p.done).err
}

// writer commits results in batches: one transaction for everything that
// arrived while the previous commit ran.
func (e *Engine) writer() {
	ctx := context.Background()
	const maxBatch = 512
	batch := make([]*pending, 0, maxBatch)
	ws := make([]store.Write, 0, maxBatch)
	// Results that arrive within a short window share one transaction:
	// under load, one commit carries tens of rows instead of a few. At
	// 2,000 results/s, 2 ms gave 8.6 rows per commit and 10 ms 26; a row
	// costs SQLite 31 µs in batches of 8 and 21 µs in batches of 32
	// (BenchmarkCommitSizes). A result waits at most this long more
	// before it is stored and shown.
	const linger = 10 * time.Millisecond
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	for p := range e.writes {
		batch = append(batch[:0], p)
		timer.Reset(linger)
	gather:
		for len(batch) < maxBatch {
			select {
			case q, ok := <-e.writes:
				if !ok {
					break gather
				}
				batch = append(batch, q)
			case <-timer.C:
				break gather
			}
		}
		timer.Stop()
		ws = ws[:0]
		for _, q := range batch {
			ws = append(ws, q.w)
		}
		start := time.Now()
		ids, err := e.commitBatch(ctx, ws)
		e.Metrics.commit.Observe(time.Since(start).Seconds())
		if err != nil && !errors.Is(err, ErrFollower) {
			e.Metrics.commitErrors.Inc()
			e.log.Error("commit results", "err", err, "results", len(ws))
		}
		for i, q := range batch {
			var id int64
			if err == nil {
				id = ids[i]
			}
			q.done <- commitResult{eventID: id, err: err}
		}
	}
}

// termCtx is the context of the leadership in force (its epoch fences the
// leader's writes; it ends when the lead is lost), else Background.
func (e *Engine) termCtx() context.Context {
	if t := e.term.Load(); t != nil {
		return t.ctx
	}
	return context.Background()
}

// commitBatch commits ws unless the engine stopped leading meanwhile: a
// server that lost the lead commits no decision.
func (e *Engine) commitBatch(ctx context.Context, ws []store.Write) ([]int64, error) {
	if e.following.Load() {
		return nil, ErrFollower
	}
	if t := e.term.Load(); t != nil {
		ctx = t.ctx // ends when the lead is lost: a commit retrying through a reconnect gives up
	}
	return e.store.Commit(ctx, ws)
}

func (e *Engine) housekeeping(ctx context.Context) {
	prune := func() {
		e.mu.RLock()
		keepResults, keepEvents := e.plan.KeepResults, e.plan.KeepEvents
		e.mu.RUnlock()
		now := time.Now()
		nr, ne, err := e.store.Prune(ctx, now.Add(-keepResults), now.Add(-keepEvents))
		if err != nil {
			if ctx.Err() == nil {
				e.log.Warn("prune history", "err", err)
			}
			return
		}
		if nr+ne > 0 {
			e.log.Info("pruned history", "results", nr, "events", ne)
		}
	}
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	prune()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			prune()
		}
	}
}

// Snapshot returns every check's view, sorted by name.
func (e *Engine) Snapshot() []View {
	e.mu.RLock()
	out := make([]View, 0, len(e.checks))
	for _, en := range e.checks {
		out = append(out, e.view(en))
	}
	e.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Get returns one check's view.
func (e *Engine) Get(name string) (View, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	en, ok := e.checks[name]
	if !ok {
		return View{}, false
	}
	return e.view(en), true
}

func (e *Engine) view(en *entry) View {
	c := en.cfg
	return View{Name: c.Name, Host: c.Host, Tenant: c.Tenant, CheckType: c.Type, Tags: c.Tags, Parents: c.Parents,
		Interval: c.Interval, Next: e.sched.Next(c.Name), Zone: c.Zone, CheckState: en.snapshot()}
}

// Spec returns the engine's spec of a check.
func (e *Engine) Spec(name string) (*Spec, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	en, ok := e.checks[name]
	if !ok {
		return nil, false
	}
	return en.cfg, true
}

// RunNow asks for an immediate run of a check.
func (e *Engine) RunNow(name string) bool { return e.sched.RunNow(name) }

// CheckState returns a check's current state and last result.
func (e *Engine) CheckState(name string) (store.CheckState, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	en, ok := e.checks[name]
	if !ok {
		return store.CheckState{}, false
	}
	return en.snapshot(), true
}
