package check

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"
)

// Run executes c once with the given timeout and returns a complete result:
// start time and duration stamped, a panic turned into UNKNOWN, a check that
// overran its deadline turned into CRITICAL, and the kind's label prefixed
// ("HTTP OK - ..."). The engine and `mamori check` both run checks through here.
func Run(ctx context.Context, k *Kind, c Checker, timeout time.Duration) (r Result) {
	if timeout <= 0 {
		timeout = k.Timeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	defer func() {
		if p := recover(); p != nil {
			r = Resultf(Unknown, "check panicked: %v", p)
			r.Long = string(debug.Stack())
		}
		r.Time = start
		r.Duration = time.Since(start)
		if r.Duration >= timeout && r.Status == OK {
			// A checker that ignored its deadline still failed its deadline.
			r = Resultf(Critical, "no answer within %s", timeout)
		}
		r.Output = k.prefix(r)
	}()
	if k.Inline {
		return c.Check(ctx) // bounded by ctx; a panic is recovered above
	}
	done := make(chan Result, 1)
	goRun(func() {
		defer func() {
			if p := recover(); p != nil {
				done <- Result{Status: Unknown, Output: OneLine(fmt.Sprintf("check panicked: %v", p)), Long: string(debug.Stack())}
			}
		}()
		done <- c.Check(ctx)
	})
	select {
	case r = <-done:
		return r
	case <-ctx.Done():
		// Give a well-behaved checker a moment to report its own timeout text.
		select {
		case r = <-done:
			return r
		case <-time.After(50 * time.Millisecond):
		}
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return Resultf(Critical, "no answer within %s", timeout)
		}
		return Resultf(Unknown, "check cancelled")
	}
}

func (k *Kind) prefix(r Result) string {
	if k.Label == "" || strings.HasPrefix(r.Output, k.Label+" ") {
		return r.Output
	}
	if r.Output == "" {
		return k.Label + " " + r.Status.String()
	}
	return k.Label + " " + r.Status.String() + " - " + r.Output
}

// ErrText describes an I/O error for check output, saying "timed out" when
// the check's deadline is what ended it.
func ErrText(ctx context.Context, err error) string {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return "timed out: " + err.Error()
	}
	return err.Error()
}

// runners are idle goroutines that run checks. A check runs in a
// goroutine of its own (so that one ignoring its deadline cannot hold its
// caller; Kind.Inline types excepted), but not a new one each time: a new goroutine grew its stack
// through the check's calls (net/http) and copied it a few times on every
// run, 6 % of the CPU at 2,000 runs/s. A checker stuck past its deadline
// keeps its runner; others start as needed.
var runners = make(chan func())

// runnerIdle is how long an idle runner waits for the next check.
const runnerIdle = 5 * time.Second

func goRun(f func()) {
	select {
	case runners <- f:
	default:
		go runner(f)
	}
}

func runner(f func()) {
	idle := time.NewTimer(runnerIdle)
	defer idle.Stop()
	for {
		f()
		f = nil // let the finished run's closure go
		idle.Reset(runnerIdle)
		select {
		case f = <-runners:
		case <-idle.C:
			return
		}
	}
}
