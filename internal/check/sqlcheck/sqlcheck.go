// Package sqlcheck is what the SQL database checks (mysql, postgres, mssql)
// share: the spec fields, the run (one connection, one query, the first
// column of the first row), the grading and the output. It is not a check
// type itself: each of mysqlcheck, postgrescheck and mssqlcheck describes
// its database/sql driver with a Driver and registers Kind(driver).
package sqlcheck

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mamori/mamori/internal/check"
)

// Defaults shared by the three kinds (the tcp family of the SPEC table).
const (
	DefaultWarning  = 6 * time.Second
	DefaultCritical = 11 * time.Second
	DefaultTimeout  = 12 * time.Second
	DefaultQuery    = "SELECT 1"

	// MaxValueText caps the first value's text in the output.
	MaxValueText = 1024
	// maxQueryText caps the query's text in the output.
	maxQueryText = 200
)

// Fields are the connection fields of a spec, used when no dsn is given.
type Fields struct {
	Host     string
	Port     int // 0: the driver's default port
	User     string
	Password string
	Database string
	TLS      string // driver-native TLS mode, "" for the driver's default
}

// DialFunc opens a network connection for a driver.
type DialFunc func(ctx context.Context, network, addr string) (net.Conn, error)

// Driver is what differs between the SQL checks.
type Driver struct {
	Name        string // kind name: "mysql"
	Label       string // output prefix: "MYSQL"
	Summary     string
	DefaultPort int
	// TLSModes are the accepted values of the tls field ("" is always
	// accepted and means the driver's default).
	TLSModes []string

	// BuildDSN makes a driver-native DSN from the fields (Port already
	// defaulted).
	BuildDSN func(f Fields) string
	// Parse checks a DSN and returns the user and password it names (for the
	// output and for scrubbing). Its error must not contain the password;
	// the caller scrubs it anyway.
	Parse func(dsn string) (user, password string, err error)
	// Connect opens one connection for one run and logs in. Every network
	// connection it opens must go through dial. Drivers for database/sql
	// use OpenSQL.
	Connect func(ctx context.Context, dsn string, dial DialFunc, logger *slog.Logger) (Conn, error)
	// Classify describes a server-side error (authentication, unknown
	// database, SQL error...) in a few words; ok is false for errors it
	// does not know, which get the generic network description. user is the
	// user the check logs in as.
	Classify func(err error, user string) (text string, ok bool)
}

// Conn is one open, authenticated database connection.
type Conn interface {
	// FirstValue runs the query and returns the first column of its first
	// row as text (isNull for SQL NULL), or ErrNoRows. It reads no more
	// than it needs.
	FirstValue(ctx context.Context, query string) (val string, isNull bool, err error)
	Close() error
}

// ErrNoRows is FirstValue's error for a query that returned no rows.
var ErrNoRows = errors.New("query returned no rows")

// Kind is the check kind of a driver, ready for check.Register.
func Kind(d *Driver) *check.Kind {
	return &check.Kind{
		Name:    d.Name,
		Label:   d.Label,
		Summary: d.Summary,
		Scope:   check.ScopeServer,
		Timeout: DefaultTimeout,
		New:     func() check.Spec { return NewSpec(d) },
	}
}

// Spec is the configuration of a SQL check. The same struct serves the three
// kinds; its driver is fixed by NewSpec.
type Spec struct {
	DSN      check.Secret `yaml:"dsn" help:"driver-native DSN or URL (mysql: user:pw@tcp(host:3306)/db or mysql://; postgres: postgres://... or key=value; mssql: sqlserver://...); replaces host, port, user, password, database and tls"`
	Host     string       `yaml:"host" help:"database server host name or address (a path for a Unix socket)"`
	Port     int          `yaml:"port" help:"TCP port (default: the database's standard port)"`
	User     string       `yaml:"user" help:"user to log in as"`
	Password check.Secret `yaml:"password" help:"password (${ENV} or file:/path references are resolved)"`
	Database string       `yaml:"database" help:"database to connect to"`
	TLS      string       `yaml:"tls" help:"TLS mode, as the driver names it (mysql: true, false, skip-verify, preferred; postgres: disable ... verify-full; mssql: disable, false, true, strict, skip-verify)"`

	Query         string        `yaml:"query" help:"SQL query to run; the first column of the first row is its value"`
	Expect        string        `yaml:"expect" help:"CRITICAL unless the value equals this text"`
	WarningValue  check.Range   `yaml:"warning_value" help:"WARNING when the value (a number) alerts on this Nagios range"`
	CriticalValue check.Range   `yaml:"critical_value" help:"CRITICAL when the value (a number) alerts on this Nagios range"`
	Warning       time.Duration `yaml:"warning" help:"WARNING when connect+query take this long"`
	Critical      time.Duration `yaml:"critical" help:"CRITICAL when connect+query take this long"`

	drv *Driver
}

// NewSpec is a spec with the defaults filled in.
func NewSpec(d *Driver) *Spec {
	return &Spec{Query: DefaultQuery, Warning: DefaultWarning, Critical: DefaultCritical, drv: d}
}

// Driver is the driver the spec was made for.
func (s *Spec) Driver() *Driver { return s.drv }

// DefaultHost takes the host's address when the check names no target.
func (s *Spec) DefaultHost(address string) {
	if s.DSN.IsZero() && s.Host == "" {
		s.Host = address
	}
}

// Validate reports every problem with the fields.
func (s *Spec) Validate() []check.FieldError {
	var errs []check.FieldError
	if s.drv == nil {
		return []check.FieldError{check.Errf("type", "SQL spec without a driver (internal error)")}
	}
	if !s.DSN.IsZero() {
		for _, f := range []struct {
			key string
			set bool
		}{{"host", s.Host != ""}, {"port", s.Port != 0}, {"user", s.User != ""}, {"password", !s.Password.IsZero()}, {"database", s.Database != ""}, {"tls", s.TLS != ""}} {
			if f.set {
				errs = append(errs, check.Errf(f.key, "cannot be combined with dsn (put it in the DSN)"))
			}
		}
		if s.DSN.Reveal() == "" {
			errs = append(errs, check.Errf("dsn", "is empty"))
		} else if _, pw, err := s.drv.Parse(s.DSN.Reveal()); err != nil {
			errs = append(errs, check.Errf("dsn", "invalid: %s", newScrubber(s.DSN.Reveal(), pw).scrub(err.Error())))
		}
	} else if s.Host == "" {
		errs = append(errs, check.Errf("host", "required (or give dsn)"))
	}
	if s.Port < 0 || s.Port > 65535 {
		errs = append(errs, check.Errf("port", "must be 1..65535"))
	}
	if s.TLS != "" && !slices.Contains(s.drv.TLSModes, strings.ToLower(s.TLS)) {
		errs = append(errs, check.Errf("tls", "unknown mode %q (want one of %s)", s.TLS, strings.Join(s.drv.TLSModes, ", ")))
	}
	if strings.TrimSpace(s.Query) == "" {
		errs = append(errs, check.Errf("query", "must not be empty"))
	}
	if s.Expect != "" && (s.WarningValue.Set || s.CriticalValue.Set) {
		errs = append(errs, check.Errf("expect", "cannot be combined with warning_value/critical_value (expect compares text, the ranges a number)"))
	}
	if s.Warning < 0 {
		errs = append(errs, check.Errf("warning", "must not be negative"))
	}
	if s.Critical < 0 {
		errs = append(errs, check.Errf("critical", "must not be negative"))
	}
	return errs
}

// New builds the checker.
func (s *Spec) New(env check.Env) (check.Checker, error) {
	if errs := s.Validate(); len(errs) > 0 {
		return nil, errs[0]
	}
	c := &Checker{
		drv: s.drv, query: s.Query, expect: s.Expect,
		warnValue: s.WarningValue, critValue: s.CriticalValue,
		warn: s.Warning, crit: s.Critical, logger: env.Logger,
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	if !s.DSN.IsZero() {
		c.dsn = s.DSN.Reveal()
	} else {
		f := Fields{Host: s.Host, Port: s.Port, User: s.User, Password: s.Password.Reveal(), Database: s.Database, TLS: strings.ToLower(s.TLS)}
		if f.Port == 0 {
			f.Port = s.drv.DefaultPort
		}
		c.dsn = s.drv.BuildDSN(f)
	}
	user, pw, err := s.drv.Parse(c.dsn)
	c.scrub = newScrubber(c.dsn, pw, s.Password.Reveal())
	if err != nil {
		return nil, errors.New(c.scrub.scrub("invalid connection settings: " + err.Error()))
	}
	c.user = user
	return c, nil
}

// Checker runs one SQL check.
type Checker struct {
	drv                  *Driver
	dsn, user            string
	query, expect        string
	warnValue, critValue check.Range
	warn, crit           time.Duration
	logger               *slog.Logger
	scrub                scrubber
}

// Check connects, runs the query and grades its first value.
func (c *Checker) Check(ctx context.Context) check.Result {
	r := c.run(ctx)
	r.Output = c.scrub.scrub(r.Output)
	r.Long = c.scrub.scrub(r.Long)
	return r
}

func (c *Checker) run(ctx context.Context) check.Result {
	start := time.Now()
	timePerf := func() check.Metric { return check.Seconds("time", time.Since(start), c.warn, c.crit) }

	conn, err := c.drv.Connect(ctx, c.dsn, deadlineDialer(ctx), c.logger)
	if err != nil {
		return check.Resultf(check.Critical, "%s", c.describe(ctx, err, start, false)).With(timePerf())
	}
	defer conn.Close()

	val, isNull, err := conn.FirstValue(ctx, c.query)
	elapsed := time.Since(start)
	perf := []check.Metric{check.Seconds("time", elapsed, c.warn, c.crit)}
	if errors.Is(err, ErrNoRows) {
		return check.Resultf(check.Critical, "query returned no rows").With(perf...)
	}
	if err != nil {
		return check.Resultf(check.Critical, "%s", c.describe(ctx, err, start, true)).With(perf...)
	}
	r := c.grade(val, isNull, elapsed)
	r.Perf = append(perf, r.Perf...)
	return r
}

// grade turns the first value and the total time into the result (without
// the time metric).
func (c *Checker) grade(val string, isNull bool, elapsed time.Duration) check.Result {
	shown := ShowValue(val, isNull)
	q := ShowQuery(c.query)
	status := check.ByDuration(elapsed, c.warn, c.crit)
	timeNote := ""
	switch status {
	case check.Critical:
		timeNote = fmt.Sprintf(" (critical %s)", c.crit)
	case check.Warning:
		timeNote = fmt.Sprintf(" (warning %s)", c.warn)
	}
	took := fmt.Sprintf("in %.3f s%s", elapsed.Seconds(), timeNote)

	if c.expect != "" {
		if isNull || val != c.expect {
			return check.Resultf(check.Critical, "query returned %s, expected '%s'", quoteValue(val, isNull), capText(c.expect))
		}
		return check.Resultf(status, "%s returned %s %s", q, shown, took)
	}

	num, numErr := ParseNumber(val)
	var perf []check.Metric
	if numErr == nil && !isNull {
		m := check.M("value", num, "")
		m.Warn, m.Crit = rangeLimit(c.warnValue), rangeLimit(c.critValue)
		perf = append(perf, m)
	}
	if !c.warnValue.Set && !c.critValue.Set {
		return check.Resultf(status, "%s returned %s %s", q, shown, took).With(perf...)
	}
	if isNull || numErr != nil {
		return check.Resultf(check.Unknown, "query returned %s, not a number: cannot compare it with warning_value/critical_value", quoteValue(val, isNull))
	}
	vs := check.Grade(num, c.warnValue, c.critValue)
	note := ""
	switch vs {
	case check.Critical:
		note = fmt.Sprintf(" (critical_value %s)", c.critValue.Text)
	case check.Warning:
		note = fmt.Sprintf(" (warning_value %s)", c.warnValue.Text)
	}
	return check.Resultf(check.Worst(status, vs), "%s returned %s%s %s", q, shown, note, took).With(perf...)
}

// describe says why connecting (query=false) or querying failed.
func (c *Checker) describe(ctx context.Context, err error, start time.Time, query bool) string {
	if isTimeout(ctx, err) {
		if query {
			return fmt.Sprintf("query timed out after %.3f s", time.Since(start).Seconds())
		}
		return fmt.Sprintf("timed out connecting after %.3f s", time.Since(start).Seconds())
	}
	if c.drv.Classify != nil {
		if text, ok := c.drv.Classify(err, c.user); ok {
			if query && !isConnLevel(text) {
				return "query failed: " + text
			}
			return text
		}
	}
	text := NetText(err)
	if query {
		return "query failed: " + text
	}
	if strings.HasPrefix(text, "connection ") || strings.HasPrefix(text, "cannot resolve") || strings.HasPrefix(text, "host ") || strings.HasPrefix(text, "network ") {
		return text
	}
	return "cannot connect: " + text
}

// isConnLevel: texts a Classify returns for login problems stand alone.
func isConnLevel(text string) bool {
	return strings.HasPrefix(text, "authentication failed")
}

func isTimeout(ctx context.Context, err error) bool {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return true
	}
	// The connection's deadline is the context's: a driver may report its
	// expiry (as "invalid connection") a moment before ctx.Err says so.
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return true
	}
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// NetText describes a network-level error in a few words.
func NetText(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset by server"
	case errors.Is(err, syscall.EHOSTUNREACH):
		return "host unreachable"
	case errors.Is(err, syscall.ENETUNREACH):
		return "network unreachable"
	case errors.Is(err, syscall.ENOENT):
		return "no such socket: " + err.Error()
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return "cannot resolve host " + dnsErr.Name + ": " + dnsErr.Err
	}
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return "connection closed by server"
	}
	return err.Error()
}

// OpenSQL opens one connection through a database/sql connector: no pool
// lingers (no idle connection is kept; Close closes it).
func OpenSQL(ctx context.Context, connector driver.Connector) (Conn, error) {
	db := sql.OpenDB(connector)
	db.SetMaxIdleConns(0)
	db.SetMaxOpenConns(1)
	sc, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, err
	}
	return &sqlConn{db: db, sc: sc}, nil
}

type sqlConn struct {
	db *sql.DB
	sc *sql.Conn
}

func (c *sqlConn) Close() error {
	err := c.sc.Close()
	if err2 := c.db.Close(); err == nil {
		err = err2
	}
	return err
}

// FirstValue reads at most two rows: if there are more, it cancels the query
// rather than letting the driver drain the result.
func (c *sqlConn) FirstValue(ctx context.Context, query string) (string, bool, error) {
	qctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rows, err := c.sc.QueryContext(qctx, query)
	if err != nil {
		return "", false, err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return "", false, err
		}
		return "", false, ErrNoRows
	}
	cols, err := rows.Columns()
	if err != nil {
		return "", false, err
	}
	if len(cols) == 0 {
		return "", false, ErrNoRows
	}
	dest := make([]any, len(cols))
	for i := range dest {
		dest[i] = new(any)
	}
	if err := rows.Scan(dest...); err != nil {
		return "", false, err
	}
	val, isNull := ValueText(*(dest[0].(*any)))
	if rows.Next() {
		cancel() // more rows than we need: do not make the driver drain them
	}
	return val, isNull, nil
}

// ValueText renders a database value as text; isNull for SQL NULL.
func ValueText(v any) (text string, isNull bool) {
	switch x := v.(type) {
	case nil:
		return "", true
	case []byte:
		return string(x), false
	case string:
		return x, false
	case int64:
		return strconv.FormatInt(x, 10), false
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), false
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32), false
	case bool:
		return strconv.FormatBool(x), false
	case time.Time:
		return x.Format(time.RFC3339Nano), false
	case fmt.Stringer:
		return x.String(), false
	}
	return fmt.Sprint(v), false
}

// ParseNumber reads a value as a number ("42", " 3.5 ", "1e3").
func ParseNumber(s string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("not a number: %q", s)
	}
	return f, nil
}

// ShowValue renders a value for the output: numbers bare, text quoted,
// NULL as NULL, capped to MaxValueText.
func ShowValue(v string, isNull bool) string {
	if isNull {
		return "NULL"
	}
	if _, err := ParseNumber(v); err == nil && v == strings.TrimSpace(v) {
		return v
	}
	return quoteValue(v, false)
}

func quoteValue(v string, isNull bool) string {
	if isNull {
		return "NULL"
	}
	return "'" + capText(v) + "'"
}

// ShowQuery renders the query for the output: quoted, on one line, capped.
func ShowQuery(q string) string {
	q = strings.Join(strings.Fields(q), " ")
	if len(q) > maxQueryText {
		q = truncate(q, maxQueryText)
	}
	return "'" + q + "'"
}

// capText puts a value on one line and caps it to MaxValueText bytes.
func capText(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	return truncate(s, MaxValueText)
}

func truncate(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && (s[cut]&0xC0) == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

// rangeLimit is the number to show as a perfdata threshold for a range.
func rangeLimit(r check.Range) float64 {
	switch {
	case !r.Set:
		return check.NaN
	case !math.IsInf(r.End, 0):
		return r.End
	case !math.IsInf(r.Start, 0):
		return r.Start
	}
	return check.NaN
}

// deadlineDialer dials TCP (or a Unix socket) and gives the connection the
// check's deadline, so no driver can wait past it on a silent server.
func deadlineDialer(ctx context.Context) DialFunc {
	deadline, hasDeadline := ctx.Deadline()
	return func(dctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		nc, err := d.DialContext(dctx, network, addr)
		if err != nil {
			return nil, err
		}
		if hasDeadline {
			if err := nc.SetDeadline(deadline); err != nil {
				nc.Close()
				return nil, err
			}
		}
		return nc, nil
	}
}

// scrubber removes secrets from text: the DSN itself and the password in
// the forms a driver or a URL may show it.
type scrubber struct{ secrets []string }

func newScrubber(dsn string, passwords ...string) scrubber {
	var s scrubber
	add := func(v string) {
		if v != "" && !slices.Contains(s.secrets, v) {
			s.secrets = append(s.secrets, v)
		}
	}
	add(dsn)
	for _, pw := range passwords {
		add(pw)
		add(url.QueryEscape(pw))
		add(url.PathEscape(pw))
		add(url.UserPassword("u", pw).String()[2:]) // userinfo escaping
	}
	// Longest first, so a DSN containing the password goes as a whole.
	slices.SortFunc(s.secrets, func(a, b string) int { return len(b) - len(a) })
	return s
}

func (s scrubber) scrub(text string) string {
	for _, v := range s.secrets {
		text = strings.ReplaceAll(text, v, "******")
	}
	return text
}
