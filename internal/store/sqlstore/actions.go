package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/mamori/mamori/internal/incident"
)

// The recovery audit log: every action (and every give-up) of the
// recovery runner. It is also the budgets' memory.
const actionCols = `id, kind, time, check_name, host, incident_id, problem, step, action, service, what, trigger, who, dry_run, refused, counted,
	exit_code, output, error, finished_at, verified, verify_text`

// msPtr is a nullable time column.
func msPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMilli()
}

// LoadActions closes the audit rows of actions a stopped server never
// finished (as interrupted, at now) and returns the rows from since on,
// oldest first.
func (s *Store) LoadActions(ctx context.Context, since, now time.Time) ([]*incident.Action, error) {
	var out []*incident.Action
	err := s.write(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE recovery_actions SET finished_at = ?, error = CASE WHEN error = '' THEN 'interrupted: the server stopped during the action' ELSE error END,
			verified = 'failed', verify_text = 'interrupted by a server restart' WHERE finished_at IS NULL`, now.UnixMilli()); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+actionCols+` FROM recovery_actions WHERE time >= ? ORDER BY id`, since.UnixMilli())
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			a, err := scanAction(rows)
			if err != nil {
				return err
			}
			out = append(out, a)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: recovery actions: %w", err)
	}
	return out, nil
}

func scanAction(r scanner) (*incident.Action, error) {
	var a incident.Action
	var tm int64
	var fin sql.NullInt64
	if err := r.Scan(&a.ID, &a.Kind, &tm, &a.Check, &a.Host, &a.Incident, &a.Problem, &a.Step, &a.Action, &a.Service,
		&a.What, &a.Trigger, &a.Who, &a.DryRun, &a.Refused, &a.Counted, &a.ExitCode, &a.Output, &a.Error, &fin,
		&a.Verified, &a.VerifyText); err != nil {
		return nil, err
	}
	a.Time = time.UnixMilli(tm)
	if fin.Valid {
		f := time.UnixMilli(fin.Int64)
		a.FinishedAt = &f
	}
	return &a, nil
}

// InsertAction implements incident.Tx.
func (tx txn) InsertAction(ctx context.Context, a *incident.Action) error {
	err := tx.QueryRowContext(ctx, `INSERT INTO recovery_actions (kind, time, check_name, host, incident_id, problem, step, action, service, what, trigger, who,
		dry_run, refused, counted, exit_code, output, error, finished_at, verified, verify_text) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id`,
		a.Kind, a.Time.UnixMilli(), a.Check, a.Host, a.Incident, a.Problem, a.Step, a.Action, a.Service, a.What, a.Trigger, a.Who,
		boolInt(a.DryRun), boolInt(a.Refused), boolInt(a.Counted), a.ExitCode, a.Output, a.Error, msPtr(a.FinishedAt), a.Verified, a.VerifyText).Scan(&a.ID)
	if err != nil {
		return fmt.Errorf("store: insert recovery action: %w", err)
	}
	return nil
}

// UpdateAction implements incident.Tx: the outcome of an action.
func (tx txn) UpdateAction(ctx context.Context, a *incident.Action) error {
	_, err := tx.ExecContext(ctx, `UPDATE recovery_actions SET refused = ?, counted = ?, exit_code = ?, output = ?, error = ?, finished_at = ?, verified = ?, verify_text = ?
		WHERE id = ?`, a.Refused, a.Counted, a.ExitCode, a.Output, a.Error, msPtr(a.FinishedAt), a.Verified, a.VerifyText, a.ID)
	if err != nil {
		return fmt.Errorf("store: update recovery action: %w", err)
	}
	return nil
}
