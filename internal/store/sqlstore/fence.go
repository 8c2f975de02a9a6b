package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/mamori/mamori/internal/store"
)

// Fencing (docs/ha.md): the server that takes the lead increments the
// database's epoch (TakeLead); each write transaction of the leader's work
// (its context carries the epoch, store.WithEpoch) reads the epoch with a
// share lock just before COMMIT and rolls back with store.ErrFenced if
// another server has taken the lead since. The share lock holds until
// COMMIT, so a takeover's increment waits for a transaction that passed
// the check: a stale leader's write either commits before the new leader
// reads the states or not at all.

// takeLeadAttempts bounds TakeLead's waits for a frozen holder of the lock.
const takeLeadAttempts = 3

// TakeLead increments the database's leadership epoch and returns it: from
// now on a write made under an older epoch fails with store.ErrFenced.
// A transaction holding the epoch's share lock (a leader frozen in the
// middle of its COMMIT) is waited for up to the dialect's lock timeout,
// then its session is ended (PostgreSQL), so that a frozen process cannot
// hold the takeover back.
func (s *Store) TakeLead(ctx context.Context) (int64, error) {
	for attempt := 1; ; attempt++ {
		var epoch int64
		err := s.write(ctx, func(tx *Tx) error {
			if s.d.LockWait != "" {
				if _, err := tx.ExecContext(ctx, s.d.LockWait); err != nil {
					return err
				}
			}
			return tx.QueryRowContext(ctx, `UPDATE leader_epoch SET epoch = epoch + 1 WHERE id = 1 RETURNING epoch`).Scan(&epoch)
		})
		if err == nil {
			return epoch, nil
		}
		if s.d.EndLockHolders == "" || !strings.Contains(err.Error(), "55P03") || attempt == takeLeadAttempts {
			return 0, fmt.Errorf("store: take the lead: %w", err)
		}
		if err := s.endLockHolders(ctx); err != nil {
			return 0, fmt.Errorf("store: take the lead: end the sessions holding the epoch: %w", err)
		}
	}
}

// endLockHolders ends the sessions holding a lock on the epoch's table.
func (s *Store) endLockHolders(ctx context.Context) error {
	_, err := s.rdb.ExecContext(ctx, s.d.EndLockHolders)
	return err
}

// Epoch is the database's leadership epoch now.
func (s *Store) Epoch(ctx context.Context) (int64, error) {
	var e int64
	err := s.rdb.QueryRowContext(ctx, `SELECT epoch FROM leader_epoch WHERE id = 1`).Scan(&e)
	return e, err
}

// OnFenced sets a function called (once per refused transaction, with the
// epoch the write had and the database's) when a write is fenced.
func (s *Store) OnFenced(fn func(ours, theirs int64)) { s.onFenced.Store(&fn) }

// fence checks, inside tx, that ctx's epoch (if any) is still the
// database's, and keeps the epoch's row share-locked until tx ends.
func (s *Store) fence(ctx context.Context, tx *Tx) error {
	ours := store.Epoch(ctx)
	if ours == 0 {
		return nil
	}
	var theirs int64
	if err := tx.QueryRowContext(ctx, `SELECT epoch FROM leader_epoch WHERE id = 1`+s.d.Share).Scan(&theirs); err != nil {
		return fmt.Errorf("store: fence: %w", err)
	}
	if theirs == ours {
		return nil
	}
	if fn := s.onFenced.Load(); fn != nil {
		(*fn)(ours, theirs)
	}
	return fmt.Errorf("%w (this server's epoch %d, the database's %d)", store.ErrFenced, ours, theirs)
}
