// Package postgres is mamori's PostgreSQL store (jackc/pgx through its
// database/sql adapter). It runs package sqlstore's queries, shared with
// the SQLite store, so both behave alike: one pinned writer connection
// serialises the process's writes (result, state and event in one
// transaction), a pool serves reads.
package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"github.com/mamori/mamori/internal/store/migrate"
	"github.com/mamori/mamori/internal/store/sqlstore"
)

// Store is the PostgreSQL store.
type Store struct {
	*sqlstore.Store
	dsn string
}

// Dialect is PostgreSQL's: $n placeholders, strpos, greatest, ctid; user
// names compared as lower() of both sides (unique on lower(name)).
// Every commit is durable (synchronous_commit as the server has it).
func Dialect() sqlstore.Dialect {
	return sqlstore.Dialect{
		Name: "postgres", Dollar: true, Instr: "strpos", Greatest: "greatest", RowID: "ctid",
		LastResult: `LEFT JOIN LATERAL (SELECT t, output, perf, duration_us FROM results WHERE check_id = c.id ORDER BY t DESC LIMIT 1) r ON true`,
		LastStaged: `LEFT JOIN (SELECT DISTINCT ON (check_id) check_id, t, output, perf, duration_us FROM results_recent ORDER BY check_id, t DESC) rs ON rs.check_id = c.id`,
		FoldCase:   func(expr string) string { return "lower(" + expr + ")" },
		TxID:       "SELECT txid_current()", TxStatus: "SELECT txid_status(?)",
		Share: " FOR SHARE", LockWait: "SET LOCAL lock_timeout = '2s'", EndLockHolders: endLockHolders,
	}
}

// endLockHolders ends the other sessions holding a lock on the fencing
// epoch's table: a leader frozen (SIGSTOP, a paused VM) inside the COMMIT
// of a write it checked the epoch for.
const endLockHolders = `SELECT pg_terminate_backend(pid) FROM pg_locks
	WHERE relation = 'leader_epoch'::regclass AND granted AND pid <> pg_backend_pid()`

// IsURL reports whether s names a PostgreSQL database (postgres:// or
// postgresql://).
func IsURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Redact is dsn without its password, for messages.
func Redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://…"
	}
	return u.Redacted()
}

// Open connects to the database dsn (postgres://USER@HOST:PORT/DB) and
// applies the migrations it lacks (under goose's advisory lock, so that
// servers starting together migrate once).
func Open(ctx context.Context, dsn string) (*Store, error) {
	if !IsURL(dsn) {
		return nil, fmt.Errorf("postgres: %q is not a postgres:// URL", dsn)
	}
	wdb, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: open %s: %w", Redact(dsn), err)
	}
	wdb.SetMaxOpenConns(2)
	if err := wdb.PingContext(ctx); err != nil {
		wdb.Close()
		return nil, fmt.Errorf("postgres: connect to %s: %w", Redact(dsn), err)
	}
	if _, err := migrate.Up(ctx, wdb, migrate.Postgres); err != nil {
		wdb.Close()
		return nil, fmt.Errorf("postgres: schema of %s: %w", Redact(dsn), err)
	}
	rdb, err := sql.Open("pgx", dsn)
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("postgres: open reader: %w", err)
	}
	rdb.SetMaxOpenConns(8)
	rdb.SetMaxIdleConns(4)
	s, err := sqlstore.New(ctx, Dialect(), rdb, wdb)
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", Redact(dsn), err)
	}
	return &Store{Store: s, dsn: dsn}, nil
}

// DSN is the database's URL.
func (s *Store) DSN() string { return s.dsn }
