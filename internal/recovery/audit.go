package recovery

import (
	"context"
	"encoding/json"
	"time"

	"github.com/mamori/mamori/internal/incident"
)

// Load reads the audit log's recent rows; rows of actions a stopped server
// never finished are closed as interrupted. Only the first call does
// anything.
func (r *Runner) Load(ctx context.Context) error {
	r.mu.Lock()
	loaded := r.loaded
	r.mu.Unlock()
	if loaded {
		return nil
	}
	now := r.o.Now()
	hist, err := r.o.Store.LoadActions(ctx, now.Add(-keep), now)
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

// insert writes a new record and, if the check has an open incident, the
// timeline line (none when its text is empty); it fills in rec.ID and
// rec.Incident.
func (r *Runner) insert(ctx context.Context, rec *Record, line incident.Timeline) error {
	err := r.o.Store.Write(ctx, func(tx incident.Tx) error {
		in, err := tx.OpenIncident(ctx, rec.Check)
		if err != nil {
			return err
		}
		if in != nil {
			rec.Incident = in.ID
		}
		if err := tx.InsertAction(ctx, rec); err != nil {
			return err
		}
		if in == nil || line.Text == "" {
			return nil
		}
		if rec.Kind == "exhausted" && in.Status == incident.Open {
			// People take over now: alerting's escalation fires at once
			// (the policy's next level, or everyone notified again).
			due := rec.Time
			in.EscNextAt = &due
			if err := tx.UpdateIncident(ctx, in); err != nil {
				return err
			}
		}
		return tx.AddTimeline(ctx, in.ID, actionLine(line, rec.Time, rec))
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
func (r *Runner) update(ctx context.Context, rec *Record, line incident.Timeline, final bool) error {
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
	return r.o.Store.Write(ctx, func(tx incident.Tx) error {
		if err := tx.UpdateAction(ctx, rec); err != nil {
			return err
		}
		if rec.Incident == 0 || line.Text == "" {
			return nil
		}
		return tx.AddTimeline(ctx, rec.Incident, actionLine(line, r.o.Now(), rec))
	})
}

// actionLine is a recovery line of the timeline: its message (key and
// arguments for each reader's language) with the action's record beside it
// in the line's data.
func actionLine(l incident.Timeline, at time.Time, rec *Record) incident.Timeline {
	l.Time, l.Kind, l.Actor = at, "action", rec.Who
	var fields map[string]json.RawMessage
	_ = json.Unmarshal(marshal(rec), &fields) // a struct of plain fields: cannot fail
	for k, v := range fields {
		l = l.With(k, v)
	}
	return l
}
