// Package pgtest gives a test a fresh PostgreSQL database of its own on the
// local server (127.0.0.1:5432, user postgres; MAMORI_PG_ADMIN overrides the
// admin URL), dropped when the test ends. Without a reachable server the
// test is skipped, unless MAMORI_INTEGRATION is set: then it fails.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// AdminURL is the URL of the server's maintenance database.
func AdminURL() string {
	if v := os.Getenv("MAMORI_PG_ADMIN"); v != "" {
		return v
	}
	return "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
}

// withDB is AdminURL with its database replaced by name.
func withDB(name string) string {
	u := AdminURL()
	q := ""
	if i := strings.IndexByte(u, '?'); i >= 0 {
		u, q = u[:i], u[i:]
	}
	return u[:strings.LastIndexByte(u, '/')+1] + name + q
}

// DSN creates a database mamori_st_<random> and returns its URL; the
// database is dropped (its connections ended) at the end of the test.
func DSN(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := sql.Open("pgx", AdminURL())
	if err == nil {
		err = admin.PingContext(ctx)
	}
	if err != nil {
		if admin != nil {
			admin.Close()
		}
		if os.Getenv("MAMORI_INTEGRATION") == "" {
			t.Skipf("no PostgreSQL at %s (set MAMORI_INTEGRATION=1 to fail instead): %v", AdminURL(), err)
		}
		t.Fatalf("PostgreSQL at %s: %v", AdminURL(), err)
	}
	b := make([]byte, 6)
	rand.Read(b)
	name := "mamori_st_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		admin.Close()
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	return withDB(name)
}
