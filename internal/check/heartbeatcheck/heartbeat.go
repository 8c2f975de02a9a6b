// Package heartbeatcheck is the "heartbeat" check type: is the host's mamori
// agent still talking to the server? It reads the server's record of the
// last authenticated contact (check.Env.Passive); it cannot run outside the
// server.
package heartbeatcheck

import (
	"context"
	"time"

	"github.com/mamori/mamori/internal/check"
)

// DefaultTTL is how long an agent may be silent before its host's
// heartbeat goes CRITICAL. Agents send at least every 30 s.
const DefaultTTL = 3 * time.Minute

func init() {
	check.Register(&check.Kind{
		Name:    "heartbeat",
		Label:   "AGENT",
		Summary: "the host's mamori agent reached the server within ttl (added automatically to hosts with an agent)",
		Scope:   check.ScopeServer,
		Timeout: 5 * time.Second,
		New:     func() check.Spec { return &Spec{TTL: DefaultTTL} },
	})
}

// Spec is the heartbeat check's configuration.
type Spec struct {
	TTL  time.Duration `yaml:"ttl" help:"CRITICAL when the agent has been silent for longer than this (default 3m)"`
	host string
}

// SetHostName implements check.HostNamer.
func (s *Spec) SetHostName(name string) { s.host = name }

// Validate reports every problem.
func (s *Spec) Validate() []check.FieldError {
	if s.TTL < time.Second {
		return []check.FieldError{check.Errf("ttl", "must be at least 1s")}
	}
	return nil
}

// New builds the checker.
func (s *Spec) New(env check.Env) (check.Checker, error) {
	if errs := s.Validate(); len(errs) > 0 {
		return nil, errs[0]
	}
	now := time.Now()
	return &checker{host: s.host, ttl: s.TTL, passive: env.Passive, now: time.Now, built: now}, nil
}

type checker struct {
	host    string
	ttl     time.Duration
	passive check.Passive
	now     func() time.Time
	built   time.Time // when monitoring of this host's agent started
}

func (c *checker) Check(ctx context.Context) check.Result {
	if c.passive == nil {
		return check.Resultf(check.Unknown, "the agent heartbeat is known only to the mamori server")
	}
	if c.host == "" {
		return check.Resultf(check.Unknown, "a heartbeat check must be declared under a host")
	}
	last, ok := c.passive.AgentSeen(c.host)
	if !ok || last.IsZero() {
		// A host just added (or a first start) gives its agent ttl to
		// connect, as a push check gives its job period + grace.
		if waited := c.now().Sub(c.built); waited <= c.ttl {
			return check.Resultf(check.Unknown, "waiting for the agent's first connection (due within %s)", Short(c.ttl-waited))
		}
		return check.Resultf(check.Critical, "agent has never connected (waited %s)", Short(c.ttl))
	}
	age := c.now().Sub(last)
	if age < 0 {
		age = 0
	}
	perf := check.Seconds("age", age.Round(time.Second), 0, c.ttl)
	if age > c.ttl {
		return check.Resultf(check.Critical, "agent silent for %s (ttl %s)", Short(age), Short(c.ttl)).With(perf)
	}
	if r, bad := c.delivery(); bad {
		return r.With(perf)
	}
	return check.Resultf(check.OK, "agent seen %s ago", Short(age)).With(perf)
}

// Waiting reports whether the agent has never connected and is still
// within ttl of when monitoring started: the UNKNOWN "waiting for the
// agent's first connection" is not a problem worth recording.
func (c *checker) Waiting() bool {
	if c.passive == nil || c.host == "" {
		return false
	}
	if last, ok := c.passive.AgentSeen(c.host); ok && !last.IsZero() {
		return false
	}
	return c.now().Sub(c.built) <= c.ttl
}

// NextDeadline implements check.Deadliner: an agent that never connected
// is judged again when its ttl runs out.
func (c *checker) NextDeadline(now time.Time) time.Time {
	if !c.Waiting() {
		return time.Time{}
	}
	return c.built.Add(c.ttl).Add(time.Millisecond)
}

// Short formats a duration for people: whole seconds (tenths below 10 s
// are not worth it), without trailing zero units: "3m", "5m12s", "26h".
func Short(d time.Duration) string {
	d = d.Round(time.Second)
	s := d.String()
	if len(s) > 2 && s[len(s)-2:] == "0s" && (s[len(s)-3] == 'm' || s[len(s)-3] == 'h') {
		s = s[:len(s)-2]
	}
	if len(s) > 2 && s[len(s)-2:] == "0m" && s[len(s)-3] == 'h' {
		s = s[:len(s)-2]
	}
	return s
}

// delivery turns a connected agent whose batches are not stored into a
// problem: its checks and metrics have stopped even though it is seen.
func (c *checker) delivery() (check.Result, bool) {
	ad, ok := c.passive.(check.AgentDelivery)
	if !ok {
		return check.Result{}, false
	}
	d, now := ad.AgentDelivery(c.host), c.now()
	if grace := min(c.ttl/2, time.Minute); d.Refused > 0 && now.Sub(d.RefusedSince) >= grace {
		return check.Resultf(check.Critical, "agent connects but its batches are not stored since %s ago (%d refused): %s",
			Short(now.Sub(d.RefusedSince)), d.Refused, d.Reason), true
	}
	last := d.Stored
	if last.IsZero() {
		last = d.Since
	}
	if !last.IsZero() && now.Sub(last) > c.ttl {
		return check.Resultf(check.Critical, "agent connects but no batch was stored for %s (ttl %s)", Short(now.Sub(last)), Short(c.ttl)), true
	}
	return check.Result{}, false
}
