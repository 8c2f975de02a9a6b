package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/mamori/mamori/internal/store"
)

// CreateMaintenance stores a maintenance window (JSON) and returns its id.
func (s *Store) CreateMaintenance(ctx context.Context, body []byte, createdBy string) (int64, error) {
	var id int64
	err := s.write(ctx, func(tx *Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO maintenances(body, created_at, created_by) VALUES (?,?,?) RETURNING id`,
			string(body), ms(time.Now()), createdBy).Scan(&id)
	})
	return id, err
}

// Maintenances lists the stored windows (not deleted ones).
func (s *Store) Maintenances(ctx context.Context) ([]store.MaintenanceRow, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT id, body, created_at, created_by FROM maintenances WHERE deleted_at = 0 ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("store: maintenances: %w", err)
	}
	defer rows.Close()
	var out []store.MaintenanceRow
	for rows.Next() {
		var m store.MaintenanceRow
		var body string
		var t int64
		if err := rows.Scan(&m.ID, &body, &t, &m.CreatedBy); err != nil {
			return nil, err
		}
		m.Body, m.CreatedAt = []byte(body), fromMS(t)
		out = append(out, m)
	}
	return out, rows.Err()
}

// DeleteMaintenance deletes a stored window (store.ErrNotFound).
func (s *Store) DeleteMaintenance(ctx context.Context, id int64) error {
	return s.write(ctx, func(tx *Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE maintenances SET deleted_at = ? WHERE id = ? AND deleted_at = 0`, ms(time.Now()), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		return nil
	})
}

// Suppress implements incident.Tx.
func (tx txn) Suppress(ctx context.Context, check string, eventID int64, t time.Time) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO maint_suppressed(check_name, event_id, t) VALUES (?,?,?)
		ON CONFLICT(check_name) DO UPDATE SET event_id = excluded.event_id, t = excluded.t`, check, eventID, ms(t))
	return err
}

// SuppressedList lists the problems maintenance windows kept quiet.
func (s *Store) SuppressedList(ctx context.Context) ([]store.Suppressed, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT check_name, event_id, t FROM maint_suppressed ORDER BY event_id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Suppressed
	for rows.Next() {
		var x store.Suppressed
		var t int64
		if err := rows.Scan(&x.Check, &x.EventID, &t); err != nil {
			return nil, err
		}
		x.Time = fromMS(t)
		out = append(out, x)
	}
	return out, rows.Err()
}

// Unsuppress implements incident.Tx.
func (tx txn) Unsuppress(ctx context.Context, check string) error {
	_, err := tx.ExecContext(ctx, `DELETE FROM maint_suppressed WHERE check_name = ?`, check)
	return err
}
