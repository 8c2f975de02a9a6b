// Package schedule runs named jobs on their intervals. Each job has a fixed
// phase inside its interval, derived from its name, so that the load is
// spread evenly and a restart does not make every check fire at once
// (deterministic jitter). While a job reports a soft problem it runs on its
// retry interval instead. One timer goroutine drives a heap of due times; a
// semaphore bounds how many jobs run at once; a job never overlaps itself.
//
// Under load the timer goroutine wakes at most once per Batch and then
// starts every job that has come due: at 2,000 runs a second that is ~20
// jobs a wake-up instead of one, and the process (and the servers it
// checks) go through one wake-up for them, not twenty. A job starts at
// most Batch late for it; a job due after a quiet spell, and one asked for
// with RunNow, starts on time.
package schedule

import (
	"container/heap"
	"context"
	"hash/fnv"
	"sync"
	"time"
)

// RunFunc runs a job once. It returns soft=true while a problem is not
// confirmed yet, so that the job is retried on its retry interval.
type RunFunc func(ctx context.Context, name string) (soft bool)

// Timing is a job's schedule.
type Timing struct {
	Interval time.Duration
	Retry    time.Duration // while soft; 0 means Interval
}

// Batch is the longest a due job waits so that it starts with the others
// due around it. 10 ms is 1 % of the shortest interval (1 s) and saved a
// quarter to a third of the CPU per check at 2,000 HTTP checks a second
// (docs/performance.md, "Jobs started in batches").
const Batch = 10 * time.Millisecond

// Scheduler runs jobs. Create with New, then Add jobs and Run.
type Scheduler struct {
	run   RunFunc
	batch time.Duration // Batch; tests change it
	sem   chan struct{}
	jobs  chan *entry // to idle workers
	// Lag, if set, is called with how late each dispatch is.
	Lag func(time.Duration)
	now func() time.Time

	mu      sync.Mutex
	h       entryHeap
	entries map[string]*entry
	wake    chan struct{}
	wg      sync.WaitGroup
}

type entry struct {
	name     string
	timing   Timing
	phase    time.Duration
	next     time.Time
	index    int // in heap; -1 when not queued
	running  bool
	removed  bool
	runAgain bool      // RunNow while running
	due      time.Time // Due while running: run then if before the next slot
}

// New makes a scheduler that runs at most maxConcurrent jobs at once.
func New(run RunFunc, maxConcurrent int) *Scheduler {
	if maxConcurrent < 1 {
		maxConcurrent = 1
	}
	return &Scheduler{run: run, batch: Batch, sem: make(chan struct{}, maxConcurrent), jobs: make(chan *entry), entries: map[string]*entry{}, wake: make(chan struct{}, 1), now: time.Now}
}

// Phase is the fixed offset of a job inside its interval.
func Phase(name string, interval time.Duration) time.Duration {
	if interval <= 0 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(name))
	return time.Duration(h.Sum64() % uint64(interval))
}

// nextSlot is the first time after t that lies on the job's phase grid.
func nextSlot(t time.Time, interval, phase time.Duration) time.Time {
	if interval <= 0 {
		return t
	}
	since := time.Duration(t.UnixNano()) - phase
	rem := since % interval
	if rem < 0 {
		rem += interval
	}
	return t.Add(interval - rem)
}

// Add schedules a job, or updates its timing if it exists. first, if not
// zero, is when it runs first (e.g. to retry a restored soft problem soon);
// otherwise the job runs at its next phase slot.
func (s *Scheduler) Add(name string, t Timing, first time.Time) {
	if t.Retry <= 0 {
		t.Retry = t.Interval
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[name]
	if !ok {
		e = &entry{name: name, index: -1}
		s.entries[name] = e
	}
	changed := e.timing != t
	e.timing, e.removed = t, false
	e.phase = Phase(name, t.Interval)
	if e.running {
		return // rescheduled with the new timing when the run ends
	}
	switch {
	case !first.IsZero():
		e.next = first
	case !ok || changed:
		e.next = nextSlot(s.now(), t.Interval, e.phase)
	default:
		return
	}
	s.push(e)
}

// Remove unschedules a job; a run in progress finishes.
func (s *Scheduler) Remove(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[name]
	if !ok {
		return
	}
	e.removed = true
	if e.index >= 0 {
		heap.Remove(&s.h, e.index)
	}
	delete(s.entries, name)
}

// RunNow makes a job run as soon as possible (once more after the current
// run, if it is running). It reports whether the job exists.
func (s *Scheduler) RunNow(name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[name]
	if !ok {
		return false
	}
	if e.running {
		e.runAgain = true
		return true
	}
	e.next = s.now()
	s.push(e)
	s.signal() // now, not with a batch
	return true
}

// Due makes a job also run at t (a deadline its checker knows of) when t
// comes before its next slot. Called during the job's own run, it applies
// to the schedule that run ends with.
func (s *Scheduler) Due(name string, t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[name]
	if !ok || t.IsZero() {
		return
	}
	if e.running {
		e.due = t
		return
	}
	if e.index >= 0 && t.Before(e.next) {
		e.next = t
		s.push(e)
	}
}

// Next reports when a job is due (zero if unknown or running).
func (s *Scheduler) Next(name string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.entries[name]; ok && e.index >= 0 {
		return e.next
	}
	return time.Time{}
}

// Len is the number of scheduled jobs.
func (s *Scheduler) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.entries)
}

// Running is the number of jobs running now.
func (s *Scheduler) Running() int { return len(s.sem) }

// push queues or requeues e; caller holds mu.
func (s *Scheduler) push(e *entry) {
	if e.index >= 0 {
		heap.Fix(&s.h, e.index)
	} else {
		heap.Push(&s.h, e)
	}
	if e.index == 0 {
		s.signal() // the timer is set for a later job
	}
}

// signal wakes the timer goroutine to look at the heap again.
func (s *Scheduler) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run dispatches jobs until ctx ends, then waits for running jobs.
func (s *Scheduler) Run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	defer s.wg.Wait()
	var woke time.Time // the timer's last wake-up: the batch under way
	for {
		if wait := s.untilDue(woke); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-s.wake:
				if !timer.Stop() {
					<-timer.C
				}
			case <-timer.C:
				woke = s.now()
			}
			continue
		}
		// Wait for a free slot before taking the job, so a saturated
		// server shows as lag instead of an unbounded pile of goroutines.
		select {
		case s.sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		s.mu.Lock()
		if len(s.h) == 0 || s.h[0].next.After(s.now()) {
			s.mu.Unlock()
			<-s.sem
			continue
		}
		e := heap.Pop(&s.h).(*entry)
		e.running = true
		lag := s.now().Sub(e.next)
		s.mu.Unlock()
		if s.Lag != nil {
			s.Lag(lag)
		}
		select {
		case s.jobs <- e: // an idle worker takes it
		default:
			s.wg.Add(1)
			go s.worker(ctx, e)
		}
	}
}

// untilDue is how long the timer sleeps before it starts the next job:
// until the job is due, and at least until a Batch after the last wake-up
// (woke), unless the job is due by then already.
func (s *Scheduler) untilDue(woke time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.h) == 0 {
		return time.Hour
	}
	now, at := s.now(), s.h[0].next
	if !at.After(now) {
		return 0
	}
	if next := woke.Add(s.batch); at.Before(next) {
		at = next
	}
	return at.Sub(now)
}

// workerIdle is how long a worker without a job waits for the next one.
const workerIdle = 5 * time.Second

// worker runs e and then the jobs handed to it while it is idle. Workers
// are reused rather than started per run: a run's goroutine grows its
// stack through the check's calls (net/http, the store), and a new one
// per run copied its stack a few times each time (6 % of the CPU at
// 2,000 runs/s).
func (s *Scheduler) worker(ctx context.Context, e *entry) {
	defer s.wg.Done()
	idle := time.NewTimer(workerIdle)
	defer idle.Stop()
	for {
		s.dispatch(ctx, e)
		idle.Reset(workerIdle)
		select {
		case e = <-s.jobs:
		case <-idle.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

func (s *Scheduler) dispatch(ctx context.Context, e *entry) {
	soft := s.run(ctx, e.name)
	<-s.sem
	s.mu.Lock()
	defer s.mu.Unlock()
	e.running = false
	if e.removed {
		return
	}
	now := s.now()
	if ctx.Err() != nil {
		// Stopped mid-run (shutdown, or a server that stops leading): the
		// job stays due, so that a later Run takes it up at once.
		e.runAgain, e.due, e.next = false, time.Time{}, now
		s.push(e)
		return
	}
	switch {
	case e.runAgain:
		e.runAgain = false
		e.next = now
	case soft:
		e.next = now.Add(e.timing.Retry)
	default:
		e.next = nextSlot(now, e.timing.Interval, e.phase)
		// A run that ended just before its slot (a long check) must not
		// run again at once.
		if e.next.Sub(now) < e.timing.Interval/10 {
			e.next = e.next.Add(e.timing.Interval)
		}
	}
	if !e.due.IsZero() && e.due.After(now) && e.due.Before(e.next) {
		e.next = e.due
	}
	e.due = time.Time{}
	s.push(e)
}

type entryHeap []*entry

func (h entryHeap) Len() int           { return len(h) }
func (h entryHeap) Less(i, j int) bool { return h[i].next.Before(h[j].next) }
func (h entryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *entryHeap) Push(x any) {
	e := x.(*entry)
	e.index = len(*h)
	*h = append(*h, e)
}
func (h *entryHeap) Pop() any {
	old := *h
	e := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	e.index = -1
	return e
}
