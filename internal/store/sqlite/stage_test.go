package sqlite

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/state"
	"github.com/mamori/mamori/internal/store"
)

// stagedWrites are n kept OK results of checks a and b in turn, one a
// second from t0, numbered in their output.
func stagedWrites(from, n int, t0 time.Time) []store.Write {
	ws := make([]store.Write, n)
	for i := range ws {
		k := from + i
		at := t0.Add(time.Duration(k) * time.Second)
		ws[i] = store.Write{Check: []string{"a", "b"}[k%2], Kept: k > 1,
			Result: check.Result{Status: check.OK, Output: fmt.Sprintf("result %d", k), Time: at},
			State:  state.State{Attempt: 1, LastCheck: at}}
	}
	return ws
}

func counts(t *testing.T, s *Store) (moved, staged int64) {
	t.Helper()
	ctx := context.Background()
	moved, err := s.Count(ctx, "results")
	if err != nil {
		t.Fatal(err)
	}
	if staged, err = s.Count(ctx, "results_recent"); err != nil {
		t.Fatal(err)
	}
	return moved, staged
}

func outputs(rows []store.ResultRow) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r.Output)
	}
	return out
}

// TestResultsAreStagedAndMovedByCheck: a commit's results go to
// results_recent; a move puts them into results sorted by check and time;
// the history, the last result LoadStates gives and the first-seen time
// read both tables, and Prune deletes from both.
func TestResultsAreStagedAndMovedByCheck(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	for from := 0; from < 12; from += 4 {
		if _, err := s.Commit(ctx, stagedWrites(from, 4, t0)); err != nil {
			t.Fatal(err)
		}
	}
	if moved, staged := counts(t, s); moved != 0 || staged != 12 {
		t.Fatalf("after commits: %d moved, %d staged; want 0, 12", moved, staged)
	}
	if n, err := s.MoveStaged(ctx); err != nil || n != 12 {
		t.Fatalf("moved %d (%v), want 12", n, err)
	}
	if moved, staged := counts(t, s); moved != 12 || staged != 0 {
		t.Fatalf("after the move: %d moved, %d staged; want 12, 0", moved, staged)
	}
	rows, err := s.ReadDB().QueryContext(ctx, `SELECT c.name, r.t FROM results r JOIN checks c ON c.id = r.check_id ORDER BY r.rowid`)
	if err != nil {
		t.Fatal(err)
	}
	var order []string
	for rows.Next() {
		var name string
		var at int64
		if err := rows.Scan(&name, &at); err != nil {
			t.Fatal(err)
		}
		order = append(order, fmt.Sprintf("%s@%d", name, (at-t0.UnixMilli())/1000))
	}
	rows.Close()
	want := []string{"a@0", "a@2", "a@4", "a@6", "a@8", "a@10", "b@1", "b@3", "b@5", "b@7", "b@9", "b@11"}
	if !slices.Equal(order, want) {
		t.Errorf("moved rows in the order %v, want %v", order, want)
	}

	// Two more results of a staged after the move: the history spans both tables.
	if _, err := s.Commit(ctx, stagedWrites(12, 4, t0)); err != nil {
		t.Fatal(err)
	}
	got, err := s.Results(ctx, "a", time.Time{}, 4)
	if err != nil {
		t.Fatal(err)
	}
	if o := outputs(got); !slices.Equal(o, []string{"result 14", "result 12", "result 10", "result 8"}) {
		t.Errorf("history of a: %v", o)
	}
	got, err = s.Results(ctx, "b", t0.Add(13*time.Second), 3)
	if err != nil {
		t.Fatal(err)
	}
	if o := outputs(got); !slices.Equal(o, []string{"result 11", "result 9", "result 7"}) {
		t.Errorf("history of b before 13 s: %v", o)
	}
	states, err := s.LoadStates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if a := states["a"]; a.Output != "result 14" || !a.LastCheck.Equal(t0.Add(14*time.Second)) {
		t.Errorf("last result of a: %q at %v, want the staged result 14", a.Output, a.LastCheck)
	}
	if n, err := s.MoveStaged(ctx); err != nil || n != 4 {
		t.Fatalf("moved %d (%v), want 4", n, err)
	}
	if states, err = s.LoadStates(ctx); err != nil || states["b"].Output != "result 15" {
		t.Errorf("last result of b once moved: %q (%v), want result 15", states["b"].Output, err)
	}

	// Prune reaches the staged rows too.
	if _, err := s.Commit(ctx, stagedWrites(16, 2, t0)); err != nil {
		t.Fatal(err)
	}
	if r, _, err := s.Prune(ctx, t0.Add(time.Hour), t0); err != nil || r != 18 {
		t.Errorf("pruned %d results (%v), want 18", r, err)
	}
	if moved, staged := counts(t, s); moved != 0 || staged != 0 {
		t.Errorf("after the prune: %d moved, %d staged; want none", moved, staged)
	}
}

// TestStagedResultsMoveOnOpen: results a server left staged are moved
// when the store opens again.
func TestStagedResultsMoveOnOpen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commit(ctx, stagedWrites(0, 6, time.Now())); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = Open(ctx, dir); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if moved, staged := counts(t, s); moved != 6 || staged != 0 {
		t.Fatalf("after opening again: %d moved, %d staged; want 6, 0", moved, staged)
	}
	if moves, n, failed := s.StagedMoves(); moves != 1 || n != 6 || failed != 0 {
		t.Errorf("moves %d, moved %d, failed %d; want 1, 6, 0", moves, n, failed)
	}
}

// TestStagedResultsMoveAtTheirLimit: once 50,000 results are staged, the
// writer moves them a range of checks per commit; none before, and every
// result is in exactly one of the tables throughout.
func TestStagedResultsMoveAtTheirLimit(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Now()
	const batch, checks = 500, 100
	total := 0
	commit := func() {
		ws := make([]store.Write, batch)
		for i := range ws {
			at := t0.Add(time.Duration(total+i) * time.Millisecond)
			ws[i] = store.Write{Check: fmt.Sprintf("c%03d", (total+i)%checks), Kept: total > 0,
				Result: check.Result{Status: check.OK, Output: "ok", Time: at}, State: state.State{Attempt: 1, LastCheck: at}}
		}
		if _, err := s.Commit(ctx, ws); err != nil {
			t.Fatal(err)
		}
		total += batch
	}
	for total < 50000-batch {
		commit()
	}
	if moved, staged := counts(t, s); moved != 0 || staged != int64(total) {
		t.Fatalf("after %d results: %d moved, %d staged; want none moved", total, moved, staged)
	}
	for i := 0; i < 20; i++ {
		commit()
		moved, staged := counts(t, s)
		if moved+staged != int64(total) {
			t.Fatalf("after %d results: %d moved + %d staged", total, moved, staged)
		}
		if moves, _, failed := s.StagedMoves(); failed != 0 || moves > 1 {
			t.Fatalf("moves %d, failed %d", moves, failed)
		}
	}
	moves, n, _ := s.StagedMoves()
	moved, staged := counts(t, s)
	if moves != 1 || n != moved || moved < 50000 || staged != int64(total)-moved {
		t.Errorf("after %d results: %d moves of %d results; %d moved, %d staged", total, moves, n, moved, staged)
	}
}
