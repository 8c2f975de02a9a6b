package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/state"
	"github.com/mamori/mamori/internal/store"
)

// batchWrites is n checks' results, rounds results each, in the order the
// engine would hand them over: check i's results are OK except every
// fifth check's, which go CRITICAL (state changes, HARD after 2), and one
// late result (older than the check's newest) per tenth check.
func batchWrites(t0 time.Time, n, rounds int) (ws []store.Write, want map[string]state.State) {
	sts := make([]state.State, n)
	want = map[string]state.State{}
	p := state.Policy{Attempts: 2}
	for round := range rounds {
		for i := range n {
			status := check.OK
			if i%5 == 0 && round > 0 {
				status = check.Critical
			}
			r := check.Result{Status: status, Output: fmt.Sprintf("out %d/%d", i, round), Time: t0.Add(time.Duration(round) * time.Minute),
				Duration: time.Duration(i+1) * time.Microsecond, Perf: []check.Metric{check.Seconds("time", time.Millisecond, time.Second, 2*time.Second)}}
			var tr *state.Transition
			sts[i], tr = state.Next(sts[i], r, p)
			name := fmt.Sprintf("batch/%03d", i)
			ws = append(ws, store.Write{Check: name, Result: r, State: sts[i], Transition: tr, Poller: fmt.Sprintf("p%d", round)})
			want[name] = sts[i]
			if i%10 == 0 && round == rounds-1 {
				late := check.Result{Status: check.Unknown, Output: "late", Time: t0.Add(-time.Minute)}
				ws = append(ws, store.Write{Check: name, Result: late, State: sts[i], Poller: "late", Late: true})
			}
		}
	}
	return ws, want
}

// testBatchCommit commits batches of every size the multi-row statements
// split into (1 … 128 and more), with several results of one check and
// new checks in the same batch: every result is stored, each check's
// state is its last non-late result's, each state change gets its event
// id in order.
func testBatchCommit(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	t0 := time.Date(2026, 11, 2, 3, 0, 0, 0, time.UTC)
	ws, want := batchWrites(t0, 150, 3) // 450 results + 15 late
	var ids []int64
	for off, size := 0, 1; off < len(ws); off, size = off+size, size*2+1 {
		end := min(off+size, len(ws))
		got, err := s.Commit(ctx, ws[off:end])
		if err != nil {
			t.Fatalf("commit of %d writes: %v", end-off, err)
		}
		if len(got) != end-off {
			t.Fatalf("commit of %d writes returned %d ids", end-off, len(got))
		}
		ids = append(ids, got...)
	}
	checkBatchEvents(t, s, ws, ids)
	states, err := s.LoadStates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for name, w := range want {
		got := states[name]
		if got.Status != w.Status || got.Type != w.Type || got.Attempt != w.Attempt || got.History != w.History ||
			!got.LastCheck.Equal(w.LastCheck) || got.Poller != "p2" || got.Output == "late" {
			t.Fatalf("%s: state %+v, want %+v from poller p2", name, got, w)
		}
	}
	rs, err := s.Results(ctx, "batch/010", time.Time{}, 100)
	if err != nil || len(rs) != 4 || rs[3].Output != "late" || rs[0].Output != "out 10/2" || rs[0].Duration != 11e-6 {
		t.Fatalf("results of batch/010: %+v %v", rs, err)
	}
	if c := countResults(t, s, ws); c != len(ws) {
		t.Fatalf("%d results stored, want %d", c, len(ws))
	}
}

// checkBatchEvents: a write has an event id if and only if it has a
// transition, ids increase in write order and match the stored events.
func checkBatchEvents(t *testing.T, s Store, ws []store.Write, ids []int64) {
	t.Helper()
	var prev int64
	n := 0
	for i, w := range ws {
		if (w.Transition != nil) != (ids[i] != 0) {
			t.Fatalf("write %d (%s): transition %v, event id %d", i, w.Check, w.Transition != nil, ids[i])
		}
		if ids[i] != 0 {
			if ids[i] <= prev {
				t.Fatalf("event ids out of order: %d after %d", ids[i], prev)
			}
			prev, n = ids[i], n+1
		}
	}
	evs, err := s.Events(context.Background(), store.EventQuery{Limit: 10000})
	if err != nil || len(evs) != n {
		t.Fatalf("%d events stored, %d returned ids (%v)", len(evs), n, err)
	}
}

func countResults(t *testing.T, s Store, ws []store.Write) int {
	t.Helper()
	seen := map[string]bool{}
	total := 0
	for _, w := range ws {
		if seen[w.Check] {
			continue
		}
		seen[w.Check] = true
		rs, err := s.Results(context.Background(), w.Check, time.Time{}, 1000)
		if err != nil {
			t.Fatal(err)
		}
		total += len(rs)
	}
	return total
}
