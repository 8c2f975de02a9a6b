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

func init() {
	check.Register(&check.Kind{
		Name:    "smtp",
		Label:   "SMTP",
		Summary: "SMTP greeting 220, EHLO, optional STARTTLS/TLS, certificate days and AUTH login",
		Scope:   check.ScopeServer,
		Timeout: 10 * time.Second,
		New: func() check.Spec {
			return &Spec{Port: 25, Warning: 5 * time.Second, Critical: 10 * time.Second, Helo: "mamori"}
		},
	})
}

// Spec is the smtp check's configuration.
type Spec struct {
	Host               string        `yaml:"host" help:"host name or address" required:"true"`
	Port               int           `yaml:"port" help:"SMTP port (465 when tls is set and port is left at 25)"`
	Warning            time.Duration `yaml:"warning" help:"response time for WARNING (0: none)"`
	Critical           time.Duration `yaml:"critical" help:"response time for CRITICAL (0: none)"`
	Expect             string        `yaml:"expect" help:"substring the greeting must contain (WARNING if not)"`
	Helo               string        `yaml:"helo" help:"name to send with EHLO"`
	TLS                bool          `yaml:"tls" help:"implicit TLS (SMTPS)"`
	StartTLS           bool          `yaml:"starttls" help:"require STARTTLS and upgrade before anything else"`
	User               string        `yaml:"user" help:"user for AUTH (PLAIN or LOGIN)"`
	Password           check.Secret  `yaml:"password" help:"password for AUTH (${ENV} or file:PATH)"`
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
	s := &proto.SMTP{Conn: conn}
	var st *tls.ConnectionState
	if c.spec.TLS {
		if st, err = conn.UpgradeTLS(c.tls); err != nil {
			return proto.Step(ctx, "TLS handshake with "+r.Where, err)
		}
	}
	g, err := s.Greeting()
	if err != nil {
		return proto.Step(ctx, "no greeting from "+r.Where, err)
	}
	if g.Code != 220 {
		s.Quit()
		return proto.Fail(check.Warning, "unexpected greeting '%s' from %s", proto.Clip(g.Text()), r.Where)
	}
	if c.spec.Expect != "" && !strings.Contains(g.Text(), c.spec.Expect) {
		s.Quit()
		return proto.Fail(check.Warning, "greeting '%s' from %s does not contain '%s'", proto.Clip(g.Text()), r.Where, c.spec.Expect)
	}
	r.Add("greeting '%s'", proto.Clip(g.Text()))
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
		if st, err = conn.UpgradeTLS(c.tls); err != nil {
			return proto.Step(ctx, "STARTTLS handshake", err)
		}
		if err := s.Hello(c.spec.Helo); err != nil {
			return proto.Step(ctx, "EHLO after STARTTLS", err)
		}
		r.Add("STARTTLS ok (%s)", tls.VersionName(st.Version))
	}
	if status, text, m, ok := proto.CertDays(st, time.Now(), c.spec.WarningDays, c.spec.CriticalDays); ok {
		r.Grade(status, text)
		r.Perf = append(r.Perf, m)
	}
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
