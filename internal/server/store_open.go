package server

import (
	"context"

	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/store/postgres"
	"github.com/mamori/mamori/internal/store/sqlite"
	"github.com/mamori/mamori/internal/store/sqlstore"
)

// OpenStore opens the store the configuration selects: the PostgreSQL
// database of `database:`, or else the embedded SQLite store in data_dir.
// Both are the same SQL code (package sqlstore) on their own dialect.
func OpenStore(ctx context.Context, cfg *config.Config) (*sqlstore.Store, error) {
	if cfg.Database != "" {
		st, err := postgres.Open(ctx, cfg.Database)
		if err != nil {
			return nil, err
		}
		return st.Store, nil
	}
	st, err := sqlite.Open(ctx, cfg.DataDir)
	if err != nil {
		return nil, err
	}
	return st.Store, nil
}
