// Package postgrescheck is the check type "postgres": connect, authenticate,
// run a query and compare its first value. The logic is in sqlcheck; this
// package is the driver (pgx through database/sql), the default port, DSN
// building and error classification.
package postgrescheck

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/sqlcheck"
)

// DefaultPort is PostgreSQL's standard port.
const DefaultPort = 5432

// Driver describes PostgreSQL to sqlcheck.
var Driver = &sqlcheck.Driver{
	Name:        "postgres",
	Label:       "POSTGRES",
	Summary:     "PostgreSQL: connect, log in, run a query and check its first value",
	DefaultPort: DefaultPort,
	TLSModes:    []string{"disable", "allow", "prefer", "require", "verify-ca", "verify-full"},
	BuildDSN:    BuildDSN,
	Parse:       parse,
	Connect:     connect,
	Classify:    Classify,
}

func init() { check.Register(sqlcheck.Kind(Driver)) }

// BuildDSN makes a postgres:// URL from the fields; a host starting with "/"
// is the directory of a Unix socket. The tls field is libpq's sslmode.
func BuildDSN(f sqlcheck.Fields) string {
	port := f.Port
	if port == 0 {
		port = DefaultPort
	}
	u := url.URL{Scheme: "postgres", Path: "/" + f.Database}
	q := url.Values{}
	if strings.HasPrefix(f.Host, "/") {
		q.Set("host", f.Host)
		q.Set("port", strconv.Itoa(port))
	} else {
		u.Host = net.JoinHostPort(f.Host, strconv.Itoa(port))
	}
	switch {
	case f.User != "" && f.Password != "":
		u.User = url.UserPassword(f.User, f.Password)
	case f.User != "":
		u.User = url.User(f.User)
	case f.Password != "":
		q.Set("password", f.Password)
	}
	if f.TLS != "" {
		q.Set("sslmode", f.TLS)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func config(dsn string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, err
	}
	// One round trip, no prepared statement, and several statements allowed,
	// as psql and check_pgsql run a query.
	cfg.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	if _, ok := cfg.RuntimeParams["application_name"]; !ok {
		cfg.RuntimeParams["application_name"] = "mamori"
	}
	return cfg, nil
}

func parse(dsn string) (user, password string, err error) {
	cfg, err := config(dsn)
	if err != nil {
		return "", "", err
	}
	return cfg.User, cfg.Password, nil
}

// Classify describes PostgreSQL server errors.
func Classify(err error, user string) (string, bool) {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return "", false
	}
	switch pe.Code {
	case "28P01": // invalid_password
		return fmt.Sprintf("authentication failed for user %q", user), true
	case "28000": // invalid_authorization_specification: no such role, no pg_hba.conf entry
		return fmt.Sprintf("authentication failed for user %q: %s", user, pe.Message), true
	case "3D000", "53300", "57P03": // invalid_catalog_name, too_many_connections, cannot_connect_now
		return pe.Message, true
	}
	return pe.Severity + ": " + pe.Message, true
}
