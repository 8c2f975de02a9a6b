package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/mamori/mamori/internal/auth"
	"github.com/mamori/mamori/internal/clidoc"
	"github.com/mamori/mamori/internal/store/postgres"
	"github.com/mamori/mamori/internal/store/sqlite"
	"github.com/mamori/mamori/internal/store/sqlstore"
)

const migrateStoreUsage = `usage: mamori migrate-store --from sqlite:DIR --to postgres://USER@HOST:PORT/DB

Copies every table of the SQLite store in DIR (the server's data_dir) into
an empty PostgreSQL database, keeping ids, then checks the row count of
every table and compares the first and last row of each, and keeps DIR's
signing key (secret.key) in the database. Stop the server first; the
target must be empty.
データ移行: SQLite の全テーブルを空の PostgreSQL へ ID ごと複写し、件数と先頭・末尾行で照合します。`

func cmdMigrateStore(args []string, stdout, stderr io.Writer) int {
	fs := clidoc.NewFlagSet("mamori migrate-store", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, migrateStoreUsage) }
	from := fs.String("from", "", "sqlite:DIR, the data directory of the SQLite store")
	to := fs.String("to", "", "postgres://USER@HOST:PORT/DB, an empty database")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	dir, ok := strings.CutPrefix(*from, "sqlite:")
	if !ok || dir == "" || !postgres.IsURL(*to) || fs.NArg() > 0 {
		fmt.Fprintln(stderr, migrateStoreUsage)
		return 2
	}
	if err := migrateStore(context.Background(), dir, *to, stdout); err != nil {
		fmt.Fprintf(stderr, "mamori migrate-store: %v\n", err)
		return 1
	}
	return 0
}

func migrateStore(ctx context.Context, dir, dsn string, out io.Writer) error {
	src, err := sqlite.Open(ctx, dir)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := postgres.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer dst.Close()
	if err := dst.CopyFrom(ctx, src.Store, out); err != nil {
		return err
	}
	if err := verifyCopy(ctx, src.Store, dst.Store, out); err != nil {
		return err
	}
	return carryKey(ctx, dir, dst.Store, out)
}

// carryKey stores DIR/secret.key as the database's signing key: the
// sessions and acknowledgement links the installation made stay valid on
// every server of the database (docs/ha.md).
func carryKey(ctx context.Context, dir string, dst *sqlstore.Store, out io.Writer) error {
	key, err := os.ReadFile(filepath.Join(dir, auth.KeyFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := dst.PutSharedKey(ctx, sqlstore.SigningKey, key); err != nil {
		return err
	}
	fmt.Fprintf(out, "migrate-store: kept the signing key of %s (sessions and links stay valid) / 署名鍵を引き継ぎました\n", auth.KeyFile)
	return nil
}

// verifyCopy compares the row count of every table and its first and last
// rows (ordered by every column) in both stores.
func verifyCopy(ctx context.Context, src, dst *sqlstore.Store, out io.Writer) error {
	var bad []string
	for _, t := range sqlstore.Tables {
		a, err := src.Count(ctx, t)
		if err != nil {
			return err
		}
		b, err := dst.Count(ctx, t)
		if err != nil {
			return err
		}
		cols, err := src.Columns(ctx, t)
		if err != nil {
			return err
		}
		same := "same"
		for _, rank := range []int{0, -1} {
			ra, err1 := src.Row(ctx, t, cols, rank)
			rb, err2 := dst.Row(ctx, t, cols, rank)
			if err1 != nil || err2 != nil {
				return fmt.Errorf("spot check of %s: %v %v", t, err1, err2)
			}
			if ra != rb {
				same = "DIFFERENT"
			}
		}
		fmt.Fprintf(out, "verify %-18s sqlite %d  postgres %d  first/last row %s\n", t, a, b, same)
		if a != b || same != "same" {
			bad = append(bad, t)
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("the copy differs in %s", strings.Join(bad, ", "))
	}
	fmt.Fprintln(out, "migrate-store: every table copied and verified / 全テーブルの複写と照合が完了しました")
	return nil
}
