package sqlstore

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"
	"time"
)

// Staged results (Dialect.StageResults, migration 00011): a batch's
// results go to results_recent, a table without an index, in the order
// they come; the writer moves them into results, sorted by check and
// time, once stageRows are staged or stageAge after the last move began
// (a range of checks per commit, see staged), and when the store opens. A check then gets many
// results per page of results(check_id, t) written, where a result
// written there directly changes a page of its own once the store has
// run a while (docs/performance.md). Readers read both tables; a staged
// row is as durable as a moved one (the same commit).
const (
	stageRows = 50000
	stageAge  = time.Minute
	moveSlice = 5000
)

// staging is the writer's view of results_recent. Guarded by Store.mu.
type staging struct {
	rows    int        // rows staged since the last move began (from this store)
	since   time.Time  // last move's start (or its attempt)
	pending [][2]int64 // id ranges the move under way has yet to move
	// Read by metrics scrapes without the writer's lock.
	moves, moved, failed atomic.Int64
}

const resultColumns = `check_id, t, status, state_type, attempt, duration_us, output, perf`

// resultInsert is the statement kind and head that write a batch's
// results: to results_recent when the dialect stages them.
func (s *Store) resultInsert() (kind, head string) {
	if s.d.StageResults {
		return "stage results", `INSERT INTO results_recent(` + resultColumns + `) VALUES `
	}
	return "insert results", `INSERT INTO results(` + resultColumns + `) VALUES `
}

// staged notes n more staged rows and moves them when it is time: a move
// goes one range of checks (about moveSlice results) per commit, so that
// the commits behind it wait for one range, not for all of them. A range
// that fails to move ends the move: its rows stay staged (read from there)
// and the next move starts after stageAge or stageRows more. The batch
// that triggered it is committed either way. Caller holds s.mu.
func (s *Store) staged(ctx context.Context, n int, now time.Time) {
	if !s.d.StageResults {
		return
	}
	s.stage.rows += n
	if s.stage.since.IsZero() {
		s.stage.since = now
	}
	if len(s.stage.pending) == 0 {
		if s.stage.rows < stageRows && now.Sub(s.stage.since) < stageAge {
			return
		}
		s.stage.since, s.stage.rows = now, 0
		ranges, err := s.planMove(ctx)
		if err != nil {
			s.stage.failed.Add(1)
			return
		}
		s.stage.pending = ranges
	}
	if err := s.moveNext(ctx); err != nil {
		s.stage.failed.Add(1)
		s.stage.pending = nil
	}
}

// moveNext moves the next range of the move under way.
func (s *Store) moveNext(ctx context.Context) error {
	r := s.stage.pending[0]
	n, err := s.moveRange(ctx, r[0], r[1])
	if err != nil {
		return err
	}
	s.stage.moved.Add(n)
	if s.stage.pending = s.stage.pending[1:]; len(s.stage.pending) == 0 {
		s.stage.moves.Add(1)
	}
	return nil
}

// planMove is the id ranges of a move of what is staged now.
func (s *Store) planMove(ctx context.Context) ([][2]int64, error) {
	var staged int64
	if err := s.wconn.QueryRowContext(ctx, `SELECT count(*) FROM results_recent`).Scan(&staged); err != nil {
		return nil, fmt.Errorf("store: move staged results: %w", err)
	}
	return idRanges(s.ids, staged), nil
}

// moveStaged moves every staged result into results now, range by range
// (it ends a move under way). Caller holds s.mu.
func (s *Store) moveStaged(ctx context.Context) (int64, error) {
	ranges, err := s.planMove(ctx)
	if err != nil {
		return 0, err
	}
	before := s.stage.moved.Load()
	s.stage.pending = ranges
	for len(s.stage.pending) > 0 {
		if err := s.moveNext(ctx); err != nil {
			s.stage.pending = nil
			return s.stage.moved.Load() - before, err
		}
	}
	return s.stage.moved.Load() - before, nil
}

// idRanges split the check ids into [lo, hi) ranges of about moveSlice of
// the staged results each (results spread evenly over the checks); the
// first and the last are open-ended.
func idRanges(ids map[string]int64, staged int64) [][2]int64 {
	var top int64
	for _, id := range ids {
		top = max(top, id)
	}
	n := max(1, (staged+moveSlice-1)/moveSlice)
	step := top/n + 1
	out := make([][2]int64, 0, n)
	for i := int64(0); i < n; i++ {
		out = append(out, [2]int64{i * step, (i + 1) * step})
	}
	out[0][0], out[n-1][1] = math.MinInt64, math.MaxInt64
	return out
}

// moveRange moves the staged results of the checks with ids in [lo, hi).
func (s *Store) moveRange(ctx context.Context, lo, hi int64) (int64, error) {
	tx, err := s.wconn.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("store: move staged results: %w", err)
	}
	defer tx.Rollback()
	var n [2]int64 // inserted, deleted
	for i, q := range []string{
		`INSERT INTO results(` + resultColumns + `) SELECT ` + resultColumns +
			` FROM results_recent WHERE check_id >= ? AND check_id < ? ORDER BY check_id, t`,
		`DELETE FROM results_recent WHERE check_id >= ? AND check_id < ?`,
	} {
		res, err := tx.ExecContext(ctx, q, lo, hi)
		if err == nil {
			n[i], err = res.RowsAffected()
		}
		if err != nil {
			return 0, fmt.Errorf("store: move staged results: %w", err)
		}
	}
	if n[0] != n[1] {
		return 0, fmt.Errorf("store: move staged results: %d inserted for %d staged", n[0], n[1])
	}
	if err := s.fence(ctx, tx); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("store: move staged results: %w", err)
	}
	return n[0], nil
}

// moveAtOpen moves what an earlier run left staged (or a copy brought).
// A move that fails (a server that may not write: a follower) is counted
// and leaves the rows where readers find them.
func (s *Store) moveAtOpen(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int
	err := s.wconn.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM results_recent LIMIT 1) x`).Scan(&n)
	if err != nil || n == 0 {
		return err
	}
	s.stage.since = time.Now()
	if _, err := s.moveStaged(ctx); err != nil {
		s.stage.failed.Add(1)
	}
	return nil
}

// StagedMoves reports the writer's moves of staged results: moves made,
// results moved, moves that failed (their rows stay staged and are read
// from there).
func (s *Store) StagedMoves() (moves, moved, failed int64) {
	return s.stage.moves.Load(), s.stage.moved.Load(), s.stage.failed.Load()
}

// MoveStaged moves every staged result now (tests, and before a copy).
func (s *Store) MoveStaged(ctx context.Context) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.moveStaged(ctx)
	if err == nil {
		s.stage.rows, s.stage.since = 0, time.Now()
	}
	return n, err
}
