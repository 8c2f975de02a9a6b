// Package smtpcheck is the "smtp" check type: greeting, EHLO, optional
// STARTTLS (or implicit TLS) and AUTH, like check_smtp.
package smtpcheck

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

// Defaults from the seed (hosting option): WARNING over 5 s (second table),
// CRITICAL with no answer within 10 s (first table); a greeting other than
// 220 is WARNING (first table). See docs/checks.md.
func init() {
	check.Register(&check.Kind{
		Name:    "smtp",
		Label:   "SMTP",
		Summary: "SMTP greeting 220, EHLO, optional STARTTLS/TLS, certificate days and AUTH login",
		Scope:   check.ScopeServer,
		Timeout: 10 * time.Second,
		New: func() check.Spec {
			return &Spec{Port: 25, Timing: proto.Timing{Warning: 5 * time.Second, Critical: 10 * time.Second}, Helo: "mamori"}
		},
	})
}

// Spec is the smtp check's configuration.
type Spec struct {
	proto.Target
	Port int `yaml:"port" help:"SMTP port (465 when tls is set and port is left at 25)"`
	proto.Timing
	Expect   string       `yaml:"expect" help:"substring the greeting must contain (WARNING if not)"`
	Helo     string       `yaml:"helo" help:"name to send with EHLO"`
	TLS      bool         `yaml:"tls" help:"implicit TLS (SMTPS)"`
	StartTLS bool         `yaml:"starttls" help:"require STARTTLS and upgrade before anything else"`
	User     string       `yaml:"user" help:"user for AUTH (PLAIN or LOGIN)"`
	Password check.Secret `yaml:"password" help:"password for AUTH (${ENV} or file:PATH)"`
	proto.TLSOptions
}

// Validate reports every problem.
func (s *Spec) Validate() []check.FieldError {
	errs := proto.Errors(proto.ValidateTarget(s.Host, s.Port), s.ValidateTimes(), s.ValidateDays(),
		proto.ValidateLogin(s.User, s.Password), proto.ValidateTLSMode(s.TLS, s.StartTLS))
	if strings.ContainsAny(s.Helo, " \r\n\t") {
		errs = append(errs, check.Errf("helo", "%q is not a host name", s.Helo))
	}
	return errs
}

// New builds the checker.
func (s *Spec) New(env check.Env) (check.Checker, error) {
	if errs := s.Validate(); len(errs) > 0 {
		return nil, errs[0]
	}
	c := &checker{spec: *s}
	if c.spec.Helo == "" {
		c.spec.Helo = "mamori"
	}
	if c.spec.TLS && c.spec.Port == 25 {
		c.spec.Port = 465
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
	s := &proto.SMTP{Conn: conn}
	g, err := s.Greeting()
	if err != nil {
		return proto.Step(ctx, "no greeting from "+r.Where, err)
	}
	if err := r.Greeting(g.Text(), g.Code == 220, c.spec.Expect, s.Quit); err != nil {
		return err
	}
	if err := s.Hello(c.spec.Helo); err != nil {
		return proto.Step(ctx, "EHLO", err)
	}
	if c.spec.StartTLS {
		if err := s.RequestStartTLS(); err != nil {
			if errors.Is(err, proto.ErrNoStartTLS) {
				s.Quit()
				return proto.Fail(check.Critical, "STARTTLS is not offered by %s", r.Where)
			}
			return proto.Step(ctx, "STARTTLS", err)
		}
		if st, err = r.StartTLS(ctx, conn, c.tls, "STARTTLS"); err != nil {
			return err
		}
		if err := s.Hello(c.spec.Helo); err != nil {
			return proto.Step(ctx, "EHLO after STARTTLS", err)
		}
	}
	c.spec.GradeDays(r, st)
	if c.spec.User != "" {
		mech, err := s.Auth(c.spec.User, c.spec.Password.Reveal())
		var re *proto.ReplyError
		if errors.As(err, &re) {
			s.Quit()
			return proto.Fail(check.Critical, "authentication failed for user '%s': %s", c.spec.User, proto.Clip(re.Reply.Text()))
		}
		if err != nil {
			return proto.Step(ctx, fmt.Sprintf("AUTH for user '%s'", c.spec.User), err)
		}
		r.Add("authenticated as '%s' (%s)", c.spec.User, mech)
	}
	s.Quit()
	return nil
}
