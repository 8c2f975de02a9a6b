package mssqlcheck

// There is no SQL Server on the test machines. What is tested: DSN building
// (read back by the driver's own parser), error classification on
// hand-made driver errors, and two real runs through the driver against a
// closed port (connection refused) and a listener that accepts and never
// answers the pre-login (timed out, within the deadline).
//
// What is NOT tested against a server: a successful login and query, the
// value of a real result (type conversion of SQL Server types by
// go-mssqldb), a wrong password (error 18456), an unknown database (4060),
// a SQL error in the query, TLS modes (encrypt=true/strict/skip-verify) and
// a query timeout after login (the driver's attention/cancel path). The
// shared logic these use is tested in sqlcheck and, with real servers, in
// mysqlcheck and postgrescheck.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	mssql "github.com/microsoft/go-mssqldb"
	"github.com/microsoft/go-mssqldb/msdsn"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/sqlcheck"
)

func TestBuildDSN(t *testing.T) {
	tests := []struct {
		f       sqlcheck.Fields
		want    string
		encrypt msdsn.Encryption
		trust   bool
	}{
		{sqlcheck.Fields{Host: "db", Port: 1433, User: "sa", Password: "pw", Database: "app"},
			"sqlserver://sa:pw@db:1433?app+name=mamori&database=app", msdsn.EncryptionOff, true},
		{sqlcheck.Fields{Host: "db", User: "sa", TLS: "true"},
			"sqlserver://sa:@db:1433?app+name=mamori&encrypt=true", msdsn.EncryptionRequired, false},
		{sqlcheck.Fields{Host: "db", Port: 14330, User: "sa", TLS: "skip-verify"},
			"sqlserver://sa:@db:14330?TrustServerCertificate=true&app+name=mamori&encrypt=true", msdsn.EncryptionRequired, true},
		{sqlcheck.Fields{Host: "::1", User: "sa", TLS: "disable"},
			"sqlserver://sa:@[::1]:1433?app+name=mamori&encrypt=disable", msdsn.EncryptionDisabled, false},
		{sqlcheck.Fields{Host: "db", User: "sa", TLS: "strict"},
			"sqlserver://sa:@db:1433?app+name=mamori&encrypt=strict", msdsn.EncryptionStrict, false},
		{sqlcheck.Fields{Host: "db", User: `DOM\mon`, Password: "p@ss:w/rd?x #;", Database: "a b"},
			"sqlserver://DOM%5Cmon:p%40ss%3Aw%2Frd%3Fx%20%23;@db:1433?app+name=mamori&database=a+b", msdsn.EncryptionOff, true},
	}
	for _, tc := range tests {
		got := BuildDSN(tc.f)
		if got != tc.want {
			t.Errorf("BuildDSN(%+v) = %q, want %q", tc.f, got, tc.want)
		}
		cfg, err := msdsn.Parse(got)
		if err != nil {
			t.Errorf("msdsn.Parse(%q): %v", got, err)
			continue
		}
		port := uint64(tc.f.Port)
		if port == 0 {
			port = DefaultPort
		}
		if cfg.User != tc.f.User || cfg.Password != tc.f.Password || cfg.Database != tc.f.Database ||
			cfg.Host != tc.f.Host || cfg.Port != port || cfg.Encryption != tc.encrypt || cfg.TrustServerCertificate != tc.trust {
			t.Errorf("round trip of %q: %+v", got, cfg)
		}
	}
	// ADO and ODBC spellings are accepted in dsn.
	for _, dsn := range []string{
		"server=db;user id=sa;password=pw;database=app",
		"odbc:server=db;user id=sa;password={p;w}",
	} {
		if user, pw, err := parse(dsn); err != nil || user != "sa" || pw == "" {
			t.Errorf("parse(%q) = %q, %q, %v", dsn, user, pw, err)
		}
	}
}

func TestClassify(t *testing.T) {
	loginFailed := mssql.Error{Number: 18456, Class: 14, Message: "login error: Login failed for user 'sa'."}
	cannotOpen := mssql.Error{Number: 4060, Class: 11, Message: `Cannot open database "nope" requested by the login. The login failed.`}
	both := loginFailed
	both.All = []mssql.Error{cannotOpen, loginFailed}
	tests := []struct {
		err  error
		want string
		ok   bool
	}{
		{loginFailed, `authentication failed for user "sa"`, true},
		{fmt.Errorf("wrapped: %w", loginFailed), `authentication failed for user "sa"`, true},
		{both, `Cannot open database "nope" requested by the login. The login failed.`, true},
		{mssql.Error{Number: 208, Class: 16, Message: "Invalid object name 'nope'."}, "Msg 208, Level 16: Invalid object name 'nope'.", true},
		{errors.New("dial tcp: connection refused"), "", false},
	}
	for _, tc := range tests {
		got, ok := Classify(tc.err, "sa")
		if got != tc.want || ok != tc.ok {
			t.Errorf("Classify(%v) = %q, %v; want %q, %v", tc.err, got, ok, tc.want, tc.ok)
		}
	}
}

// silentServer accepts TCP connections and never sends a byte.
func silentServer(t *testing.T) (port int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().(*net.TCPAddr).Port
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

func TestNoServer(t *testing.T) {
	tests := []struct {
		name    string
		port    func(t *testing.T) int
		timeout time.Duration
		want    string
	}{
		{"closed port", closedPort, 0, "MSSQL CRITICAL - connection refused"},
		{"silent server", silentServer, time.Second, "MSSQL CRITICAL - timed out connecting after 1.0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := sqlcheck.NewSpec(Driver)
			s.Host, s.Port, s.User, s.Password = "127.0.0.1", tc.port(t), "sa", check.NewSecret("Secr3t/pw")
			if errs := s.Validate(); len(errs) > 0 {
				t.Fatal(errs)
			}
			c, err := s.New(check.Env{})
			if err != nil {
				t.Fatal(err)
			}
			k, _ := check.Lookup("mssql")
			start := time.Now()
			r := check.Run(context.Background(), k, c, tc.timeout)
			t.Logf("%v → %s", r.Status, r.PluginLine())
			if r.Status != check.Critical || !strings.HasPrefix(r.Output, tc.want) {
				t.Errorf("got %v %q, want CRITICAL %q…", r.Status, r.Output, tc.want)
			}
			if tc.timeout > 0 && time.Since(start) > tc.timeout+1500*time.Millisecond {
				t.Errorf("took %v with a %v timeout", time.Since(start), tc.timeout)
			}
			if strings.Contains(r.PluginLine(), "Secr3t") {
				t.Errorf("output reveals the password: %q", r.PluginLine())
			}
		})
	}
}

func TestKind(t *testing.T) {
	k, ok := check.Lookup("mssql")
	if !ok || k.Label != "MSSQL" || k.Timeout != 12*time.Second {
		t.Fatalf("kind = %+v", k)
	}
	s := k.New().(*sqlcheck.Spec)
	s.Host = "db"
	s.TLS = "bogus"
	if errs := s.Validate(); len(errs) != 1 || errs[0].Field != "tls" {
		t.Errorf("Validate = %v", errs)
	}
}
