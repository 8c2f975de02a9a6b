package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testCA issues certificates for the TLS tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key, pem: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue writes a leaf certificate and key to dir/name.{crt,key}; server
// certificates name 127.0.0.1.
func (ca *testCA) issue(t *testing.T, dir, name string, serial int64, server bool) (certPath, keyPath string) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
		tmpl.DNSNames = []string{"localhost"}
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	certPath, keyPath = filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certPath, keyPath
}

// TestTLSAndClientCertificates: the server speaks HTTPS (curl --cacert
// works, HSTS is sent), an agent with a client certificate signed by
// client_ca_file is accepted, one without (or with a foreign one) is
// refused, and SIGHUP re-reads the certificate.
func TestTLSAndClientCertificates(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server and agent processes")
	}
	dir := t.TempDir()
	ca, clientCA, rogueCA := newTestCA(t, "mamori test CA"), newTestCA(t, "mamori agents CA"), newTestCA(t, "rogue CA")
	caPath, clientCAPath := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "clients.pem")
	os.WriteFile(caPath, ca.pem, 0o644)
	os.WriteFile(clientCAPath, clientCA.pem, 0o644)
	srvCert, srvKey := ca.issue(t, dir, "server", 100, true)
	goodCert, goodKey := clientCA.issue(t, dir, "web01", 200, false)
	rogueCert, rogueKey := rogueCA.issue(t, dir, "web02", 300, false)

	port := freePort(t)
	cfgPath := filepath.Join(dir, "mamori.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`listen: 127.0.0.1:%d
data_dir: %s
tls: {cert_file: %s, key_file: %s, client_ca_file: %s}
hosts:
  - {name: web01, address: 127.0.0.1, agent_token: web01-agent-token-0123}
  - {name: web02, address: 127.0.0.1, agent_token: web02-agent-token-0123, checks: [{name: agent, type: heartbeat, ttl: 1s}]}
  - {name: web03, address: 127.0.0.1, agent_token: web03-agent-token-0123, checks: [{name: agent, type: heartbeat, ttl: 1s}]}
`, port, filepath.Join(dir, "data"), srvCert, srvKey, clientCAPath)), 0o644)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca.pem)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	base := fmt.Sprintf("https://127.0.0.1:%d", port)
	s := startServerAt(t, cfgPath, base, client)

	// curl with the CA: HTTPS works, HSTS is sent; plain HTTP does not.
	out, err := exec.Command("curl", "-sS", "-i", "--max-time", "10", "--cacert", caPath, base+"/healthz").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "200") || !strings.Contains(strings.ToLower(string(out)), "strict-transport-security: max-age=") {
		t.Fatalf("curl --cacert: %v\n%s", err, out)
	}
	t.Logf("curl --cacert %s/healthz:\n%s", base, firstLines(string(out), 1))
	if out, err := exec.Command("curl", "-sS", "--max-time", "10", base+"/healthz").CombinedOutput(); err == nil {
		t.Fatalf("curl without the CA trusted the server:\n%s", out)
	}

	agentCfg := func(name, cert, key string) string {
		p := filepath.Join(dir, name+"-agent.yaml")
		c := fmt.Sprintf("state_dir: %s\nhostname: %s\nca_file: %s\n", filepath.Join(dir, name+"-state"), name, caPath)
		if cert != "" {
			c += fmt.Sprintf("client_cert: %s\nclient_key: %s\n", cert, key)
		}
		os.WriteFile(p, []byte(c), 0o644)
		return p
	}
	startAgent(t, base, "web01-agent-token-0123", agentCfg("web01", goodCert, goodKey))
	web02 := startAgent(t, base, "web02-agent-token-0123", agentCfg("web02", rogueCert, rogueKey))
	web03 := startAgent(t, base, "web03-agent-token-0123", agentCfg("web03", "", ""))

	time.Sleep(2 * time.Second)
	for _, h := range []string{"web01", "web02", "web03"} {
		req, _ := http.NewRequest("POST", base+"/api/v1/run/"+h+"/agent", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		if resp, err := client.Do(req); err != nil || resp.StatusCode != http.StatusAccepted {
			t.Fatalf("run %s/agent: %v %v", h, resp, err)
		}
	}
	s.waitFor("web01/agent", 30*time.Second, "OK with a client certificate", func(c apiCheck) bool { return c.State == "OK" && c.LastCheck != "" })
	for _, h := range []string{"web02", "web03"} {
		c := s.waitFor(h+"/agent", 30*time.Second, "a run", func(c apiCheck) bool { return c.LastCheck != "" })
		if c.State == "OK" || !strings.Contains(c.Output, "never connected") {
			t.Errorf("%s reached the server without a valid client certificate: %+v", h, c)
		}
	}
	for _, a := range []*agentProc{web02, web03} {
		b, _ := os.ReadFile(a.out.Name())
		if !strings.Contains(string(b), "403") && !strings.Contains(string(b), "certificate") {
			t.Errorf("the refused agent does not say why:\n%s", b)
		}
	}
	// The same request with the host's token, without a certificate: 403.
	req, _ := http.NewRequest("POST", base+"/api/v1/agent/hello", strings.NewReader(`{"version":1}`))
	req.Header.Set("Authorization", "Bearer web03-agent-token-0123")
	if resp, err := client.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("hello without a client certificate: %v %v", resp, err)
	}

	// SIGHUP re-reads the certificate files.
	newCert, newKey := ca.issue(t, dir, "server2", 101, true)
	for _, f := range [][2]string{{newCert, srvCert}, {newKey, srvKey}} {
		b, _ := os.ReadFile(f[0])
		os.WriteFile(f[1], b, 0o600)
	}
	s.cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(15 * time.Second)
	for {
		conn, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port), &tls.Config{RootCAs: pool})
		if err == nil {
			serial := conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
			conn.Close()
			if serial == 101 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("SIGHUP did not re-read the certificate")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	return strings.Join(lines[:min(n, len(lines))], "\n")
}
