package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/mamori/mamori/internal/store"
)

var _ store.Reports = (*Store)(nil)

// SaveReport implements store.Reports.
func (s *Store) SaveReport(ctx context.Context, row *store.ReportRow, f store.ReportFiles) (bool, error) {
	created := false
	err := s.write(ctx, func(tx *Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO reports(tenant, kind, month, period_from, period_to, lang, created_at, created_by, pdf, html, json)
			VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT DO NOTHING RETURNING id`,
			row.Tenant, row.Kind, row.Month, ms(row.From), ms(row.To), row.Lang, ms(row.CreatedAt), row.CreatedBy, f.PDF, f.HTML, f.JSON).Scan(&row.ID)
		if err == nil {
			created = true
			row.PDFSize, row.HTMLSize = len(f.PDF), len(f.HTML)
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		return tx.QueryRowContext(ctx, `SELECT id FROM reports WHERE kind = 'monthly' AND tenant = ? AND month = ? AND lang = ?`,
			row.Tenant, row.Month, row.Lang).Scan(&row.ID)
	})
	if err != nil {
		return false, fmt.Errorf("store: save report: %w", err)
	}
	return created, nil
}

const reportCols = `id, tenant, kind, month, period_from, period_to, lang, created_at, created_by, length(pdf), length(html)`

func scanReport(sc interface{ Scan(...any) error }) (*store.ReportRow, error) {
	var r store.ReportRow
	var from, to, created int64
	if err := sc.Scan(&r.ID, &r.Tenant, &r.Kind, &r.Month, &from, &to, &r.Lang, &created, &r.CreatedBy, &r.PDFSize, &r.HTMLSize); err != nil {
		return nil, err
	}
	r.From, r.To, r.CreatedAt = fromMS(from), fromMS(to), fromMS(created)
	return &r, nil
}

// Reports implements store.Reports.
func (s *Store) Reports(ctx context.Context, tenant string, limit int) ([]store.ReportRow, error) {
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	q := `SELECT ` + reportCols + ` FROM reports`
	var args []any
	if tenant != "" {
		q, args = q+` WHERE tenant = ?`, append(args, tenant)
	}
	rows, err := s.rdb.QueryContext(ctx, q+fmt.Sprintf(` ORDER BY period_from DESC, id DESC LIMIT %d`, limit), args...)
	if err != nil {
		return nil, fmt.Errorf("store: reports: %w", err)
	}
	defer rows.Close()
	out := []store.ReportRow{}
	for rows.Next() {
		r, err := scanReport(rows)
		if err != nil {
			return nil, fmt.Errorf("store: reports: %w", err)
		}
		out = append(out, *r)
	}
	return out, rows.Err()
}

// Report implements store.Reports.
func (s *Store) Report(ctx context.Context, id int64, format string) (*store.ReportRow, []byte, error) {
	col := map[string]string{"": "x''", "pdf": "pdf", "html": "html", "json": "json"}[format]
	if col == "" {
		return nil, nil, fmt.Errorf("store: report format %q", format)
	}
	var body []byte
	row := s.rdb.QueryRowContext(ctx, `SELECT `+reportCols+`, `+col+` FROM reports WHERE id = ?`, id)
	r, err := scanReport(scanFunc(func(dst ...any) error { return row.Scan(append(dst, &body)...) }))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, store.ErrNotFound
	} else if err != nil {
		return nil, nil, fmt.Errorf("store: report: %w", err)
	}
	return r, body, nil
}

type scanFunc func(dst ...any) error

func (f scanFunc) Scan(dst ...any) error { return f(dst...) }

// MonthlyReport implements store.Reports.
func (s *Store) MonthlyReport(ctx context.Context, tenant, month, lang string) (*store.ReportRow, error) {
	r, err := scanReport(s.rdb.QueryRowContext(ctx, `SELECT `+reportCols+` FROM reports WHERE kind = 'monthly' AND tenant = ? AND month = ? AND lang = ?`, tenant, month, lang))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("store: monthly report: %w", err)
	}
	return r, nil
}

// StateHistory implements store.Reports: the change in force at from,
// the changes in [from, to) and the first stored trace of each check.
func (s *Store) StateHistory(ctx context.Context, checks []string, from, to time.Time) (map[string]*store.CheckHistory, error) {
	out := make(map[string]*store.CheckHistory, len(checks))
	byID := map[int64]*store.CheckHistory{}
	s.mu.Lock()
	ids := make(map[string]int64, len(checks))
	for _, c := range checks {
		if id, ok := s.ids[c]; ok {
			ids[c] = id
		}
	}
	s.mu.Unlock()
	for _, c := range checks {
		h := &store.CheckHistory{}
		out[c] = h
		id, ok := ids[c]
		if !ok {
			id, ok = s.lookupID(ctx, c)
		}
		if !ok {
			continue
		}
		byID[id] = h
		if err := s.historyBounds(ctx, id, from, h); err != nil {
			return nil, err
		}
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT check_id, t, to_status, to_type FROM events WHERE t >= ? AND t < ? ORDER BY t, id`, ms(from), ms(to))
	if err != nil {
		return nil, fmt.Errorf("store: state history: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, t int64
		var c store.StateChange
		if err := rows.Scan(&id, &t, &c.Status, &c.Type); err != nil {
			return nil, fmt.Errorf("store: state history: %w", err)
		}
		if h := byID[id]; h != nil {
			c.Time = fromMS(t)
			h.Changes = append(h.Changes, c)
		}
	}
	return out, rows.Err()
}

func (s *Store) lookupID(ctx context.Context, name string) (int64, bool) {
	var id int64
	err := s.rdb.QueryRowContext(ctx, `SELECT id FROM checks WHERE name = ?`, name).Scan(&id)
	return id, err == nil
}

// historyBounds fills the change before from and the first trace.
func (s *Store) historyBounds(ctx context.Context, id int64, from time.Time, h *store.CheckHistory) error {
	var t int64
	var c store.StateChange
	err := s.rdb.QueryRowContext(ctx, `SELECT t, to_status, to_type FROM events WHERE check_id = ? AND t < ? ORDER BY t DESC, id DESC LIMIT 1`, id, ms(from)).
		Scan(&t, &c.Status, &c.Type)
	switch {
	case err == nil:
		c.Time = fromMS(t)
		h.Before = &c
	case !errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("store: state history: %w", err)
	}
	var r, rs, e sql.NullInt64
	if err := s.rdb.QueryRowContext(ctx, `SELECT (SELECT MIN(t) FROM results WHERE check_id = ?), (SELECT MIN(t) FROM results_recent WHERE check_id = ?),
		(SELECT MIN(t) FROM events WHERE check_id = ?)`, id, id, id).Scan(&r, &rs, &e); err != nil {
		return fmt.Errorf("store: state history: %w", err)
	}
	first := int64(0)
	for _, v := range []sql.NullInt64{r, rs, e} {
		if v.Valid && (first == 0 || v.Int64 < first) {
			first = v.Int64
		}
	}
	h.FirstSeen = fromMS(first)
	return nil
}

// MarkRun implements store.Reports.
func (s *Store) MarkRun(ctx context.Context, start, now time.Time) error {
	return s.write(ctx, func(tx *Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO server_runs(start, last) VALUES (?, ?) ON CONFLICT(start) DO UPDATE SET last = excluded.last`, ms(start), ms(now))
		return err
	})
}

// ServerRuns implements store.Reports.
func (s *Store) ServerRuns(ctx context.Context, from, to time.Time) ([]store.ServerRun, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT start, last FROM server_runs WHERE last >= ? AND start < ? ORDER BY start`, ms(from), ms(to))
	if err != nil {
		return nil, fmt.Errorf("store: server runs: %w", err)
	}
	defer rows.Close()
	var out []store.ServerRun
	for rows.Next() {
		var a, b int64
		if err := rows.Scan(&a, &b); err != nil {
			return nil, err
		}
		out = append(out, store.ServerRun{Start: fromMS(a), Last: fromMS(b)})
	}
	return out, rows.Err()
}
