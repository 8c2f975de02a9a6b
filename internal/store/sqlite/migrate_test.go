package sqlite

import (
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/store/migrate"
	"github.com/mamori/mamori/internal/store/sqlstore"
)

// TestUpgradeFromPremigrationDatabase opens a database written before
// numbered migrations existed (see testdata/README.md): it must come up at
// the latest version with every row where it was, and keep working.
func TestUpgradeFromPremigrationDatabase(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	unpack(t, "testdata/premigration.db.gz", filepath.Join(dir, "mamori.db"))

	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatalf("open the old database: %v", err)
	}
	defer s.Close()
	latest := latestVersion(t)
	if v, err := s.SchemaVersion(ctx); err != nil || v != latest {
		t.Fatalf("schema version %d, %v; want %d", v, err, latest)
	}
	var meta int
	if err := s.ReadDB().QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name = 'meta'`).Scan(&meta); err != nil || meta != 0 {
		t.Errorf("meta table still there (%d, %v)", meta, err)
	}
	for table, want := range map[string]int{"checks": 1, "results": 5, "events": 5, "users": 1, "api_tokens": 1, "runbook_versions": 1,
		"tickets": 1, "agent_hosts": 1, "maintenances": 1, "incidents": 1, "notifications": 1} {
		var n int
		if err := s.ReadDB().QueryRowContext(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil || n != want {
			t.Errorf("%s: %d rows, %v; want %d", table, n, err, want)
		}
	}
	states, err := s.LoadStates(ctx)
	if err != nil || states["web1/http"].Status.String() != "WARNING" {
		t.Errorf("check state after upgrade: %+v, %v", states["web1/http"], err)
	}
	rows, err := s.Results(ctx, "web1/http", time.Now(), 10)
	if err != nil || len(rows) != 5 || rows[0].Output != "out WARNING" {
		t.Errorf("results after upgrade: %d, %v", len(rows), err)
	}
	u, err := s.AuthUser(ctx, "alice")
	if err != nil || u.Tenant != "acme" || u.TimeZone != "Asia/Tokyo" {
		t.Errorf("user after upgrade: %+v, %v", u, err)
	}
	if rb, err := s.RunbookVersion(ctx, "web/down.md", 1); err != nil || rb.Author != "alice" {
		t.Errorf("runbook after upgrade: %+v, %v", rb, err)
	}
	// Writes keep their ids after the old rows.
	if _, err := s.SaveRunbook(ctx, "web/down.md", "# v2\n", "bob"); err != nil {
		t.Fatal(err)
	}
	s.Close()

	// Opening again changes nothing.
	s2, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if v, err := s2.SchemaVersion(ctx); err != nil || v != latest {
		t.Fatalf("version after reopening %d, %v", v, err)
	}
	if vs, err := s2.RunbookVersions(ctx, "web/down.md"); err != nil || len(vs) != 2 {
		t.Errorf("runbook versions after reopening: %d, %v", len(vs), err)
	}
}

// TestNewDatabaseSchemaMatchesUpgraded: a database made from nothing and
// one upgraded from the old schema end with the same tables and indexes.
func TestNewDatabaseSchemaMatchesUpgraded(t *testing.T) {
	ctx := context.Background()
	old := t.TempDir()
	unpack(t, "testdata/premigration.db.gz", filepath.Join(old, "mamori.db"))
	fresh := t.TempDir()
	a, b := schemaOf(t, ctx, old), schemaOf(t, ctx, fresh)
	if len(a) != len(b) {
		t.Fatalf("upgraded has %d objects, new has %d", len(a), len(b))
	}
	for name, sqlText := range a {
		if b[name] != sqlText {
			t.Errorf("%s differs:\nupgraded: %s\nnew:      %s", name, sqlText, b[name])
		}
	}
}

func schemaOf(t *testing.T, ctx context.Context, dir string) map[string]string {
	t.Helper()
	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rows, err := s.ReadDB().QueryContext(ctx, `SELECT name, coalesce(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var name, text string
		if err := rows.Scan(&name, &text); err != nil {
			t.Fatal(err)
		}
		out[name] = text
	}
	return out
}

func latestVersion(t *testing.T) int64 {
	t.Helper()
	vs, err := migrate.Versions(migrate.SQLite)
	if err != nil || len(vs) == 0 {
		t.Fatalf("migrations: %v, %v", vs, err)
	}
	return vs[len(vs)-1]
}

func unpack(t *testing.T, gz, dst string) {
	t.Helper()
	f, err := os.Open(gz)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, zr); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestTablesCoverSchema keeps sqlstore.Tables (what migrate-store copies)
// equal to the tables of the schema.
func TestTablesCoverSchema(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rows, err := s.ReadDB().QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name != 'goose_db_version' ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var n string
		rows.Scan(&n)
		got = append(got, n)
	}
	want := slices.Concat(sqlstore.Tables, sqlstore.NotCopied)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("schema tables %v\nsqlstore.Tables %v", got, want)
	}
}
