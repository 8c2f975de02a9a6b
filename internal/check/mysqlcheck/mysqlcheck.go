// Package mysqlcheck is the check type "mysql" (MySQL and MariaDB): connect,
// authenticate, run a query and compare its first value. The logic is in
// sqlcheck; this package is the driver (github.com/go-sql-driver/mysql), the
// default port, DSN building and error classification.
package mysqlcheck

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/sqlcheck"
)

// DefaultPort is MySQL's standard port.
const DefaultPort = 3306

// Driver describes MySQL to sqlcheck.
var Driver = &sqlcheck.Driver{
	Name:        "mysql",
	Label:       "MYSQL",
	Summary:     "MySQL/MariaDB: connect, log in, run a query and check its first value",
	DefaultPort: DefaultPort,
	TLSModes:    []string{"false", "true", "skip-verify", "preferred"},
	BuildDSN:    BuildDSN,
	Parse:       parse,
	Connect:     connect,
	Classify:    Classify,
}

func init() { check.Register(sqlcheck.Kind(Driver)) }

// BuildDSN makes a go-sql-driver DSN (user:pw@tcp(host:port)/db?tls=mode) from
// the fields; a host starting with "/" is a Unix socket.
func BuildDSN(f sqlcheck.Fields) string {
	cfg := mysql.NewConfig()
	cfg.User = f.User
	cfg.Passwd = f.Password
	if strings.HasPrefix(f.Host, "/") {
		cfg.Net, cfg.Addr = "unix", f.Host
	} else {
		port := f.Port
		if port == 0 {
			port = DefaultPort
		}
		cfg.Net, cfg.Addr = "tcp", net.JoinHostPort(f.Host, strconv.Itoa(port))
	}
	cfg.DBName = f.Database
	cfg.TLSConfig = f.TLS
	return cfg.FormatDSN()
}

// fromURL turns mysql://user:pw@host:port/db?params (or mariadb://) into a
// go-sql-driver DSN, so both spellings work in dsn.
func fromURL(dsn string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", errors.New("cannot parse the DSN as a URL")
	}
	f := sqlcheck.Fields{Host: u.Hostname(), Database: strings.TrimPrefix(u.Path, "/")}
	if f.Host == "" {
		f.Host = "127.0.0.1"
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil {
			return "", fmt.Errorf("bad port %q", p)
		}
		f.Port = n
	}
	if u.User != nil {
		f.User = u.User.Username()
		f.Password, _ = u.User.Password()
	}
	out := BuildDSN(f)
	if u.RawQuery != "" {
		if strings.Contains(out, "?") {
			out += "&" + u.RawQuery
		} else {
			out += "?" + u.RawQuery
		}
	}
	return out, nil
}

func config(dsn string) (*mysql.Config, error) {
	if strings.HasPrefix(dsn, "mysql://") || strings.HasPrefix(dsn, "mariadb://") {
		var err error
		if dsn, err = fromURL(dsn); err != nil {
			return nil, err
		}
	}
	return mysql.ParseDSN(dsn)
}

func parse(dsn string) (user, password string, err error) {
	cfg, err := config(dsn)
	if err != nil {
		return "", "", err
	}
	return cfg.User, cfg.Passwd, nil
}

func connect(ctx context.Context, dsn string, dial sqlcheck.DialFunc, _ *slog.Logger) (sqlcheck.Conn, error) {
	cfg, err := config(dsn)
	if err != nil {
		return nil, err
	}
	cfg.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) { return dial(ctx, network, addr) }
	cfg.Logger = &mysql.NopLogger{} // the driver logs to stderr otherwise; its errors reach the result
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, err
	}
	return sqlcheck.OpenSQL(ctx, conn)
}

// MySQL/MariaDB server error numbers the check names.
const (
	erDBAccessDenied       = 1044
	erAccessDenied         = 1045
	erBadDB                = 1049
	erTooManyConnections   = 1040
	erHostBlocked          = 1129
	erHostNotPrivileged    = 1130
	erAccessDeniedNoPasswd = 1698
)

// Classify describes MySQL server errors.
func Classify(err error, user string) (string, bool) {
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		return "", false
	}
	switch me.Number {
	case erAccessDenied, erAccessDeniedNoPasswd:
		return fmt.Sprintf("authentication failed for user %q", user), true
	case erDBAccessDenied, erBadDB, erTooManyConnections, erHostBlocked, erHostNotPrivileged:
		return me.Message, true
	}
	return fmt.Sprintf("ERROR %d (%s): %s", me.Number, me.SQLState, me.Message), true
}
