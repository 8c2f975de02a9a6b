package postgres

import (
	"context"
	"database/sql"
	"sync/atomic"
	"time"
)

// LeaderKey is the advisory lock key of the leading server of a database.
const LeaderKey int64 = 0x6d616d6f7269 // "mamori"

// Leader campaigns for the leadership of the servers sharing a database:
// it holds a session advisory lock (pg_try_advisory_lock) on a connection
// of its own. The lock is PostgreSQL's: it dies with the session, so a
// leader that crashes or loses its connection stops leading, and the
// leader checks its connection every interval and steps down at the first
// failure, before another can have taken over.
type Leader struct {
	dsn      string
	key      int64
	interval time.Duration
	leading  atomic.Bool
	changes  chan bool
	resign   chan struct{}
}

// NewLeader prepares a campaign on dsn for key, checking every interval
// (at most the time a lost connection goes unnoticed).
func NewLeader(dsn string, key int64, interval time.Duration) *Leader {
	return &Leader{dsn: dsn, key: key, interval: interval, changes: make(chan bool, 16), resign: make(chan struct{}, 1)}
}

// Leading reports whether this process leads now.
func (l *Leader) Leading() bool { return l.leading.Load() }

// Changes delivers every change of leadership (true: now leading).
func (l *Leader) Changes() <-chan bool { return l.changes }

// Resign gives up the lock (if held) and campaigns again from scratch: a
// leader that found itself fenced (another server took the lead of the
// database) must not keep a lock it may still hold.
func (l *Leader) Resign() {
	l.set(false)
	select {
	case l.resign <- struct{}{}:
	default:
	}
}

func (l *Leader) set(v bool) {
	if l.leading.Swap(v) != v {
		select {
		case l.changes <- v:
		default:
		}
	}
}

// Run campaigns until ctx ends, then releases the lock.
func (l *Leader) Run(ctx context.Context) {
	defer l.set(false)
	for ctx.Err() == nil {
		l.session(ctx)
		l.set(false)
		select {
		case <-ctx.Done():
		case <-time.After(l.interval):
		}
	}
}

// session opens a connection, tries for the lock until it has it, then
// holds it while the connection answers.
func (l *Leader) session(ctx context.Context) {
	db, err := sql.Open("pgx", l.dsn)
	if err != nil {
		return
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		return
	}
	defer conn.Close()
	// The database drops the lock when this session ends; keepalives make
	// it notice a leader whose machine vanished in about 11 s instead of
	// the system's default of hours (ignored over a Unix socket).
	for _, q := range []string{`SET tcp_keepalives_idle = 5`, `SET tcp_keepalives_interval = 2`, `SET tcp_keepalives_count = 3`} {
		_, _ = conn.ExecContext(ctx, q)
	}
	tick := time.NewTicker(l.interval)
	defer tick.Stop()
	var held bool
	var heldAt time.Time
	for {
		qctx, cancel := context.WithTimeout(ctx, l.interval)
		var ok bool
		if held {
			err = conn.QueryRowContext(qctx, `SELECT true`).Scan(&ok)
		} else {
			err = conn.QueryRowContext(qctx, `SELECT pg_try_advisory_lock($1)`, l.key).Scan(&ok)
			if ok {
				held, heldAt = true, time.Now()
			}
		}
		cancel()
		if err != nil {
			return // the session is gone, and with it the lock
		}
		// A previous leader whose session died notices it within two
		// intervals (a tick and a query timeout): lead only after that.
		l.set(held && time.Since(heldAt) >= 2*l.interval+l.interval/2)
		select {
		case <-ctx.Done():
		case <-l.resign:
		case <-tick.C:
			continue
		}
		if held {
			uctx, cancel := context.WithTimeout(context.Background(), time.Second)
			conn.ExecContext(uctx, `SELECT pg_advisory_unlock($1)`, l.key)
			cancel()
		}
		return
	}
}
