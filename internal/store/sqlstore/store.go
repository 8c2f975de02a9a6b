// Package sqlstore is the SQL code shared by mamori's stores: the queries
// are written once, in the common subset of SQLite and PostgreSQL, and a
// Dialect adapts placeholders and the few functions that differ. A store
// package (store/sqlite, store/postgres) opens its database, applies the
// migrations and hands the handles to New.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/store"
	"github.com/mamori/mamori/internal/store/migrate"
)

// Store is the SQL store.
type Store struct {
	d     *Dialect
	rdb   DB
	wdb   *sql.DB
	wconn *Conn

	mu  sync.Mutex // serialises writes and guards ids, wconn and stmts
	ids map[string]int64
	// Statements of the result path, prepared on the writer connection
	// (Commit's transactions run on that connection too) the first time a
	// batch needs them; dropped when the writer reconnects.
	stmts     map[string]*sql.Stmt
	recovered struct{ retried, found int64 } // see WriterRecoveries
	onFenced  atomic.Pointer[func(ours, theirs int64)]
	stage     staging // see stage.go
}

var (
	_ store.Store = (*Store)(nil)
	_ event.Log   = (*Store)(nil)
)

// Event flags, packed in one column.
const (
	flagHard = 1 << iota
	flagRecovery
	flagNotify
	flagFlapStart
	flagFlapStop
	flagUnreachable
)

// SchemaVersion is the version of the last schema migration applied
// (see package migrate).
func (s *Store) SchemaVersion(ctx context.Context) (int64, error) {
	var v int64
	err := s.rdb.QueryRowContext(ctx, `SELECT coalesce(max(version_id), 0) FROM `+migrate.VersionTable+` WHERE is_applied`).Scan(&v)
	return v, err
}

// New builds a store on a migrated database: rdb serves reads, wdb is the
// writer pool of which the store pins one connection for every write.
// The store owns both pools from here on (Close closes them), also when
// New fails.
func New(ctx context.Context, d Dialect, rdb, wdb *sql.DB) (*Store, error) {
	dp := &d
	conn, err := wdb.Conn(ctx)
	if err != nil {
		rdb.Close()
		wdb.Close()
		return nil, fmt.Errorf("%s: open writer: %w", d.Name, err)
	}
	s := &Store{d: dp, rdb: DB{rdb, dp}, wdb: wdb, wconn: &Conn{conn, dp}, ids: map[string]int64{}, stmts: map[string]*sql.Stmt{}}
	if err := s.loadIDs(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("%s: load ids: %w", d.Name, err)
	}
	if err := s.moveAtOpen(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("%s: staged results: %w", d.Name, err)
	}
	return s, nil
}

func (s *Store) loadIDs(ctx context.Context) error {
	return scanIDs(s.rdb.QueryContext(ctx, `SELECT id, name FROM checks`))(s.ids)
}

// Dialect is the store's dialect.
func (s *Store) Dialect() *Dialect { return s.d }

// ReadDB is the pool the store reads through (for tools such as
// migrate-store that read whole tables).
func (s *Store) ReadDB() *sql.DB { return s.rdb.DB }

// write runs fn in one write transaction on the pinned writer connection.
func (s *Store) write(ctx context.Context, fn func(tx *Tx) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, err := s.wconn.BeginTx(ctx, nil)
	if err != nil && s.lost(ctx) {
		// The database went away (a restart): nothing ran yet, so take a
		// new connection and begin again.
		if rerr := s.reconnect(ctx); rerr != nil {
			return fmt.Errorf("%s: begin: %w (%v)", s.d.Name, err, rerr)
		}
		tx, err = s.wconn.BeginTx(ctx, nil)
	}
	if err != nil {
		return fmt.Errorf("%s: begin: %w", s.d.Name, err)
	}
	err = fn(tx)
	if err == nil {
		err = s.fence(ctx, tx)
	}
	if err != nil {
		tx.Rollback()
		s.reconnectIfLost(ctx)
		return err
	}
	if err := tx.Commit(); err != nil {
		s.reconnectIfLost(ctx)
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// Close closes the database.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	errs := []error{s.dropStmts()}
	return errors.Join(append(errs, s.wconn.Close(), s.wdb.Close(), s.rdb.Close())...)
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// LoadStates implements store.Store. A check's row holds its state as last
// decided; results that kept that state (Write.Kept) did not rewrite it,
// so the last result's time, output, perf and duration come from the
// newest stored result when it is newer than the row: the newest moved one
// (Dialect.LastResult: an index seek per check on results(check_id, t)) or
// the newest staged one (Dialect.LastStaged), whichever is newer.
func (s *Store) LoadStates(ctx context.Context) (map[string]store.CheckState, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT c.name, c.status, c.state_type, c.attempt, c.hard_status, c.last_check, c.last_change,
		c.last_hard, c.problem_at, c.flapping, c.flap_pct, c.unreachable, c.history, c.output, c.perf, c.duration_us, c.poller,
		r.t, r.output, r.perf, r.duration_us, rs.t, rs.output, rs.perf, rs.duration_us
		FROM checks c `+s.d.LastResult+` `+s.d.LastStaged+` WHERE c.active = 1`)
	if err != nil {
		return nil, fmt.Errorf("store: load states: %w", err)
	}
	defer rows.Close()
	out := map[string]store.CheckState{}
	for rows.Next() {
		var cs store.CheckState
		var lc, lch, lh, pa, dur int64
		var flapping, unreach int
		var perf string
		var last [2]lastRow // moved, staged
		if err := rows.Scan(&cs.Name, &cs.Status, &cs.Type, &cs.Attempt, &cs.HardStatus, &lc, &lch, &lh, &pa,
			&flapping, &cs.FlapPct, &unreach, &cs.History, &cs.Output, &perf, &dur, &cs.Poller,
			&last[0].t, &last[0].output, &last[0].perf, &last[0].dur,
			&last[1].t, &last[1].output, &last[1].perf, &last[1].dur); err != nil {
			return nil, fmt.Errorf("store: load states: %w", err)
		}
		for _, r := range last {
			if r.t.Valid && r.t.Int64 > lc {
				lc, cs.Output, perf, dur = r.t.Int64, r.output.String, r.perf.String, r.dur.Int64
			}
		}
		cs.LastCheck, cs.LastChange, cs.LastHard, cs.ProblemAt = fromMS(lc), fromMS(lch), fromMS(lh), fromMS(pa)
		cs.Flapping, cs.Unreachable = flapping == 1, unreach == 1
		cs.Perf, _ = check.ParsePerf(perf)
		cs.Duration = time.Duration(dur) * time.Microsecond
		out[cs.Name] = cs
	}
	return out, rows.Err()
}

// lastRow is a check's newest result as LoadStates joins it.
type lastRow struct {
	t, dur       sql.NullInt64
	output, perf sql.NullString
}

// Results implements store.Store: the newest results before before,
// from results and the staged ones (stage.go), newest first.
func (s *Store) Results(ctx context.Context, name string, before time.Time, limit int) ([]store.ResultRow, error) {
	if limit <= 0 || limit > 10000 {
		limit = 100
	}
	if before.IsZero() {
		before = time.Now().Add(time.Hour)
	}
	var id int64
	switch err := s.rdb.QueryRowContext(ctx, `SELECT id FROM checks WHERE name = ?`, name).Scan(&id); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("store: results: %w", err)
	}
	var out []store.ResultRow
	for _, table := range []string{"results", "results_recent"} {
		rows, err := s.resultRows(ctx, table, id, name, before, limit)
		if err != nil {
			return nil, err
		}
		out = append(out, rows...)
	}
	slices.SortStableFunc(out, func(a, b store.ResultRow) int { return b.Time.Compare(a.Time) })
	return out[:min(len(out), limit)], nil
}

// resultRows are the newest limit rows of table for the check id before.
func (s *Store) resultRows(ctx context.Context, table string, id int64, name string, before time.Time, limit int) ([]store.ResultRow, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT t, status, state_type, attempt, duration_us, output, perf
		FROM `+table+` WHERE check_id = ? AND t < ? ORDER BY t DESC LIMIT ?`, id, ms(before), limit)
	if err != nil {
		return nil, fmt.Errorf("store: results: %w", err)
	}
	defer rows.Close()
	var out []store.ResultRow
	for rows.Next() {
		var r store.ResultRow
		var t, dur int64
		var perf string
		if err := rows.Scan(&t, &r.Status, &r.StateType, &r.Attempt, &dur, &r.Output, &perf); err != nil {
			return nil, fmt.Errorf("store: results: %w", err)
		}
		r.Check, r.Time, r.Duration = name, fromMS(t), float64(dur)/1e6
		r.Perf, _ = check.ParsePerf(perf)
		out = append(out, r)
	}
	return out, rows.Err()
}

// Events implements store.Store.
func (s *Store) Events(ctx context.Context, q store.EventQuery) ([]event.Event, error) {
	var where []string
	var args []any
	if len(q.Checks) > 0 {
		where = append(where, "c.name IN ("+strings.TrimSuffix(strings.Repeat("?,", len(q.Checks)), ",")+")")
		for _, c := range q.Checks {
			args = append(args, c)
		}
	}
	if !q.Since.IsZero() {
		where, args = append(where, "e.t >= ?"), append(args, ms(q.Since))
	}
	if !q.Until.IsZero() {
		where, args = append(where, "e.t < ?"), append(args, ms(q.Until))
	}
	if q.HardOnly {
		where = append(where, fmt.Sprintf("(e.flags & %d) != 0", flagHard))
	}
	if q.AfterID > 0 {
		where, args = append(where, "e.id > ?"), append(args, q.AfterID)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 10000)
	sqlText := `SELECT e.id, c.name, e.t, e.from_status, e.from_type, e.to_status, e.to_type, e.attempt, e.flags, e.problem_us, e.output
		FROM events e JOIN checks c ON c.id = e.check_id`
	if len(where) > 0 {
		sqlText += " WHERE " + strings.Join(where, " AND ")
	}
	if q.Desc {
		sqlText += " ORDER BY e.id DESC"
	} else {
		sqlText += " ORDER BY e.id"
	}
	sqlText += fmt.Sprintf(" LIMIT %d", limit)
	rows, err := s.rdb.QueryContext(ctx, sqlText, args...)
	if err != nil {
		return nil, fmt.Errorf("store: events: %w", err)
	}
	defer rows.Close()
	var out []event.Event
	for rows.Next() {
		e := event.Event{Kind: event.StateChange}
		var t, pus int64
		var flags int
		if err := rows.Scan(&e.ID, &e.Check, &t, &e.From, &e.FromType, &e.To, &e.ToType, &e.Attempt, &flags, &pus, &e.Output); err != nil {
			return nil, fmt.Errorf("store: events: %w", err)
		}
		e.Time, e.ProblemFor = fromMS(t), time.Duration(pus)*time.Microsecond
		e.Hard, e.Recovery, e.Notify = flags&flagHard != 0, flags&flagRecovery != 0, flags&flagNotify != 0
		e.FlapStart, e.FlapStop, e.Unreachable = flags&flagFlapStart != 0, flags&flagFlapStop != 0, flags&flagUnreachable != 0
		out = append(out, e)
	}
	return out, rows.Err()
}

// EventsAfter implements event.Log: up to limit state changes after an
// event ID, oldest first.
func (s *Store) EventsAfter(ctx context.Context, after int64, limit int) ([]event.Event, error) {
	return s.Events(ctx, store.EventQuery{AfterID: after, Limit: limit})
}

// Forget implements store.Store (fenced under the leader's epoch).
func (s *Store) Forget(ctx context.Context, name string) error {
	return s.write(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE checks SET active = 0 WHERE name = ?`, name)
		return err
	})
}

// Prune implements store.Store. It deletes in slices, one transaction each
// (fenced under the leader's epoch), so that a large backlog does not hold
// the write lock for long. Results go check by check through
// results(check_id, t): no index on t alone is kept up on every insert
// for a deletion once an hour (migration 00012).
func (s *Store) Prune(ctx context.Context, resultsBefore, eventsBefore time.Time) (int64, int64, error) {
	r, err := s.pruneResults(ctx, ms(resultsBefore))
	if err != nil {
		return r, 0, err
	}
	e, err := s.deleteSlices(ctx, `DELETE FROM events WHERE id IN (SELECT id FROM events WHERE t < ? LIMIT ?)`, ms(eventsBefore))
	return r, e, err
}

// pruneSlice is the most rows one prune transaction deletes; pruneChecks
// the most checks whose results it visits.
const pruneSlice, pruneChecks = 5000, 1000

// pruneResults deletes the results before t (ms) of every check, active
// or not, then the staged ones (results_recent is small, without index).
func (s *Store) pruneResults(ctx context.Context, before int64) (int64, error) {
	ids, err := scanInts(s.rdb.QueryContext(ctx, `SELECT id FROM checks ORDER BY id`))
	if err != nil {
		return 0, fmt.Errorf("store: prune: %w", err)
	}
	del := `DELETE FROM results WHERE ` + s.d.RowID + ` IN (SELECT ` + s.d.RowID + ` FROM results WHERE check_id = ? AND t < ? LIMIT ?)`
	var total int64
	for len(ids) > 0 {
		var n int64
		var done int // checks with nothing left to prune
		err := s.write(ctx, func(tx *Tx) error {
			n, done = 0, 0
			for done < len(ids) && done < pruneChecks && n < pruneSlice {
				k, err := rowsAffected(tx.ExecContext(ctx, del, ids[done], before, pruneSlice-n))
				if err != nil {
					return err
				}
				if n += k; n < pruneSlice {
					done++
				}
			}
			return nil
		})
		if err != nil {
			return total, fmt.Errorf("store: prune: %w", err)
		}
		total += n
		ids = ids[done:]
	}
	n, err := s.deleteSlices(ctx, `DELETE FROM results_recent WHERE `+s.d.RowID+` IN (SELECT `+s.d.RowID+` FROM results_recent WHERE t < ? LIMIT ?)`, before)
	return total + n, err
}

// deleteSlices runs q (arguments: before, then the slice's size) until a
// slice deletes fewer than pruneSlice rows.
func (s *Store) deleteSlices(ctx context.Context, q string, before int64) (int64, error) {
	var total int64
	for {
		var n int64
		err := s.write(ctx, func(tx *Tx) error {
			var err error
			n, err = rowsAffected(tx.ExecContext(ctx, q, before, pruneSlice))
			return err
		})
		if total += n; err != nil {
			return total, fmt.Errorf("store: prune: %w", err)
		}
		if n < pruneSlice {
			return total, nil
		}
	}
}

func rowsAffected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
