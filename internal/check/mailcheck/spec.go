// Package mailcheck is the "mail_roundtrip" check type (the seed's "mail
// send and receive"): it sends a uniquely tagged message through SMTP
// (optionally STARTTLS and AUTH), waits for it to arrive in a mailbox read
// over IMAP or POP3, deletes it, and grades the delivery time. Each leg's
// time is performance data.
package mailcheck

import (
	"strings"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/proto"
)

func init() {
	check.Register(&check.Kind{
		Name:    "mail_roundtrip",
		Label:   "MAIL",
		Summary: "send a tagged mail through SMTP, find it over IMAP or POP3, delete it; grade the delivery time",
		Scope:   check.ScopeServer,
		Timeout: 2 * time.Minute,
		New: func() check.Spec {
			return &Spec{SMTPPort: 25, IMAPPort: 143, POP3Port: 110, Mailbox: "INBOX",
				Warning: 30 * time.Second, Critical: 90 * time.Second}
		},
	})
}

// Spec is the mail_roundtrip check's configuration.
type Spec struct {
	SMTPHost     string        `yaml:"smtp_host" required:"true" help:"SMTP server the mail is sent through"`
	SMTPPort     int           `yaml:"smtp_port" help:"SMTP port"`
	From         string        `yaml:"from" required:"true" help:"envelope and header sender"`
	To           string        `yaml:"to" required:"true" help:"recipient whose mailbox is read"`
	IMAPHost     string        `yaml:"imap_host" help:"IMAP server of the recipient's mailbox (or pop3_host)"`
	IMAPPort     int           `yaml:"imap_port" help:"IMAP port"`
	POP3Host     string        `yaml:"pop3_host" help:"POP3 server of the recipient's mailbox (or imap_host)"`
	POP3Port     int           `yaml:"pop3_port" help:"POP3 port"`
	Mailbox      string        `yaml:"mailbox" help:"IMAP mailbox the mail arrives in"`
	User         string        `yaml:"user" required:"true" help:"mailbox user (IMAP/POP3 login; also SMTP AUTH unless smtp_user is given)"`
	Password     check.Secret  `yaml:"password" required:"true" help:"mailbox password (${ENV} or file:PATH)"`
	SMTPUser     string        `yaml:"smtp_user" help:"SMTP AUTH user, if not user"`
	SMTPPassword check.Secret  `yaml:"smtp_password" help:"SMTP AUTH password, with smtp_user"`
	NoSMTPAuth   bool          `yaml:"no_smtp_auth" help:"send without SMTP AUTH (a relay that trusts the sender's address)"`
	StartTLS     bool          `yaml:"starttls" help:"require STARTTLS on the SMTP and the IMAP/POP3 connection"`
	CAFile       string        `yaml:"ca_file" help:"PEM file of CA certificates to trust"`
	Insecure     bool          `yaml:"insecure_skip_verify" help:"do not verify the servers' certificates"`
	Warning      time.Duration `yaml:"warning" help:"delivery time (sent → found) for WARNING"`
	Critical     time.Duration `yaml:"critical" help:"delivery time for CRITICAL; a mail not found by then (or by the timeout) is CRITICAL"`
}

// Validate reports every problem.
func (s *Spec) Validate() []check.FieldError {
	errs := proto.ValidateTarget(s.SMTPHost, s.SMTPPort)
	for i := range errs {
		errs[i].Field = "smtp_" + errs[i].Field
	}
	switch {
	case s.IMAPHost == "" && s.POP3Host == "":
		errs = append(errs, check.Errf("imap_host", "is required (or pop3_host)"))
	case s.IMAPHost != "" && s.POP3Host != "":
		errs = append(errs, check.Errf("pop3_host", "cannot be combined with imap_host"))
	case s.IMAPHost != "":
		errs = append(errs, prefixed("imap_", proto.ValidateTarget(s.IMAPHost, s.IMAPPort))...)
	default:
		errs = append(errs, prefixed("pop3_", proto.ValidateTarget(s.POP3Host, s.POP3Port))...)
	}
	for _, a := range []struct{ key, v string }{{"from", s.From}, {"to", s.To}} {
		if a.v != "" && (!strings.Contains(a.v, "@") || strings.ContainsAny(a.v, "<> \t\r\n")) {
			errs = append(errs, check.Errf(a.key, "%q is not a mail address (user@domain)", a.v))
		}
	}
	if strings.ContainsAny(s.Mailbox, "\r\n") || s.Mailbox == "" {
		errs = append(errs, check.Errf("mailbox", "must be a mailbox name"))
	}
	if (s.SMTPUser == "") != s.SMTPPassword.IsZero() {
		errs = append(errs, check.Errf("smtp_user", "smtp_user and smtp_password go together"))
	}
	errs = append(errs, proto.ValidateTimes(s.Warning, s.Critical)...)
	if s.CAFile != "" {
		if _, err := proto.LoadCA(s.CAFile); err != nil {
			errs = append(errs, check.Errf("ca_file", "%v", err))
		}
	}
	return errs
}

func prefixed(prefix string, errs []check.FieldError) []check.FieldError {
	for i := range errs {
		errs[i].Field = prefix + errs[i].Field
	}
	return errs
}

// smtpLogin is who SMTP AUTH logs in as ("" for no AUTH).
func (s *Spec) smtpLogin() (user, pass string) {
	switch {
	case s.NoSMTPAuth:
		return "", ""
	case s.SMTPUser != "":
		return s.SMTPUser, s.SMTPPassword.Reveal()
	}
	return s.User, s.Password.Reveal()
}

// New builds the checker.
func (s *Spec) New(check.Env) (check.Checker, error) {
	if errs := s.Validate(); len(errs) > 0 {
		return nil, errs[0]
	}
	opts := proto.TLSOptions{CAFile: s.CAFile, InsecureSkipVerify: s.Insecure}
	c := &checker{spec: *s}
	var err error
	if c.smtpTLS, err = opts.TLSConfig(s.SMTPHost); err != nil {
		return nil, err
	}
	box := s.IMAPHost
	if box == "" {
		box = s.POP3Host
	}
	if c.boxTLS, err = opts.TLSConfig(box); err != nil {
		return nil, err
	}
	return c, nil
}
