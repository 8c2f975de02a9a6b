package postgrescheck

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/checktest"
	"github.com/mamori/mamori/internal/check/sqlcheck"
)

func TestBuildDSN(t *testing.T) {
	tests := []struct {
		f    sqlcheck.Fields
		want string
	}{
		{sqlcheck.Fields{Host: "db", Port: 5432, User: "mon", Password: "pw", Database: "app"}, "postgres://mon:pw@db:5432/app"},
		{sqlcheck.Fields{Host: "db", User: "mon", TLS: "verify-full"}, "postgres://mon@db:5432/?sslmode=verify-full"},
		{sqlcheck.Fields{Host: "::1", Port: 5433, User: "mon"}, "postgres://mon@[::1]:5433/"},
		{sqlcheck.Fields{Host: "/var/run/postgresql", User: "postgres", Database: "x"}, "postgres://postgres@/x?host=%2Fvar%2Frun%2Fpostgresql&port=5432"},
		{sqlcheck.Fields{Host: "db", User: "mon", Password: "p@ss:w/rd?x #", Database: "a"}, "postgres://mon:p%40ss%3Aw%2Frd%3Fx%20%23@db:5432/a"},
	}
	for _, tc := range tests {
		got := BuildDSN(tc.f)
		if got != tc.want {
			t.Errorf("BuildDSN(%+v) = %q, want %q", tc.f, got, tc.want)
		}
		cfg, err := pgx.ParseConfig(got)
		if err != nil {
			t.Errorf("ParseConfig(%q): %v", got, err)
			continue
		}
		if cfg.User != tc.f.User || cfg.Password != tc.f.Password || cfg.Database != tc.f.Database || cfg.Host != tc.f.Host {
			t.Errorf("round trip of %q: user %q pw %q db %q host %q", got, cfg.User, cfg.Password, cfg.Database, cfg.Host)
		}
	}
	// Keyword/value DSNs work too.
	user, pw, err := parse("host=db user=mon password='a b' dbname=x")
	if err != nil || user != "mon" || pw != "a b" {
		t.Errorf("parse key=value: %q %q %v", user, pw, err)
	}
	if _, _, err := parse("postgres://mon:secretpw@db:notaport/x"); err == nil || strings.Contains(err.Error(), "secretpw") {
		t.Errorf("parse of a bad URL: %v", err)
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		err  error
		want string
		ok   bool
	}{
		{&pgconn.PgError{Severity: "FATAL", Code: "28P01", Message: `password authentication failed for user "mon"`}, `authentication failed for user "mon"`, true},
		{&pgconn.PgError{Severity: "FATAL", Code: "28000", Message: `role "mon" does not exist`}, `authentication failed for user "mon": role "mon" does not exist`, true},
		{fmt.Errorf("connect: %w", &pgconn.PgError{Severity: "FATAL", Code: "3D000", Message: `database "x" does not exist`}), `database "x" does not exist`, true},
		{&pgconn.PgError{Severity: "ERROR", Code: "42P01", Message: `relation "nope" does not exist`}, `ERROR: relation "nope" does not exist`, true},
		{errors.New("dial tcp: connection refused"), "", false},
	}
	for _, tc := range tests {
		got, ok := Classify(tc.err, "mon")
		if got != tc.want || ok != tc.ok {
			t.Errorf("Classify(%v) = %q, %v; want %q, %v", tc.err, got, ok, tc.want, tc.ok)
		}
	}
}

// Integration tests against the PostgreSQL of scripts/itest-daemons.sh
// (trust authentication on 127.0.0.1: no password is ever refused, so the
// login failures tested are an unknown role and an unknown database).

const itDB = "mamori_check"

func setupPostgres(t *testing.T) (host string, port int) {
	t.Helper()
	addr := checktest.Daemon(t, "postgresql", "MAMORI_ITEST_PG_PORT", "5432")
	h, p, _ := net.SplitHostPort(addr)
	port, _ = strconv.Atoi(p)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	admin := func(db string) *pgx.Conn {
		c, err := pgx.Connect(ctx, fmt.Sprintf("postgres://postgres@%s/%s?sslmode=disable", addr, db))
		if err != nil {
			t.Fatalf("connect as postgres: %v", err)
		}
		return c
	}
	c := admin("postgres")
	var n int
	if err := c.QueryRow(ctx, "SELECT count(*) FROM pg_database WHERE datname = $1", itDB).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		var pe *pgconn.PgError
		if _, err := c.Exec(ctx, "CREATE DATABASE "+itDB); err != nil && !(errors.As(err, &pe) && (pe.Code == "42P04" || pe.Code == "23505")) {
			t.Fatalf("create database: %v", err)
		}
	}
	c.Close(ctx)
	c = admin(itDB)
	defer c.Close(ctx)
	for _, s := range []string{
		"CREATE TABLE IF NOT EXISTS kv (k text PRIMARY KEY, v text)",
		"INSERT INTO kv VALUES ('answer', '42') ON CONFLICT DO NOTHING",
	} {
		if _, err := c.Exec(ctx, s); err != nil {
			var pe *pgconn.PgError
			if errors.As(err, &pe) && pe.Code == "23505" { // a concurrent run created it
				continue
			}
			t.Fatalf("%s: %v", s, err)
		}
	}
	return h, port
}

func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

func runSpec(t *testing.T, s *sqlcheck.Spec, timeout time.Duration) check.Result {
	t.Helper()
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatalf("Validate: %v", errs)
	}
	c, err := s.New(check.Env{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	k, ok := check.Lookup("postgres")
	if !ok {
		t.Fatal("kind postgres not registered")
	}
	r := check.Run(context.Background(), k, c, timeout)
	t.Logf("%v → %s", r.Status, r.PluginLine())
	return r
}

func TestPostgres(t *testing.T) {
	host, port := setupPostgres(t)
	as := func(s *sqlcheck.Spec) { s.Host, s.Port, s.User, s.Database = host, port, "postgres", itDB }
	rng := func(s string) check.Range { r, _ := check.ParseRange(s); return r }
	tests := []struct {
		name    string
		set     func(s *sqlcheck.Spec)
		timeout time.Duration
		want    check.Status
		out     string
		value   bool
	}{
		{name: "default query", set: func(s *sqlcheck.Spec) { s.Host, s.Port, s.User = host, port, "postgres" },
			want: check.OK, out: "POSTGRES OK - 'SELECT 1' returned 1 in ", value: true},
		{name: "root user", set: func(s *sqlcheck.Spec) { s.Host, s.Port, s.User, s.Database = host, port, "root", "postgres" },
			want: check.OK, out: "POSTGRES OK - 'SELECT 1' returned 1 in "},
		{name: "url dsn and expect", set: func(s *sqlcheck.Spec) {
			s.DSN = check.NewSecret(fmt.Sprintf("postgres://postgres:anything@%s:%d/%s", host, port, itDB))
			s.Query = "SELECT v FROM kv WHERE k = 'answer'"
			s.Expect = "42"
		}, want: check.OK, out: "POSTGRES OK - 'SELECT v FROM kv WHERE k = 'answer'' returned 42 in "},
		{name: "keyword dsn", set: func(s *sqlcheck.Spec) {
			s.DSN = check.NewSecret(fmt.Sprintf("host=%s port=%d user=postgres dbname=%s sslmode=disable", host, port, itDB))
		}, want: check.OK, out: "POSTGRES OK - "},
		{name: "tls prefer", set: func(s *sqlcheck.Spec) { as(s); s.TLS = "prefer" }, want: check.OK, out: "POSTGRES OK - "},
		{name: "expect mismatch", set: func(s *sqlcheck.Spec) { as(s); s.Query = "SELECT '41'"; s.Expect = "42" },
			want: check.Critical, out: "POSTGRES CRITICAL - query returned '41', expected '42'"},
		{name: "bool as psql shows it", set: func(s *sqlcheck.Spec) { as(s); s.Query = "SELECT pg_is_in_recovery()"; s.Expect = "f" },
			want: check.OK, out: "POSTGRES OK - 'SELECT pg_is_in_recovery()' returned 'f' in "},
		{name: "warning value", set: func(s *sqlcheck.Spec) {
			as(s)
			s.Query = "SELECT count(*) + 56 FROM kv"
			s.WarningValue, s.CriticalValue = rng("50"), rng("100")
		}, want: check.Warning, out: "POSTGRES WARNING - 'SELECT count(*) + 56 FROM kv' returned 57 (warning_value 50)", value: true},
		{name: "critical value", set: func(s *sqlcheck.Spec) {
			as(s)
			s.Query = "SELECT 157.5"
			s.WarningValue, s.CriticalValue = rng("50"), rng("100")
		}, want: check.Critical, out: "POSTGRES CRITICAL - 'SELECT 157.5' returned 157.5 (critical_value 100)", value: true},
		{name: "value not a number", set: func(s *sqlcheck.Spec) { as(s); s.Query = "SELECT 'many'"; s.WarningValue = rng("1") },
			want: check.Unknown, out: "POSTGRES UNKNOWN - query returned 'many', not a number"},
		{name: "null", set: func(s *sqlcheck.Spec) { as(s); s.Query = "SELECT NULL" },
			want: check.OK, out: "POSTGRES OK - 'SELECT NULL' returned NULL in "},
		{name: "no rows", set: func(s *sqlcheck.Spec) { as(s); s.Query = "SELECT v FROM kv WHERE false" },
			want: check.Critical, out: "POSTGRES CRITICAL - query returned no rows"},
		{name: "many rows read one", set: func(s *sqlcheck.Spec) { as(s); s.Query = "SELECT generate_series(1, 5000000)" },
			want: check.OK, out: "POSTGRES OK - 'SELECT generate_series(1, 5000000)' returned 1 in "},
		{name: "bad sql", set: func(s *sqlcheck.Spec) { as(s); s.Query = "SELECT * FROM nope" },
			want: check.Critical, out: `POSTGRES CRITICAL - query failed: ERROR: relation "nope" does not exist`},
		{name: "unknown role", set: func(s *sqlcheck.Spec) {
			s.Host, s.Port, s.User, s.Password, s.Database = host, port, "mamori_no_such_role", check.NewSecret("Wr0ng/pass@word"), "postgres"
		}, want: check.Critical, out: `POSTGRES CRITICAL - authentication failed for user "mamori_no_such_role": role "mamori_no_such_role" does not exist`},
		{name: "unknown database", set: func(s *sqlcheck.Spec) {
			s.DSN = check.NewSecret(fmt.Sprintf("postgres://postgres:Wr0ng%%2Fpass%%40word@%s:%d/mamori_no_such_db", host, port))
		}, want: check.Critical, out: `POSTGRES CRITICAL - database "mamori_no_such_db" does not exist`},
		{name: "closed port", set: func(s *sqlcheck.Spec) { s.Host, s.Port, s.User = "127.0.0.1", closedPort(t), "postgres" },
			want: check.Critical, out: "POSTGRES CRITICAL - connection refused"},
		{name: "timeout", set: func(s *sqlcheck.Spec) { as(s); s.Query = "SELECT pg_sleep(5)" }, timeout: time.Second,
			want: check.Critical, out: "POSTGRES CRITICAL - query timed out after 1.0"},
		{name: "slow query warning", set: func(s *sqlcheck.Spec) {
			as(s)
			s.Query = "SELECT 1 FROM pg_sleep(0.3)"
			s.Warning = 200 * time.Millisecond
		},
			want: check.Warning, out: "POSTGRES WARNING - 'SELECT 1 FROM pg_sleep(0.3)' returned 1 in "}, // the time: at least 0.3 s, more on a busy machine
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := sqlcheck.NewSpec(Driver)
			tc.set(s)
			start := time.Now()
			r := runSpec(t, s, tc.timeout)
			if r.Status != tc.want || !strings.HasPrefix(r.Output, tc.out) {
				t.Errorf("got %v %q\nwant %v %q…", r.Status, r.Output, tc.want, tc.out)
			}
			line := r.PluginLine()
			for _, pw := range []string{"Wr0ng", "anything"} {
				if strings.Contains(line, pw) {
					t.Errorf("output reveals a password: %q", line)
				}
			}
			if tc.timeout > 0 && time.Since(start) > tc.timeout+time.Second {
				t.Errorf("took %v with a %v timeout", time.Since(start), tc.timeout)
			}
			if tc.value && !strings.Contains(line, " value=") {
				t.Errorf("no value perfdata in %q", line)
			}
			if !strings.Contains(line, "| time=") {
				t.Errorf("no time perfdata in %q", line)
			}
		})
	}
}

// The same target gives the same verdict with Monitoring-Plugins' check_pgsql,
// including its -q query with -W/-C thresholds on the value.
func TestCompareWithCheckPgsql(t *testing.T) {
	host, port := setupPostgres(t)
	closed := closedPort(t)
	p := strconv.Itoa(port)
	base := func(s *sqlcheck.Spec) { s.Host, s.Port, s.User, s.Database = host, port, "postgres", itDB }
	tests := []struct {
		name string
		args []string
		set  func(s *sqlcheck.Spec)
	}{
		{"ok", []string{"-H", host, "-P", p, "-l", "postgres", "-d", itDB}, base},
		{"unknown role", []string{"-H", host, "-P", p, "-l", "mamori_no_such_role", "-d", "postgres"},
			func(s *sqlcheck.Spec) {
				s.Host, s.Port, s.User, s.Database = host, port, "mamori_no_such_role", "postgres"
			}},
		{"unknown database", []string{"-H", host, "-P", p, "-l", "postgres", "-d", "mamori_no_such_db"},
			func(s *sqlcheck.Spec) {
				s.Host, s.Port, s.User, s.Database = host, port, "postgres", "mamori_no_such_db"
			}},
		{"closed port", []string{"-H", "127.0.0.1", "-P", strconv.Itoa(closed), "-l", "postgres"},
			func(s *sqlcheck.Spec) { s.Host, s.Port, s.User = "127.0.0.1", closed, "postgres" }},
		{"query ok", []string{"-H", host, "-P", p, "-l", "postgres", "-d", itDB, "-q", "SELECT 7", "-W", "50", "-C", "100"},
			func(s *sqlcheck.Spec) { base(s); s.Query = "SELECT 7" }},
		{"query warning", []string{"-H", host, "-P", p, "-l", "postgres", "-d", itDB, "-q", "SELECT count(*) + 56 FROM kv", "-W", "50", "-C", "100"},
			func(s *sqlcheck.Spec) { base(s); s.Query = "SELECT count(*) + 56 FROM kv" }},
		{"query critical", []string{"-H", host, "-P", p, "-l", "postgres", "-d", itDB, "-q", "SELECT 157", "-W", "50", "-C", "100"},
			func(s *sqlcheck.Spec) { base(s); s.Query = "SELECT 157" }},
		{"query range", []string{"-H", host, "-P", p, "-l", "postgres", "-d", itDB, "-q", "SELECT 3", "-W", "5:", "-C", "2:"},
			func(s *sqlcheck.Spec) { base(s); s.Query = "SELECT 3" }},
		{"query error", []string{"-H", host, "-P", p, "-l", "postgres", "-d", itDB, "-q", "SELECT * FROM nope", "-C", "1"},
			func(s *sqlcheck.Spec) { base(s); s.Query = "SELECT * FROM nope" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, line := checktest.Plugin(t, "check_pgsql", tc.args...)
			s := sqlcheck.NewSpec(Driver)
			tc.set(s)
			for i := 0; i+1 < len(tc.args); i++ {
				switch tc.args[i] {
				case "-W":
					s.WarningValue, _ = check.ParseRange(tc.args[i+1])
				case "-C":
					s.CriticalValue, _ = check.ParseRange(tc.args[i+1])
				}
			}
			r := runSpec(t, s, 0)
			if int(r.Status) != status {
				t.Errorf("check_pgsql says %d (%s), mamori says %v (%s)", status, line, r.Status, r.Output)
			}
		})
	}
}
