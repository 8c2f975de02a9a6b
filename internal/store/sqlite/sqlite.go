// Package sqlite is mamori's embedded store: SQLite through the pure-Go
// modernc.org/sqlite driver, in WAL mode, with one pinned writer connection
// and a pool of read-only connections. The queries are package sqlstore's,
// shared with the PostgreSQL store.
package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/mamori/mamori/internal/store/migrate"
	"github.com/mamori/mamori/internal/store/sqlstore"
)

// Store is the SQLite store.
type Store struct {
	*sqlstore.Store
	path string
}

// ErrEnrolled is returned by EnrollAgent for a host that already has a token.
var ErrEnrolled = sqlstore.ErrEnrolled

// Dialect is SQLite's: ? placeholders, instr, scalar max, rowid; user
// names compare through their NOCASE columns; a batch holding a state
// change is committed with synchronous=FULL; results are staged and moved
// in bulk (sqlstore's stage.go).
func Dialect() sqlstore.Dialect {
	return sqlstore.Dialect{
		Name: "sqlite", Instr: "instr", Greatest: "max", RowID: "rowid",
		LastResult: `LEFT JOIN results r ON r.check_id = c.id AND r.t = (SELECT MAX(t) FROM results WHERE check_id = c.id)`,
		// In a query with one MAX(), SQLite takes the bare columns from
		// the row holding the maximum.
		LastStaged:   `LEFT JOIN (SELECT check_id, MAX(t) AS t, output, perf, duration_us FROM results_recent GROUP BY check_id) rs ON rs.check_id = c.id`,
		StageResults: true,
		FoldCase:     func(expr string) string { return expr },
		Durable: func(ctx context.Context, c *sqlstore.Conn) (func(context.Context) error, error) {
			if _, err := c.ExecContext(ctx, `PRAGMA synchronous = FULL`); err != nil {
				return nil, err
			}
			return func(ctx context.Context) error {
				_, err := c.ExecContext(ctx, `PRAGMA synchronous = NORMAL`)
				return err
			}, nil
		},
	}
}

// pragmas are every connection's.
var pragmas = []string{"journal_mode(WAL)", "synchronous(NORMAL)", "busy_timeout(10000)", "foreign_keys(1)"}

// writerPragmas are the writer connection's once the schema is migrated.
// Each result adds an entry at its check's place in the per-check results
// index, so once a store holds some history a commit of n results changes
// about n index pages, each written to the WAL and, at every checkpoint,
// back to the database. Checkpointing every 10,000 WAL pages (40 MiB at
// 4 KiB) instead of SQLite's 1,000 writes a page that several commits
// changed back once; journal_size_limit truncates the WAL to 64 MiB after
// a checkpoint that let it grow larger. A multi-row INSERT's statement
// journal (the pages it changed, for its own rollback) stays in memory
// instead of spilling to a temporary file: the writer's statements are
// small. Migrations (which may build an index over every result) and
// readers keep temporary data in files. (BenchmarkCommitAfterHistory;
// docs/performance.md.)
var writerPragmas = []string{"wal_autocheckpoint(10000)", "journal_size_limit(67108864)", "temp_store(MEMORY)"}

// dsn is the database at path with the pragmas every connection has, and
// extra.
func dsn(path string, extra ...string) string {
	q := url.Values{}
	for _, p := range append(slices.Clone(pragmas), extra...) {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	return "file:" + path + "?" + q.Encode()
}

// Open opens (creating if needed) the database in dir/mamori.db.
func Open(ctx context.Context, dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("sqlite: data dir: %w", err)
	}
	path := filepath.Join(dir, "mamori.db")
	// The database holds password hashes and token digests: owner only.
	if f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600); err == nil {
		f.Close()
	}
	if err := migrateDB(ctx, path); err != nil {
		return nil, err
	}
	wdb, err := sql.Open("sqlite", dsn(path, writerPragmas...))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	wdb.SetMaxOpenConns(1)
	rdb, err := sql.Open("sqlite", dsn(path, "query_only(1)"))
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("sqlite: open reader: %w", err)
	}
	rdb.SetMaxOpenConns(4)
	s, err := sqlstore.New(ctx, Dialect(), rdb, wdb)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", path, err)
	}
	return &Store{Store: s, path: path}, nil
}

// migrateDB brings the schema of the database at path up to date, on a
// connection of its own.
func migrateDB(ctx context.Context, path string) error {
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return fmt.Errorf("sqlite: open: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := migrate.Up(ctx, db, migrate.SQLite); err != nil {
		return fmt.Errorf("sqlite: schema of %s: %w", path, err)
	}
	return nil
}

// Path is the database file.
func (s *Store) Path() string { return s.path }
