package proto

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/check"
)

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
	Where string // "127.0.0.1 port 25"
	Parts []string
	// Problems are the texts of non-OK grades; they lead the output.
	Problems []string
	Worst    check.Status
	Perf     []check.Metric
}

// NewReport starts a report now.
func NewReport(host string, port int) *Report {
	return &Report{Start: time.Now(), Where: fmt.Sprintf("%s port %d", host, port)}
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
	cfg, err := o.Config(host)
	if err != nil {
		return nil, Fail(check.Unknown, "%v", err)
	}
	return cfg, nil
}
