package agent

import (
	"context"
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/checktest"
	"github.com/mamori/mamori/internal/wire"
)

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TLS: the server is verified with ca_file, and the client certificate is
// presented for mutual TLS.
func TestClientTLSAndClientCert(t *testing.T) {
	ca := checktest.NewCA(t)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
			http.Error(w, "client certificate required", http.StatusForbidden)
			return
		}
		json.NewEncoder(w).Encode(wire.AgentConfig{Host: "web01", ConfigVersion: "x"})
	}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.ValidFor(t, time.Hour)}, ClientAuth: tls.RequestClientCert}
	srv.StartTLS()
	defer srv.Close()

	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	writePEM(t, caFile, "CERTIFICATE", ca.Cert.Raw)
	leaf := ca.ValidFor(t, time.Hour)
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	writePEM(t, certFile, "CERTIFICATE", leaf.Certificate[0])
	kd, err := x509.MarshalECPrivateKey(leaf.PrivateKey.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, keyFile, "EC PRIVATE KEY", kd)

	hello := wire.Hello{Version: wire.Version, Hostname: "web01"}
	tests := []struct {
		name string
		cfg  Config
		err  string
	}{
		{"ca and client cert", Config{CAFile: caFile, ClientCert: certFile, ClientKey: keyFile}, ""},
		{"no client cert", Config{CAFile: caFile}, "HTTP 403"},
		{"unknown CA", Config{}, "certificate"},
		{"insecure skip verify", Config{InsecureSkipVerify: true, ClientCert: certFile, ClientKey: keyFile}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Server, tt.cfg.Token = srv.URL, check.NewSecret("x")
			c, err := NewClient(tt.cfg, "test")
			if err != nil {
				t.Fatal(err)
			}
			ac, err := c.Hello(context.Background(), hello)
			if tt.err == "" && (err != nil || ac.Host != "web01") {
				t.Fatalf("%v %+v", err, ac)
			}
			if tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("want %q, got %v", tt.err, err)
			}
		})
	}
	if _, err := NewClient(Config{Server: srv.URL, CAFile: filepath.Join(dir, "nope.pem")}, ""); err == nil {
		t.Fatal("missing ca_file accepted")
	}
	if _, err := NewClient(Config{Server: srv.URL, ClientCert: certFile, ClientKey: caFile}, ""); err == nil {
		t.Fatal("bad key accepted")
	}
}

func TestHTTPErrorPermanence(t *testing.T) {
	for code, perm := range map[int]bool{400: true, 413: true, 422: true, 401: false, 403: false, 426: false, 429: false, 500: false, 503: false} {
		e := &HTTPError{Route: "batch", Status: code}
		if e.Permanent() != perm {
			t.Errorf("%d: permanent=%v", code, e.Permanent())
		}
	}
	var he *HTTPError
	if !errors.As(error(&HTTPError{Status: 426}), &he) || !strings.Contains(he.Error(), "protocol version 1") {
		t.Fatal(he)
	}
}
