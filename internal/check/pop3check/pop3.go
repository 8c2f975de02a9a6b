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

func init() {
	check.Register(&check.Kind{
		Name:    "pop3",
		Label:   "POP",
		Summary: "POP3 +OK greeting, optional TLS/STLS, login and STAT (messages and size)",
		Scope:   check.ScopeServer,
		Timeout: 12 * time.Second,
		New: func() check.Spec {
			return &Spec{Port: 110, Warning: 6 * time.Second, Critical: 11 * time.Second}
		},
	})
}

// Spec is the pop3 check's configuration.
type Spec struct {
	Host               string        `yaml:"host" help:"host name or address" required:"true"`
	Port               int           `yaml:"port" help:"POP3 port (995 when tls is set and port is left at 110)"`
	Warning            time.Duration `yaml:"warning" help:"response time for WARNING (0: none)"`
	Critical           time.Duration `yaml:"critical" help:"response time for CRITICAL (0: none)"`
	Expect             string        `yaml:"expect" help:"substring the greeting must contain (WARNING if not)"`
	TLS                bool          `yaml:"tls" help:"implicit TLS (POP3S)"`
	StartTLS           bool          `yaml:"starttls" help:"require STLS and upgrade before logging in"`
	User               string        `yaml:"user" help:"user to log in as (USER/PASS), then STAT"`
	Password           check.Secret  `yaml:"password" help:"password (${ENV} or file:PATH)"`
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
	p := &proto.POP3{Conn: conn}
	var st *tls.ConnectionState
	if c.spec.TLS {
		if st, err = conn.UpgradeTLS(c.tls); err != nil {
			return proto.Step(ctx, "TLS handshake with "+r.Where, err)
		}
	}
	g, ok, err := p.Line()
	if err != nil {
		return proto.Step(ctx, "no greeting from "+r.Where, err)
	}
	if !ok {
		p.Quit()
		return proto.Fail(check.Warning, "unexpected greeting '%s' from %s", proto.Clip(g), r.Where)
	}
	if c.spec.Expect != "" && !strings.Contains(g, c.spec.Expect) {
		p.Quit()
		return proto.Fail(check.Warning, "greeting '%s' from %s does not contain '%s'", proto.Clip(g), r.Where, c.spec.Expect)
	}
	r.Add("greeting '%s'", proto.Clip(g))
	if c.spec.StartTLS {
		if err := p.RequestStartTLS(); err != nil {
			var pe *proto.POP3Error
			if errors.As(err, &pe) {
				p.Quit()
				return proto.Fail(check.Critical, "STARTTLS (STLS) refused by %s: %s", r.Where, proto.Clip(pe.Line))
			}
			return proto.Step(ctx, "STLS", err)
		}
		if st, err = conn.UpgradeTLS(c.tls); err != nil {
			return proto.Step(ctx, "STLS handshake", err)
		}
		r.Add("STLS ok (%s)", tls.VersionName(st.Version))
	}
	if status, text, m, ok := proto.CertDays(st, time.Now(), c.spec.WarningDays, c.spec.CriticalDays); ok {
		r.Grade(status, text)
		r.Perf = append(r.Perf, m)
	}
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
