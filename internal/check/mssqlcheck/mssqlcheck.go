// Package mssqlcheck is the check type "mssql" (Microsoft SQL Server, Azure
// SQL): connect, authenticate, run a query and compare its first value. The
// logic is in sqlcheck; this package is the driver
// (github.com/microsoft/go-mssqldb), the default port, DSN building and error
// classification.
package mssqlcheck

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"

	mssql "github.com/microsoft/go-mssqldb"
	"github.com/microsoft/go-mssqldb/msdsn"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/sqlcheck"
)

// DefaultPort is SQL Server's standard port.
const DefaultPort = 1433

// Driver describes SQL Server to sqlcheck.
var Driver = &sqlcheck.Driver{
	Name:        "mssql",
	Label:       "MSSQL",
	Summary:     "Microsoft SQL Server: connect, log in, run a query and check its first value",
	DefaultPort: DefaultPort,
	// The driver's encrypt values, plus skip-verify: encrypt without
	// checking the server's certificate (TrustServerCertificate=true).
	TLSModes: []string{"disable", "false", "true", "strict", "skip-verify"},
	BuildDSN: BuildDSN,
	Parse:    parse,
	Connect:  connect,
	Classify: Classify,
}

func init() { check.Register(sqlcheck.Kind(Driver)) }

// BuildDSN makes a sqlserver:// URL from the fields; tls is the driver's
// encrypt parameter (or skip-verify).
func BuildDSN(f sqlcheck.Fields) string {
	port := f.Port
	if port == 0 {
		port = DefaultPort
	}
	u := url.URL{Scheme: "sqlserver", Host: net.JoinHostPort(f.Host, strconv.Itoa(port))}
	if f.User != "" || f.Password != "" {
		u.User = url.UserPassword(f.User, f.Password)
	}
	q := url.Values{}
	if f.Database != "" {
		q.Set("database", f.Database)
	}
	switch f.TLS {
	case "":
	case "skip-verify":
		q.Set("encrypt", "true")
		q.Set("TrustServerCertificate", "true")
	default:
		q.Set("encrypt", f.TLS)
	}
	q.Set("app name", "mamori")
	u.RawQuery = q.Encode()
	return u.String()
}

func parse(dsn string) (user, password string, err error) {
	cfg, err := msdsn.Parse(dsn)
	if err != nil {
		return "", "", err
	}
	return cfg.User, cfg.Password, nil
}

type dialer sqlcheck.DialFunc

func (d dialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	return d(ctx, network, addr)
}

func connect(ctx context.Context, dsn string, dial sqlcheck.DialFunc, _ *slog.Logger) (sqlcheck.Conn, error) {
	cfg, err := msdsn.Parse(dsn)
	if err != nil {
		return nil, err
	}
	c := mssql.NewConnectorConfig(cfg)
	// The driver reads the pre-login answer without looking at ctx: the
	// dialer's connection deadline (the check's) bounds a silent server.
	c.Dialer = dialer(dial)
	return sqlcheck.OpenSQL(ctx, c)
}

// SQL Server error numbers the check names.
const (
	errLoginFailed    = 18456
	errCannotOpenDB   = 4060
	errPasswordExpiry = 18487
	errMustChangePw   = 18488
)

// Classify describes SQL Server errors. A failed login may come as several
// errors (4060 "Cannot open database" then 18456 "Login failed"): the most
// telling one wins.
func Classify(err error, user string) (string, bool) {
	var me mssql.Error
	if !errors.As(err, &me) {
		return "", false
	}
	all := me.All
	if len(all) == 0 {
		all = []mssql.Error{me}
	}
	for _, e := range all {
		switch e.Number {
		case errCannotOpenDB, errPasswordExpiry, errMustChangePw:
			return strings.TrimPrefix(e.Message, "login error: "), true
		}
	}
	for _, e := range all {
		if e.Number == errLoginFailed {
			return fmt.Sprintf("authentication failed for user %q", user), true
		}
	}
	return fmt.Sprintf("Msg %d, Level %d: %s", me.Number, me.Class, strings.TrimPrefix(me.Message, "login error: ")), true
}
