// Package migrate owns the numbered schema migrations of mamori's stores
// and applies them with goose (embedded SQL, one provider per call, no
// global registry).
//
// Each SQL dialect has its own directory under sql/ (sql/sqlite,
// sql/postgres). Versions are shared across dialects:
// migration N means the same change everywhere, written in each dialect's
// SQL where they differ. Keep statements to the common subset (TEXT,
// INTEGER, CREATE INDEX, ALTER TABLE ... ADD COLUMN) and isolate what is
// not (AUTOINCREMENT, WITHOUT ROWID, COLLATE NOCASE, INSERT OR IGNORE) in
// the dialect's own file.
package migrate

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"slices"

	"github.com/pressly/goose/v3"
)

//go:embed sql
var files embed.FS

// VersionTable is goose's table of applied migrations, in every database.
const VersionTable = "goose_db_version"

// Dialect names a directory of migrations and goose's dialect for it.
type Dialect string

// The dialects with migrations.
const (
	SQLite   Dialect = "sqlite"   // the embedded store
	Postgres Dialect = "postgres" // the PostgreSQL store
)

func (d Dialect) goose() (goose.Dialect, error) {
	switch d {
	case SQLite:
		return goose.DialectSQLite3, nil
	case Postgres:
		return goose.DialectPostgres, nil
	}
	return "", fmt.Errorf("migrate: no migrations for dialect %q", d)
}

// FS is the migrations of dialect d, one NNNNN_name.sql file each.
func FS(d Dialect) (fs.FS, error) {
	if _, err := d.goose(); err != nil {
		return nil, err
	}
	return fs.Sub(files, "sql/"+string(d))
}

func provider(db *sql.DB, d Dialect) (*goose.Provider, error) {
	gd, err := d.goose()
	if err != nil {
		return nil, err
	}
	fsys, err := FS(d)
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(gd, db, fsys, goose.WithDisableGlobalRegistry(true), goose.WithTableName(VersionTable))
}

// Up applies every migration db does not have yet, each in its own
// transaction, and returns the schema version reached.
func Up(ctx context.Context, db *sql.DB, d Dialect) (int64, error) {
	p, err := provider(db, d)
	if err != nil {
		return 0, err
	}
	if _, err := p.Up(ctx); err != nil {
		return 0, fmt.Errorf("migrate: %w", err)
	}
	return p.GetDBVersion(ctx)
}

// Version is the schema version of db (0 before any migration).
func Version(ctx context.Context, db *sql.DB, d Dialect) (int64, error) {
	p, err := provider(db, d)
	if err != nil {
		return 0, err
	}
	return p.GetDBVersion(ctx)
}

// Versions lists the migration versions of dialect d in order.
func Versions(d Dialect) ([]int64, error) {
	fsys, err := FS(d)
	if err != nil {
		return nil, err
	}
	names, err := fs.Glob(fsys, "*.sql")
	if err != nil {
		return nil, err
	}
	vs := make([]int64, 0, len(names))
	for _, n := range names {
		v, err := goose.NumericComponent(n)
		if err != nil {
			return nil, fmt.Errorf("migrate: %s: %w", n, err)
		}
		vs = append(vs, v)
	}
	slices.Sort(vs)
	return vs, nil
}
