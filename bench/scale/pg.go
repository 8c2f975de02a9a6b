package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// pgDB is the run's own database on the PostgreSQL server.
type pgDB struct {
	admin *sql.DB
	name  string
	url   string
	db    *sql.DB // connected to the run's database, for statistics
}

func createDB(ctx context.Context, adminURL string) (*pgDB, error) {
	admin, err := sql.Open("pgx", adminURL)
	if err != nil {
		return nil, err
	}
	if err := admin.PingContext(ctx); err != nil {
		admin.Close()
		return nil, fmt.Errorf("PostgreSQL %s: %w", adminURL, err)
	}
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	name := "mamori_scale_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		admin.Close()
		return nil, err
	}
	u, q := adminURL, ""
	if i := strings.IndexByte(u, '?'); i >= 0 {
		u, q = u[:i], u[i:]
	}
	p := &pgDB{admin: admin, name: name, url: u[:strings.LastIndexByte(u, '/')+1] + name + q}
	if p.db, err = sql.Open("pgx", p.url); err != nil {
		p.drop()
		return nil, err
	}
	p.db.SetMaxOpenConns(2)
	return p, nil
}

func (p *pgDB) drop() error {
	if p.db != nil {
		p.db.Close()
	}
	defer p.admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, err := p.admin.ExecContext(ctx, `DROP DATABASE IF EXISTS `+p.name+` WITH (FORCE)`)
	return err
}

// pgStats are PostgreSQL's cumulative counters of the run's database.
type pgStats struct {
	At                   time.Time
	ResultsIns           int64 // results rows inserted
	ChecksUpd, ChecksHot int64 // checks rows updated (HOT: without index changes)
	EventsIns            int64
	Commits, Rollbacks   int64
	BlocksWritten        int64 // buffers written by backends, checkpointer and bgwriter (whole server)
}

func (p *pgDB) stats(ctx context.Context) (pgStats, error) {
	s := pgStats{At: time.Now()}
	// The statistics of the current transaction are cached: read them fresh.
	if _, err := p.db.ExecContext(ctx, `SELECT pg_stat_clear_snapshot()`); err != nil {
		return s, err
	}
	err := p.db.QueryRowContext(ctx, `SELECT
		coalesce((SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = 'results'), 0),
		coalesce((SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = 'checks'), 0),
		coalesce((SELECT n_tup_hot_upd FROM pg_stat_user_tables WHERE relname = 'checks'), 0),
		coalesce((SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = 'events'), 0),
		(SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()),
		(SELECT xact_rollback FROM pg_stat_database WHERE datname = current_database()),
		(SELECT buffers_checkpoint + buffers_clean + buffers_backend FROM pg_stat_bgwriter)`).Scan(
		&s.ResultsIns, &s.ChecksUpd, &s.ChecksHot, &s.EventsIns, &s.Commits, &s.Rollbacks, &s.BlocksWritten)
	return s, err
}

// resultsBetween counts stored results whose run time is in [from, to),
// and the distinct checks they belong to.
func (p *pgDB) resultsBetween(ctx context.Context, from, to time.Time) (n, checks int64, err error) {
	err = p.db.QueryRowContext(ctx, `SELECT count(*), count(DISTINCT check_id) FROM results WHERE t >= $1 AND t < $2`,
		from.UnixMilli(), to.UnixMilli()).Scan(&n, &checks)
	return n, checks, err
}

// size is the database's size in MiB.
func (p *pgDB) size(ctx context.Context) float64 {
	var b int64
	_ = p.db.QueryRowContext(ctx, `SELECT pg_database_size(current_database())`).Scan(&b)
	return float64(b) / (1 << 20)
}

// serverPIDs are the PostgreSQL backends serving the run's database.
func (p *pgDB) backendPIDs(ctx context.Context) []int {
	rows, err := p.db.QueryContext(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
	if err != nil {
		return nil
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var pid int
		if rows.Scan(&pid) == nil {
			out = append(out, pid)
		}
	}
	return out
}
