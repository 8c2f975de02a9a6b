package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"strings"
)

// Tables are every table of the schema (goose's own aside), parents
// before the tables that reference them.
var Tables = []string{
	"checks", "results", "events", "agent_hosts", "push_reports",
	"incidents", "timeline", "notifications", "deliveries", "cursors",
	"maintenances", "maint_suppressed", "runbook_versions", "tickets",
	"users", "api_tokens", "sessions", "recovery_actions", "reports",
	"server_runs", "login_attempts", "shared_keys",
}

// NotCopied are the tables of the schema migrate-store does not copy:
// the fencing epoch is the database's own (its one row comes with the
// schema); staged results are moved into results when the source store
// opens (a source still holding some is refused).
var NotCopied = []string{"leader_epoch", "results_recent"}

// serialTables have an id column the database numbers; after a copy
// their sequences continue after the largest id.
var serialTables = []string{"checks", "events", "incidents", "timeline", "notifications", "maintenances",
	"tickets", "users", "api_tokens", "recovery_actions", "reports", "login_attempts"}

// Count is the number of rows of table.
func (s *Store) Count(ctx context.Context, table string) (int64, error) {
	var n int64
	err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM `+table).Scan(&n)
	return n, err
}

// CopyFrom copies every row of every table of src into s, keeping ids,
// and then moves s's id sequences past the copied ids. s must be empty:
// a store holding any row is refused. Each table is one transaction.
func (s *Store) CopyFrom(ctx context.Context, src *Store, log io.Writer) error {
	for _, t := range Tables {
		n, err := s.Count(ctx, t)
		if err != nil {
			return fmt.Errorf("copy: target %s: %w", t, err)
		}
		if n > 0 {
			return fmt.Errorf("copy: the target is not empty (%s holds %d rows): refusing to copy into it", t, n)
		}
	}
	if n, err := src.Count(ctx, "results_recent"); err != nil || n > 0 {
		return fmt.Errorf("copy: the source holds %d staged results not moved when it opened (%v): start mamori on it once, then copy", n, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range Tables {
		n, err := s.copyTable(ctx, src, t)
		if err != nil {
			return fmt.Errorf("copy: %s: %w", t, err)
		}
		fmt.Fprintf(log, "copied %-18s %d rows\n", t, n)
	}
	if s.d.Dollar {
		for _, t := range serialTables {
			if _, err := s.wconn.ExecContext(ctx, `SELECT setval(pg_get_serial_sequence('`+t+`', 'id'), coalesce(max(id), 0) + 1, false) FROM `+t); err != nil {
				return fmt.Errorf("copy: sequence of %s: %w", t, err)
			}
		}
	}
	s.ids = map[string]int64{}
	return s.loadIDs(ctx)
}

func (s *Store) copyTable(ctx context.Context, src *Store, table string) (int64, error) {
	cols, binary, err := s.columns(ctx, table)
	if err != nil {
		return 0, err
	}
	rows, err := src.rdb.QueryContext(ctx, `SELECT `+strings.Join(cols, ", ")+` FROM `+table)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	tx, err := s.wconn.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback()
	ins, err := tx.PrepareContext(ctx, s.d.bind(`INSERT INTO `+table+`(`+strings.Join(cols, ", ")+`) VALUES (`+strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",")+`)`))
	if err != nil {
		return 0, err
	}
	defer ins.Close()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var n int64
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		for i, v := range vals {
			if str, ok := v.(string); ok && (binary[i] == "BYTEA" || binary[i] == "BLOB") {
				vals[i] = []byte(str)
			}
		}
		if _, err := ins.ExecContext(ctx, vals...); err != nil {
			return n, fmt.Errorf("row %d: %w", n+1, err)
		}
		n++
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	return n, tx.Commit()
}

// columns lists table's columns in s and their types (upper case).
func (s *Store) columns(ctx context.Context, table string) ([]string, []string, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT * FROM `+table+` LIMIT 0`)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	types, err := rows.ColumnTypes()
	if err != nil {
		return nil, nil, err
	}
	cols, binary := make([]string, len(types)), make([]string, len(types))
	for i, ct := range types {
		cols[i] = ct.Name()
		binary[i] = strings.ToUpper(ct.DatabaseTypeName())
	}
	return cols, binary, nil
}

// Row is one row of table as text, for comparing stores: the row of the
// given rank when ordered by every column (rank -1: the last).
func (s *Store) Row(ctx context.Context, table string, cols []string, rank int) (string, error) {
	names, binary, err := s.columns(ctx, table)
	if err != nil {
		return "", err
	}
	text := map[string]bool{}
	for i, n := range names {
		text[n] = binary[i] == "TEXT"
	}
	// Both databases order text bytewise (SQLite's BINARY, PostgreSQL's "C").
	keys := make([]string, len(cols))
	for i, c := range cols {
		keys[i] = c
		if s.d.Dollar && text[c] {
			keys[i] = c + ` COLLATE "C"`
		}
	}
	list := strings.Join(cols, ", ")
	q := `SELECT ` + list + ` FROM ` + table + ` ORDER BY ` + strings.Join(keys, ", ") + ` LIMIT 1`
	if rank < 0 {
		q = `SELECT ` + list + ` FROM ` + table + ` ORDER BY ` + strings.Join(keys, " DESC, ") + ` DESC LIMIT 1`
	} else if rank > 0 {
		q += fmt.Sprintf(" OFFSET %d", rank)
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := s.rdb.QueryRowContext(ctx, q).Scan(ptrs...); err != nil {
		if err == sql.ErrNoRows {
			return "", nil
		}
		return "", err
	}
	var b strings.Builder
	for i, v := range vals {
		if i > 0 {
			b.WriteString("|")
		}
		switch v := v.(type) {
		case []byte:
			b.WriteString(string(v))
		case nil:
			b.WriteString("NULL")
		default:
			fmt.Fprint(&b, v)
		}
	}
	return b.String(), nil
}

// Columns are table's columns.
func (s *Store) Columns(ctx context.Context, table string) ([]string, error) {
	cols, _, err := s.columns(ctx, table)
	return cols, err
}
