package sqlite

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/state"
	"github.com/mamori/mamori/internal/store"
)

// TestReadersKeepTemporaryDataInMemory: statement journals and sorts go
// to memory, not to temporary files.
func TestReadersKeepTemporaryDataInMemory(t *testing.T) {
	s, err := Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var ts int
	if err := s.ReadDB().QueryRow(`PRAGMA temp_store`).Scan(&ts); err != nil || ts != 2 {
		t.Fatalf("temp_store = %d, %v; want 2 (MEMORY)", ts, err)
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
	if pages := fi.Size() / frame; pages <= 1100 || pages > 64<<20/frame {
		t.Fatalf("WAL of %d pages (%d bytes); want more than SQLite's default checkpoint at 1,000, within 64 MiB", pages, fi.Size())
	}
}
