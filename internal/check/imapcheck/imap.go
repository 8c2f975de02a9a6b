// Package imapcheck is the "imap" check type: "* OK" greeting, optional TLS
// or STARTTLS, login and a mailbox's message count, like check_imap and
// beyond.
package imapcheck

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
		Name:    "imap",
		Label:   "IMAP",
		Summary: "IMAP \"* OK\" greeting, optional TLS/STARTTLS, login and a mailbox's message count",
		Scope:   check.ScopeServer,
		Timeout: 12 * time.Second,
		New: func() check.Spec {
			return &Spec{Port: 143, Timing: proto.Timing{Warning: 6 * time.Second, Critical: 11 * time.Second}, Mailbox: "INBOX"}
		},
	})
}

// Spec is the imap check's configuration.
type Spec struct {
	proto.Target
	Port int `yaml:"port" help:"IMAP port (993 when tls is set and port is left at 143)"`
	proto.Timing
	Expect   string       `yaml:"expect" help:"substring the greeting must contain (WARNING if not)"`
	TLS      bool         `yaml:"tls" help:"implicit TLS (IMAPS)"`
	StartTLS bool         `yaml:"starttls" help:"require STARTTLS and upgrade before logging in"`
	User     string       `yaml:"user" help:"user to log in as (LOGIN, or AUTHENTICATE PLAIN)"`
	Password check.Secret `yaml:"password" help:"password (${ENV} or file:PATH)"`
	Mailbox  string       `yaml:"mailbox" help:"mailbox whose messages are counted after login"`
	proto.TLSOptions
}

// Validate reports every problem.
func (s *Spec) Validate() []check.FieldError {
	errs := proto.Errors(proto.ValidateTarget(s.Host, s.Port), s.ValidateTimes(), s.ValidateDays(),
		proto.ValidateLogin(s.User, s.Password), proto.ValidateTLSMode(s.TLS, s.StartTLS))
	if strings.ContainsAny(s.Mailbox, "\r\n") {
		errs = append(errs, check.Errf("mailbox", "must not contain line breaks"))
	}
	return errs
}

// New builds the checker.
func (s *Spec) New(env check.Env) (check.Checker, error) {
	if errs := s.Validate(); len(errs) > 0 {
		return nil, errs[0]
	}
	c := &checker{spec: *s}
	if c.spec.TLS && c.spec.Port == 143 {
		c.spec.Port = 993
	}
	if c.spec.Mailbox == "" {
		c.spec.Mailbox = "INBOX"
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
	m := &proto.IMAP{Conn: conn}
	g, err := m.ReadLine()
	if err != nil {
		return proto.Step(ctx, "no greeting from "+r.Where, err)
	}
	if err := r.Greeting(g, proto.GreetingOK(g), c.spec.Expect, m.Logout); err != nil {
		return err
	}
	var caps map[string]bool
	if c.spec.StartTLS || c.spec.User != "" {
		if caps, err = m.Capabilities(); err != nil {
			return proto.Step(ctx, "CAPABILITY", err)
		}
	}
	if c.spec.StartTLS {
		if !caps["STARTTLS"] {
			m.Logout()
			return proto.Fail(check.Critical, "STARTTLS is not offered by %s", r.Where)
		}
		if err := m.RequestStartTLS(); err != nil {
			var ie *proto.IMAPError
			if errors.As(err, &ie) {
				m.Logout()
				return proto.Fail(check.Critical, "STARTTLS refused by %s: %s %s", r.Where, ie.Status, proto.Clip(ie.Text))
			}
			return proto.Step(ctx, "STARTTLS", err)
		}
		if st, err = r.StartTLS(ctx, conn, c.tls, "STARTTLS"); err != nil {
			return err
		}
		if c.spec.User != "" {
			if caps, err = m.Capabilities(); err != nil {
				return proto.Step(ctx, "CAPABILITY after STARTTLS", err)
			}
		}
	}
	c.spec.GradeDays(r, st)
	if c.spec.User != "" {
		_, err := m.Login(c.spec.User, c.spec.Password.Reveal(), caps)
		var ie *proto.IMAPError
		if errors.As(err, &ie) {
			m.Logout()
			return proto.Fail(check.Critical, "login failed for user '%s': %s %s", c.spec.User, ie.Status, proto.Clip(ie.Text))
		}
		if err != nil {
			return proto.Step(ctx, fmt.Sprintf("login as '%s'", c.spec.User), err)
		}
		n, unseen, err := m.Status(c.spec.Mailbox)
		if errors.As(err, &ie) {
			m.Logout()
			return proto.Fail(check.Critical, "mailbox '%s': %s %s", c.spec.Mailbox, ie.Status, proto.Clip(ie.Text))
		}
		if err != nil {
			return proto.Step(ctx, fmt.Sprintf("mailbox '%s'", c.spec.Mailbox), err)
		}
		r.Add("logged in as '%s', %s: %d messages", c.spec.User, c.spec.Mailbox, n)
		r.Perf = append(r.Perf, check.M("messages", float64(n), ""))
		if unseen >= 0 {
			r.Perf = append(r.Perf, check.M("unseen", float64(unseen), ""))
		}
	}
	m.Logout()
	return nil
}
