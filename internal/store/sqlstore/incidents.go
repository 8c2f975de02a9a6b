package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/incident"
	"github.com/mamori/mamori/internal/store"
)

// txn is a write transaction as incident.Tx: the incident and outbox
// writes of alerting and recovery, committed together.
type txn struct{ *Tx }

var _ incident.Tx = txn{}

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

// Cursor is the value of a named cursor (0 if never set).
func (s *Store) Cursor(ctx context.Context, name string) (int64, error) {
	var v int64
	err := s.rdb.QueryRowContext(ctx, `SELECT value FROM cursors WHERE name = ?`, name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return v, err
}

// Apply runs fn in one transaction and sets the named cursor in it: fn's
// writes and the new cursor value commit together.
func (s *Store) Apply(ctx context.Context, name string, cursor int64, fn func(tx incident.Tx) error) error {
	return s.write(ctx, func(tx *Tx) error {
		if err := fn(txn{tx}); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO cursors(name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value`, name, cursor)
		return err
	})
}

// Write runs fn in one transaction.
func (s *Store) Write(ctx context.Context, fn func(tx incident.Tx) error) error {
	return s.write(ctx, func(tx *Tx) error { return fn(txn{tx}) })
}

const incidentCols = `id, check_name, host, tenant, scope, status, state, title, output, detected_at, opened_at, acked_at, acked_by,
	recovered_at, reported_at, resolved_at, closed_at, runbook, notify, attached, esc_level, esc_round, esc_next_at, level, root_cause, remediation`

type scanner interface{ Scan(...any) error }

func scanIncident(r scanner) (*incident.Incident, error) {
	var in incident.Incident
	var det, op, ack, rec, rep, res, clo, next int64
	var notify, attached string
	if err := r.Scan(&in.ID, &in.Check, &in.Host, &in.Tenant, &in.Scope, &in.Status, &in.State, &in.Title, &in.Output, &det, &op, &ack, &in.AckedBy,
		&rec, &rep, &res, &clo, &in.Runbook, &notify, &attached, &in.EscLevel, &in.EscRound, &next, &in.Level, &in.RootCause, &in.Remediation); err != nil {
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

// Incident reads an incident with its timeline (store.ErrNotFound).
func (s *Store) Incident(ctx context.Context, id int64) (*incident.Incident, error) {
	in, err := scanIncident(s.rdb.QueryRowContext(ctx, `SELECT `+incidentCols+` FROM incidents WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: incident: %w", err)
	}
	if in.Timeline, err = s.timeline(ctx, "incident_id", id); err != nil {
		return nil, err
	}
	return in, nil
}

func (s *Store) timeline(ctx context.Context, col string, id int64) ([]incident.Timeline, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT id, t, kind, actor, text, data, visibility FROM timeline WHERE `+col+` = ? ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("store: timeline: %w", err)
	}
	defer rows.Close()
	out := []incident.Timeline{}
	for rows.Next() {
		var e incident.Timeline
		var t int64
		var data string
		if err := rows.Scan(&e.ID, &t, &e.Kind, &e.Actor, &e.Text, &data, &e.Visibility); err != nil {
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

// Incidents lists incidents matching q, newest first, each with its timeline.
func (s *Store) Incidents(ctx context.Context, q incident.Query) ([]*incident.Incident, error) {
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
		where = append(where, "("+s.d.Instr+"(lower(title), lower(?)) > 0 OR "+s.d.Instr+"(lower(output), lower(?)) > 0)")
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
		return nil, fmt.Errorf("store: incidents: %w", err)
	}
	var out []*incident.Incident
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

// OpenIncident implements incident.Tx.
func (tx txn) OpenIncident(ctx context.Context, checkName string) (*incident.Incident, error) {
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

// CreateIncident implements incident.Tx.
func (tx txn) CreateIncident(ctx context.Context, in *incident.Incident) error {
	return tx.QueryRowContext(ctx, `INSERT INTO incidents(check_name, host, tenant, scope, status, state, title, output, detected_at, opened_at, runbook, notify, attached, esc_level, esc_round, esc_next_at, level, root_cause, remediation)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id`,
		in.Check, in.Host, in.Tenant, in.Scope, in.Status, int(in.State), in.Title, in.Output, ms(in.DetectedAt), ms(in.OpenedAt), in.Runbook,
		jsonList(in.Notify), jsonList(in.Attached), in.EscLevel, in.EscRound, pms(in.EscNextAt), in.Level, in.RootCause, in.Remediation).Scan(&in.ID)
}

// UpdateIncident implements incident.Tx (every mutable field).
func (tx txn) UpdateIncident(ctx context.Context, in *incident.Incident) error {
	_, err := tx.ExecContext(ctx, `UPDATE incidents SET status=?, state=?, title=?, output=?, acked_at=?, acked_by=?, recovered_at=?, reported_at=?,
		resolved_at=?, closed_at=?, runbook=?, attached=?, esc_level=?, esc_round=?, esc_next_at=?,
		level=?, root_cause=?, remediation=? WHERE id=?`,
		in.Status, int(in.State), in.Title, in.Output, pms(in.AckedAt), in.AckedBy, pms(in.RecoveredAt), pms(in.ReportedAt),
		pms(in.ResolvedAt), pms(in.ClosedAt), in.Runbook, jsonList(in.Attached), in.EscLevel, in.EscRound, pms(in.EscNextAt), in.Level, in.RootCause, in.Remediation, in.ID)
	return err
}

// AddTicketTimeline implements incident.Tx.
func (tx txn) AddTicketTimeline(ctx context.Context, ticketID int64, e incident.Timeline) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO timeline(ticket_id, t, kind, actor, text, data, visibility) VALUES (?,?,?,?,?,?,?)`,
		ticketID, ms(e.Time), e.Kind, e.Actor, e.Text, string(e.Data), e.Visibility)
	return err
}

// AddTimeline implements incident.Tx.
func (tx txn) AddTimeline(ctx context.Context, incidentID int64, e incident.Timeline) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO timeline(incident_id, t, kind, actor, text, data, visibility) VALUES (?,?,?,?,?,?,?)`,
		incidentID, ms(e.Time), e.Kind, e.Actor, e.Text, string(e.Data), e.Visibility)
	return err
}

// Enqueue implements incident.Tx: it reports false when a notification
// with the same dedup key exists (nothing is queued twice).
func (tx txn) Enqueue(ctx context.Context, n *incident.Notification) (bool, error) {
	err := tx.QueryRowContext(ctx, `INSERT INTO notifications(incident_id, ticket_id, channel, contact, recipient, kind, level, status, next_at, created_at, payload, dedup)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(dedup) DO NOTHING RETURNING id`,
		n.IncidentID, n.TicketID, n.Channel, n.Contact, n.Recipient, n.Kind, n.Level, incident.NotifyPending, ms(n.NextAt), ms(n.CreatedAt), n.Payload, n.Dedup).Scan(&n.ID)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: enqueue: %w", err)
	}
	return true, nil
}

// DueEscalations lists open incidents whose next escalation is due.
func (s *Store) DueEscalations(ctx context.Context, now time.Time) ([]*incident.Incident, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+incidentCols+` FROM incidents WHERE status = 'open' AND esc_next_at > 0 AND esc_next_at <= ? ORDER BY esc_next_at`, ms(now))
	if err != nil {
		return nil, fmt.Errorf("store: due escalations: %w", err)
	}
	defer rows.Close()
	var out []*incident.Incident
	for rows.Next() {
		in, err := scanIncident(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, rows.Err()
}

const notificationCols = `id, incident_id, ticket_id, channel, contact, recipient, kind, level, status, attempts, next_at, created_at, delivered_at, last_error, provider_id, payload, dedup`

func scanNotification(r scanner) (*incident.Notification, error) {
	var n incident.Notification
	var next, created, delivered int64
	if err := r.Scan(&n.ID, &n.IncidentID, &n.TicketID, &n.Channel, &n.Contact, &n.Recipient, &n.Kind, &n.Level, &n.Status, &n.Attempts, &next, &created, &delivered,
		&n.LastError, &n.ProviderID, &n.Payload, &n.Dedup); err != nil {
		return nil, err
	}
	n.NextAt, n.CreatedAt, n.DeliveredAt = fromMS(next), fromMS(created), tptr(delivered)
	return &n, nil
}

// NextNotification returns the head of a channel's FIFO of pending notifications, or nil.
func (s *Store) NextNotification(ctx context.Context, channel string) (*incident.Notification, error) {
	n, err := scanNotification(s.rdb.QueryRowContext(ctx, `SELECT `+notificationCols+` FROM notifications WHERE channel = ? AND status = 'pending' ORDER BY id LIMIT 1`, channel))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return n, err
}

// PendingChannels lists the channels with pending notifications.
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

// RecordDelivery stores an attempt at a notification: the attempt, its
// new status and whatever fn adds (timeline, incident) in one transaction.
func (s *Store) RecordDelivery(ctx context.Context, n *incident.Notification, d incident.Delivery, fn func(tx incident.Tx) error) error {
	return s.write(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO deliveries(notification_id, attempt, t, ok, error, duration_us) VALUES (?,?,?,?,?,?)
			ON CONFLICT(notification_id, attempt) DO UPDATE SET t = excluded.t, ok = excluded.ok, error = excluded.error, duration_us = excluded.duration_us`,
			n.ID, d.Attempt, ms(d.Time), boolInt(d.OK), d.Error, int64(d.Duration*1e6)); err != nil {
			return fmt.Errorf("store: delivery: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE notifications SET status=?, attempts=?, next_at=?, delivered_at=?, last_error=?, provider_id=? WHERE id=?`,
			n.Status, n.Attempts, ms(n.NextAt), pms(n.DeliveredAt), n.LastError, n.ProviderID, n.ID); err != nil {
			return fmt.Errorf("store: notification: %w", err)
		}
		if fn != nil {
			return fn(txn{tx})
		}
		return nil
	})
}

// Notifications lists outbox rows (the delivery log), newest first.
func (s *Store) Notifications(ctx context.Context, incidentID int64, status string, limit int) ([]*incident.Notification, error) {
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
		return nil, fmt.Errorf("store: notifications: %w", err)
	}
	defer rows.Close()
	var out []*incident.Notification
	for rows.Next() {
		n, err := scanNotification(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// Deliveries lists the attempts at a notification.
func (s *Store) Deliveries(ctx context.Context, id int64) ([]incident.Delivery, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT attempt, t, ok, error, duration_us FROM deliveries WHERE notification_id = ? ORDER BY attempt`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []incident.Delivery
	for rows.Next() {
		var d incident.Delivery
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

// Incident implements incident.Tx (without the timeline).
func (tx txn) Incident(ctx context.Context, id int64) (*incident.Incident, error) {
	in, err := scanIncident(tx.QueryRowContext(ctx, `SELECT `+incidentCols+` FROM incidents WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	return in, err
}

// NotifiedTargets implements incident.Tx.
func (tx txn) NotifiedTargets(ctx context.Context, incidentID int64) ([]incident.Notification, error) {
	rows, err := tx.QueryContext(ctx, `SELECT channel, contact, recipient, MIN(id) FROM notifications
		WHERE incident_id = ? AND kind IN ('problem','reminder') GROUP BY channel, contact, recipient ORDER BY MIN(id)`, incidentID)
	if err != nil {
		return nil, fmt.Errorf("store: notified targets: %w", err)
	}
	defer rows.Close()
	var out []incident.Notification
	for rows.Next() {
		var n incident.Notification
		var first int64
		if err := rows.Scan(&n.Channel, &n.Contact, &n.Recipient, &first); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}
