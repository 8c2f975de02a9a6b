package recovery

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/mamori/mamori/internal/store"
)

// The audit log: every action (and every give-up) of the runner, with who
// or what triggered it, its outcome and its verification. It is also the
// budget's memory, so a restart does not reset the budgets.
const schema = `CREATE TABLE IF NOT EXISTS recovery_actions (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	kind        TEXT NOT NULL,
	time        INTEGER NOT NULL,
	check_name  TEXT NOT NULL,
	host        TEXT NOT NULL DEFAULT '',
	incident_id INTEGER NOT NULL DEFAULT 0,
	problem     TEXT NOT NULL,
	step        INTEGER NOT NULL,
	action      TEXT NOT NULL DEFAULT '',
	service     TEXT NOT NULL DEFAULT '',
	what        TEXT NOT NULL DEFAULT '',
	trigger     TEXT NOT NULL DEFAULT '',
	who         TEXT NOT NULL DEFAULT '',
	dry_run     INTEGER NOT NULL DEFAULT 0,
	refused     INTEGER NOT NULL DEFAULT 0,
	counted     INTEGER NOT NULL DEFAULT 0,
	exit_code   INTEGER NOT NULL DEFAULT 0,
	output      TEXT NOT NULL DEFAULT '',
	error       TEXT NOT NULL DEFAULT '',
	finished_at INTEGER,
	verified    TEXT NOT NULL DEFAULT '',
	verify_text TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS recovery_actions_check ON recovery_actions(check_name, time);
CREATE INDEX IF NOT EXISTS recovery_actions_incident ON recovery_actions(incident_id)`

const cols = `id, kind, time, check_name, host, incident_id, problem, step, action, service, what, trigger, who, dry_run, refused, counted,
	exit_code, output, error, finished_at, verified, verify_text`

// Load creates the audit table if needed and reads its recent rows; rows
// of actions a stopped server never finished are closed as interrupted.
// Only the first call does anything.
func (r *Runner) Load(ctx context.Context) error {
	r.mu.Lock()
	loaded := r.loaded
	r.mu.Unlock()
	if loaded {
		return nil
	}
	var hist []*Record
	now := r.o.Now()
	err := r.o.Store.Write(ctx, func(tx store.Tx) error {
		if _, err := tx.ExecContext(ctx, schema); err != nil {
			return fmt.Errorf("create recovery_actions: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE recovery_actions SET finished_at = ?, error = CASE WHEN error = '' THEN 'interrupted: the server stopped during the action' ELSE error END,
			verified = 'failed', verify_text = 'interrupted by a server restart' WHERE finished_at IS NULL`, now.UnixMilli()); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+cols+` FROM recovery_actions WHERE time >= ? ORDER BY id`, now.Add(-keep).UnixMilli())
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var rec Record
			var tm int64
			var fin sql.NullInt64
			if err := rows.Scan(&rec.ID, &rec.Kind, &tm, &rec.Check, &rec.Host, &rec.Incident, &rec.Problem, &rec.Step, &rec.Action, &rec.Service,
				&rec.What, &rec.Trigger, &rec.Who, &rec.DryRun, &rec.Refused, &rec.Counted, &rec.ExitCode, &rec.Output, &rec.Error, &fin,
				&rec.Verified, &rec.VerifyText); err != nil {
				return err
			}
			rec.Time = time.UnixMilli(tm)
			if fin.Valid {
				f := time.UnixMilli(fin.Int64)
				rec.FinishedAt = &f
			}
			hist = append(hist, &rec)
		}
		return rows.Err()
	})
	if err != nil {
		return err
	}
	r.mu.Lock()
	if !r.loaded {
		r.hist, r.loaded = hist, true
	}
	r.mu.Unlock()
	return nil
}

func ms(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMilli()
}

// insert writes a new record and, if the check has an open incident, the
// timeline entry text; it fills in rec.ID and rec.Incident.
func (r *Runner) insert(ctx context.Context, rec *Record, text string) error {
	err := r.o.Store.Write(ctx, func(tx store.Tx) error {
		in, err := r.o.Store.OpenIncident(ctx, tx, rec.Check)
		if err != nil {
			return err
		}
		if in != nil {
			rec.Incident = in.ID
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO recovery_actions (kind, time, check_name, host, incident_id, problem, step, action, service, what, trigger, who,
			dry_run, refused, counted, exit_code, output, error, finished_at, verified, verify_text) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
			rec.Kind, rec.Time.UnixMilli(), rec.Check, rec.Host, rec.Incident, rec.Problem, rec.Step, rec.Action, rec.Service, rec.What, rec.Trigger, rec.Who,
			rec.DryRun, rec.Refused, rec.Counted, rec.ExitCode, rec.Output, rec.Error, ms(rec.FinishedAt), rec.Verified, rec.VerifyText)
		if err != nil {
			return err
		}
		if rec.ID, err = res.LastInsertId(); err != nil {
			return err
		}
		if in == nil || text == "" {
			return nil
		}
		return r.o.Store.AddTimeline(ctx, tx, in.ID, store.Timeline{Time: rec.Time, Kind: "action", Actor: rec.Who, Text: text, Data: marshal(rec)})
	})
	if err != nil {
		return err
	}
	r.mu.Lock()
	cp := *rec
	r.hist = append(r.hist, &cp)
	cut := 0
	for cut < len(r.hist) && r.o.Now().Sub(r.hist[cut].Time) > keep {
		cut++
	}
	r.hist = r.hist[cut:]
	r.mu.Unlock()
	return nil
}

// update rewrites a record's outcome and, with text, adds the timeline
// entry (to the incident recorded at the start, even if it was resolved
// meanwhile). final marks the record finished.
func (r *Runner) update(ctx context.Context, rec *Record, text string, final bool) error {
	r.mu.Lock()
	for _, h := range r.hist {
		if h.ID == rec.ID {
			*h = *rec
			if !final {
				h.FinishedAt = nil
			}
		}
	}
	r.mu.Unlock()
	if !final {
		return nil
	}
	return r.o.Store.Write(ctx, func(tx store.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE recovery_actions SET refused = ?, counted = ?, exit_code = ?, output = ?, error = ?, finished_at = ?, verified = ?, verify_text = ?
			WHERE id = ?`, rec.Refused, rec.Counted, rec.ExitCode, rec.Output, rec.Error, ms(rec.FinishedAt), rec.Verified, rec.VerifyText, rec.ID); err != nil {
			return err
		}
		if rec.Incident == 0 || text == "" {
			return nil
		}
		return r.o.Store.AddTimeline(ctx, tx, rec.Incident, store.Timeline{Time: r.o.Now(), Kind: "action", Actor: rec.Who, Text: text, Data: marshal(rec)})
	})
}
