package server

import (
	"log/slog"
	"net"
	"net/http"

	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/httpserve"
)

// frontend is the server's listener side: limits and TLS.
type frontend struct {
	limits httpserve.Limits
	tls    *httpserve.TLS // nil without TLS
}

func newFrontend(cfg *config.Config) (*frontend, error) {
	f := &frontend{limits: httpserve.DefaultLimits(cfg.HTTP.MaxConnections)}
	if cfg.HTTP.BodyTimeout > 0 {
		f.limits.BodyTimeout = cfg.HTTP.BodyTimeout
	}
	if t := cfg.TLS; t.Enabled() {
		st, err := httpserve.NewTLS(httpserve.TLSOptions{CertFile: t.CertFile, KeyFile: t.KeyFile, ClientCAFile: t.ClientCAFile,
			ACMEDomains: t.ACMEDomains, ACMECacheDir: t.ACMECacheDir, ACMEEmail: t.ACMEEmail, ACMEDirURL: t.ACMEDirURL})
		if err != nil {
			return nil, err
		}
		f.tls = st
	}
	return f, nil
}

// agentPaths need a client certificate when tls.client_ca_file is set.
var agentPaths = []string{"/api/v1/agent/"}

// server serves h; peer wraps it outside the client-certificate check (a
// request forwarded by another server of the database).
func (f *frontend) server(h http.Handler, peer func(http.Handler) http.Handler) *http.Server {
	h = peer(f.tls.RequireClientCert(h, agentPaths...))
	if f.tls != nil {
		h = httpserve.HSTS(h)
	}
	srv := f.limits.Server(h)
	if f.tls != nil {
		srv.TLSConfig = f.tls.Config
	}
	return srv
}

func (f *frontend) serve(srv *http.Server, ln net.Listener) error {
	if f.tls != nil {
		return srv.ServeTLS(ln, "", "")
	}
	return srv.Serve(ln)
}

func (f *frontend) scheme() string {
	if f.tls != nil {
		return "https"
	}
	return "http"
}

// reloadTLS re-reads the certificate files (SIGHUP).
func (f *frontend) reloadTLS(log *slog.Logger) {
	if f.tls == nil {
		return
	}
	if err := f.tls.Reload(); err != nil {
		log.Error("TLS files refused; the certificate in force stays", "err", err)
		return
	}
	log.Info("TLS certificate re-read")
}
