package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/state"
	"github.com/mamori/mamori/internal/store"
)

// TestWriterKeepsStatementJournalsInMemory: the writer's statement
// journals and temporary tables stay in memory; a reader's temporary data
// (a large sort) goes to files, as migrations' do.
func TestWriterKeepsStatementJournalsInMemory(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "mamori.db")
	for _, c := range []struct {
		name            string
		dsn             string
		temp, autoCheck int
	}{
		{"writer", dsn(path, writerPragmas...), 2, 10000},
		{"reader", dsn(path, "query_only(1)"), 0, 1000},
		{"migrations", dsn(path), 0, 1000},
	} {
		db, err := sql.Open("sqlite", c.dsn)
		if err != nil {
			t.Fatal(err)
		}
		var temp, autoCheck int
		if err := db.QueryRowContext(ctx, `PRAGMA temp_store`).Scan(&temp); err != nil || temp != c.temp {
			t.Errorf("%s: temp_store = %d, %v; want %d", c.name, temp, err, c.temp)
		}
		if err := db.QueryRowContext(ctx, `PRAGMA wal_autocheckpoint`).Scan(&autoCheck); err != nil || autoCheck != c.autoCheck {
			t.Errorf("%s: wal_autocheckpoint = %d, %v; want %d", c.name, autoCheck, err, c.autoCheck)
		}
		db.Close()
	}
}

// TestWriterCheckpointsEvery10000Pages: the WAL grows past SQLite's
// default 1,000 pages before the writer checkpoints it, and stays within
// the journal size limit.
func TestWriterCheckpointsEvery10000Pages(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Now().Add(-time.Hour)
	out := strings.Repeat("x", 300) // ~3,000 pages of results in all
	for b := range 40 {
		ws := make([]store.Write, 500)
		for i := range ws {
			at := t0.Add(time.Duration(b*500+i) * time.Millisecond)
			ws[i] = store.Write{Check: fmt.Sprintf("c%04d", (b*500+i)%3000), Result: check.Result{Status: check.OK, Output: out, Time: at},
				State: state.State{Attempt: 1, LastCheck: at}, Kept: b > 5}
		}
		if _, err := s.Commit(ctx, ws); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(s.Path() + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	const frame = 4096 + 24
	// Checkpointing at 1,000 pages, the WAL ends at 1,000 pages and the last
	// commit's (1,062 here); at 10,000, this workload leaves 2,814.
	if pages := fi.Size() / frame; pages <= 2000 || pages > 64<<20/frame {
		t.Fatalf("WAL of %d pages (%d bytes); want more than 2,000 (a checkpoint every 10,000, not SQLite's 1,000), within 64 MiB", pages, fi.Size())
	}
}
