package main

import (
	"database/sql"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/store/postgres"
)

// TestFrozenLeaderIsFenced: the leader is frozen (SIGSTOP) in the middle
// of a result commit, its leadership session ends (as a paused VM's does
// when its keepalives go unanswered), the follower takes over; then the
// old leader wakes (SIGCONT). Its commit in flight must not be stored —
// the database's epoch moved — and it follows from then on. Then the
// epoch moves under the new leader while its session stays: its next
// write is fenced and it hands the lead back.
func TestFrozenLeaderIsFenced(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	hook := newHookReceiver(t)
	up, flip := &target{port: freePort(t)}, &target{port: freePort(t)}
	up.up(t)
	flip.up(t)
	a, b, dsn := haServers(t, hook, up, flip)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	time.Sleep(2 * time.Second) // b follows
	hold := blockResults(t, db)
	a.signal(syscall.SIGSTOP)
	stopped := time.Now()
	defer a.signal(syscall.SIGCONT)
	if _, err := db.Exec(`SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = $1::bigint & x'ffffffff'::bigint`, postgres.LeaderKey); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "b leads", 30*time.Second, func() bool { return b.status().Leader })
	t.Logf("b led %s after a froze", time.Since(stopped).Round(10*time.Millisecond))
	before := resultsBefore(t, db, stopped)
	if err := hold.Rollback(); err != nil { // a's INSERT goes on, while a sleeps
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	a.signal(syscall.SIGCONT)
	waitUntil(t, "a follows", 10*time.Second, func() bool { return a.status().Role == "follower" })
	time.Sleep(2 * time.Second)
	if after := resultsBefore(t, db, stopped); after != before {
		t.Fatalf("results timed before the freeze: %d at the takeover, %d after a woke: the stale leader committed", before, after)
	}
	out := a.logs()
	fenced := strings.Contains(out, "a write was fenced")
	if !fenced && !strings.Contains(out, "lost the lead") {
		t.Fatalf("a's log says neither fenced nor lost the lead:\n%s", out)
	}
	t.Logf("a woke: fenced %v (else its campaign noticed first); %d results before the freeze, unchanged", fenced, before)
	for _, l := range strings.Split(out, "\n") {
		if strings.Contains(l, "fenced") || strings.Contains(l, "commit results") || strings.Contains(l, "leadership:") {
			t.Logf("a: %s", l)
		}
	}
	b.waitFor("up", 10*time.Second, "b keeps checking", func(c apiCheck) bool {
		lc, _ := time.Parse(time.RFC3339Nano, c.LastCheck)
		return lc.After(time.Now().Add(-2 * time.Second))
	})
	for _, name := range []string{"down", "up"} { // flip stays up here
		assertContinuous(t, b.history(name), name, stopped, time.Since(stopped))
	}
	fenceLeader(t, db, b, a)
}

// fenceLeader moves the database's epoch under the leader (as a takeover
// does) while its campaign session stays up: its next write is fenced, it
// steps down and gives up its session, and the other server leads.
func fenceLeader(t *testing.T, db *sql.DB, leader, other *server) {
	t.Helper()
	if _, err := db.Exec(`UPDATE leader_epoch SET epoch = epoch + 1`); err != nil {
		t.Fatal(err)
	}
	moved := time.Now()
	waitUntil(t, "the other server leads", 20*time.Second, func() bool { return other.status().Leader })
	t.Logf("epoch moved under the leader: the other server led %s later", time.Since(moved).Round(10*time.Millisecond))
	out := leader.logs()
	if !strings.Contains(out, "a write was fenced") || !strings.Contains(out, "leadership: fenced: another server took the lead") {
		t.Fatalf("the fenced leader's log lacks the fence and its step-down:\n%s", out)
	}
	if st := leader.status(); st.Leader {
		t.Fatalf("the fenced server still leads: %+v", st)
	}
}

// blockResults holds a lock that makes every INSERT into results wait,
// until a server's commit is seen waiting on it.
func blockResults(t *testing.T, db *sql.DB) *sql.Tx {
	t.Helper()
	tx, err := db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(`LOCK TABLE results IN SHARE MODE`); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "a commit waits on results", 10*time.Second, func() bool {
		var n int
		db.QueryRow(`SELECT count(*) FROM pg_locks WHERE relation = 'results'::regclass AND NOT granted`).Scan(&n)
		return n > 0
	})
	return tx
}

// resultsBefore counts the stored results timed before t.
func resultsBefore(t *testing.T, db *sql.DB, at time.Time) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM results WHERE t < $1`, at.UnixMilli()).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func (s *server) signal(sig syscall.Signal) { s.cmd.Process.Signal(sig) }

func (s *server) logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.output.String()
}
