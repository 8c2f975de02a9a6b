package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// leaderAddrKey names the row of shared_keys holding the LeaderAddr.
const leaderAddrKey = "leader_addr"

// LeaderAddr is where the leader of the database is reached: what a
// server records when it takes the lead, for the followers that forward
// to it.
type LeaderAddr struct {
	URL    string    `json:"url"`    // its advertise_url; "": not reachable by the others
	Server string    `json:"server"` // the random id of the server process
	Since  time.Time `json:"since"`
}

// PutLeaderAddr records the leader's address (replacing the last leader's).
func (s *Store) PutLeaderAddr(ctx context.Context, a LeaderAddr) error {
	b, err := json.Marshal(a)
	if err != nil {
		return err
	}
	return s.write(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO shared_keys(name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value`,
			leaderAddrKey, string(b))
		return err
	})
}

// LeaderAddr reads the leader's address; ok false when none was recorded.
func (s *Store) LeaderAddr(ctx context.Context) (a LeaderAddr, ok bool, err error) {
	var v string
	err = s.rdb.QueryRowContext(ctx, `SELECT value FROM shared_keys WHERE name = ?`, leaderAddrKey).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return a, false, nil
	}
	if err != nil {
		return a, false, fmt.Errorf("store: leader address: %w", err)
	}
	if err := json.Unmarshal([]byte(v), &a); err != nil {
		return a, false, fmt.Errorf("store: leader address: %w", err)
	}
	return a, true, nil
}
