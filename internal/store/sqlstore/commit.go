package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/state"
	"github.com/mamori/mamori/internal/store"
)

// A batch's rows go to the database in multi-row statements of at most
// maxChunk rows; a rest is split into powers of two, so each statement has
// one of a few texts (prepared once per connection).
const maxChunk = 128

const (
	resultRow = `(?,?,?,?,?,?,?,?)`
	// The new states, one VALUES row each, joined on the check's id. The
	// casts type PostgreSQL's parameters (untyped in VALUES); SQLite takes
	// them as affinities. VALUES columns are column1… in both.
	stateHead = `UPDATE checks SET status=v.column2, state_type=v.column3, attempt=v.column4, hard_status=v.column5,
		last_check=v.column6, last_change=v.column7, last_hard=v.column8, problem_at=v.column9, flapping=v.column10,
		flap_pct=v.column11, unreachable=v.column12, history=v.column13, output=v.column14, perf=v.column15,
		duration_us=v.column16, poller=v.column17, active=1 FROM (VALUES `
	stateRow = `(CAST(? AS BIGINT),CAST(? AS BIGINT),CAST(? AS BIGINT),CAST(? AS BIGINT),CAST(? AS BIGINT),CAST(? AS BIGINT),` +
		`CAST(? AS BIGINT),CAST(? AS BIGINT),CAST(? AS BIGINT),CAST(? AS BIGINT),CAST(? AS DOUBLE PRECISION),CAST(? AS BIGINT),` +
		`CAST(? AS TEXT),CAST(? AS TEXT),CAST(? AS TEXT),CAST(? AS BIGINT),CAST(? AS TEXT))`
	stateTail = `) AS v WHERE checks.id = v.column1`
)

var multiRow sync.Map // "kind/n" → statement text

// multi is the text of a statement of n rows: head, n copies of row, tail.
func multi(kind string, n int, head, row, tail string) string {
	key := fmt.Sprintf("%s/%d", kind, n)
	if q, ok := multiRow.Load(key); ok {
		return q.(string)
	}
	q := head + strings.TrimSuffix(strings.Repeat(row+",", n), ",") + tail
	multiRow.Store(key, q)
	return q
}

// chunks splits n rows into statement sizes: maxChunk, then powers of two.
func chunks(n int) []int {
	var out []int
	for n > 0 {
		c := maxChunk
		for c > n {
			c /= 2
		}
		out = append(out, c)
		n -= c
	}
	return out
}

// execRows runs rows (each a row's arguments) through multi-row statements.
// Caller holds s.mu and a transaction on the writer connection.
func (s *Store) execRows(ctx context.Context, kind, head, row, tail string, rows [][]any) error {
	off := 0
	for _, n := range chunks(len(rows)) {
		st, err := s.stmt(ctx, multi(kind, n, head, row, tail))
		if err != nil {
			return fmt.Errorf("store: prepare %s: %w", kind, err)
		}
		args := make([]any, 0, n*len(rows[off]))
		for _, r := range rows[off : off+n] {
			args = append(args, r...)
		}
		if _, err := st.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("store: %s: %w", kind, err)
		}
		off += n
	}
	return nil
}

// batchRows are a batch's result rows, and its new states: one per check,
// the last of the batch (what row-by-row updates would have left). A check
// whose results in the batch all kept its state (Write.Kept) has no state
// row: its stored row still holds that state, and LoadStates reads the
// last result from the results.
func batchRows(ws []store.Write, ids []int64) (results, states [][]any) {
	results = make([][]any, 0, len(ws))
	last := make(map[int64]int, len(ws))
	order := make([]int64, 0, len(ws))
	perf := make([]string, len(ws)) // each result's, written twice when it is the check's last
	for i, w := range ws {
		r, st := w.Result, w.State
		perf[i] = check.PerfString(r.Perf)
		results = append(results, []any{ids[i], ms(r.Time), int(r.Status), int(st.Type), st.Attempt,
			r.Duration.Microseconds(), r.Output, perf[i]})
		if w.Late {
			continue // history only: the state stays the newer result's
		}
		if w.Kept {
			continue
		}
		if _, ok := last[ids[i]]; !ok {
			order = append(order, ids[i])
		}
		last[ids[i]] = i
	}
	states = make([][]any, 0, len(order))
	for _, id := range order {
		i := last[id]
		w := ws[i]
		r, st := w.Result, w.State
		states = append(states, []any{id, int(st.Status), int(st.Type), st.Attempt, int(st.HardStatus), ms(st.LastCheck),
			ms(st.LastChange), ms(st.LastHard), ms(st.ProblemAt), boolInt(st.Flapping), st.FlapPct, boolInt(st.Unreachable),
			st.History, r.Output, perf[i], r.Duration.Microseconds(), w.Poller})
	}
	return results, states
}

// Commit implements store.Store: a batch's results, the checks' new states
// and their state changes in one transaction, in a few multi-row
// statements. If the connection breaks (a PostgreSQL restart), the store
// reconnects, finds out whether the transaction committed, and if it did
// not, commits the batch again: nothing lost, nothing stored twice.
func (s *Store) Commit(ctx context.Context, ws []store.Write) ([]int64, error) {
	if len(ws) == 0 {
		return nil, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for attempt := 1; ; attempt++ {
		c, err := s.commitOnce(ctx, ws)
		if err == nil || errors.Is(err, store.ErrFenced) || !s.lost(ctx) {
			ids, err := c.finish(s, err)
			if err == nil {
				s.staged(ctx, len(ws), time.Now())
			}
			return ids, err
		}
		ok, rerr := s.recoverTx(ctx, c.xid)
		if rerr != nil {
			return nil, fmt.Errorf("%w (%v)", err, rerr)
		}
		if ok {
			s.recovered.found++
			return c.finish(s, nil) // COMMIT reached the database before the connection broke
		}
		s.recovered.retried++
		if attempt == maxAttempts || ctx.Err() != nil {
			return nil, err
		}
	}
}

// WriterRecoveries counts result batches whose connection broke: retried
// on a new connection, and found committed (the connection broke after
// COMMIT reached the database).
func (s *Store) WriterRecoveries() (retried, found int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.recovered.retried, s.recovered.found
}

// Attempts of a batch whose connection keeps breaking.
const maxAttempts = 10

// commitRun is what one attempt of a Commit did.
type commitRun struct {
	ids    []int64          // event id of each write's transition
	newIDs map[string]int64 // checks created
	xid    int64            // the transaction (0: unknown)
}

// finish returns the outcome of a commit; on success the checks it
// created are remembered. Caller holds s.mu.
func (c commitRun) finish(s *Store, err error) ([]int64, error) {
	if err != nil {
		return nil, err
	}
	for k, v := range c.newIDs {
		s.ids[k] = v
	}
	return c.ids, nil
}

// commitOnce is one attempt of Commit. Caller holds s.mu.
func (s *Store) commitOnce(ctx context.Context, ws []store.Write) (c commitRun, err error) {
	c = commitRun{ids: make([]int64, len(ws)), newIDs: map[string]int64{}}
	if s.d.Durable != nil && hasTransition(ws) {
		// A state change must survive a power loss, not just a crash.
		after, err := s.d.Durable(ctx, s.wconn)
		if err != nil {
			return c, fmt.Errorf("%s: %w", s.d.Name, err)
		}
		defer func() {
			if e := after(context.WithoutCancel(ctx)); e != nil && err == nil {
				err = fmt.Errorf("%s: %w", s.d.Name, e)
			}
		}()
	}
	tx, err := s.wconn.BeginTx(ctx, nil)
	if err != nil {
		return c, fmt.Errorf("store: begin: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	if s.d.TxID != "" {
		if err = tx.QueryRowContext(ctx, s.d.TxID).Scan(&c.xid); err != nil {
			return c, fmt.Errorf("store: transaction id: %w", err)
		}
	}
	if err = s.createChecks(ctx, tx, ws, c.newIDs); err != nil {
		return c, err
	}
	checkIDs := make([]int64, len(ws))
	for i, w := range ws {
		if checkIDs[i] = s.ids[w.Check]; checkIDs[i] == 0 {
			checkIDs[i] = c.newIDs[w.Check]
		}
	}
	results, states := batchRows(ws, checkIDs)
	kind, head := s.resultInsert()
	if err = s.execRows(ctx, kind, head, resultRow, "", results); err != nil {
		return c, err
	}
	if err = s.execRows(ctx, "update states", stateHead, stateRow, stateTail, states); err != nil {
		return c, err
	}
	if err = insertEvents(ctx, tx, ws, checkIDs, c.ids); err != nil {
		return c, err
	}
	if err = s.fence(ctx, tx); err != nil {
		return c, err
	}
	if err = tx.Commit(); err != nil {
		return c, fmt.Errorf("store: commit: %w", err)
	}
	return c, nil
}

func hasTransition(ws []store.Write) bool {
	for _, w := range ws {
		if w.Transition != nil {
			return true
		}
	}
	return false
}

// createChecks creates the rows of the batch's checks the store has no id
// for (on a fresh database, every check's first result), many per
// statement, and notes their ids in created. Caller holds s.mu and tx.
func (s *Store) createChecks(ctx context.Context, tx *Tx, ws []store.Write, created map[string]int64) error {
	var names []string
	for _, w := range ws {
		if _, ok := s.ids[w.Check]; ok {
			continue
		}
		if _, ok := created[w.Check]; !ok {
			created[w.Check] = 0
			names = append(names, w.Check)
		}
	}
	for _, ch := range chunkOffsets(len(names)) {
		off, n := ch.off, ch.n
		q := multi("create checks", n, `INSERT INTO checks(name) VALUES `, `(?)`, ` ON CONFLICT(name) DO UPDATE SET active = 1 RETURNING id, name`)
		args := make([]any, n)
		for i, name := range names[off : off+n] {
			args[i] = name
		}
		if err := scanIDs(tx.QueryContext(ctx, q, args...))(created); err != nil {
			return fmt.Errorf("store: create checks: %w", err)
		}
	}
	for name, id := range created {
		if id == 0 {
			return fmt.Errorf("store: create checks: no id for %q", name)
		}
	}
	return nil
}

// chunk is one statement's rows: [off, off+n).
type chunk struct{ off, n int }

// chunkOffsets is chunks(n) with their offsets, in order.
func chunkOffsets(n int) []chunk {
	var out []chunk
	off := 0
	for _, c := range chunks(n) {
		out = append(out, chunk{off, c})
		off += c
	}
	return out
}

// scanIDs reads (id, name) rows into a map.
func scanIDs(rows *sql.Rows, err error) func(map[string]int64) error {
	return func(into map[string]int64) error {
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			var name string
			if err := rows.Scan(&id, &name); err != nil {
				return err
			}
			into[name] = id
		}
		return rows.Err()
	}
}

// insertEvents adds the batch's state changes to the event log, many per
// statement, and sets ids[i] to the event id of write i's transition. The
// ids come from the table's sequence in the order of the VALUES rows, so
// the i-th smallest id returned by a statement is its i-th row's.
func insertEvents(ctx context.Context, tx *Tx, ws []store.Write, checkIDs, ids []int64) error {
	var rows [][]any
	var at []int // write index of each row
	for i, w := range ws {
		if t := w.Transition; t != nil && !w.Late {
			rows = append(rows, eventRow(checkIDs[i], t))
			at = append(at, i)
		}
	}
	for _, ch := range chunkOffsets(len(rows)) {
		off, n := ch.off, ch.n
		q := multi("insert events", n, `INSERT INTO events(check_id, t, from_status, from_type, to_status, to_type, attempt, flags, problem_us, output) VALUES `,
			`(?,?,?,?,?,?,?,?,?,?)`, ` RETURNING id`)
		args := make([]any, 0, n*10)
		for _, r := range rows[off : off+n] {
			args = append(args, r...)
		}
		got, err := scanInts(tx.QueryContext(ctx, q, args...))
		if err != nil {
			return fmt.Errorf("store: insert events: %w", err)
		}
		if len(got) != n {
			return fmt.Errorf("store: insert events: %d ids for %d events", len(got), n)
		}
		slices.Sort(got)
		for k, id := range got {
			ids[at[off+k]] = id
		}
	}
	return nil
}

func eventRow(checkID int64, t *state.Transition) []any {
	flags := 0
	for bit, on := range map[int]bool{flagHard: t.Hard, flagRecovery: t.Recovery, flagNotify: t.Notify, flagFlapStart: t.FlapStart, flagFlapStop: t.FlapStop, flagUnreachable: t.Unreachable} {
		if on {
			flags |= bit
		}
	}
	return []any{checkID, ms(t.Time), int(t.From), int(t.FromType), int(t.To), int(t.ToType), t.Attempt, flags, t.ProblemFor.Microseconds(), t.Output}
}

func scanInts(rows *sql.Rows, err error) ([]int64, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}
