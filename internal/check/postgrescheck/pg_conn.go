package postgrescheck

import (
	"context"
	"log/slog"
	"net"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mamori/mamori/internal/check/sqlcheck"
)

// connect opens one connection with pgx's native API (its database/sql
// adapter would pull in pgxpool for nothing).
func connect(ctx context.Context, dsn string, dial sqlcheck.DialFunc, _ *slog.Logger) (sqlcheck.Conn, error) {
	cfg, err := config(dsn)
	if err != nil {
		return nil, err
	}
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) { return dial(ctx, network, addr) }
	c, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &pgConn{c: c}, nil
}

type pgConn struct{ c *pgx.Conn }

func (p *pgConn) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	return p.c.Close(ctx)
}

// FirstValue runs the query over the simple protocol, so the value is the
// server's text, as psql and check_pgsql show it. It reads at most two rows:
// if there are more, it cancels (the connection is then closed) rather than
// draining the result.
func (p *pgConn) FirstValue(ctx context.Context, query string) (string, bool, error) {
	qctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rows, err := p.c.Query(qctx, query)
	if err != nil {
		return "", false, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return "", false, err
		}
		return "", false, sqlcheck.ErrNoRows
	}
	raw := rows.RawValues()
	if len(raw) == 0 {
		return "", false, sqlcheck.ErrNoRows
	}
	val, isNull := string(raw[0]), raw[0] == nil
	if rows.Next() {
		cancel()
	}
	return val, isNull, nil
}
