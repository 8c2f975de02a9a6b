package postgres

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/store/postgres/pgtest"
)

// Two campaigns on one database: exactly one leads; when the leader's
// session is killed by the server it steps down and the other takes over
// within a few intervals; stopping a leader hands over too.
func TestLeaderElection(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const iv = 200 * time.Millisecond
	a, b := NewLeader(dsn, LeaderKey, iv), NewLeader(dsn, LeaderKey, iv)
	actx, acancel := context.WithCancel(ctx)
	defer acancel()
	go a.Run(actx)
	waitFor(t, 5*time.Second, "a leads", a.Leading)
	bctx, bcancel := context.WithCancel(context.Background())
	defer bcancel()
	go b.Run(bctx)
	time.Sleep(5 * iv)
	if !a.Leading() || b.Leading() {
		t.Fatalf("after b joined: a %v b %v", a.Leading(), b.Leading())
	}

	// The server ends a's session (as when a's process or link dies).
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	killed := time.Now()
	if _, err := admin.Exec(`SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = $1::bigint & x'ffffffff'::bigint`, LeaderKey); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "b leads", b.Leading)
	if a.Leading() {
		t.Fatal("both lead")
	}
	t.Logf("takeover after the leader's session ended: %s", time.Since(killed).Round(time.Millisecond))

	// a waits; b stops: a takes over.
	time.Sleep(3 * iv)
	if a.Leading() {
		t.Fatal("a leads again while b holds the lock")
	}
	bcancel()
	waitFor(t, 5*time.Second, "b steps down", func() bool { return !b.Leading() })
	waitFor(t, 5*time.Second, "a leads after b stopped", a.Leading)
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("not within %s: %s", d, what)
}
