package httpcheck

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"sync"
)

// Checks share their transport: one per connection mode, HTTP version and
// TLS configuration, not one per check, so keep-alive runs of checks that
// request the same server reuse each other's idle connections, and a check
// costs no transport of its own. The transport is ours (http1.go), not
// http.Transport: it speaks HTTP/1.x on the caller's goroutine, where
// http.Transport moves every request and response between three
// goroutines (about half of a check's CPU), and keeps with an idle
// connection only its socket and buffers, where http.Transport keeps two
// goroutines and a timer. Timeouts stay per run: the run's context bounds
// dial, TLS handshake, request and response.
//
// With keepalive: false every run opens a fresh connection and closes it,
// as check_http does. With keepalive: true, runs reuse an idle connection
// to the same address, whichever check left it.

// transportKey is what makes two checks' transports differ.
type transportKey struct {
	keepalive  bool
	http10     bool
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
	m map[transportKey]*h1Transport
}{m: map[transportKey]*h1Transport{}}

// sharedTransport returns the transport for the spec's connection mode and
// TLS settings, creating it on first use.
func sharedTransport(s *Spec) (*h1Transport, error) {
	k := transportKey{keepalive: s.Keepalive, serverName: s.ServerName, insecure: s.InsecureSkipVerify, caFile: s.CAFile}
	if s.HTTPVersion == "1.0" {
		k.http10, k.keepalive = true, false // one request per connection
	}
	var pool *x509.CertPool
	if s.CAFile != "" {
		pem, err := os.ReadFile(s.CAFile)
		if err != nil {
			return nil, err
		}
		k.caSum = sha256.Sum256(pem)
		if pool = x509.NewCertPool(); !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s holds no PEM certificate", s.CAFile)
		}
	}
	transports.Lock()
	defer transports.Unlock()
	if t, ok := transports.m[k]; ok {
		return t, nil
	}
	t := &h1Transport{
		tls: &tls.Config{
			ServerName:         s.ServerName,
			InsecureSkipVerify: s.InsecureSkipVerify, //nolint:gosec // an explicit user choice; expiry is still graded
			RootCAs:            pool,
		},
		keepalive: k.keepalive,
		http10:    k.http10,
	}
	transports.m[k] = t
	return t, nil
}
