package migrate

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	_ "modernc.org/sqlite"
)

func TestVersionsAreNumberedFromOne(t *testing.T) {
	vs, err := Versions(SQLite)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range vs {
		if v != int64(i+1) {
			t.Fatalf("migration versions %v: want 1, 2, 3, … without gaps", vs)
		}
	}
	if _, err := FS("oracle"); err == nil {
		t.Error("unknown dialect accepted")
	}
}

func TestUpFromEmptyAndAgain(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if v, err := Version(ctx, db, SQLite); err != nil || v != 0 {
		t.Fatalf("empty database at version %d, %v", v, err)
	}
	vs, _ := Versions(SQLite)
	latest := vs[len(vs)-1]
	for range 2 {
		if v, err := Up(ctx, db, SQLite); err != nil || v != latest {
			t.Fatalf("Up = %d, %v; want %d", v, err, latest)
		}
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM goose_db_version WHERE is_applied`).Scan(&n); err != nil || n != len(vs)+1 {
		t.Errorf("goose_db_version has %d applied rows, %v; want %d (version 0 and each migration)", n, err, len(vs)+1)
	}
}
