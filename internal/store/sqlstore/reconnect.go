package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// How long a write waits for its database to come back (a PostgreSQL
// restart) before it gives up with the error; the engine's writer then
// fails the batch, and the pollers' results come back from the broker.
var reconnectFor = 30 * time.Second

// lost reports whether the writer connection is gone (a database restart,
// a killed backend): an error on a connection that still answers is the
// statement's own. Caller holds s.mu.
func (s *Store) lost(ctx context.Context) bool {
	if s.d.TxID == "" {
		return false // in-process database: no connection to lose
	}
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	return s.wconn.PingContext(pctx) != nil
}

// reconnectIfLost replaces the writer connection if it is gone.
func (s *Store) reconnectIfLost(ctx context.Context) {
	if s.lost(ctx) {
		_ = s.reconnect(ctx)
	}
}

// reconnect replaces the writer connection with a new one from the pool,
// trying for up to reconnectFor. Caller holds s.mu.
func (s *Store) reconnect(ctx context.Context) error {
	_ = s.dropStmts()
	_ = s.wconn.Close()
	deadline := time.Now().Add(reconnectFor)
	wait := 100 * time.Millisecond
	for {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		conn, err := s.wdb.Conn(cctx)
		if err == nil {
			if err = conn.PingContext(cctx); err != nil {
				conn.Close()
			}
		}
		cancel()
		if err == nil {
			s.wconn = &Conn{conn, s.d}
			return nil
		}
		if time.Now().Add(wait).After(deadline) {
			return fmt.Errorf("%s: reconnect: %w", s.d.Name, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait = min(2*wait, 2*time.Second)
	}
}

// dropStmts closes the statements prepared on the writer connection.
// Caller holds s.mu.
func (s *Store) dropStmts() error {
	var errs []error
	for q, st := range s.stmts {
		errs = append(errs, st.Close())
		delete(s.stmts, q)
	}
	return errors.Join(errs...)
}

// stmt is q prepared on the writer connection. Caller holds s.mu.
func (s *Store) stmt(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := s.stmts[q]; ok {
		return st, nil
	}
	st, err := s.wconn.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	s.stmts[q] = st
	return st, nil
}

// committed asks, on the new connection, whether the transaction xid of a
// batch whose connection broke committed before it went. Caller holds s.mu.
func (s *Store) committed(ctx context.Context, xid int64) (bool, error) {
	for i := 0; ; i++ {
		var st sql.NullString
		if err := s.wconn.QueryRowContext(ctx, s.d.bind(s.d.TxStatus), xid).Scan(&st); err != nil {
			return false, fmt.Errorf("%s: status of transaction %d: %w", s.d.Name, xid, err)
		}
		if st.String != "in progress" || i == 50 {
			return st.String == "committed", nil
		}
		// The broken backend has not finished aborting yet.
		time.Sleep(100 * time.Millisecond)
	}
}

// recoverTx takes a new writer connection and, if the broken batch had a
// transaction id, asks whether it committed; it keeps trying (the new
// connection may break too) for up to reconnectFor. Caller holds s.mu.
func (s *Store) recoverTx(ctx context.Context, xid int64) (bool, error) {
	deadline := time.Now().Add(reconnectFor)
	for {
		err := s.reconnect(ctx)
		if err == nil && xid == 0 {
			return false, nil
		}
		var ok bool
		if err == nil {
			if ok, err = s.committed(ctx, xid); err == nil {
				return ok, nil
			}
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return false, err
		}
	}
}
