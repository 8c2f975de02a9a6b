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

// BenchCommitSizes measures Commit of batches of several sizes drawn in
// turn from 2,000 checks with advancing times (as the engine's writer
// sees them under load): the per-row cost against the batch size.
func BenchCommitSizes(b *testing.B, open Opener) {
	for _, n := range []int{1, 8, 32, 128, 512} {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			ctx := context.Background()
			s := open(b)
			defer s.Close()
			const checks = 2000
			t0 := time.Now()
			ws := make([]store.Write, n)
			next := 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				for j := range ws {
					at := t0.Add(time.Duration(next) * time.Millisecond)
					ws[j] = store.Write{Check: fmt.Sprintf("bench-%05d", next%checks), Result: check.Result{Status: check.OK,
						Output: "HTTP OK: HTTP/1.1 200 OK - 2 bytes in 0.001 second response time", Time: at,
						Perf: []check.Metric{check.Seconds("time", time.Millisecond, 6*time.Second, 10*time.Second)}},
						State: state.State{Attempt: 1, LastCheck: at}}
					next++
				}
				if _, err := s.Commit(ctx, ws); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*n), "µs/row")
		})
	}
}
