package check

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"
)

// funcChecker is a Checker made of a function.
type funcChecker func(context.Context) Result

func (f funcChecker) Check(ctx context.Context) Result { return f(ctx) }

// onStack reports whether the calling goroutine's stack holds fn.
func onStack(fn string) bool {
	buf := make([]byte, 64<<10)
	return strings.Contains(string(buf[:runtime.Stack(buf, false)]), fn)
}

func TestRunInlineOnCallersGoroutine(t *testing.T) {
	for _, inline := range []bool{true, false} {
		k := &Kind{Name: "t", Label: "T", Timeout: time.Second, Inline: inline}
		var here bool
		r := Run(context.Background(), k, funcChecker(func(context.Context) Result {
			here = !onStack("check.runner(")
			return Resultf(OK, "fine")
		}), 0)
		if here != inline {
			t.Errorf("Inline %v: ran on the caller's goroutine: %v", inline, here)
		}
		if r.Status != OK || r.Output != "T OK - fine" || r.Time.IsZero() {
			t.Errorf("Inline %v: %+v", inline, r)
		}
	}
}

func TestRunInlinePanicAndOverrun(t *testing.T) {
	k := &Kind{Name: "t", Label: "T", Timeout: time.Second, Inline: true}
	r := Run(context.Background(), k, funcChecker(func(context.Context) Result { panic("boom") }), 0)
	if r.Status != Unknown || !strings.Contains(r.Output, "check panicked: boom") || r.Long == "" {
		t.Errorf("panic: %+v", r)
	}
	r = Run(context.Background(), k, funcChecker(func(ctx context.Context) Result {
		<-ctx.Done()
		return Resultf(OK, "late")
	}), 20*time.Millisecond)
	if r.Status != Critical || !strings.Contains(r.Output, "no answer within 20ms") {
		t.Errorf("overrun: %+v", r)
	}
}
