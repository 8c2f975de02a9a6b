package storetest

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/state"
	"github.com/mamori/mamori/internal/store"
)

func testRoundTrip(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	t0 := time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)
	var st state.State
	var ws []store.Write
	p := state.Policy{Attempts: 2}
	for i, status := range []check.Status{check.OK, check.Critical, check.Critical, check.OK} {
		r := check.Result{Status: status, Output: "out " + status.String(), Time: t0.Add(time.Duration(i) * time.Minute), Duration: 1500 * time.Microsecond,
			Perf: []check.Metric{check.Seconds("time", 1500*time.Microsecond, time.Second, 2*time.Second)}}
		var tr *state.Transition
		st, tr = state.Next(st, r, p)
		ws = append(ws, store.Write{Check: "web/http", Result: r, State: st, Transition: tr})
	}
	if _, err := s.Commit(ctx, ws[:2]); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commit(ctx, ws[2:]); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s = open(t) // survives reopening
	states, err := s.LoadStates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := states["web/http"]
	if got.Status != check.OK || got.Type != state.Hard || got.Attempt != 1 || got.History != "0220" || !got.LastCheck.Equal(t0.Add(3*time.Minute)) {
		t.Fatalf("state after reopen: %+v", got)
	}
	if len(got.Perf) != 1 || got.Perf[0].Label != "time" || got.Perf[0].Crit != 2 {
		t.Fatalf("perf %+v", got.Perf)
	}
	rs, err := s.Results(ctx, "web/http", time.Time{}, 10)
	if err != nil || len(rs) != 4 || rs[0].Status != check.OK || rs[1].Status != check.Critical || rs[0].Duration != 0.0015 {
		t.Fatalf("results %+v %v", rs, err)
	}
	evs, err := s.Events(ctx, store.EventQuery{Checks: []string{"web/http"}})
	if err != nil {
		t.Fatal(err)
	}
	// pending→OK, OK→CRITICAL soft, CRITICAL soft→hard, recovery
	if len(evs) != 4 || !evs[2].Hard || !evs[2].Notify || !evs[3].Recovery || evs[3].ProblemFor != 2*time.Minute {
		t.Fatalf("events %+v", evs)
	}
	hard, _ := s.Events(ctx, store.EventQuery{HardOnly: true, Desc: true})
	if len(hard) != 2 || !hard[0].Recovery {
		t.Fatalf("hard events newest first: %+v", hard)
	}
	since, _ := s.Events(ctx, store.EventQuery{Since: t0.Add(90 * time.Second), Until: t0.Add(150 * time.Second)})
	if len(since) != 1 || since[0].To != check.Critical {
		t.Fatalf("time filter: %+v", since)
	}
	after, _ := s.Events(ctx, store.EventQuery{AfterID: evs[1].ID})
	if len(after) != 2 {
		t.Fatalf("after id: %+v", after)
	}
	nr, ne, err := s.Prune(ctx, t0.Add(150*time.Second), t0.Add(30*time.Second))
	if err != nil || nr != 3 || ne != 1 {
		t.Fatalf("prune: %d results %d events %v", nr, ne, err)
	}
	if err := s.Forget(ctx, "web/http"); err != nil {
		t.Fatal(err)
	}
	if states, _ := s.LoadStates(ctx); len(states) != 0 {
		t.Fatalf("forgotten check still loaded: %+v", states)
	}
}

// testKeptStateRow: results that kept the state (Write.Kept) add their
// rows without rewriting the check's state row, and LoadStates still
// gives the last result's time, output, perf and duration — across
// batches, mixed in a batch with a state change, and from the row again
// once those results are pruned.
func testKeptStateRow(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	t0 := time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)
	var st state.State
	p := state.Policy{Attempts: 2}
	write := func(i int, status check.Status, poller string) store.Write {
		r := check.Result{Status: status, Output: fmt.Sprintf("out %d", i), Time: t0.Add(time.Duration(i) * time.Minute),
			Duration: time.Duration(i) * time.Millisecond, Perf: []check.Metric{check.Seconds("time", time.Duration(i)*time.Millisecond, time.Second, 2*time.Second)}}
		prev := st
		var tr *state.Transition
		st, tr = state.Next(st, r, p)
		return store.Write{Check: "web/http", Result: r, State: st, Transition: tr, Poller: poller, Kept: tr == nil && state.Kept(prev, st)}
	}
	commit := func(ws ...store.Write) {
		t.Helper()
		if _, err := s.Commit(ctx, ws); err != nil {
			t.Fatal(err)
		}
	}
	want := func(what string, i int, status check.Status, poller string) {
		t.Helper()
		states, err := s.LoadStates(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got := states["web/http"]
		at := t0.Add(time.Duration(i) * time.Minute)
		if got.Status != status || !got.LastCheck.Equal(at) || got.Output != fmt.Sprintf("out %d", i) ||
			got.Duration != time.Duration(i)*time.Millisecond || len(got.Perf) != 1 || math.Abs(got.Perf[0].Value-float64(i)/1000) > 1e-9 || got.Poller != poller {
			t.Fatalf("%s: want result %d (%v, poller %q), loaded %+v", what, i, status, poller, got)
		}
	}
	w0 := write(0, check.OK, "") // pending → OK: a change
	if w0.Kept {
		t.Fatal("a check's first result is not kept")
	}
	commit(w0)
	n := state.HistoryLen
	var oks []store.Write
	for i := 1; i <= n+1; i++ { // OKs until the history is all OK, then one more
		oks = append(oks, write(i, check.OK, ""))
	}
	if oks[n-2].Kept || !oks[n-1].Kept || !oks[n].Kept {
		t.Fatalf("kept: result %d %v, %d %v, %d %v; want the first OK after a full history of OKs kept", n-1, oks[n-2].Kept, n, oks[n-1].Kept, n+1, oks[n].Kept)
	}
	commit(oks[:n]...)
	want("after a kept result", n, check.OK, "")
	commit(oks[n])
	want("after kept results in two batches", n+1, check.OK, "")
	s.Close()
	s = open(t)
	want("after reopening", n+1, check.OK, "")
	// Pruned results leave the row's own last result: that of the result
	// that last changed the state (n-1, the last before the history was
	// full) — so the row was not rewritten by the kept results.
	if _, _, err := s.Prune(ctx, t0.Add(24*time.Hour), time.Time{}); err != nil {
		t.Fatal(err)
	}
	want("after the results were pruned", n-1, check.OK, "")
	commit(write(n+2, check.OK, ""), write(n+3, check.Critical, "zone-a"), write(n+4, check.Critical, "zone-a"))
	want("a change after a kept result in one batch", n+4, check.Critical, "zone-a")
}

// BenchCommit100 measures Commit of batches of 100 results.
func BenchCommit100(b *testing.B, open Opener) { benchCommit100(b, open, false) }

// BenchCommit100Fenced is BenchCommit100 as the leader commits: under a
// leadership epoch, each transaction checking it.
func BenchCommit100Fenced(b *testing.B, open Opener) { benchCommit100(b, open, true) }

func benchCommit100(b *testing.B, open Opener, fenced bool) {
	ctx := context.Background()
	s := open(b)
	if fenced {
		e, err := s.TakeLead(ctx)
		if err != nil {
			b.Fatal(err)
		}
		ctx = store.WithEpoch(ctx, e)
	}
	defer s.Close()
	ws := make([]store.Write, 100)
	for i := range ws {
		ws[i] = store.Write{Check: "c" + string(rune('a'+i%26)) + string(rune('a'+i/26)), Result: check.Result{Status: check.OK, Output: "HTTP OK - 200 in 0.001 s", Time: time.Now(),
			Perf: []check.Metric{check.Seconds("time", time.Millisecond, 6*time.Second, 10*time.Second)}}, State: state.State{Attempt: 1}}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Commit(ctx, ws); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*100), "µs/row")
}

// BenchLoadStates measures LoadStates of 10,000 checks with 5 results
// each, the last 4 of which kept the state (the steady case): what a
// start, a takeover and a follower's re-read (every 2 s, or less often
// when re-reads are slow: engine.followWait) pay.
func BenchLoadStates(b *testing.B, open Opener) {
	ctx := context.Background()
	s := open(b)
	defer s.Close()
	const checks, results = 10000, 5
	t0 := time.Now().Add(-time.Hour)
	ws := make([]store.Write, 0, checks)
	for k := 0; k < results; k++ {
		ws = ws[:0]
		for i := 0; i < checks; i++ {
			at := t0.Add(time.Duration(k)*time.Minute + time.Duration(i)*time.Millisecond)
			ws = append(ws, okWrite(fmt.Sprintf("load-%05d", i), at, k > 0))
		}
		if _, err := s.Commit(ctx, ws); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		got, err := s.LoadStates(ctx)
		if err != nil || len(got) != checks {
			b.Fatalf("%d states, %v", len(got), err)
		}
	}
}

// BenchCommitSizes measures Commit of batches of several sizes drawn in
// turn from 2,000 checks with advancing times (as the engine's writer
// sees them under load): the per-row cost against the batch size, with
// every result a new state (state=new) and with every result keeping its
// check's state (state=kept, the steady OK after OK).
func BenchCommitSizes(b *testing.B, open Opener) {
	for _, n := range []int{1, 8, 32, 128, 512} {
		for _, kept := range []bool{false, true} {
			name := fmt.Sprintf("rows=%d/state=new", n)
			if kept {
				name = fmt.Sprintf("rows=%d/state=kept", n)
			}
			b.Run(name, func(b *testing.B) { benchCommitSize(b, open, n, kept) })
		}
	}
}

// BenchCommitAfterHistory measures a kept result's commit, in batches of
// 24 (what the engine gathers at 2,000 results/s), into a store that
// already holds 300 results for each of 2,000 checks: each result then
// lands on its own page of the per-check results index, as on a store
// that has run for a while. BenchCommitSizes's store is new, where many
// checks share a page.
func BenchCommitAfterHistory(b *testing.B, open Opener) {
	ctx := context.Background()
	s := open(b)
	defer s.Close()
	const checks, history, n = 2000, 300, 24
	g := &benchWrites{checks: checks, step: time.Second / checks,
		t0: time.Now().Add(-time.Duration(history+1) * time.Second)}
	for i := 0; i < checks*history/500; i++ {
		if _, err := s.Commit(ctx, g.batch(500, i >= checks/500)); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Commit(ctx, g.batch(n, true)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/row")
}

func benchCommitSize(b *testing.B, open Opener, n int, kept bool) {
	ctx := context.Background()
	s := open(b)
	defer s.Close()
	const checks = 2000
	g := &benchWrites{checks: checks, step: time.Millisecond, t0: time.Now()}
	if _, err := s.Commit(ctx, g.batch(checks, false)); err != nil { // every check's row
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Commit(ctx, g.batch(n, kept)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/row")
}

// benchWrites hands out batches of steady OK results drawn in turn from
// checks bench-00000…, each result step after the one before from t0.
type benchWrites struct {
	checks int
	step   time.Duration
	t0     time.Time
	next   int
}

func (g *benchWrites) batch(n int, kept bool) []store.Write {
	ws := make([]store.Write, n)
	for j := range ws {
		ws[j] = okWrite(fmt.Sprintf("bench-%05d", g.next%g.checks), g.t0.Add(time.Duration(g.next)*g.step), kept)
		g.next++
	}
	return ws
}

// okWrite is a check's steady OK result at at, as an HTTP check writes it.
func okWrite(name string, at time.Time, kept bool) store.Write {
	return store.Write{Check: name, Kept: kept, Result: check.Result{Status: check.OK,
		Output: "HTTP OK: HTTP/1.1 200 OK - 2 bytes in 0.001 second response time", Time: at,
		Perf: []check.Metric{check.Seconds("time", time.Millisecond, 6*time.Second, 10*time.Second)}},
		State: state.State{Attempt: 1, LastCheck: at}}
}

// BenchMoveStaged measures a move of staged results into results (a store
// that stages them: SQLite) in a store that has run a while: 2,000 checks
// with 300 results each, then 40,000 staged per move, 20 per check.
func BenchMoveStaged(b *testing.B, open Opener) {
	ctx := context.Background()
	s := open(b)
	defer s.Close()
	mover, ok := s.(interface {
		MoveStaged(context.Context) (int64, error)
	})
	if !ok {
		b.Skip("the store does not stage results")
	}
	const checks, history, staged = 2000, 300, 40000
	g := &benchWrites{checks: checks, step: time.Second / checks,
		t0: time.Now().Add(-history * time.Second)}
	stage := func(rows int) {
		for i := 0; i < rows/500; i++ {
			if _, err := s.Commit(ctx, g.batch(500, g.next >= checks)); err != nil {
				b.Fatal(err)
			}
		}
	}
	stage(checks * history)
	var moved int64
	for b.Loop() {
		b.StopTimer()
		if _, err := mover.MoveStaged(ctx); err != nil {
			b.Fatal(err)
		}
		stage(staged)
		b.StartTimer()
		n, err := mover.MoveStaged(ctx)
		if err != nil || n != staged {
			b.Fatalf("moved %d of %d: %v", n, staged, err)
		}
		moved += n
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(moved), "µs/row")
}

// testPruneEveryCheck: Prune deletes the old results of every check —
// one with more than a prune transaction's slice, one forgotten — whether
// moved into results or still staged, and keeps the newer ones.
func testPruneEveryCheck(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	t0 := time.Date(2026, 11, 1, 3, 0, 0, 0, time.UTC)
	cut := t0.Add(time.Hour)
	// n results of name, a half second apart from at; the first of a
	// check changes its state, the others keep it.
	writes := func(name string, at time.Time, n int) []store.Write {
		ws := make([]store.Write, n)
		for i := range ws {
			ws[i] = okWrite(name, at.Add(time.Duration(i)*time.Second/2), at != t0 || i > 0)
		}
		return ws
	}
	commit := func(ws []store.Write) {
		t.Helper()
		if _, err := s.Commit(ctx, ws); err != nil {
			t.Fatal(err)
		}
	}
	commit(writes("big", t0, pruneSlice+3))
	commit(writes("gone", t0, 2))
	if m, ok := s.(interface {
		MoveStaged(context.Context) (int64, error)
	}); ok {
		if _, err := m.MoveStaged(ctx); err != nil {
			t.Fatal(err)
		}
	}
	commit(writes("big", cut.Add(-time.Minute), 2)) // staged, before the cut
	commit(writes("big", cut, 2))
	commit(writes("gone", cut.Add(time.Second), 1))
	if err := s.Forget(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	if nr, _, err := s.Prune(ctx, cut, time.Time{}); err != nil || nr != pruneSlice+5+2 {
		t.Fatalf("pruned %d results, want %d: %v", nr, pruneSlice+5+2, err)
	}
	for name, want := range map[string]int{"big": 2, "gone": 1} {
		rs, err := s.Results(ctx, name, time.Time{}, 100)
		if err != nil || len(rs) != want || rs[len(rs)-1].Time.Before(cut) {
			t.Fatalf("%s after the prune: %d results %v, want %d from %s", name, len(rs), err, want, cut)
		}
	}
	if nr, _, err := s.Prune(ctx, cut, time.Time{}); err != nil || nr != 0 {
		t.Fatalf("second prune: %d results %v", nr, err)
	}
}

// pruneSlice is the store's slice (sqlstore): the test crosses it.
const pruneSlice = 5000
