package poller

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"flag"
	"io"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check/checktest"
)

// writePair writes a certificate and its key as PEM files.
func writePair(t *testing.T, dir, name string, c tls.Certificate) (certFile, keyFile string) {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(c.PrivateKey.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600)
	return certFile, keyFile
}

// clientCert issues an agent's client certificate from ca.
func clientCert(t *testing.T, ca *checktest.CA) tls.Certificate {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "a-web01"}, NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// TestAgentClientCA: with --agent-client-ca an agent without a client
// certificate of that CA is refused at the handshake; one with it is
// relayed. The flags are checked together.
func TestAgentClientCA(t *testing.T) {
	dir := t.TempDir()
	ca := checktest.NewCA(t)
	cert, key := writePair(t, dir, "poller", ca.ValidFor(t, time.Hour))
	caFile := filepath.Join(dir, "ca.pem")
	os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw}), 0o600)
	parse := func(args ...string) agentFlags {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		f := newAgentFlags(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return f
	}
	if p := parse("--agent-listen", "127.0.0.1:0", "--agent-client-ca", caFile).problems(); len(p) != 1 || !strings.Contains(p[0], "needs --agent-tls-cert") {
		t.Fatalf("client CA without TLS: %v", p)
	}
	ln, tc, err := parse("--agent-listen", "127.0.0.1:0", "--agent-tls-cert", cert, "--agent-tls-key", key, "--agent-client-ca", caFile).listen()
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	e := newRelayEnv(t, 1<<20, tc)
	e.client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool, Certificates: []tls.Certificate{clientCert(t, ca)}}}
	e.waitRelayed(t)
	anon := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool}}}
	if resp, err := anon.Post(e.base+"/api/v1/agent/hello", "application/json", strings.NewReader("{}")); err == nil {
		resp.Body.Close()
		t.Fatalf("an agent without a client certificate was answered %d", resp.StatusCode)
	}
}
