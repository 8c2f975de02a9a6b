package cli

import (
	"bytes"
	"context"
	"testing"

	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/store/postgres"
	"github.com/mamori/mamori/internal/store/postgres/pgtest"
	"github.com/mamori/mamori/internal/store/sqlstore"
)

// With a shared database, `mamori push --config` derives the job's token
// from the key the servers keep in it, as they do.
func TestPushSecretFromDatabase(t *testing.T) {
	dsn := pgtest.DSN(t)
	ctx := context.Background()
	st, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	want, err := st.SharedKey(ctx, sqlstore.SigningKey)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	got, err := pushSecret(&config.Config{Database: dsn, DataDir: t.TempDir()})
	if err != nil || !bytes.Equal(got, want) || len(got) == 0 {
		t.Fatalf("pushSecret = %x, %v; the database's key is %x", got, err, want)
	}
}
