package engine

import (
	"context"
	"errors"
	"time"

	"github.com/mamori/mamori/internal/state"
)

// Servers on one database (PostgreSQL): exactly one leads — it schedules
// the checks, decides their states and commits them; the others follow —
// they schedule nothing, refuse results (ErrFollower) and show the
// leader's states, re-read from the store every FollowEvery. A server
// alone (SQLite) always leads.

// ErrFollower is what a follower answers to a result or a run it is asked
// to record: only the leader decides states.
var ErrFollower = errors.New("this server is a follower; the leading server of the database runs checks and records results (send it again: it reaches the leader)")

// FollowEvery is how often a follower re-reads the states from the store,
// at most: see followWait.
const FollowEvery = 2 * time.Second

// followWait is the pause after a re-read that took took: FollowEvery, or
// nine times took if longer, so that a follower's re-reads keep the
// database busy a tenth of the time at most. A re-read reads every check
// (10,000 on PostgreSQL: 47–64 ms, BenchmarkLoadStates): the larger the
// setup, the older, by a few seconds, what a follower shows.
func followWait(took time.Duration) time.Duration {
	return max(FollowEvery, 9*took)
}

// WithFollower makes the engine start as a follower: Serve and Lead run it.
func WithFollower() Option { return func(e *Engine) { e.following.Store(true) } }

// Leading reports whether this engine decides states now.
func (e *Engine) Leading() bool { return !e.following.Load() }

// Serve runs the writer until ctx ends and, while the engine follows,
// re-reads the leader's states from the store every FollowEvery. The
// scheduler runs only inside Lead.
func (e *Engine) Serve(ctx context.Context) {
	writerDone := make(chan struct{})
	go func() { e.writer(); close(writerDone) }()
	t := time.NewTimer(FollowEvery)
	defer t.Stop()
	var feed followFeed
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-t.C:
			if !e.following.Load() {
				feed = followFeed{} // leading: the engine publishes its own decisions
				t.Reset(FollowEvery)
				continue
			}
			start := time.Now()
			if err := e.reread(ctx, &feed); err != nil && ctx.Err() == nil {
				e.log.Warn("follower: read the leader's states", "err", err)
			}
			took := time.Since(start)
			e.Metrics.reread.Observe(took.Seconds())
			t.Reset(followWait(took))
		}
	}
	e.leadWG.Wait()
	close(e.writes)
	<-writerDone
}

// Lead makes the engine decide until ctx ends (call it while Serve runs):
// it reads every state from the store (the last leader's decisions), then
// runs the scheduler and housekeeping. When ctx ends it stops recording at
// once (no result is committed after that), then waits for the running
// checks to end.
func (e *Engine) Lead(ctx context.Context) {
	e.leadWG.Add(1)
	defer e.leadWG.Done()
	start := time.Now()
	for {
		err := e.LoadStates(ctx)
		if err == nil {
			break
		}
		e.log.Error("leader: read the states from the store (retrying)", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
	e.rescheduleSoft()
	tctx, tcancel := context.WithCancel(context.WithoutCancel(ctx))
	e.term.Store(&term{ctx: tctx, cancel: tcancel})
	defer e.StepDown()
	e.log.Info("leader: states read from the store; scheduling the checks", "checks", len(e.Snapshot()), "took", time.Since(start).Round(time.Millisecond))
	e.following.Store(false)
	stop := context.AfterFunc(ctx, e.StepDown)
	defer stop()
	hk := make(chan struct{})
	go func() { e.housekeeping(ctx); close(hk) }()
	e.sched.Run(ctx)
	e.following.Store(true)
	<-hk
}

// StepDown stops recording at once: a server that lost the lead commits
// no decision from now on (Lead's context ending stops the rest).
func (e *Engine) StepDown() {
	e.following.Store(true)
	if t := e.term.Load(); t != nil {
		t.cancel() // a commit in progress (retrying through a reconnect) gives up
	}
}

// term is one leadership: its context ends when the lead is lost.
type term struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// reread shows the leader's states and publishes its new state changes.
func (e *Engine) reread(ctx context.Context, feed *followFeed) error {
	if err := e.LoadStates(ctx); err != nil {
		return err
	}
	return e.publishCommitted(ctx, feed)
}

// LoadStates replaces every check's shown state with the one in the store.
func (e *Engine) LoadStates(ctx context.Context) error {
	saved, err := e.store.LoadStates(ctx)
	if err != nil {
		return err
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	for name, en := range e.checks {
		cs, ok := saved[name]
		if !ok {
			continue
		}
		cs.Name = name
		en.vmu.Lock()
		en.cur = cs
		en.vmu.Unlock()
	}
	return nil
}

// rescheduleSoft: a problem the last leader was confirming is re-checked
// at its retry time, not a whole interval later.
func (e *Engine) rescheduleSoft() {
	now := time.Now()
	e.mu.RLock()
	defer e.mu.RUnlock()
	for name, en := range e.checks {
		cur := en.snapshot()
		if cur.Type != state.Soft || !cur.Status.Problem() {
			continue
		}
		due := cur.LastCheck.Add(en.cfg.RetryInterval)
		if due.Before(now) {
			due = now
		}
		e.sched.Due(name, due)
	}
}
