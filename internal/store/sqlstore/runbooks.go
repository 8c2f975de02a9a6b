package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/mamori/mamori/internal/store"
)

// SaveRunbook stores a new version of a runbook and returns its number (1, 2, ...).
func (s *Store) SaveRunbook(ctx context.Context, name, markdown, author string) (int, error) {
	var v int
	err := s.write(ctx, func(tx *Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) + 1 FROM runbook_versions WHERE name = ?`, name).Scan(&v); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO runbook_versions(name, version, markdown, author, t) VALUES (?,?,?,?,?)`, name, v, markdown, author, ms(time.Now()))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("store: save runbook: %w", err)
	}
	return v, nil
}

// RunbookVersions lists a runbook's versions, newest first, without text.
func (s *Store) RunbookVersions(ctx context.Context, name string) ([]store.RunbookVersion, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT version, author, t FROM runbook_versions WHERE name = ? ORDER BY version DESC`, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []store.RunbookVersion{}
	for rows.Next() {
		v := store.RunbookVersion{Name: name}
		var t int64
		if err := rows.Scan(&v.Version, &v.Author, &t); err != nil {
			return nil, err
		}
		v.Time = fromMS(t)
		out = append(out, v)
	}
	return out, rows.Err()
}

// RunbookVersion reads one version of a runbook (0 = the latest).
func (s *Store) RunbookVersion(ctx context.Context, name string, version int) (*store.RunbookVersion, error) {
	q := `SELECT version, markdown, author, t FROM runbook_versions WHERE name = ? ORDER BY version DESC LIMIT 1`
	args := []any{name}
	if version > 0 {
		q = `SELECT version, markdown, author, t FROM runbook_versions WHERE name = ? AND version = ?`
		args = append(args, version)
	}
	v := &store.RunbookVersion{Name: name}
	var t int64
	err := s.rdb.QueryRowContext(ctx, q, args...).Scan(&v.Version, &v.Markdown, &v.Author, &t)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	v.Time = fromMS(t)
	return v, err
}

// LatestRunbooks returns the latest version of every runbook.
func (s *Store) LatestRunbooks(ctx context.Context) ([]store.RunbookVersion, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT r.name, r.version, r.markdown, r.author, r.t FROM runbook_versions r
		JOIN (SELECT name, MAX(version) AS v FROM runbook_versions GROUP BY name) m ON m.name = r.name AND m.v = r.version ORDER BY r.name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.RunbookVersion
	for rows.Next() {
		var v store.RunbookVersion
		var t int64
		if err := rows.Scan(&v.Name, &v.Version, &v.Markdown, &v.Author, &t); err != nil {
			return nil, err
		}
		v.Time = fromMS(t)
		out = append(out, v)
	}
	return out, rows.Err()
}
