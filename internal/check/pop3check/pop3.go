// Package pop3check is the "pop3" check type: +OK greeting, optional TLS or
// STLS, login with USER/PASS and STAT, like check_pop and beyond.
package pop3check

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/proto"
)

// Defaults from the seed's first service table (hosting option): WARNING
// when the answer takes 6–11 s, CRITICAL over 11 s. The second table's
// "over 5 s" is warning: 5s. See docs/checks.md.
func init() {
	check.Register(&check.Kind{
		Name:    "pop3",
		Label:   "POP",
		Summary: "POP3 +OK greeting, optional TLS/STLS, login and STAT (messages and size)",
		Scope:   check.ScopeServer,
		Timeout: 12 * time.Second,
		New: func() check.Spec {
			return &Spec{Port: 110, Timing: proto.Timing{Warning: 6 * time.Second, Critical: 11 * time.Second}}
		},
	})
}

// Spec is the pop3 check's configuration.
type Spec struct {
	proto.Target
	Port int `yaml:"port" help:"POP3 port (995 when tls is set and port is left at 110)"`
	proto.Timing
	Expect   string       `yaml:"expect" help:"substring the greeting must contain (WARNING if not)"`
	TLS      bool         `yaml:"tls" help:"implicit TLS (POP3S)"`
	StartTLS bool         `yaml:"starttls" help:"require STLS and upgrade before logging in"`
	User     string       `yaml:"user" help:"user to log in as (USER/PASS), then STAT"`
	Password check.Secret `yaml:"password" help:"password (${ENV} or file:PATH)"`
	proto.TLSOptions
}

// Validate reports every problem.
func (s *Spec) Validate() []check.FieldError {
	errs := proto.Errors(proto.ValidateTarget(s.Host, s.Port), s.ValidateTimes(), s.ValidateDays(),
		proto.ValidateLogin(s.User, s.Password), proto.ValidateTLSMode(s.TLS, s.StartTLS))
	if strings.ContainsAny(s.User, "\r\n") {
		errs = append(errs, check.Errf("user", "must not contain line breaks"))
	}
	if strings.ContainsAny(s.Password.Reveal(), "\r\n") {
		errs = append(errs, check.Errf("password", "must not contain line breaks"))
	}
	return errs
}

// New builds the checker.
func (s *Spec) New(env check.Env) (check.Checker, error) {
	if errs := s.Validate(); len(errs) > 0 {
		return nil, errs[0]
	}
	c := &checker{spec: *s}
	if c.spec.TLS && c.spec.Port == 110 {
		c.spec.Port = 995
	}
	var err error
	if c.tls, err = s.ClientTLS(s.TLS || s.StartTLS, s.Host); err != nil {
		return nil, err
	}
	return c, nil
}

type checker struct {
	spec Spec
	tls  *tls.Config
}

func (c *checker) Check(ctx context.Context) check.Result {
	return proto.Run(ctx, c.spec.Host, c.spec.Port, c.spec.Timing, c.run)
}

func (c *checker) run(ctx context.Context, r *proto.Report) error {
	conn, st, err := r.Open(ctx, c.spec.TLS, c.tls)
	if err != nil {
		return err
	}
	defer conn.Close()
	p := &proto.POP3{Conn: conn}
	g, ok, err := p.Line()
	if err != nil {
		return proto.Step(ctx, "no greeting from "+r.Where, err)
	}
	if err := r.Greeting(g, ok, c.spec.Expect, p.Quit); err != nil {
		return err
	}
	if c.spec.StartTLS {
		if err := p.RequestStartTLS(); err != nil {
			var pe *proto.POP3Error
			if errors.As(err, &pe) {
				p.Quit()
				return proto.Fail(check.Critical, "STARTTLS (STLS) refused by %s: %s", r.Where, proto.Clip(pe.Line))
			}
			return proto.Step(ctx, "STLS", err)
		}
		if st, err = r.StartTLS(ctx, conn, c.tls, "STLS"); err != nil {
			return err
		}
	}
	c.spec.GradeDays(r, st)
	if c.spec.User != "" {
		err := p.Login(c.spec.User, c.spec.Password.Reveal())
		var pe *proto.POP3Error
		if errors.As(err, &pe) {
			p.Quit()
			return proto.Fail(check.Critical, "login failed for user '%s': %s", c.spec.User, proto.Clip(pe.Line))
		}
		if err != nil {
			return proto.Step(ctx, fmt.Sprintf("login as '%s'", c.spec.User), err)
		}
		n, size, err := p.Stat()
		if err != nil {
			return proto.Step(ctx, "STAT", err)
		}
		r.Add("logged in as '%s', %d messages (%d bytes)", c.spec.User, n, size)
		r.Perf = append(r.Perf, check.M("messages", float64(n), ""), check.M("size", float64(size), "B"))
	}
	p.Quit()
	return nil
}
