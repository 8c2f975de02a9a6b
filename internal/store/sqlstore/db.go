package sqlstore

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"sync"
)

// Dialect is what differs between the SQL databases the store runs on.
// The queries are written once with ? placeholders in the common subset
// of SQLite and PostgreSQL; the dialect rewrites placeholders and names
// the few functions that differ.
type Dialect struct {
	// Name prefixes error messages ("sqlite", "postgres").
	Name string
	// Dollar rewrites ? placeholders to $1, $2, … (PostgreSQL).
	Dollar bool
	// Instr is the function giving the 1-based position of a substring
	// (instr in SQLite, strpos in PostgreSQL).
	Instr string
	// Greatest is the scalar maximum of its arguments (max, greatest).
	Greatest string
	// RowID is the physical row id of a table without a key (rowid, ctid).
	RowID string
	// LastResult joins, as r, the newest row of results of the check c (a
	// LEFT JOIN: none when its results are pruned), found by a seek of
	// results(check_id, t): a subquery for MAX(t) in SQLite, a LATERAL
	// join in PostgreSQL (the faster form in each, BenchmarkLoadStates).
	LastResult string
	// LastStaged joins, as rs, the newest staged result of the check c
	// (one pass over results_recent, which has no index; see StageResults).
	LastStaged string
	// StageResults writes a batch's results to results_recent and moves
	// them into results in bulk (stage.go): SQLite, whose WAL takes a whole
	// page for every page a commit changes. PostgreSQL logs the row, not
	// the page, and writes results directly: its results_recent stays
	// empty (the readers' pass over it costs nothing there).
	StageResults bool
	// FoldCase wraps a user-name column or argument for a comparison
	// without regard to case: SQLite's columns compare NOCASE already,
	// PostgreSQL compares lower() of both (indexed on lower()).
	FoldCase func(expr string) string
	// Durable, if set, is run on the writer connection before a commit
	// holding a state change; the function it returns after it.
	Durable func(ctx context.Context, c *Conn) (after func(context.Context) error, err error)
	// TxID, if set, returns the current transaction's id, and TxStatus
	// (one ? argument: that id) tells afterwards whether it committed
	// ('committed'), so that a result batch whose connection broke during
	// COMMIT is neither lost nor stored twice (PostgreSQL: txid_current,
	// txid_status). Without them the store never loses its connection
	// (SQLite is in-process).
	TxID, TxStatus string
	// Share ends the fence's read of the epoch: " FOR SHARE" where servers
	// share the database, "" where the writer is alone (SQLite).
	Share string
	// LockWait, if set, bounds the wait of the takeover's epoch increment
	// for a transaction holding the epoch (SET LOCAL lock_timeout); when it
	// times out (SQLSTATE 55P03), EndLockHolders ends the sessions holding
	// a lock on the epoch's table and the increment is tried again.
	LockWait, EndLockHolders string
}

var rebound sync.Map // query text → PostgreSQL text

// bind rewrites q for the dialect: every ? outside a quoted literal
// becomes $n.
func (d *Dialect) bind(q string) string {
	if !d.Dollar || !strings.Contains(q, "?") {
		return q
	}
	if v, ok := rebound.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	n, quoted := 0, false
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'':
			quoted = !quoted
		case c == '?' && !quoted:
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	out := b.String()
	rebound.Store(q, out)
	return out
}

// DB is a connection pool that rewrites queries for its dialect.
type DB struct {
	*sql.DB
	d *Dialect
}

// ExecContext runs q.
func (db DB) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return db.DB.ExecContext(ctx, db.d.bind(q), args...)
}

// QueryContext runs q.
func (db DB) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return db.DB.QueryContext(ctx, db.d.bind(q), args...)
}

// QueryRowContext runs q.
func (db DB) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return db.DB.QueryRowContext(ctx, db.d.bind(q), args...)
}

// Conn is one pinned connection that rewrites queries for its dialect.
type Conn struct {
	*sql.Conn
	d *Dialect
}

// ExecContext runs q.
func (c *Conn) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return c.Conn.ExecContext(ctx, c.d.bind(q), args...)
}

// PrepareContext prepares q.
func (c *Conn) PrepareContext(ctx context.Context, q string) (*sql.Stmt, error) {
	return c.Conn.PrepareContext(ctx, c.d.bind(q))
}

// BeginTx starts a transaction.
func (c *Conn) BeginTx(ctx context.Context, opts *sql.TxOptions) (*Tx, error) {
	tx, err := c.Conn.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &Tx{Tx: tx, d: c.d}, nil
}

// Tx is a transaction that rewrites queries for its dialect.
type Tx struct {
	*sql.Tx
	d *Dialect
}

// ExecContext runs q.
func (tx *Tx) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return tx.Tx.ExecContext(ctx, tx.d.bind(q), args...)
}

// QueryContext runs q.
func (tx *Tx) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return tx.Tx.QueryContext(ctx, tx.d.bind(q), args...)
}

// QueryRowContext runs q.
func (tx *Tx) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return tx.Tx.QueryRowContext(ctx, tx.d.bind(q), args...)
}

// BeginTx starts a transaction on the pool.
func (db DB) BeginTx(ctx context.Context, opts *sql.TxOptions) (*Tx, error) {
	tx, err := db.DB.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &Tx{Tx: tx, d: db.d}, nil
}
