package server

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/store/sqlstore"
)

// issue makes a certificate signed by parent (self-signed when parent is
// nil: a CA) and writes it with its key under dir.
func issue(t *testing.T, dir, name string, parent *tls.Certificate, tmpl *x509.Certificate) (tls.Certificate, string, string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl.SerialNumber, tmpl.Subject = big.NewInt(time.Now().UnixNano()), pkix.Name{CommonName: name}
	tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(time.Hour)
	signer, signKey := tmpl, any(key)
	if parent != nil {
		signer, signKey = parent.Leaf, parent.PrivateKey
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signer, &key.PublicKey, signKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	kb, _ := x509.MarshalECPrivateKey(key)
	certPath, keyPath := filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, certPath, keyPath
}

// serveFront serves h as the server does (TLS, client certificates) on a
// loopback port and returns its URL.
func serveFront(t *testing.T, cfg *config.Config, h http.Handler, fwd *forwarder) string {
	t.Helper()
	front, err := newFrontend(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := front.server(fwd.wrap(h), fwd.arrive)
	go front.serve(srv, ln)
	t.Cleanup(func() { srv.Close() })
	return "https://" + ln.Addr().String()
}

// TestForwardClientCertificates: with tls.client_ca_file, an agent's
// certificate is verified by the follower; the leader accepts the forwarded
// request on the follower's signed word, and refuses a client without one.
func TestForwardClientCertificates(t *testing.T) {
	dir := t.TempDir()
	ca, caPath, _ := issue(t, dir, "ca", nil, &x509.Certificate{IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign})
	agents, agentsPath, _ := issue(t, dir, "agents", nil, &x509.Certificate{IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign})
	_, certPath, keyPath := issue(t, dir, "server", &ca, &x509.Certificate{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}})
	agent, _, _ := issue(t, dir, "web01", &agents, &x509.Certificate{ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	cfg := &config.Config{TLS: config.TLS{CertFile: certPath, KeyFile: keyPath, ClientCAFile: agentsPath}}
	secret := []byte("0123456789abcdef0123456789abcdef")
	log := slog.New(slog.DiscardHandler)

	lf, _ := newForwarder("", "", secret, func() bool { return true }, nil, log)
	leader := serveFront(t, cfg, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "leader saw "+r.RemoteAddr)
	}), lf)
	read := func(_ context.Context) (sqlstore.LeaderAddr, bool, error) {
		return sqlstore.LeaderAddr{URL: leader + "/", Server: "leader"}, true, nil
	}
	ff, err := newForwarder("", caPath, secret, func() bool { return false }, read, log)
	if err != nil {
		t.Fatal(err)
	}
	follower := serveFront(t, cfg, http.NotFoundHandler(), ff)

	roots := x509.NewCertPool()
	roots.AddCert(ca.Leaf)
	post := func(base string, certs []tls.Certificate) (int, string) {
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: certs}}
		defer tr.CloseIdleConnections()
		resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Post(base+"/api/v1/agent/batch", "application/json", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := post(follower, []tls.Certificate{agent}); code != 200 || !strings.HasPrefix(body, "leader saw 127.0.0.1:") {
		t.Fatalf("agent with a certificate through the follower: %d %q", code, body)
	}
	if code, body := post(follower, nil); code != 403 {
		t.Errorf("agent without a certificate through the follower: %d %q", code, body)
	}
	if n := testutil.ToFloat64(ff.count.WithLabelValues("forwarded")); n != 1 {
		t.Errorf("forwarded %v requests, want 1 (the one with a certificate)", n)
	}
	if code, body := post(leader, nil); code != 403 {
		t.Errorf("agent without a certificate at the leader: %d %q", code, body)
	}
}
