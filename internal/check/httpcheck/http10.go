package httpcheck

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// http10Transport sends each request as HTTP/1.0 on a fresh connection
// ("GET / HTTP/1.0", the request the seed's HTTP rules name) and reads the
// answer with net/http's parser. Go's own Transport speaks only HTTP/1.1
// and 2. Redirects, the body, TLS and its certificate checks work as with
// the default transport.
type http10Transport struct {
	tls *tls.Config
}

// RoundTrip implements http.RoundTripper.
func (t *http10Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	addr := req.URL.Host
	if req.URL.Port() == "" {
		port := "80"
		if req.URL.Scheme == "https" {
			port = "443"
		}
		addr = net.JoinHostPort(req.URL.Hostname(), port)
	}
	conn, err := t.dial(ctx, req.URL.Scheme == "https", req.URL.Hostname(), addr)
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Unix(1, 0)) })
	resp, err := t.exchange(conn, req)
	if err != nil {
		stop()
		conn.Close()
		return nil, err
	}
	if tc, ok := conn.(*tls.Conn); ok {
		st := tc.ConnectionState()
		resp.TLS = &st
	}
	resp.Body = &connBody{ReadCloser: resp.Body, conn: conn, stop: stop}
	return resp, nil
}

func (t *http10Transport) dial(ctx context.Context, secure bool, host, addr string) (net.Conn, error) {
	nd := &net.Dialer{KeepAlive: -1}
	if !secure {
		return nd.DialContext(ctx, "tcp", addr)
	}
	cfg := t.tls.Clone()
	if cfg.ServerName == "" {
		cfg.ServerName = host
	}
	return (&tls.Dialer{NetDialer: nd, Config: cfg}).DialContext(ctx, "tcp", addr)
}

func (t *http10Transport) exchange(conn net.Conn, req *http.Request) (*http.Response, error) {
	var b bytes.Buffer
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	fmt.Fprintf(&b, "%s %s HTTP/1.0\r\nHost: %s\r\n", req.Method, req.URL.RequestURI(), host)
	if req.ContentLength > 0 {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", req.ContentLength)
	}
	if err := req.Header.Write(&b); err != nil {
		return nil, err
	}
	b.WriteString("\r\n")
	if req.Body != nil {
		if _, err := io.Copy(&b, req.Body); err != nil {
			return nil, err
		}
	}
	if _, err := conn.Write(b.Bytes()); err != nil {
		return nil, &net.OpError{Op: "write", Net: "tcp", Err: err}
	}
	return http.ReadResponse(bufio.NewReader(conn), req)
}

// connBody closes the connection with the body (HTTP/1.0: one request per
// connection).
type connBody struct {
	io.ReadCloser
	conn net.Conn
	stop func() bool
}

func (b *connBody) Close() error {
	b.stop()
	b.ReadCloser.Close()
	return b.conn.Close()
}
