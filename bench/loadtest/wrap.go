package main

// Instrumentation around the real pieces, without changing them: a Spec
// wrapper whose Checker notes when each run starts (for exact scheduler
// lag), and a Store wrapper that times each commit and notes what was
// persisted (for throughput, cold start and the next due time).

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/state"
	"github.com/mamori/mamori/internal/store"
)

// ckStat is the harness's view of one check.
type ckStat struct {
	phase     time.Duration
	phase30   time.Duration // Phase(name, min(interval, 30s)): first run in a small setup
	nextDue   atomic.Int64  // predicted due time of the next run (unix ns); 0 before the first run
	firstDone atomic.Int64  // when its first result was committed (unix ns)
}

type runRecorder struct {
	interval, retry time.Duration
	namePrefix      string
	all             []ckStat
	newFrom, newTo  time.Time // engine.New ran in between: first due times lie on the grid after these
	win0, win1      int64     // measurement window (unix ns) by due time

	mu         sync.Mutex
	closed     bool
	coldLags   []time.Duration // lag of each check's first run
	winLags    []time.Duration // lag of runs due in the window
	started    atomic.Int64
	negLag     atomic.Int64 // runs that started before their predicted due time (prediction error)
	persisted  atomic.Int64
	status     [4]atomic.Int64
	commitErrs atomic.Int64
	firstCount atomic.Int64
	allDoneAt  atomic.Int64

	cmu     sync.Mutex
	commits []commitRec // commits that began inside the window
}

type commitRec struct {
	dur  time.Duration
	rows int
}

// smallSetup mirrors engine.smallSetup (unexported): up to this many checks,
// never-run checks get their first run within 30 s instead of on their grid.
// Keep in step with internal/engine.
const smallSetup = 1000

// nextSlot is schedule.nextSlot: the first time after t on the job's grid.
func nextSlot(t time.Time, interval, phase time.Duration) time.Time {
	since := time.Duration(t.UnixNano()) - phase
	rem := since % interval
	if rem < 0 {
		rem += interval
	}
	return t.Add(interval - rem)
}

// latestSlot is the last grid time at or before t.
func latestSlot(t time.Time, interval, phase time.Duration) time.Time {
	since := time.Duration(t.UnixNano()) - phase
	rem := since % interval
	if rem < 0 {
		rem += interval
	}
	return t.Add(-rem)
}

// afterRun is when the scheduler (schedule.dispatch) queues a job that
// ended at now, not soft: its next slot, pushed one interval further when
// that slot is less than interval/10 away.
func afterRun(now time.Time, interval, phase time.Duration) time.Time {
	next := nextSlot(now, interval, phase)
	if next.Sub(now) < interval/10 {
		next = next.Add(interval)
	}
	return next
}

// slotsIn counts a job's grid times in [from, to).
func slotsIn(from, to time.Time, interval, phase time.Duration) int64 {
	first := nextSlot(from.Add(-1), interval, phase)
	if !first.Before(to) {
		return 0
	}
	return 1 + int64(to.Add(-1).Sub(first)/interval)
}

func (h *runRecorder) index(name string) int {
	n, err := strconv.Atoi(name[len(h.namePrefix):])
	if err != nil || n < 1 || n > len(h.all) {
		return -1
	}
	return n - 1
}

// started notes a run of check i beginning now.
func (h *runRecorder) runStarted(i int, now time.Time) {
	st := &h.all[i]
	h.started.Add(1)
	due := st.nextDue.Load()
	first := due == 0
	if first && len(h.all) <= smallSetup {
		// engine.apply: in a setup of at most smallSetup checks, a check
		// never run is first due at New's now + Phase(name, min(interval, 30s)).
		due = h.newFrom.Add(st.phase30).UnixNano()
	} else if first {
		// The first due time was computed inside engine.New: the next grid
		// time after that moment.
		lo := nextSlot(h.newFrom, h.interval, st.phase)
		hi := nextSlot(h.newTo, h.interval, st.phase)
		d := lo
		if !lo.Equal(hi) {
			d = latestSlot(now, h.interval, st.phase)
			if d.Before(lo) {
				d = lo
			} else if d.After(hi) {
				d = hi
			}
		}
		due = d.UnixNano()
	}
	lag := time.Duration(now.UnixNano() - due)
	if lag < 0 {
		h.negLag.Add(1)
		lag = 0
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	if first {
		h.coldLags = append(h.coldLags, lag)
	}
	if due >= h.win0 && due < h.win1 {
		h.winLags = append(h.winLags, lag)
	}
}

func (h *runRecorder) close() {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
}

// timedSpec wraps a check type's Spec so that its Checker is timed.
type timedSpec struct {
	check.Spec
	h *runRecorder
	i int
}

func (s *timedSpec) New(env check.Env) (check.Checker, error) {
	c, err := s.Spec.New(env)
	if err != nil {
		return nil, err
	}
	return &timedChecker{c: c, h: s.h, i: s.i}, nil
}

type timedChecker struct {
	c check.Checker
	h *runRecorder
	i int
}

func (t *timedChecker) Check(ctx context.Context) check.Result {
	t.h.runStarted(t.i, time.Now())
	return t.c.Check(ctx)
}

// timedStore wraps the real store: Commit is timed and its writes counted.
type timedStore struct {
	store.Store
	h *runRecorder
}

func (s *timedStore) Commit(ctx context.Context, ws []store.Write) ([]int64, error) {
	start := time.Now()
	ids, err := s.Store.Commit(ctx, ws)
	done := time.Now()
	h := s.h
	if sn := start.UnixNano(); sn >= h.win0 && sn < h.win1 {
		h.cmu.Lock()
		h.commits = append(h.commits, commitRec{dur: done.Sub(start), rows: len(ws)})
		h.cmu.Unlock()
	}
	for _, w := range ws {
		i := h.index(w.Check)
		if i < 0 {
			continue
		}
		st := &h.all[i]
		if err != nil {
			// The engine reruns a check whose result was not committed on
			// its retry interval.
			h.commitErrs.Add(1)
			st.nextDue.Store(done.Add(h.retry).UnixNano())
			continue
		}
		h.persisted.Add(1)
		if s := int(w.Result.Status); s >= 0 && s < len(h.status) {
			h.status[s].Add(1)
		}
		if st.firstDone.CompareAndSwap(0, done.UnixNano()) {
			if h.firstCount.Add(1) == int64(len(h.all)) {
				h.allDoneAt.Store(done.UnixNano())
			}
		}
		if w.State.Type == state.Soft && w.State.Status.Problem() {
			st.nextDue.Store(done.Add(h.retry).UnixNano())
		} else {
			st.nextDue.Store(afterRun(done, h.interval, st.phase).UnixNano())
		}
	}
	return ids, err
}
