package mysqlcheck

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/checktest"
	"github.com/mamori/mamori/internal/check/sqlcheck"
)

func TestBuildDSN(t *testing.T) {
	tests := []struct {
		f    sqlcheck.Fields
		want string
	}{
		{sqlcheck.Fields{Host: "db", Port: 3306, User: "mon", Password: "pw", Database: "app"}, "mon:pw@tcp(db:3306)/app"},
		{sqlcheck.Fields{Host: "db", User: "mon"}, "mon@tcp(db:3306)/"},
		{sqlcheck.Fields{Host: "::1", Port: 3307, User: "mon", TLS: "skip-verify"}, "mon@tcp([::1]:3307)/?tls=skip-verify"},
		{sqlcheck.Fields{Host: "/run/mysqld/mysqld.sock", User: "root"}, "root@unix(/run/mysqld/mysqld.sock)/"},
		{sqlcheck.Fields{Host: "db", User: "mon", Password: "p@ss:w/rd?x", Database: "a"}, "mon:p@ss:w/rd?x@tcp(db:3306)/a"},
	}
	for _, tc := range tests {
		got := BuildDSN(tc.f)
		if got != tc.want {
			t.Errorf("BuildDSN(%+v) = %q, want %q", tc.f, got, tc.want)
		}
		// The driver reads back what we built, password included.
		cfg, err := mysql.ParseDSN(got)
		if err != nil {
			t.Errorf("ParseDSN(%q): %v", got, err)
			continue
		}
		if cfg.User != tc.f.User || cfg.Passwd != tc.f.Password || cfg.DBName != tc.f.Database {
			t.Errorf("round trip of %q: user %q pw %q db %q", got, cfg.User, cfg.Passwd, cfg.DBName)
		}
	}
}

func TestParseURL(t *testing.T) {
	tests := []struct {
		dsn, user, pw, addr, db, tls string
	}{
		{"mysql://mon:s%40cret@db.example:3307/app?tls=true", "mon", "s@cret", "db.example:3307", "app", "true"},
		{"mariadb://root@127.0.0.1/", "root", "", "127.0.0.1:3306", "", ""},
		{"mon:pw@tcp(h:1)/d", "mon", "pw", "h:1", "d", ""},
	}
	for _, tc := range tests {
		cfg, err := config(tc.dsn)
		if err != nil {
			t.Errorf("config(%q): %v", tc.dsn, err)
			continue
		}
		if cfg.User != tc.user || cfg.Passwd != tc.pw || cfg.Addr != tc.addr || cfg.DBName != tc.db || cfg.TLSConfig != tc.tls {
			t.Errorf("config(%q) = user %q pw %q addr %q db %q tls %q", tc.dsn, cfg.User, cfg.Passwd, cfg.Addr, cfg.DBName, cfg.TLSConfig)
		}
	}
	if _, _, err := parse("not a dsn"); err == nil {
		t.Error("parse accepted a bad DSN")
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		err  error
		want string
		ok   bool
	}{
		{&mysql.MySQLError{Number: 1045, SQLState: [5]byte{'2', '8', '0', '0', '0'}, Message: "Access denied for user 'mon'@'localhost' (using password: YES)"}, `authentication failed for user "mon"`, true},
		{&mysql.MySQLError{Number: 1049, Message: "Unknown database 'nope'"}, "Unknown database 'nope'", true},
		{fmt.Errorf("wrapped: %w", &mysql.MySQLError{Number: 1146, SQLState: [5]byte{'4', '2', 'S', '0', '2'}, Message: "Table 'x.nope' doesn't exist"}), "ERROR 1146 (42S02): Table 'x.nope' doesn't exist", true},
		{errors.New("dial tcp: connection refused"), "", false},
	}
	for _, tc := range tests {
		got, ok := Classify(tc.err, "mon")
		if got != tc.want || ok != tc.ok {
			t.Errorf("Classify(%v) = %q, %v; want %q, %v", tc.err, got, ok, tc.want, tc.ok)
		}
	}
}

// Integration tests against the MariaDB of scripts/itest-daemons.sh (root
// with an empty password on 127.0.0.1). They create their own database and
// user, idempotently.

const (
	itDB   = "mamori_check"
	itUser = "mamori_check"
	itPass = "mc-Pa55/word:ok"
)

func setupMariaDB(t *testing.T) (host string, port int) {
	t.Helper()
	addr := checktest.Daemon(t, "mariadb", "MAMORI_ITEST_MYSQL_PORT", "3306")
	h, p, _ := net.SplitHostPort(addr)
	port, _ = strconv.Atoi(p)
	db, err := sql.Open("mysql", "root@tcp("+addr+")/?multiStatements=true")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	stmts := []string{
		"CREATE DATABASE IF NOT EXISTS " + itDB,
		"CREATE TABLE IF NOT EXISTS " + itDB + ".kv (k VARCHAR(64) PRIMARY KEY, v VARCHAR(255))",
		"INSERT IGNORE INTO " + itDB + ".kv VALUES ('answer', '42')",
	}
	for _, h := range []string{"%", "localhost", "127.0.0.1"} {
		stmts = append(stmts,
			fmt.Sprintf("CREATE USER IF NOT EXISTS '%s'@'%s' IDENTIFIED BY '%s'", itUser, h, itPass),
			fmt.Sprintf("ALTER USER '%s'@'%s' IDENTIFIED BY '%s'", itUser, h, itPass),
			fmt.Sprintf("GRANT SELECT ON %s.* TO '%s'@'%s'", itDB, itUser, h))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
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
	k, ok := check.Lookup("mysql")
	if !ok {
		t.Fatal("kind mysql not registered")
	}
	r := check.Run(context.Background(), k, c, timeout)
	t.Logf("%v → %s", r.Status, r.PluginLine())
	return r
}

func TestMariaDB(t *testing.T) {
	host, port := setupMariaDB(t)
	user := func(s *sqlcheck.Spec) {
		s.Host, s.Port, s.User, s.Password, s.Database = host, port, itUser, check.NewSecret(itPass), itDB
	}
	tests := []struct {
		name    string
		set     func(s *sqlcheck.Spec)
		timeout time.Duration
		want    check.Status
		out     string // prefix of the output
		value   bool   // value perfdata expected
	}{
		{name: "root default query", set: func(s *sqlcheck.Spec) { s.Host, s.Port, s.User = host, port, "root" },
			want: check.OK, out: "MYSQL OK - 'SELECT 1' returned 1 in ", value: true},
		{name: "user with password", set: user, want: check.OK, out: "MYSQL OK - 'SELECT 1' returned 1 in "},
		{name: "dsn", set: func(s *sqlcheck.Spec) {
			s.DSN = check.NewSecret(fmt.Sprintf("%s:%s@tcp(%s:%d)/%s", itUser, itPass, host, port, itDB))
			s.Query = "SELECT v FROM kv WHERE k = 'answer'"
			s.Expect = "42"
		}, want: check.OK, out: "MYSQL OK - 'SELECT v FROM kv WHERE k = 'answer'' returned 42 in "},
		{name: "url dsn", set: func(s *sqlcheck.Spec) {
			s.DSN = check.NewSecret(fmt.Sprintf("mysql://%s:%s@%s:%d/%s", itUser, "mc-Pa55%2Fword:ok", host, port, itDB))
		}, want: check.OK, out: "MYSQL OK - "},
		{name: "expect mismatch", set: func(s *sqlcheck.Spec) {
			user(s)
			s.Query = "SELECT '41'"
			s.Expect = "42"
		}, want: check.Critical, out: "MYSQL CRITICAL - query returned '41', expected '42'"},
		{name: "warning value", set: func(s *sqlcheck.Spec) {
			user(s)
			s.Query = "SELECT COUNT(*) + 56 FROM kv"
			s.WarningValue, _ = check.ParseRange("50")
			s.CriticalValue, _ = check.ParseRange("100")
		}, want: check.Warning, out: "MYSQL WARNING - 'SELECT COUNT(*) + 56 FROM kv' returned 57 (warning_value 50)", value: true},
		{name: "critical value", set: func(s *sqlcheck.Spec) {
			user(s)
			s.Query = "SELECT 157"
			s.WarningValue, _ = check.ParseRange("50")
			s.CriticalValue, _ = check.ParseRange("100")
		}, want: check.Critical, out: "MYSQL CRITICAL - 'SELECT 157' returned 157 (critical_value 100)", value: true},
		{name: "value not a number", set: func(s *sqlcheck.Spec) {
			user(s)
			s.Query = "SELECT 'many'"
			s.CriticalValue, _ = check.ParseRange("100")
		}, want: check.Unknown, out: "MYSQL UNKNOWN - query returned 'many', not a number"},
		{name: "no rows", set: func(s *sqlcheck.Spec) { user(s); s.Query = "SELECT v FROM kv WHERE k = 'none'" },
			want: check.Critical, out: "MYSQL CRITICAL - query returned no rows"},
		{name: "many rows read one", set: func(s *sqlcheck.Spec) {
			user(s)
			s.Query = "SELECT seq FROM seq_1_to_1000000"
		}, want: check.OK, out: "MYSQL OK - 'SELECT seq FROM seq_1_to_1000000' returned 1 in "},
		{name: "bad sql", set: func(s *sqlcheck.Spec) { user(s); s.Query = "SELECT * FROM nope" },
			want: check.Critical, out: "MYSQL CRITICAL - query failed: ERROR 1146 (42S02): Table 'mamori_check.nope' doesn't exist"},
		{name: "wrong password", set: func(s *sqlcheck.Spec) { user(s); s.Password = check.NewSecret("Wr0ng/pass@word") },
			want: check.Critical, out: `MYSQL CRITICAL - authentication failed for user "mamori_check"`},
		{name: "wrong password in dsn", set: func(s *sqlcheck.Spec) {
			s.DSN = check.NewSecret(fmt.Sprintf("%s:%s@tcp(%s:%d)/", itUser, "Wr0ng/pass@word", host, port))
		}, want: check.Critical, out: `MYSQL CRITICAL - authentication failed for user "mamori_check"`},
		{name: "unknown database", set: func(s *sqlcheck.Spec) { s.Host, s.Port, s.User, s.Database = host, port, "root", "nope_db" },
			want: check.Critical, out: "MYSQL CRITICAL - Unknown database 'nope_db'"},
		{name: "closed port", set: func(s *sqlcheck.Spec) { s.Host, s.Port, s.User = "127.0.0.1", closedPort(t), "root" },
			want: check.Critical, out: "MYSQL CRITICAL - connection refused"},
		{name: "timeout", set: func(s *sqlcheck.Spec) { user(s); s.Query = "SELECT SLEEP(5)" }, timeout: time.Second,
			want: check.Critical, out: "MYSQL CRITICAL - query timed out after 1.0"},
		{name: "slow query warning", set: func(s *sqlcheck.Spec) {
			user(s)
			s.Query = "SELECT SLEEP(0.3)"
			s.Warning = 200 * time.Millisecond
		}, want: check.Warning, out: "MYSQL WARNING - 'SELECT SLEEP(0.3)' returned 0 in 0.3"},
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
			for _, pw := range []string{itPass, "Wr0ng/pass@word", "Wr0ng", "Pa55"} {
				if strings.Contains(line, pw) {
					t.Errorf("output reveals a password: %q", line)
				}
			}
			if tc.timeout > 0 && time.Since(start) > tc.timeout+time.Second {
				t.Errorf("took %v with a %v timeout", time.Since(start), tc.timeout)
			}
			hasValue := strings.Contains(line, " value=")
			if tc.value && !hasValue {
				t.Errorf("no value perfdata in %q", line)
			}
			if !strings.Contains(line, "| time=") {
				t.Errorf("no time perfdata in %q", line)
			}
		})
	}
}

// The same target gives the same verdict with Monitoring-Plugins'
// check_mysql (and check_mysql_query for thresholds on a query's value).
func TestCompareWithCheckMySQL(t *testing.T) {
	host, port := setupMariaDB(t)
	closed := closedPort(t)
	p := strconv.Itoa(port)
	tests := []struct {
		name   string
		plugin string
		args   []string
		set    func(s *sqlcheck.Spec)
	}{
		{"ok", "check_mysql", []string{"-H", host, "-P", p, "-u", "root"},
			func(s *sqlcheck.Spec) { s.Host, s.Port, s.User = host, port, "root" }},
		{"ok user", "check_mysql", []string{"-H", host, "-P", p, "-u", itUser, "-p", itPass, "-d", itDB},
			func(s *sqlcheck.Spec) {
				s.Host, s.Port, s.User, s.Password, s.Database = host, port, itUser, check.NewSecret(itPass), itDB
			}},
		{"wrong password", "check_mysql", []string{"-H", host, "-P", p, "-u", itUser, "-p", "Wr0ng"},
			func(s *sqlcheck.Spec) {
				s.Host, s.Port, s.User, s.Password = host, port, itUser, check.NewSecret("Wr0ng")
			}},
		{"closed port", "check_mysql", []string{"-H", "127.0.0.1", "-P", strconv.Itoa(closed), "-u", "root"},
			func(s *sqlcheck.Spec) { s.Host, s.Port, s.User = "127.0.0.1", closed, "root" }},
		{"query ok", "check_mysql_query", []string{"-H", host, "-P", p, "-u", "root", "-q", "SELECT 7", "-w", "50", "-c", "100"},
			func(s *sqlcheck.Spec) { s.Host, s.Port, s.User, s.Query = host, port, "root", "SELECT 7" }},
		{"query warning", "check_mysql_query", []string{"-H", host, "-P", p, "-u", "root", "-q", "SELECT 57", "-w", "50", "-c", "100"},
			func(s *sqlcheck.Spec) { s.Host, s.Port, s.User, s.Query = host, port, "root", "SELECT 57" }},
		{"query critical", "check_mysql_query", []string{"-H", host, "-P", p, "-u", "root", "-q", "SELECT 157", "-w", "50", "-c", "100"},
			func(s *sqlcheck.Spec) { s.Host, s.Port, s.User, s.Query = host, port, "root", "SELECT 157" }},
		{"query range inside", "check_mysql_query", []string{"-H", host, "-P", p, "-u", "root", "-q", "SELECT 5", "-c", "@0:9"},
			func(s *sqlcheck.Spec) { s.Host, s.Port, s.User, s.Query = host, port, "root", "SELECT 5" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, line := checktest.Plugin(t, tc.plugin, tc.args...)
			s := sqlcheck.NewSpec(Driver)
			tc.set(s)
			if tc.plugin == "check_mysql_query" {
				for i := 0; i+1 < len(tc.args); i++ {
					switch tc.args[i] {
					case "-w":
						s.WarningValue, _ = check.ParseRange(tc.args[i+1])
					case "-c":
						s.CriticalValue, _ = check.ParseRange(tc.args[i+1])
					}
				}
			}
			r := runSpec(t, s, 0)
			if int(r.Status) != status {
				t.Errorf("%s says %d (%s), mamori says %v (%s)", tc.plugin, status, line, r.Status, r.Output)
			}
		})
	}
}
