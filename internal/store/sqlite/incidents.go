package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/store"
)

var _ store.Alerts = (*Store)(nil)

func tptr(v int64) *time.Time {
	if v == 0 {
		return nil
	}
	t := fromMS(v)
	return &t
}

func pms(t *time.Time) int64 {
	if t == nil {
		return 0
	}
	return ms(*t)
}

// Cursor implements store.Alerts.
func (s *Store) Cursor(ctx context.Context, name string) (int64, error) {
	var v int64
	err := s.rdb.QueryRowContext(ctx, `SELECT value FROM cursors WHERE name = ?`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return v, err
}

// Apply implements store.Alerts.
func (s *Store) Apply(ctx context.Context, name string, cursor int64, fn func(tx store.Tx) error) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO cursors(name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value`, name, cursor)
		return err
	})
}

// Write implements store.Alerts.
func (s *Store) Write(ctx context.Context, fn func(tx store.Tx) error) error {
	return s.write(ctx, fn)
}

const incidentCols = `id, check_name, host, tenant, scope, status, state, title, output, detected_at, opened_at, acked_at, acked_by,
	recovered_at, reported_at, resolved_at, closed_at, runbook, notify, attached, esc_level, esc_round, esc_next_at`

type scanner interface{ Scan(...any) error }

func scanIncident(r scanner) (*store.Incident, error) {
	var in store.Incident
	var det, op, ack, rec, rep, res, clo, next int64
	var notify, attached string
	if err := r.Scan(&in.ID, &in.Check, &in.Host, &in.Tenant, &in.Scope, &in.Status, &in.State, &in.Title, &in.Output, &det, &op, &ack, &in.AckedBy,
		&rec, &rep, &res, &clo, &in.Runbook, &notify, &attached, &in.EscLevel, &in.EscRound, &next); err != nil {
		return nil, err
	}
	in.DetectedAt, in.OpenedAt = fromMS(det), fromMS(op)
	in.AckedAt, in.RecoveredAt, in.ReportedAt, in.ResolvedAt, in.ClosedAt, in.EscNextAt = tptr(ack), tptr(rec), tptr(rep), tptr(res), tptr(clo), tptr(next)
	_ = json.Unmarshal([]byte(notify), &in.Notify)
	_ = json.Unmarshal([]byte(attached), &in.Attached)
	if in.Attached == nil {
		in.Attached = []string{}
	}
	return &in, nil
}

// Incident implements store.Alerts; it includes the timeline.
func (s *Store) Incident(ctx context.Context, id int64) (*store.Incident, error) {
	in, err := scanIncident(s.rdb.QueryRowContext(ctx, `SELECT `+incidentCols+` FROM incidents WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: incident: %w", err)
	}
	if in.Timeline, err = s.timeline(ctx, "incident_id", id); err != nil {
		return nil, err
	}
	return in, nil
}

func (s *Store) timeline(ctx context.Context, col string, id int64) ([]store.Timeline, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT id, t, kind, actor, text, data FROM timeline WHERE `+col+` = ? ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("sqlite: timeline: %w", err)
	}
	defer rows.Close()
	out := []store.Timeline{}
	for rows.Next() {
		var e store.Timeline
		var t int64
		var data string
		if err := rows.Scan(&e.ID, &t, &e.Kind, &e.Actor, &e.Text, &data); err != nil {
			return nil, err
		}
		e.Time = fromMS(t)
		if data != "" {
			e.Data = json.RawMessage(data)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// Incidents implements store.Alerts; newest first, each with its timeline.
func (s *Store) Incidents(ctx context.Context, q store.IncidentQuery) ([]*store.Incident, error) {
	var where []string
	var args []any
	if len(q.Statuses) > 0 {
		where = append(where, "status IN ("+strings.TrimSuffix(strings.Repeat("?,", len(q.Statuses)), ",")+")")
		for _, st := range q.Statuses {
			args = append(args, st)
		}
	}
	for col, v := range map[string]string{"check_name": q.Check, "host": q.Host, "tenant": q.Tenant} {
		if v != "" {
			where, args = append(where, col+" = ?"), append(args, v)
		}
	}
	if q.Text != "" {
		where = append(where, "(instr(lower(title), lower(?)) > 0 OR instr(lower(output), lower(?)) > 0)")
		args = append(args, q.Text, q.Text)
	}
	if !q.Since.IsZero() {
		where, args = append(where, "opened_at >= ?"), append(args, ms(q.Since))
	}
	if !q.Until.IsZero() {
		where, args = append(where, "opened_at < ?"), append(args, ms(q.Until))
	}
	limit := q.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	text := `SELECT ` + incidentCols + ` FROM incidents`
	if len(where) > 0 {
		text += " WHERE " + strings.Join(where, " AND ")
	}
	text += fmt.Sprintf(" ORDER BY id DESC LIMIT %d OFFSET %d", limit, max(q.Offset, 0))
	rows, err := s.rdb.QueryContext(ctx, text, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: incidents: %w", err)
	}
	var out []*store.Incident
	for rows.Next() {
		in, err := scanIncident(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		out = append(out, in)
	}
	rows.Close()
	for _, in := range out {
		if in.Timeline, err = s.timeline(ctx, "incident_id", in.ID); err != nil {
			return nil, err
		}
	}
	return out, rows.Err()
}

// OpenIncident implements store.Alerts.
func (s *Store) OpenIncident(ctx context.Context, tx store.Tx, checkName string) (*store.Incident, error) {
	in, err := scanIncident(tx.QueryRowContext(ctx, `SELECT `+incidentCols+` FROM incidents WHERE check_name = ? AND status IN ('open','acknowledged') ORDER BY id DESC LIMIT 1`, checkName))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return in, err
}

func jsonList(v []string) string {
	if v == nil {
		v = []string{}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// CreateIncident implements store.Alerts.
func (s *Store) CreateIncident(ctx context.Context, tx store.Tx, in *store.Incident) error {
	return tx.QueryRowContext(ctx, `INSERT INTO incidents(check_name, host, tenant, scope, status, state, title, output, detected_at, opened_at, runbook, notify, attached, esc_level, esc_round, esc_next_at)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id`,
		in.Check, in.Host, in.Tenant, in.Scope, in.Status, int(in.State), in.Title, in.Output, ms(in.DetectedAt), ms(in.OpenedAt), in.Runbook,
		jsonList(in.Notify), jsonList(in.Attached), in.EscLevel, in.EscRound, pms(in.EscNextAt)).Scan(&in.ID)
}

// UpdateIncident implements store.Alerts (every mutable field).
func (s *Store) UpdateIncident(ctx context.Context, tx store.Tx, in *store.Incident) error {
	_, err := tx.ExecContext(ctx, `UPDATE incidents SET status=?, state=?, title=?, output=?, acked_at=?, acked_by=?, recovered_at=?, reported_at=?,
		resolved_at=?, closed_at=?, runbook=?, attached=?, esc_level=?, esc_round=?, esc_next_at=? WHERE id=?`,
		in.Status, int(in.State), in.Title, in.Output, pms(in.AckedAt), in.AckedBy, pms(in.RecoveredAt), pms(in.ReportedAt),
		pms(in.ResolvedAt), pms(in.ClosedAt), in.Runbook, jsonList(in.Attached), in.EscLevel, in.EscRound, pms(in.EscNextAt), in.ID)
	return err
}

// AddTimeline implements store.Alerts.
func (s *Store) AddTimeline(ctx context.Context, tx store.Tx, incidentID int64, e store.Timeline) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO timeline(incident_id, t, kind, actor, text, data) VALUES (?,?,?,?,?,?)`,
		incidentID, ms(e.Time), e.Kind, e.Actor, e.Text, string(e.Data))
	return err
}

// Enqueue implements store.Alerts: it reports false when a notification
// with the same dedup key exists (nothing is queued twice).
func (s *Store) Enqueue(ctx context.Context, tx store.Tx, n *store.Notification) (bool, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO notifications(incident_id, channel, contact, recipient, kind, level, status, next_at, created_at, payload, dedup)
		VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(dedup) DO NOTHING`,
		n.IncidentID, n.Channel, n.Contact, n.Recipient, n.Kind, n.Level, store.NotifyPending, ms(n.NextAt), ms(n.CreatedAt), n.Payload, n.Dedup)
	if err != nil {
		return false, fmt.Errorf("sqlite: enqueue: %w", err)
	}
	k, _ := res.RowsAffected()
	if k == 1 {
		n.ID, _ = res.LastInsertId()
	}
	return k == 1, nil
}

// DueEscalations implements store.Alerts.
func (s *Store) DueEscalations(ctx context.Context, now time.Time) ([]*store.Incident, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+incidentCols+` FROM incidents WHERE status = 'open' AND esc_next_at > 0 AND esc_next_at <= ? ORDER BY esc_next_at`, ms(now))
	if err != nil {
		return nil, fmt.Errorf("sqlite: due escalations: %w", err)
	}
	defer rows.Close()
	var out []*store.Incident
	for rows.Next() {
		in, err := scanIncident(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, rows.Err()
}

const notificationCols = `id, incident_id, channel, contact, recipient, kind, level, status, attempts, next_at, created_at, delivered_at, last_error, provider_id, payload, dedup`

func scanNotification(r scanner) (*store.Notification, error) {
	var n store.Notification
	var next, created, delivered int64
	if err := r.Scan(&n.ID, &n.IncidentID, &n.Channel, &n.Contact, &n.Recipient, &n.Kind, &n.Level, &n.Status, &n.Attempts, &next, &created, &delivered,
		&n.LastError, &n.ProviderID, &n.Payload, &n.Dedup); err != nil {
		return nil, err
	}
	n.NextAt, n.CreatedAt, n.DeliveredAt = fromMS(next), fromMS(created), tptr(delivered)
	return &n, nil
}

// NextNotification implements store.Alerts.
func (s *Store) NextNotification(ctx context.Context, channel string) (*store.Notification, error) {
	n, err := scanNotification(s.rdb.QueryRowContext(ctx, `SELECT `+notificationCols+` FROM notifications WHERE channel = ? AND status = 'pending' ORDER BY id LIMIT 1`, channel))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return n, err
}

// PendingChannels implements store.Alerts.
func (s *Store) PendingChannels(ctx context.Context) ([]string, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT DISTINCT channel FROM notifications WHERE status = 'pending'`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// RecordDelivery implements store.Alerts: the attempt, the notification's
// new status and whatever fn adds (timeline, incident) in one transaction.
func (s *Store) RecordDelivery(ctx context.Context, n *store.Notification, d store.Delivery, fn func(tx store.Tx) error) error {
	return s.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO deliveries(notification_id, attempt, t, ok, error, duration_us) VALUES (?,?,?,?,?,?)`,
			n.ID, d.Attempt, ms(d.Time), boolInt(d.OK), d.Error, int64(d.Duration*1e6)); err != nil {
			return fmt.Errorf("sqlite: delivery: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE notifications SET status=?, attempts=?, next_at=?, delivered_at=?, last_error=?, provider_id=? WHERE id=?`,
			n.Status, n.Attempts, ms(n.NextAt), pms(n.DeliveredAt), n.LastError, n.ProviderID, n.ID); err != nil {
			return fmt.Errorf("sqlite: notification: %w", err)
		}
		if fn != nil {
			return fn(tx)
		}
		return nil
	})
}

// Notifications implements store.Alerts (the delivery log), newest first.
func (s *Store) Notifications(ctx context.Context, incidentID int64, status string, limit int) ([]*store.Notification, error) {
	var where []string
	var args []any
	if incidentID > 0 {
		where, args = append(where, "incident_id = ?"), append(args, incidentID)
	}
	if status != "" {
		where, args = append(where, "status = ?"), append(args, status)
	}
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	text := `SELECT ` + notificationCols + ` FROM notifications`
	if len(where) > 0 {
		text += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := s.rdb.QueryContext(ctx, text+fmt.Sprintf(" ORDER BY id DESC LIMIT %d", limit), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: notifications: %w", err)
	}
	defer rows.Close()
	var out []*store.Notification
	for rows.Next() {
		n, err := scanNotification(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// Deliveries implements store.Alerts.
func (s *Store) Deliveries(ctx context.Context, id int64) ([]store.Delivery, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT attempt, t, ok, error, duration_us FROM deliveries WHERE notification_id = ? ORDER BY attempt`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Delivery
	for rows.Next() {
		var d store.Delivery
		var t, dur int64
		var ok int
		if err := rows.Scan(&d.Attempt, &t, &ok, &d.Error, &dur); err != nil {
			return nil, err
		}
		d.Time, d.OK, d.Duration = fromMS(t), ok == 1, float64(dur)/1e6
		out = append(out, d)
	}
	return out, rows.Err()
}

// IncidentTx implements store.Alerts.
func (s *Store) IncidentTx(ctx context.Context, tx store.Tx, id int64) (*store.Incident, error) {
	in, err := scanIncident(tx.QueryRowContext(ctx, `SELECT `+incidentCols+` FROM incidents WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	return in, err
}

// NotifiedTargets implements store.Alerts.
func (s *Store) NotifiedTargets(ctx context.Context, tx store.Tx, incidentID int64) ([]store.Notification, error) {
	rows, err := tx.QueryContext(ctx, `SELECT channel, contact, recipient, MIN(id) FROM notifications
		WHERE incident_id = ? AND kind IN ('problem','reminder') GROUP BY channel, contact, recipient ORDER BY MIN(id)`, incidentID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: notified targets: %w", err)
	}
	defer rows.Close()
	var out []store.Notification
	for rows.Next() {
		var n store.Notification
		var first int64
		if err := rows.Scan(&n.Channel, &n.Contact, &n.Recipient, &first); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}
