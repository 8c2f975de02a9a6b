package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/mamori/mamori/internal/auth"
)

// maxLoginAttempts bounds the table: beyond it the oldest rows go at each
// prune, whatever their age.
const maxLoginAttempts = 200000

// AuthRecordLogin implements auth.Store.
func (s *Store) AuthRecordLogin(ctx context.Context, a auth.LoginAttempt) error {
	known := 0
	if a.Known {
		known = 1
	}
	return s.write(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO login_attempts(user_name, t, ip, known, outcome, delay_ms) VALUES (?,?,?,?,?,?)`,
			a.User, ms(a.Time), a.IP, known, a.Outcome, a.Delay.Milliseconds())
		if err != nil {
			return fmt.Errorf("store: record login: %w", err)
		}
		return nil
	})
}

// AuthLoginAttempts implements auth.Store.
func (s *Store) AuthLoginAttempts(ctx context.Context, user string, limit int) ([]auth.LoginAttempt, error) {
	q := `SELECT id, user_name, t, ip, known, outcome, delay_ms FROM login_attempts`
	args := []any{}
	if user != "" {
		q += ` WHERE ` + s.d.FoldCase("user_name") + ` = ` + s.d.FoldCase("?") // the column compares without regard to case
		args = append(args, user)
	}
	q += ` ORDER BY id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: login attempts: %w", err)
	}
	defer rows.Close()
	var out []auth.LoginAttempt
	for rows.Next() {
		var a auth.LoginAttempt
		var t, delay int64
		var known int
		if err := rows.Scan(&a.ID, &a.User, &t, &a.IP, &known, &a.Outcome, &delay); err != nil {
			return nil, fmt.Errorf("store: login attempts: %w", err)
		}
		a.Time, a.Known, a.Delay = fromMS(t), known != 0, time.Duration(delay)*time.Millisecond
		out = append(out, a)
	}
	return out, rows.Err()
}

// AuthPruneLoginAttempts implements auth.Store: attempts older than before
// go, and the oldest beyond maxLoginAttempts.
func (s *Store) AuthPruneLoginAttempts(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM login_attempts WHERE t < ?
			OR id <= (SELECT id FROM login_attempts ORDER BY id DESC LIMIT 1 OFFSET ?)`, ms(before), maxLoginAttempts)
		if err != nil {
			return fmt.Errorf("store: prune login attempts: %w", err)
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, err
}
