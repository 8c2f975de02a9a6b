package httpcheck

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// Checks share their http.Transport: one per connection mode and TLS
// configuration, not one per check. A transport per check cost ~2 KB of
// heap per check, and with keep-alive an idle connection (two goroutines,
// their buffers and an idle timer) per check even when thousands of checks
// request the same server (docs/performance.md). Timeouts stay per run: the
// run's context bounds dial, TLS handshake and response.
//
// With keepalive: false the shared transport never keeps a connection, so
// every run still opens a fresh one, as check_http does. With keepalive:
// true, runs reuse an idle connection to the same host, whichever check
// left it.

// transportKey is what makes two checks' transports differ.
type transportKey struct {
	keepalive  bool
	serverName string
	insecure   bool
	caFile     string
	caSum      [sha256.Size]byte // the CA file's content: a changed file gets a new transport
}

// idlePerHost bounds the idle keep-alive connections kept per host: runs
// of the checks that share a host rarely overlap, so a few suffice.
const idlePerHost = 16

var transports = struct {
	sync.Mutex
	m map[transportKey]*http.Transport
}{m: map[transportKey]*http.Transport{}}

// sharedTransport returns the transport for the spec's connection mode and
// TLS settings, creating it on first use.
func sharedTransport(s *Spec) (*http.Transport, *tls.Config, error) {
	k := transportKey{keepalive: s.Keepalive, serverName: s.ServerName, insecure: s.InsecureSkipVerify, caFile: s.CAFile}
	var pool *x509.CertPool
	if s.CAFile != "" {
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			return nil, nil, err
		}
		k.caSum = sha256.Sum256(pem)
		if pool = x509.NewCertPool(); !pool.AppendCertsFromPEM(pem) {
			return nil, nil, fmt.Errorf("%s holds no PEM certificate", s.CAFile)
		}
	}
	transports.Lock()
	defer transports.Unlock()
	if t, ok := transports.m[k]; ok {
		return t, t.TLSClientConfig, nil
	}
	tlsConf := &tls.Config{
		ServerName:         s.ServerName,
		InsecureSkipVerify: s.InsecureSkipVerify, //nolint:gosec // an explicit user choice; expiry is still graded
		RootCAs:            pool,
	}
	t := &http.Transport{
		DialContext:         (&net.Dialer{KeepAlive: -1}).DialContext,
		TLSClientConfig:     tlsConf,
		TLSHandshakeTimeout: 0, // the run's context bounds it
		DisableKeepAlives:   !s.Keepalive,
		DisableCompression:  true, // measure and match what the server sends
		MaxIdleConns:        0,    // no global cap; per host below
		MaxIdleConnsPerHost: idlePerHost,
		IdleConnTimeout:     5 * time.Minute,
		// A fresh transport would negotiate HTTP/2 only with ForceAttemptHTTP2;
		// like check_http we speak HTTP/1.1.
	}
	transports.m[k] = t
	return t, tlsConf, nil
}
