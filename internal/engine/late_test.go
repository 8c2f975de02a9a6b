package engine

import (
	"context"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
)

// A poller's buffered result that arrives after a newer one is kept in the
// history but does not move the state: the newer result decided it.
func TestLateResultKeepsTheNewerState(t *testing.T) {
	e, fs, _ := newEngine(t, twoChecks)
	ctx := context.Background()
	t0 := time.Now().Add(-time.Minute).Truncate(time.Millisecond)
	if _, err := e.RecordFrom(ctx, "parent", check.Result{Status: check.OK, Output: "up", Time: t0.Add(30 * time.Second)}, "p2"); err != nil {
		t.Fatal(err)
	}
	tr, err := e.RecordFrom(ctx, "parent", check.Result{Status: check.Critical, Output: "down earlier", Time: t0}, "p1")
	if err != nil || tr != nil {
		t.Fatalf("late result: transition %+v, err %v", tr, err)
	}
	v, _ := e.Get("parent")
	if v.Status != check.OK || v.Output != "up" || v.Poller != "p2" || !v.LastCheck.Equal(t0.Add(30*time.Second)) {
		t.Fatalf("state after a late result: %+v", v.CheckState)
	}
	rows, err := fs.Results(ctx, "parent", time.Time{}, 10)
	if err != nil || len(rows) != 2 {
		t.Fatalf("history %+v %v, want both results", rows, err)
	}
	evs, _ := fs.LoadStates(ctx)
	if s := evs["parent"]; s.Status != check.OK || s.Poller != "p2" {
		t.Fatalf("stored state %+v", s)
	}
	// In order, the same results do change the state.
	if tr, err := e.RecordFrom(ctx, "parent", check.Result{Status: check.Critical, Output: "down", Time: t0.Add(time.Minute)}, "p1"); err != nil || tr == nil || !tr.Hard {
		t.Fatalf("in-order result: %+v %v", tr, err)
	}
}
