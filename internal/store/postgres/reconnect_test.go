package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/incident"
	"github.com/mamori/mamori/internal/state"
	"github.com/mamori/mamori/internal/store"
	"github.com/mamori/mamori/internal/store/postgres/pgtest"
)

// killer ends every connection to a test database, as a PostgreSQL
// restart does from the clients' side.
type killer struct {
	admin *sql.DB
	db    string
}

func newKiller(t *testing.T, dsn string) *killer {
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := sql.Open("pgx", pgtest.AdminURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { admin.Close() })
	return &killer{admin: admin, db: strings.TrimPrefix(u.Path, "/")}
}

func (k *killer) kill(t *testing.T) int {
	var n int
	err := k.admin.QueryRow(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, k.db).Scan(&n)
	if err != nil {
		t.Errorf("terminate backends: %v", err)
	}
	return n
}

func writes(batch, n int, t0 time.Time) []store.Write {
	ws := make([]store.Write, n)
	for i := range ws {
		r := check.Result{Status: check.OK, Output: fmt.Sprintf("b%d/%d", batch, i), Time: t0.Add(time.Duration(batch) * time.Second)}
		ws[i] = store.Write{Check: fmt.Sprintf("c%02d", i), Result: r, State: state.State{Status: check.OK, Type: state.Hard, Attempt: 1, LastCheck: r.Time}}
	}
	return ws
}

// After every connection of the store was ended (a restart), the next
// result batch and the next incident write go through without an error.
func TestWriterSurvivesRestart(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	s, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	k := newKiller(t, dsn)
	t0 := time.Date(2026, 12, 3, 4, 0, 0, 0, time.UTC)
	if _, err := s.Commit(ctx, writes(0, 10, t0)); err != nil {
		t.Fatal(err)
	}
	if n := k.kill(t); n == 0 {
		t.Fatal("no connection to end")
	}
	if _, err := s.Commit(ctx, writes(1, 10, t0)); err != nil {
		t.Fatalf("commit after the restart: %v", err)
	}
	k.kill(t)
	if err := s.Apply(ctx, "scale-test", 7, func(tx incident.Tx) error { return nil }); err != nil {
		t.Fatalf("write after the restart: %v", err)
	}
	if c, err := s.Cursor(ctx, "scale-test"); err != nil || c != 7 {
		t.Fatalf("cursor %d %v", c, err)
	}
	var rows int
	if err := s.ReadDB().QueryRow(`SELECT count(*) FROM results`).Scan(&rows); err != nil || rows != 20 {
		t.Fatalf("%d results stored (%v), want 20", rows, err)
	}
}

// Connections ended at random moments while batches commit (some while
// COMMIT is in flight, the case where only the database knows whether it
// went through): every batch Commit reports as done is stored exactly
// once, and none is reported failed. After each end the next waits for a
// batch to commit: on a machine slower than the ends' pace, a batch
// would otherwise lose every new connection before its commit.
func TestCommitThroughKills(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	s, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	k := newKiller(t, dsn)
	t0 := time.Date(2026, 12, 3, 4, 0, 0, 0, time.UTC)
	stop := make(chan struct{})
	var kills, committed atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		wait := func(d time.Duration) bool {
			select {
			case <-stop:
				return false
			case <-time.After(d):
				return true
			}
		}
		for i := 0; wait(time.Duration(30+i%50) * time.Millisecond); i++ {
			kills.Add(int64(k.kill(t)))
			for at := committed.Load(); committed.Load() == at; {
				if !wait(time.Millisecond) {
					return
				}
			}
		}
	}()
	const batches, rows = 150, 20
	done := 0
	for b := range batches {
		if _, err := s.Commit(ctx, writes(b, rows, t0)); err != nil {
			t.Errorf("batch %d: %v", b, err)
			continue
		}
		done++
		committed.Add(1)
	}
	close(stop)
	wg.Wait()
	var n, distinct int
	if err := s.ReadDB().QueryRow(`SELECT count(*), count(DISTINCT (check_id, t)) FROM results`).Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	retried, found := s.WriterRecoveries()
	t.Logf("%d batches committed, %d connections ended meanwhile; %d batches retried, %d found committed after a broken COMMIT", done, kills.Load(), retried, found)
	if retried+found < 5 {
		t.Fatalf("only %d batches met a broken connection: the test did not exercise reconnects", retried+found)
	}
	if n != done*rows || distinct != n {
		t.Fatalf("%d results stored (%d distinct), want %d", n, distinct, done*rows)
	}
}
