// Package checktest is the test kit shared by check packages: certificates
// with a chosen validity, and access to the real daemons of the integration
// environment (scripts/itest-daemons.sh).
package checktest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"os"
	"testing"
	"time"
)

// CA is a throwaway certificate authority.
type CA struct {
	Cert *x509.Certificate
	Key  *ecdsa.PrivateKey
	Pool *x509.CertPool
}

// NewCA makes a CA valid for a year.
func NewCA(t testing.TB) *CA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "mamori test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(365 * 24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &CA{Cert: cert, Key: key, Pool: pool}
}

// Leaf issues a server certificate for 127.0.0.1, ::1 and localhost (plus
// any extra names) valid from notBefore to notAfter.
func (ca *CA) Leaf(t testing.TB, notBefore, notAfter time.Time, names ...string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     append([]string{"localhost"}, names...),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// ValidFor issues a certificate valid from an hour ago for d.
func (ca *CA) ValidFor(t testing.TB, d time.Duration) tls.Certificate {
	return ca.Leaf(t, time.Now().Add(-time.Hour), time.Now().Add(d))
}

// Expired issues a certificate that expired a day ago.
func (ca *CA) Expired(t testing.TB) tls.Certificate {
	return ca.Leaf(t, time.Now().Add(-30*24*time.Hour), time.Now().Add(-24*time.Hour))
}

// Integration reports whether the integration environment is required
// (MAMORI_INTEGRATION=1, set by CI): then a missing daemon fails the test
// instead of skipping it.
func Integration() bool { return os.Getenv("MAMORI_INTEGRATION") == "1" }

// Daemon returns "127.0.0.1:PORT" for a daemon of the integration
// environment, PORT taken from the environment variable envVar or def. If
// nothing listens there, the test is skipped — or failed when Integration().
func Daemon(t testing.TB, name, envVar, def string) string {
	t.Helper()
	port := os.Getenv(envVar)
	if port == "" {
		port = def
	}
	addr := net.JoinHostPort("127.0.0.1", port)
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		if Integration() {
			t.Fatalf("integration daemon %s is not reachable at %s (%v): run scripts/itest-daemons.sh start", name, addr, err)
		}
		t.Skipf("integration daemon %s not running at %s (set MAMORI_INTEGRATION=1 to require it)", name, addr)
	}
	c.Close()
	return addr
}

// Env returns an environment variable or a default.
func Env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
