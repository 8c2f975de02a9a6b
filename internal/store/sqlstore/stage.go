package sqlstore

import (
	"context"
	"fmt"
	"time"
)

// Staged results (Dialect.StageResults, migration 00011): a batch's
// results go to results_recent, a table without an index, in the order
// they come; the writer moves them into results in one transaction,
// sorted by check and time, once stageRows are staged or stageAge after
// the last move, and when the store opens. A check then gets many
// results per page of results(check_id, t) written, where a result
// written there directly changes a page of its own once the store has
// run a while (docs/performance.md). Readers read both tables; a staged
// row is as durable as a moved one (the same commit).
const (
	stageRows = 50000
	stageAge  = time.Minute
)

// staging is the writer's view of results_recent. Guarded by Store.mu.
type staging struct {
	rows         int       // rows staged since the last move (from this store)
	since        time.Time // last move (or its attempt)
	moves, moved int64
	failed       int64
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

// staged notes n more staged rows and moves them when it is time. A move
// that fails leaves the rows staged (still read from there) and is tried
// again after stageAge: the batch that triggered it is committed either
// way. Caller holds s.mu.
func (s *Store) staged(ctx context.Context, n int, now time.Time) {
	if !s.d.StageResults {
		return
	}
	s.stage.rows += n
	if s.stage.since.IsZero() {
		s.stage.since = now
	}
	if s.stage.rows < stageRows && now.Sub(s.stage.since) < stageAge {
		return
	}
	s.stage.since = now
	if _, err := s.moveStaged(ctx); err != nil {
		s.stage.failed++
		return
	}
	s.stage.rows = 0
}

// moveStaged moves every staged result into results, sorted by check and
// time, in one transaction (fenced like a commit). Caller holds s.mu.
func (s *Store) moveStaged(ctx context.Context) (int64, error) {
	tx, err := s.wconn.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("store: move staged results: %w", err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `INSERT INTO results(`+resultColumns+`) SELECT `+resultColumns+
		` FROM results_recent ORDER BY check_id, t`)
	if err != nil {
		return 0, fmt.Errorf("store: move staged results: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("store: move staged results: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM results_recent`); err != nil {
		return 0, fmt.Errorf("store: move staged results: %w", err)
	}
	if err := s.fence(ctx, tx); err != nil {
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("store: move staged results: %w", err)
	}
	s.stage.moves++
	s.stage.moved += n
	return n, nil
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
		s.stage.failed++
	}
	return nil
}

// StagedMoves reports the writer's moves of staged results: moves made,
// results moved, moves that failed (their rows stay staged and are read
// from there).
func (s *Store) StagedMoves() (moves, moved, failed int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stage.moves, s.stage.moved, s.stage.failed
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
