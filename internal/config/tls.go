package config

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"time"

	"github.com/mamori/mamori/internal/check"
)

// TLS serves HTTPS: a certificate and key (re-read on SIGHUP), or ACME for
// public names. With client_ca_file, agents must present a client
// certificate signed by it.
type TLS struct {
	CertFile     string   `yaml:"cert_file" help:"PEM certificate (chain) of the server; re-read on SIGHUP"`
	KeyFile      string   `yaml:"key_file" help:"PEM private key of cert_file"`
	ClientCAFile string   `yaml:"client_ca_file" help:"PEM CA: agents must present a client certificate it signed (browsers need none)"`
	ACMEDomains  []string `yaml:"acme_domains" help:"public names to get certificates for with ACME (instead of cert_file); the server must be reachable on port 443 under them"`
	ACMECacheDir string   `yaml:"acme_cache_dir" help:"where ACME keys and certificates are kept (default DATA_DIR/acme)"`
	ACMEEmail    string   `yaml:"acme_email" help:"contact address given to the ACME CA"`
	ACMEDirURL   string   `yaml:"acme_directory_url" help:"ACME directory (default: Let's Encrypt)"`
}

// Enabled reports whether HTTPS is configured.
func (t TLS) Enabled() bool { return t.CertFile != "" || len(t.ACMEDomains) > 0 }

// HTTP bounds the HTTP listener.
type HTTP struct {
	MaxConnections int           `yaml:"max_connections" help:"open connections at most (default 2048); more wait until one closes"`
	BodyTimeout    time.Duration `yaml:"body_timeout" help:"time to send a request body (default 30s)"`
	MetricsToken   check.Secret  `yaml:"metrics_token" help:"bearer token /metrics then requires (${ENV} or file:); without it /metrics is open but leaves out series naming hosts, checks or tenants"`
}

// resolveTLS makes paths relative to the config file and checks that the
// files load, so that a bad certificate stops validation, not the start.
func (l *loader) resolveTLS() {
	c := l.cfg
	t := &c.TLS
	base := filepath.Dir(c.File)
	for _, p := range []*string{&t.CertFile, &t.KeyFile, &t.ClientCAFile, &t.ACMECacheDir} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(base, *p)
		}
	}
	at := l.top["tls"]
	switch {
	case (t.CertFile == "") != (t.KeyFile == ""):
		l.errAt(c.File, at, "tls", "cert_file and key_file go together")
	case t.CertFile != "" && len(t.ACMEDomains) > 0:
		l.errAt(c.File, at, "tls", "either cert_file and key_file, or acme_domains, not both")
	case t.CertFile != "":
		if _, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile); err != nil {
			l.errAt(c.File, at, "tls.cert_file", "%v", err)
		}
	}
	if t.ClientCAFile != "" {
		if !t.Enabled() {
			l.errAt(c.File, at, "tls.client_ca_file", "needs cert_file or acme_domains (client certificates need TLS)")
		}
		b, err := os.ReadFile(t.ClientCAFile)
		if err != nil {
			l.errAt(c.File, at, "tls.client_ca_file", "%v", err)
		} else if !x509.NewCertPool().AppendCertsFromPEM(b) {
			l.errAt(c.File, at, "tls.client_ca_file", "no PEM certificate in %s", t.ClientCAFile)
		}
	}
	for i, d := range t.ACMEDomains {
		if d == "" || d == "localhost" || filepathHasSep(d) {
			l.errAt(c.File, at, "tls.acme_domains", "entry %d (%q) is not a public DNS name", i, d)
		}
	}
	if len(t.ACMEDomains) > 0 && t.ACMECacheDir == "" {
		t.ACMECacheDir = filepath.Join(c.DataDir, "acme")
	}
	if n := c.HTTP.MaxConnections; n < 0 || n > 1_000_000 {
		l.errAt(c.File, l.top["http"], "http.max_connections", "must be from 1 to 1000000 (0 or unset: 2048)")
	}
	if v := c.HTTP.MetricsToken.Reveal(); v != "" {
		l.tokenStrength(c.File, l.top["http"], "http.metrics_token", v)
	}
	if d := c.HTTP.BodyTimeout; d != 0 && (d < time.Second || d > time.Hour) {
		l.errAt(c.File, l.top["http"], "http.body_timeout", "must be from 1s to 1h")
	}
}

func filepathHasSep(s string) bool {
	for _, r := range s {
		if r == '/' || r == '\\' || r == ':' || r == ' ' {
			return true
		}
	}
	return false
}
