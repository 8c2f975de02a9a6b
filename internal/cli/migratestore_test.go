package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/auth"
	"github.com/mamori/mamori/internal/incident"
	"github.com/mamori/mamori/internal/store/postgres"
	"github.com/mamori/mamori/internal/store/postgres/pgtest"
	"github.com/mamori/mamori/internal/store/sqlite"
	"github.com/mamori/mamori/internal/store/sqlstore"
	"github.com/mamori/mamori/internal/store/storetest"
)

func TestMigrateStore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	incID := storetest.Fill(t, src)
	// Text keys whose order depends on the collation: the spot check must
	// order them alike in both databases.
	for _, name := range []string{"Zeta", "alpha", "Émile"} {
		if err := src.Apply(ctx, name, 1, func(incident.Tx) error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := src.SharedKey(ctx, "fixture"); err != nil {
		t.Fatal(err)
	}
	fileKey, err := auth.LoadOrCreateKey(dir) // DATA_DIR/secret.key of the installation
	if err != nil {
		t.Fatal(err)
	}
	want, err := src.Incident(ctx, incID)
	if err != nil {
		t.Fatal(err)
	}
	wantStates, _ := src.LoadStates(ctx)
	src.Close()

	dsn := pgtest.DSN(t)
	var out, errb bytes.Buffer
	if rc := cmdMigrateStore([]string{"--from", "sqlite:" + dir, "--to", dsn}, &out, &errb); rc != 0 {
		t.Fatalf("migrate-store = %d\n%s\n%s", rc, out.String(), errb.String())
	}
	for _, table := range sqlstore.Tables {
		if !strings.Contains(out.String(), "verify "+table) {
			t.Errorf("no verification line for %s:\n%s", table, out.String())
		}
	}
	if strings.Contains(out.String(), "DIFFERENT") || strings.Contains(out.String(), "sqlite 0 ") {
		t.Errorf("a table differs or was empty in the fixture:\n%s", out.String())
	}

	dst, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	// The installation's signing key is the database's now: its sessions
	// and acknowledgement links stay valid on every server.
	if k, err := dst.SharedKey(ctx, sqlstore.SigningKey); err != nil || !bytes.Equal(k, fileKey) {
		t.Fatalf("signing key after the move: %x %v, want the file's %x", k, err, fileKey)
	}
	got, err := dst.Incident(ctx, incID)
	if err != nil || got.Title != want.Title || !got.OpenedAt.Equal(want.OpenedAt) || len(got.Timeline) != len(want.Timeline) {
		t.Fatalf("incident %d after the move: %+v %v", incID, got, err)
	}
	states, _ := dst.LoadStates(ctx)
	if len(states) != len(wantStates) || states["web1/http"].History != wantStates["web1/http"].History {
		t.Fatalf("states %+v, want %+v", states, wantStates)
	}
	// The sequences continue after the copied ids.
	next := &incident.Incident{Check: "x", Scope: "check", Status: incident.Open, Title: "x", EscLevel: -1}
	if err := dst.Write(ctx, func(tx incident.Tx) error { return tx.CreateIncident(ctx, next) }); err != nil || next.ID != incID+1 {
		t.Fatalf("new incident id %d (%v), want %d", next.ID, err, incID+1)
	}

	// A target holding rows is refused.
	out.Reset()
	errb.Reset()
	if rc := cmdMigrateStore([]string{"--from", "sqlite:" + dir, "--to", dsn}, &out, &errb); rc != 1 || !strings.Contains(errb.String(), "not empty") {
		t.Fatalf("second copy = %d: %s", rc, errb.String())
	}
	if rc := cmdMigrateStore([]string{"--from", dir, "--to", dsn}, &out, &errb); rc != 2 {
		t.Fatalf("--from without sqlite: = %d", rc)
	}
}
