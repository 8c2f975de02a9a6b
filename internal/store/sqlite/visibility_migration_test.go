package sqlite

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/store/migrate"
)

// Migration 5 makes the comments written before it internal, except those
// of customer and viewer users (their own stay visible to them).
func TestMigrationCommentVisibility(t *testing.T) {
	ctx := context.Background()
	fsys, err := migrate.FS(migrate.SQLite)
	if err != nil {
		t.Fatal(err)
	}
	var up string
	for _, name := range []string{"00001_baseline.sql", "00005_visibility_login_attempts.sql"} {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		text = text[strings.Index(text, "-- +goose Up"):]
		up += text[:strings.Index(text, "-- +goose Down")]
		if name == "00001_baseline.sql" {
			up += `INSERT INTO users(name, role, tenant, created_at) VALUES ('taro', 'customer', 'acme', 0), ('ops', 'operator', '', 0);
INSERT INTO timeline(incident_id, t, kind, actor, text) VALUES (1, 1, 'comment', 'TARO', 'c1'), (1, 2, 'comment', 'ops', 'c2'), (1, 3, 'opened', '', 'o'), (0, 4, 'comment', 'token-x', 'c3');
`
		}
	}
	db, err := sql.Open("sqlite", filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, up); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	rows, err := db.QueryContext(ctx, `SELECT text, visibility FROM timeline`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var text, vis string
		rows.Scan(&text, &vis)
		got[text] = vis
	}
	want := map[string]string{"c1": "customer", "c2": "internal", "o": "", "c3": "internal"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: visibility %q, want %q", k, got[k], v)
		}
	}
}
