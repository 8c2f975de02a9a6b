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

func init() {
	check.Register(&check.Kind{
		Name:    "imap",
		Label:   "IMAP",
		Summary: "IMAP \"* OK\" greeting, optional TLS/STARTTLS, login and a mailbox's message count",
		Scope:   check.ScopeServer,
		Timeout: 12 * time.Second,
		New: func() check.Spec {
			return &Spec{Port: 143, Warning: 6 * time.Second, Critical: 11 * time.Second, Mailbox: "INBOX"}
		},
	})
}

// Spec is the imap check's configuration.
type Spec struct {
	Host               string        `yaml:"host" help:"host name or address" required:"true"`
	Port               int           `yaml:"port" help:"IMAP port (993 when tls is set and port is left at 143)"`
	Warning            time.Duration `yaml:"warning" help:"response time for WARNING (0: none)"`
	Critical           time.Duration `yaml:"critical" help:"response time for CRITICAL (0: none)"`
	Expect             string        `yaml:"expect" help:"substring the greeting must contain (WARNING if not)"`
	TLS                bool          `yaml:"tls" help:"implicit TLS (IMAPS)"`
	StartTLS           bool          `yaml:"starttls" help:"require STARTTLS and upgrade before logging in"`
	User               string        `yaml:"user" help:"user to log in as (LOGIN, or AUTHENTICATE PLAIN)"`
	Password           check.Secret  `yaml:"password" help:"password (${ENV} or file:PATH)"`
	Mailbox            string        `yaml:"mailbox" help:"mailbox whose messages are counted after login"`
	CAFile             string        `yaml:"ca_file" help:"PEM file of CA certificates to trust"`
	InsecureSkipVerify bool          `yaml:"insecure_skip_verify" help:"do not verify the server certificate"`
	ServerName         string        `yaml:"server_name" help:"TLS server name (SNI and verification; default: host)"`
	WarningDays        int           `yaml:"warning_days" help:"WARNING when the TLS certificate expires within this many days (0: not checked)"`
	CriticalDays       int           `yaml:"critical_days" help:"CRITICAL when the TLS certificate expires within this many days (0: not checked)"`
}

// DefaultHost takes the host's address when the check has none.
func (s *Spec) DefaultHost(address string) {
	if s.Host == "" {
		s.Host = address
	}
}

// Validate reports every problem.
func (s *Spec) Validate() []check.FieldError {
	errs := proto.ValidateTarget(s.Host, s.Port)
	errs = append(errs, proto.ValidateTimes(s.Warning, s.Critical)...)
	errs = append(errs, proto.ValidateDays(s.WarningDays, s.CriticalDays)...)
	errs = append(errs, proto.ValidateLogin(s.User, s.Password)...)
	if s.TLS && s.StartTLS {
		errs = append(errs, check.Errf("starttls", "cannot be combined with tls (implicit TLS)"))
	}
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
	if s.TLS || s.StartTLS {
		cfg, err := proto.TLSOptions{CAFile: s.CAFile, Insecure: s.InsecureSkipVerify, ServerName: s.ServerName}.Config(s.Host)
		if err != nil {
			return nil, err
		}
		c.tls = cfg
	}
	return c, nil
}

type checker struct {
	spec Spec
	tls  *tls.Config
}

func (c *checker) Check(ctx context.Context) check.Result {
	r := proto.NewReport(c.spec.Host, c.spec.Port)
	err := c.run(ctx, r)
	return r.Result(ctx, err, c.spec.Warning, c.spec.Critical)
}

func (c *checker) run(ctx context.Context, r *proto.Report) error {
	conn, err := proto.Connect(ctx, c.spec.Host, c.spec.Port)
	if err != nil {
		return err
	}
	defer conn.Close()
	m := &proto.IMAP{Conn: conn}
	var st *tls.ConnectionState
	if c.spec.TLS {
		if st, err = conn.UpgradeTLS(c.tls); err != nil {
			return proto.Step(ctx, "TLS handshake with "+r.Where, err)
		}
	}
	g, err := m.ReadLine()
	if err != nil {
		return proto.Step(ctx, "no greeting from "+r.Where, err)
	}
	if !proto.GreetingOK(g) {
		m.Logout()
		return proto.Fail(check.Warning, "unexpected greeting '%s' from %s", proto.Clip(g), r.Where)
	}
	if c.spec.Expect != "" && !strings.Contains(g, c.spec.Expect) {
		m.Logout()
		return proto.Fail(check.Warning, "greeting '%s' from %s does not contain '%s'", proto.Clip(g), r.Where, c.spec.Expect)
	}
	r.Add("greeting '%s'", proto.Clip(g))
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
		if st, err = conn.UpgradeTLS(c.tls); err != nil {
			return proto.Step(ctx, "STARTTLS handshake", err)
		}
		r.Add("STARTTLS ok (%s)", tls.VersionName(st.Version))
		if c.spec.User != "" {
			if caps, err = m.Capabilities(); err != nil {
				return proto.Step(ctx, "CAPABILITY after STARTTLS", err)
			}
		}
	}
	if status, text, mt, ok := proto.CertDays(st, time.Now(), c.spec.WarningDays, c.spec.CriticalDays); ok {
		r.Grade(status, text)
		r.Perf = append(r.Perf, mt)
	}
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
