package httpserve

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"
)

// TLSOptions configure HTTPS. Either CertFile and KeyFile, or ACMEDomains.
type TLSOptions struct {
	CertFile, KeyFile string
	// ClientCAFile, if set, is the CA whose client certificates agents
	// (and other machine clients on ClientCertPaths) must present.
	ClientCAFile string
	ACMEDomains  []string
	ACMECacheDir string
	ACMEEmail    string
	ACMEDirURL   string // default: Let's Encrypt
}

// Enabled reports whether HTTPS is configured.
func (o TLSOptions) Enabled() bool { return o.CertFile != "" || len(o.ACMEDomains) > 0 }

// TLS is the server's TLS state: the certificate in force (reloadable) or
// the ACME manager.
type TLS struct {
	opts   TLSOptions
	cert   atomic.Pointer[tls.Certificate]
	pool   atomic.Pointer[x509.CertPool]
	Config *tls.Config
	// ACME is the certificate manager when ACMEDomains are set.
	ACME *autocert.Manager
}

// NewTLS loads the certificate (and client CA), or sets up ACME.
func NewTLS(o TLSOptions) (*TLS, error) {
	t := &TLS{opts: o}
	if err := t.Reload(); err != nil {
		return nil, err
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if len(o.ACMEDomains) > 0 {
		t.ACME = &autocert.Manager{
			Prompt:     autocert.AcceptTOS,
			HostPolicy: autocert.HostWhitelist(o.ACMEDomains...),
			Cache:      autocert.DirCache(o.ACMECacheDir),
			Email:      o.ACMEEmail,
		}
		if o.ACMEDirURL != "" {
			t.ACME.Client = &acme.Client{DirectoryURL: o.ACMEDirURL}
		}
		cfg.GetCertificate = t.ACME.GetCertificate
		cfg.NextProtos = []string{"h2", "http/1.1", acme.ALPNProto}
	} else {
		cfg.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return t.cert.Load(), nil }
		cfg.NextProtos = []string{"h2", "http/1.1"}
	}
	if o.ClientCAFile != "" {
		// Browsers have no client certificate: ask for one, verify it if
		// given; RequireClientCert then guards the machine routes.
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
		cfg.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
			c := cfg.Clone()
			c.GetConfigForClient = nil
			c.ClientCAs = t.pool.Load()
			return c, nil
		}
	}
	t.Config = cfg
	return t, nil
}

// Reload re-reads the certificate and client CA files (SIGHUP). On error
// the ones in force stay.
func (t *TLS) Reload() error {
	o := t.opts
	if o.CertFile != "" {
		c, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return fmt.Errorf("tls: %w", err)
		}
		t.cert.Store(&c)
	}
	if o.ClientCAFile != "" {
		pool, err := LoadCAFile(o.ClientCAFile)
		if err != nil {
			return err
		}
		t.pool.Store(pool)
	}
	return nil
}

// LoadCAFile reads PEM certificates into a pool.
func LoadCAFile(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("tls: client CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("tls: client CA %s: no PEM certificate in it", path)
	}
	return pool, nil
}

// RequireClientCert answers 403 on paths under any of prefixes unless the
// client presented a certificate the client CA verified (or the request's
// context says another server verified it: WithClientVerified). Without a
// client CA it does nothing.
func (t *TLS) RequireClientCert(h http.Handler, prefixes ...string) http.Handler {
	if t == nil || t.opts.ClientCAFile == "" {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, p := range prefixes {
			if strings.HasPrefix(r.URL.Path, p) && (r.TLS == nil || len(r.TLS.VerifiedChains) == 0) && !clientVerified(r.Context()) {
				w.Header().Set("Content-Type", "application/json; charset=utf-8")
				w.WriteHeader(http.StatusForbidden)
				_, _ = w.Write([]byte(`{"error":"a client certificate signed by the server's client_ca_file is required"}` + "\n"))
				return
			}
		}
		h.ServeHTTP(w, r)
	})
}

type clientVerifiedKey struct{}

// WithClientVerified marks a request whose client certificate another
// server verified (a request it forwarded, whose signature was checked).
func WithClientVerified(ctx context.Context) context.Context {
	return context.WithValue(ctx, clientVerifiedKey{}, true)
}

func clientVerified(ctx context.Context) bool { return ctx.Value(clientVerifiedKey{}) != nil }

// HSTS tells browsers to use HTTPS only (set when TLS is on).
func HSTS(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		h.ServeHTTP(w, r)
	})
}

// ErrNoTLS is returned by Serve helpers when TLS is not configured.
var ErrNoTLS = errors.New("tls is not configured")
