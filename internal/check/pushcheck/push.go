// Package pushcheck is the "push" check type (job monitoring, a passive
// check): a job reports its result to POST /api/v1/push/{token}; the server
// records each report at once, and still runs this checker on the check's
// interval to notice silence — no report within period + grace is CRITICAL.
//
// The checker needs the server's record of reports (check.Env.Passive) and
// the check's full name, which the config loader gives it through
// SetCheckName (or, failing that, the server's Passive through SpecNamer).
package pushcheck

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/heartbeatcheck"
)

// Label prefixes push results ("PUSH CRITICAL - exit code 3 ...").
const Label = "PUSH"

// MinTokenLen is the shortest explicit token accepted: it is the job's only
// credential.
const MinTokenLen = 16

func init() {
	check.Register(&check.Kind{
		Name:     "push",
		Label:    Label,
		Summary:  "a job reports to POST /api/v1/push/{token} (or via mamori run --job); no report within period + grace is CRITICAL",
		Scope:    check.ScopePassive,
		Timeout:  5 * time.Second,
		Attempts: 1, // a failed run of a job is a fact, not a flake to confirm
		New:      func() check.Spec { return &Spec{} },
	})
}

// Spec is the push check's configuration.
type Spec struct {
	Period time.Duration `yaml:"period" required:"true" help:"how often the job reports, e.g. 24h"`
	Grace  time.Duration `yaml:"grace" help:"how late a report may be on top of period (default 10% of period, at least 1m)"`
	Token  check.Secret  `yaml:"token" help:"the job's push token (${ENV} or file:; at least 16 of A-Z a-z 0-9 . _ ~ -); default: derived from the check name and the server's secret key"`

	mu   sync.Mutex
	name string
}

// SetCheckName tells the spec its check's full name ("HOST/NAME" or "NAME").
func (s *Spec) SetCheckName(name string) {
	s.mu.Lock()
	s.name = name
	s.mu.Unlock()
}

// CheckName is the name given by SetCheckName ("" if none).
func (s *Spec) CheckName() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.name
}

// EffectiveGrace is Grace, or its default for Period.
func (s *Spec) EffectiveGrace() time.Duration {
	if s.Grace > 0 {
		return s.Grace
	}
	return max(s.Period/10, time.Minute)
}

// Validate reports every problem.
func (s *Spec) Validate() []check.FieldError {
	var errs []check.FieldError
	if s.Period < time.Second {
		errs = append(errs, check.Errf("period", "required: how often the job reports, at least 1s (e.g. 24h)"))
	}
	if s.Grace < 0 {
		errs = append(errs, check.Errf("grace", "must not be negative"))
	}
	if tok := s.Token.Reveal(); !s.Token.IsZero() {
		if msg := BadToken(tok); msg != "" {
			errs = append(errs, check.Errf("token", "%s", msg))
		}
	}
	return errs
}

// BadToken says what is wrong with an explicit push token ("" if nothing).
func BadToken(tok string) string {
	if len(tok) < MinTokenLen {
		return "too short: use at least 16 characters (e.g. openssl rand -hex 16)"
	}
	if len(tok) > 256 {
		return "too long (at most 256 characters)"
	}
	for _, c := range tok {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._~-", c)) {
			return "may contain only A-Z a-z 0-9 . _ ~ - (it is part of a URL path)"
		}
	}
	return ""
}

// PushToken derives a check's push token from the server secret: hex
// HMAC-SHA256 of the check's full name.
func PushToken(secret []byte, checkName string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(checkName))
	return hex.EncodeToString(m.Sum(nil))
}

// Watcher is implemented by a Passive that remembers, across restarts,
// since when a push check has been waiting for its first report. Without
// it the checker counts from when it was built.
type Watcher interface {
	WatchSince(check string) time.Time
}

// SpecNamer is implemented by a Passive that can tell which configured
// check a spec belongs to (used when the config loader did not call
// SetCheckName).
type SpecNamer interface {
	CheckNameOf(spec check.Spec) (string, bool)
}

// New builds the checker.
func (s *Spec) New(env check.Env) (check.Checker, error) {
	if errs := s.Validate(); len(errs) > 0 {
		return nil, errs[0]
	}
	return &Checker{spec: s, period: s.Period, grace: s.EffectiveGrace(), passive: env.Passive, built: time.Now(), now: time.Now}, nil
}

// Checker judges a push check from the last report.
type Checker struct {
	spec          *Spec
	period, grace time.Duration
	passive       check.Passive
	built         time.Time
	now           func() time.Time

	mu   sync.Mutex
	name string
}

func (c *Checker) checkName() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.name != "" {
		return c.name
	}
	c.name = c.spec.CheckName()
	if c.name == "" {
		if sn, ok := c.passive.(SpecNamer); ok {
			c.name, _ = sn.CheckNameOf(c.spec)
		}
	}
	return c.name
}

func (c *Checker) since(name string) time.Time {
	if w, ok := c.passive.(Watcher); ok {
		if t := w.WatchSince(name); !t.IsZero() {
			return t
		}
	}
	return c.built
}

// Waiting reports whether the check has had no report yet and is still
// within period + grace of when it started waiting: its UNKNOWN "waiting
// for the first report" is not a problem worth recording.
func (c *Checker) Waiting() bool {
	if c.passive == nil {
		return false
	}
	name := c.checkName()
	if name == "" {
		return false
	}
	if _, _, ok := c.passive.LastPush(name); ok {
		return false
	}
	return c.now().Sub(c.since(name)) <= c.period+c.grace
}

func (c *Checker) limits() string {
	return "period " + heartbeatcheck.Short(c.period) + ", grace " + heartbeatcheck.Short(c.grace)
}

// NextDeadline is when the job's silence turns into CRITICAL: period +
// grace after its last report (or after monitoring started, before the
// first one); zero once that has passed.
func (c *Checker) NextDeadline(now time.Time) time.Time {
	if c.passive == nil {
		return time.Time{}
	}
	name := c.checkName()
	if name == "" {
		return time.Time{}
	}
	from := c.since(name)
	if _, at, ok := c.passive.LastPush(name); ok {
		from = at
	}
	// Just past the limit: a run at the limit itself still says OK.
	due := from.Add(c.period + c.grace + time.Millisecond)
	if !due.After(now) {
		return time.Time{}
	}
	return due
}

// Check implements check.Checker.
func (c *Checker) Check(ctx context.Context) check.Result {
	if c.passive == nil {
		return check.Resultf(check.Unknown, "job reports are known only to the mamori server")
	}
	name := c.checkName()
	if name == "" {
		return check.Resultf(check.Unknown, "this push check does not know its name (server too old?)")
	}
	now := c.now()
	limit := c.period + c.grace
	r, at, ok := c.passive.LastPush(name)
	if !ok {
		waited := now.Sub(c.since(name))
		if waited > limit {
			return check.Resultf(check.Critical, "no report for %s since monitoring started (%s)", heartbeatcheck.Short(waited), c.limits()).
				With(check.Seconds("age", waited.Round(time.Second), 0, limit))
		}
		return check.Resultf(check.Unknown, "waiting for the first report (due within %s)", heartbeatcheck.Short(limit-waited))
	}
	age := now.Sub(at)
	if age < 0 {
		age = 0
	}
	if age > limit {
		res := check.Resultf(check.Critical, "no report for %s (%s)", heartbeatcheck.Short(age), c.limits())
		res.Long = "last report at " + at.UTC().Format(time.RFC3339) + ": " + r.Output
		return res.With(check.Seconds("age", age.Round(time.Second), 0, limit))
	}
	out := check.Result{Status: r.Status, Output: r.Output, Long: r.Long, Perf: append([]check.Metric(nil), r.Perf...)}
	return out
}
