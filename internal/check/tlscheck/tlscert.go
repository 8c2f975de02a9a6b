// Package tlscheck is the "tls_cert" check type: handshake (after a
// protocol's STARTTLS if asked), verify the chain and the name, and grade
// the certificate's days left.
package tlscheck

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/proto"
)

func init() {
	check.Register(&check.Kind{
		Name:    "tls_cert",
		Label:   "TLS_CERT",
		Summary: "TLS certificate of any port (optionally after STARTTLS): validity, chain, name and days left",
		Scope:   check.ScopeServer,
		Timeout: 10 * time.Second,
		New: func() check.Spec {
			return &Spec{Port: 443, WarningDays: 30, CriticalDays: 7}
		},
	})
}

// Spec is the tls_cert check's configuration.
type Spec struct {
	proto.Target
	Port int `yaml:"port" help:"TLS port"`
	proto.Timing
	StartTLS           string `yaml:"starttls" help:"negotiate TLS inside a plain-text protocol first: smtp, imap, pop3 or ftp"`
	ServerName         string `yaml:"server_name" help:"name for SNI and verification (default: host)"`
	WarningDays        int    `yaml:"warning_days" help:"WARNING when the certificate expires within this many days"`
	CriticalDays       int    `yaml:"critical_days" help:"CRITICAL when the certificate expires within this many days"`
	CAFile             string `yaml:"ca_file" help:"PEM file of CA certificates to trust (default: the system's)"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify" help:"do not verify the chain and the name (expiry is still graded)"`
}

// Validate reports every problem.
func (s *Spec) Validate() []check.FieldError {
	errs := proto.Errors(proto.ValidateTarget(s.Host, s.Port), s.ValidateTimes(), proto.ValidateDays(s.WarningDays, s.CriticalDays))
	if s.StartTLS != "" && !slices.Contains(proto.StartTLSProtocols, strings.ToLower(s.StartTLS)) {
		errs = append(errs, check.Errf("starttls", "%q is not one of %s", s.StartTLS, strings.Join(proto.StartTLSProtocols, ", ")))
	}
	return errs
}

// New builds the checker.
func (s *Spec) New(env check.Env) (check.Checker, error) {
	if errs := s.Validate(); len(errs) > 0 {
		return nil, errs[0]
	}
	c := &checker{spec: *s, name: s.ServerName}
	if c.name == "" {
		c.name = s.Host
	}
	if s.CAFile != "" {
		pool, err := proto.LoadCA(s.CAFile)
		if err != nil {
			return nil, err
		}
		c.roots = pool
	}
	return c, nil
}

type checker struct {
	spec  Spec
	name  string
	roots *x509.CertPool
}

func (c *checker) Check(ctx context.Context) check.Result {
	start := time.Now()
	where := fmt.Sprintf("%s port %d", c.spec.Host, c.spec.Port)
	status, text, perf, err := c.run(ctx, where)
	d := time.Since(start)
	perf = append([]check.Metric{check.Seconds("time", d, c.spec.Warning, c.spec.Critical)}, perf...)
	if err != nil {
		s, msg := proto.Verdict(ctx, err)
		return check.Result{Status: s, Output: check.OneLine(msg), Perf: perf}
	}
	status = check.Worst(status, check.ByDuration(d, c.spec.Warning, c.spec.Critical))
	return check.Result{Status: status, Output: check.OneLine(text), Perf: perf}
}

func (c *checker) run(ctx context.Context, where string) (check.Status, string, []check.Metric, error) {
	conn, err := proto.Connect(ctx, c.spec.Host, c.spec.Port)
	if err != nil {
		return 0, "", nil, err
	}
	defer conn.Close()
	via := ""
	if p := strings.ToLower(c.spec.StartTLS); p != "" {
		if err := proto.PrepareStartTLS(conn, p, "mamori"); err != nil {
			return 0, "", nil, proto.Step(ctx, fmt.Sprintf("STARTTLS (%s) on %s", p, where), err)
		}
		via = " via " + p + " STARTTLS"
	}
	cfg := &tls.Config{
		ServerName:         c.name,
		InsecureSkipVerify: true, // verified below, so that a bad certificate can still be described
		MinVersion:         tls.VersionTLS10,
	}
	st, err := conn.UpgradeTLS(cfg)
	if err != nil {
		return 0, "", nil, proto.Step(ctx, "TLS handshake with "+where, err)
	}
	if len(st.PeerCertificates) == 0 {
		return 0, "", nil, proto.Fail(check.Critical, "%s sent no certificate", where)
	}
	now := time.Now()
	leaf := st.PeerCertificates[0]
	status, text, m := proto.GradeCert(leaf, now, c.spec.WarningDays, c.spec.CriticalDays)
	text = fmt.Sprintf("%s, issuer '%s', %s%s (%s)", text, issuerName(leaf), where, via, tls.VersionName(st.Version))
	if !c.spec.InsecureSkipVerify {
		if err := proto.VerifyChain(st, c.roots, c.name, now); err != nil && !onlyExpired(err, leaf, now) {
			status = check.Critical
			text = "invalid certificate: " + proto.Describe(ctx, err) + "; " + text
		}
	}
	return status, text, []check.Metric{m}, nil
}

// onlyExpired reports whether err is the leaf's own expiry (or not-yet-
// validity), which the expiry grade already says.
func onlyExpired(err error, leaf *x509.Certificate, now time.Time) bool {
	var inv x509.CertificateInvalidError
	return errors.As(err, &inv) && inv.Reason == x509.Expired && inv.Cert == leaf &&
		(now.After(leaf.NotAfter) || now.Before(leaf.NotBefore))
}

func issuerName(c *x509.Certificate) string {
	if c.Issuer.CommonName != "" {
		return c.Issuer.CommonName
	}
	if len(c.Issuer.Organization) > 0 {
		return c.Issuer.Organization[0]
	}
	return c.Issuer.String()
}
