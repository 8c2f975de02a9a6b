package proto

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/check"
)

// Target is the host field the checks share (embedded in a spec, its host
// key) and takes the address of the host a check is declared under.
type Target struct {
	Host string `yaml:"host" help:"host name or address" required:"true"`
}

// DefaultHost takes the host's address when the check has none.
func (t *Target) DefaultHost(address string) {
	if t.Host == "" {
		t.Host = address
	}
}

// Timing is the response time thresholds the checks share (embedded in a
// spec, its warning and critical keys).
type Timing struct {
	Warning  time.Duration `yaml:"warning" help:"response time for WARNING (0: none)"`
	Critical time.Duration `yaml:"critical" help:"response time for CRITICAL (0: none)"`
}

// ValidateTimes checks warning and critical.
func (t Timing) ValidateTimes() []check.FieldError { return ValidateTimes(t.Warning, t.Critical) }

// Errors joins the problems that several validations report, in order.
func Errors(lists ...[]check.FieldError) []check.FieldError {
	var errs []check.FieldError
	for _, l := range lists {
		errs = append(errs, l...)
	}
	return errs
}

// ValidateTarget checks the host and port fields shared by the checks.
func ValidateTarget(host string, port int) []check.FieldError {
	var errs []check.FieldError
	switch {
	case strings.TrimSpace(host) == "":
		errs = append(errs, check.Errf("host", "is required"))
	case strings.ContainsAny(host, " /\t\r\n"):
		errs = append(errs, check.Errf("host", "%q is not a host name or address", host))
	}
	if port < 1 || port > 65535 {
		errs = append(errs, check.Errf("port", "must be between 1 and 65535, not %d", port))
	}
	return errs
}

// ValidateTimes checks the warning and critical durations.
func ValidateTimes(warn, crit time.Duration) []check.FieldError {
	var errs []check.FieldError
	if warn < 0 {
		errs = append(errs, check.Errf("warning", "must not be negative"))
	}
	if crit < 0 {
		errs = append(errs, check.Errf("critical", "must not be negative"))
	}
	if warn > 0 && crit > 0 && warn > crit {
		errs = append(errs, check.Errf("warning", "(%s) must not exceed critical (%s)", warn, crit))
	}
	return errs
}

// ValidateDays checks warning_days and critical_days.
func ValidateDays(warn, crit int) []check.FieldError {
	var errs []check.FieldError
	if warn < 0 {
		errs = append(errs, check.Errf("warning_days", "must not be negative"))
	}
	if crit < 0 {
		errs = append(errs, check.Errf("critical_days", "must not be negative"))
	}
	if warn > 0 && crit > 0 && crit > warn {
		errs = append(errs, check.Errf("critical_days", "(%d) must not exceed warning_days (%d)", crit, warn))
	}
	return errs
}

// ValidateTLSMode refuses starttls together with tls (implicit TLS).
func ValidateTLSMode(implicit, starttls bool) []check.FieldError {
	if implicit && starttls {
		return []check.FieldError{check.Errf("starttls", "cannot be combined with tls (implicit TLS)")}
	}
	return nil
}

// ValidateLogin checks that user and password come together.
func ValidateLogin(user string, pass check.Secret) []check.FieldError {
	switch {
	case user == "" && !pass.IsZero():
		return []check.FieldError{check.Errf("user", "is required with password")}
	case user != "" && pass.IsZero():
		return []check.FieldError{check.Errf("password", "is required with user")}
	}
	return nil
}

// Elapsed formats a response time as the plugins do: "0.012 second response time".
func Elapsed(d time.Duration) string {
	return fmt.Sprintf("%.3f second response time", d.Seconds())
}

// Report collects what a check found along the way; Result turns it into
// the check's result.
type Report struct {
	Start time.Time
	Host  string
	Port  int
	Where string // "127.0.0.1 port 25"
	Parts []string
	// Problems are the texts of non-OK grades; they lead the output.
	Problems []string
	Worst    check.Status
	Perf     []check.Metric
}

// NewReport starts a report now.
func NewReport(host string, port int) *Report {
	return &Report{Start: time.Now(), Host: host, Port: port, Where: fmt.Sprintf("%s port %d", host, port)}
}

// Add appends a finding to the output.
func (r *Report) Add(format string, args ...any) {
	r.Parts = append(r.Parts, fmt.Sprintf(format, args...))
}

// Grade folds a status into the result, with its text as a finding.
func (r *Report) Grade(s check.Status, text string) {
	r.Worst = check.Worst(r.Worst, s)
	switch {
	case text == "":
	case s == check.OK:
		r.Parts = append(r.Parts, text)
	default:
		r.Problems = append(r.Problems, text)
	}
}

// Result is the check's result: on err, its verdict and reason; else the
// response time graded against warn and crit, worst of the graded findings,
// and "[problem; ]0.012 second response time on HOST port N, finding, ...".
// Perfdata begins with time.
func (r *Report) Result(ctx context.Context, err error, warn, crit time.Duration) check.Result {
	d := time.Since(r.Start)
	perf := append([]check.Metric{check.Seconds("time", d, warn, crit)}, r.Perf...)
	if err != nil {
		s, msg := Verdict(ctx, err)
		return check.Result{Status: s, Output: check.OneLine(msg), Perf: perf}
	}
	text := Elapsed(d) + " on " + r.Where
	if len(r.Parts) > 0 {
		text += ", " + strings.Join(r.Parts, ", ")
	}
	if len(r.Problems) > 0 {
		text = strings.Join(r.Problems, "; ") + "; " + text
	}
	s := check.Worst(r.Worst, check.ByDuration(d, warn, crit))
	return check.Result{Status: s, Output: check.OneLine(text), Perf: perf}
}

// Run is a checker's Check: it runs run with a new report on host:port and
// turns the outcome into the result graded against t.
func Run(ctx context.Context, host string, port int, t Timing, run func(context.Context, *Report) error) check.Result {
	r := NewReport(host, port)
	err := run(ctx, r)
	return r.Result(ctx, err, t.Warning, t.Critical)
}

// Open connects to the report's host and port and, with implicit TLS,
// handshakes with cfg at once ("TLS handshake with HOST port N: ...").
// st is the handshake's state, nil without implicit TLS.
func (r *Report) Open(ctx context.Context, implicit bool, cfg *tls.Config) (c *Conn, st *tls.ConnectionState, err error) {
	c, err = Connect(ctx, r.Host, r.Port)
	if err != nil || !implicit {
		return c, nil, err
	}
	if st, err = c.UpgradeTLS(cfg); err != nil {
		c.Close()
		return nil, nil, Step(ctx, "TLS handshake with "+r.Where, err)
	}
	return c, st, nil
}

// Greeting judges a server's greeting: ok is whether the protocol accepts
// it, expect a substring it must contain. Either failing sends bye and is a
// WARNING; else the greeting is a finding.
func (r *Report) Greeting(text string, ok bool, expect string, bye func()) error {
	if !ok {
		bye()
		return Fail(check.Warning, "unexpected greeting '%s' from %s", Clip(text), r.Where)
	}
	if expect != "" && !strings.Contains(text, expect) {
		bye()
		return Fail(check.Warning, "greeting '%s' from %s does not contain '%s'", Clip(text), r.Where, expect)
	}
	r.Add("greeting '%s'", Clip(text))
	return nil
}

// StartTLS handshakes after the protocol's request (what: "STARTTLS",
// "STLS") and notes "WHAT ok (TLS 1.3)"; a failure is "WHAT handshake: ...".
func (r *Report) StartTLS(ctx context.Context, c *Conn, cfg *tls.Config, what string) (*tls.ConnectionState, error) {
	st, err := c.UpgradeTLS(cfg)
	if err != nil {
		return nil, Step(ctx, what+" handshake", err)
	}
	r.Add("%s ok (%s)", what, tls.VersionName(st.Version))
	return st, nil
}

// Connect dials and turns a failure into "connect to HOST port N: connection refused".
func Connect(ctx context.Context, host string, port int) (*Conn, error) {
	c, err := Dial(ctx, host, port)
	if err != nil {
		return nil, Step(ctx, fmt.Sprintf("connect to %s port %d", host, port), err)
	}
	return c, nil
}

// TLSConfigOrUnknown is a helper for checkers: it builds the TLS config and
// turns a failure (unreadable ca_file) into an UNKNOWN Error.
func TLSConfigOrUnknown(o TLSOptions, host string) (*tls.Config, error) {
	cfg, err := o.TLSConfig(host)
	if err != nil {
		return nil, Fail(check.Unknown, "%v", err)
	}
	return cfg, nil
}
