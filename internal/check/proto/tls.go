package proto

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/mamori/mamori/internal/check"
)

// TLSOptions are the TLS fields the smtp, pop3, imap and ftp checks share:
// embedded in a spec, they are its ca_file, insecure_skip_verify,
// server_name, warning_days and critical_days keys.
type TLSOptions struct {
	CAFile             string `yaml:"ca_file" help:"PEM file of CA certificates to trust"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify" help:"do not verify the server certificate"`
	ServerName         string `yaml:"server_name" help:"TLS server name (SNI and verification; default: host)"`
	WarningDays        int    `yaml:"warning_days" help:"WARNING when the TLS certificate expires within this many days (0: not checked)"`
	CriticalDays       int    `yaml:"critical_days" help:"CRITICAL when the TLS certificate expires within this many days (0: not checked)"`
}

// ValidateDays checks warning_days and critical_days.
func (o TLSOptions) ValidateDays() []check.FieldError {
	return ValidateDays(o.WarningDays, o.CriticalDays)
}

// TLSConfig builds a client TLS configuration for host. Verification is
// Go's unless InsecureSkipVerify; Roots is nil (the system pool) without a
// CA file. The session cache lets FTP data connections resume the control
// session.
func (o TLSOptions) TLSConfig(host string) (*tls.Config, error) {
	cfg := &tls.Config{
		ServerName:         o.ServerName,
		InsecureSkipVerify: o.InsecureSkipVerify,
		ClientSessionCache: tls.NewLRUClientSessionCache(4),
	}
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	if o.CAFile != "" {
		pool, err := LoadCA(o.CAFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// ClientTLS is TLSConfig(host) when on (tls or starttls is set), else nil.
func (o TLSOptions) ClientTLS(on bool, host string) (*tls.Config, error) {
	if !on {
		return nil, nil
	}
	return o.TLSConfig(host)
}

// GradeDays grades the leaf certificate of st by days left into r (finding
// and days_left metric) when warning_days or critical_days is set.
func (o TLSOptions) GradeDays(r *Report, st *tls.ConnectionState) {
	if s, text, m, ok := CertDays(st, time.Now(), o.WarningDays, o.CriticalDays); ok {
		r.Grade(s, text)
		r.Perf = append(r.Perf, m)
	}
}

// LoadCA reads a PEM bundle into a pool.
func LoadCA(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("ca_file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("ca_file %s: no PEM certificate in it", path)
	}
	return pool, nil
}

// VerifyChain verifies a handshake's peer chain against roots (nil: the
// system's) and name, at now, as crypto/tls would. It is for checks that
// handshake with InsecureSkipVerify to inspect a certificate that may be bad.
func VerifyChain(st *tls.ConnectionState, roots *x509.CertPool, name string, now time.Time) error {
	if len(st.PeerCertificates) == 0 {
		return fmt.Errorf("server sent no certificate")
	}
	inter := x509.NewCertPool()
	for _, c := range st.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	host := name
	if h, _, err := net.SplitHostPort(name); err == nil {
		host = h
	}
	_, err := st.PeerCertificates[0].Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		DNSName:       host,
		CurrentTime:   now,
	})
	return err
}

// CertDays grades the leaf certificate of a TLS connection by days left
// when warnDays or critDays is set. ok is false when there is nothing to
// grade. The metric is days_left with the day limits as thresholds.
func CertDays(st *tls.ConnectionState, now time.Time, warnDays, critDays int) (s check.Status, text string, m check.Metric, ok bool) {
	if st == nil || len(st.PeerCertificates) == 0 || (warnDays <= 0 && critDays <= 0) {
		return check.OK, "", check.Metric{}, false
	}
	s, text, m = GradeCert(st.PeerCertificates[0], now, warnDays, critDays)
	return s, text, m, true
}

// GradeCert is check.CertExpiry plus the days_left metric.
func GradeCert(c *x509.Certificate, now time.Time, warnDays, critDays int) (check.Status, string, check.Metric) {
	s, text, days := check.CertExpiry(c, now, warnDays, critDays)
	m := check.M("days_left", float64(int(days*100))/100, "")
	if warnDays > 0 {
		m.Warn = float64(warnDays)
	}
	if critDays > 0 {
		m.Crit = float64(critDays)
	}
	return s, text, m
}
