package postgres

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/state"
	"github.com/mamori/mamori/internal/store"
	"github.com/mamori/mamori/internal/store/postgres/pgtest"
)

// holdEpoch is a leader frozen inside the COMMIT of a write that passed
// the fence: a transaction of its own session holding the epoch's share
// lock.
func holdEpoch(t *testing.T, dsn string) (*sql.Tx, *sql.DB) {
	t.Helper()
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	var e int64
	if err := tx.QueryRow(`SELECT epoch FROM leader_epoch WHERE id = 1 FOR SHARE`).Scan(&e); err != nil {
		t.Fatal(err)
	}
	return tx, db
}

// A takeover waits for a transaction that passed the fence: one that ends
// soon commits before the new epoch exists; one that stays (a frozen
// process) has its session ended after the lock timeout, and the takeover
// goes on. Then the old leader's next write is fenced.
func TestTakeLeadSerializesWithStaleCommit(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	a, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	old, err := a.TakeLead(ctx)
	if err != nil {
		t.Fatal(err)
	}

	tx, _ := holdEpoch(t, dsn)
	time.AfterFunc(300*time.Millisecond, func() { tx.Commit() })
	start := time.Now()
	if _, err := b.TakeLead(ctx); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 250*time.Millisecond || d > 2*time.Second {
		t.Errorf("takeover behind a short transaction took %v: want it to wait for its COMMIT (~300ms)", d)
	}

	tx, _ = holdEpoch(t, dsn) // frozen: never ends by itself
	start = time.Now()
	cur, err := b.TakeLead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 2*time.Second || d > 6*time.Second {
		t.Errorf("takeover behind a frozen transaction took %v: want the lock timeout (2 s) and a little", d)
	}
	if err := tx.Commit(); err == nil {
		t.Error("the frozen transaction committed after the takeover: its session should have been ended")
	}

	w := store.Write{Check: "web/http", Result: check.Result{Status: check.OK, Time: time.Now()}, State: state.State{Attempt: 1}}
	if _, err := a.Commit(store.WithEpoch(ctx, old), []store.Write{w}); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("the old leader's commit: %v, want ErrFenced", err)
	}
	if _, err := b.Commit(store.WithEpoch(ctx, cur), []store.Write{w}); err != nil {
		t.Fatalf("the new leader's commit: %v", err)
	}
}
