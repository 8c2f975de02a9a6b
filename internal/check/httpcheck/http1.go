package httpcheck

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// h1Transport is an HTTP/1.x http.RoundTripper that dials, writes the
// request and reads the response on the caller's goroutine. Go's
// http.Transport hands every request between three goroutines (the
// caller's, a connection's writer and its reader) over channels; for a
// check that sends one small request and reads a small answer those
// hand-overs and scheduler wake-ups were about half of its CPU.
//
// The request is serialized by (*http.Request).Write and the answer parsed
// by http.ReadResponse. With keepalive, a connection whose response body
// was read to the end goes back to an idle pool (idlePerHost per scheme,
// address and TLS server name; closed after idleTimeout); any other
// connection is closed with its body. No goroutine watches an idle
// connection: before reuse one non-blocking read tells whether the server
// closed it, and a request that still fails on a reused connection before
// any answer arrived is sent once more on a fresh one when it may be
// (idempotent, or no body). Without keepalive every request sends
// "Connection: close" on a connection of its own. Version 1.0 sends
// "HTTP/1.0" request lines and never keeps a connection.
type h1Transport struct {
	tls       *tls.Config // shared, never modified; cloned per dial when it names no server
	keepalive bool
	http10    bool

	mu    sync.Mutex
	idle  map[connKey][]*h1Conn // oldest first
	sweep *time.Timer           // closes expired idle connections while any are kept
}

// idleTimeout is how long a connection may sit in the idle pool.
const idleTimeout = 5 * time.Minute

// connKey is what an idle connection can be reused for: the same scheme
// and address, and over TLS the same server name (SNI and verification).
type connKey struct {
	https bool
	addr  string // host:port as dialed
	sni   string // TLS server name; "" for http
}

// h1Conn is one connection with its buffers; pooled connections keep them.
type h1Conn struct {
	conn   net.Conn
	key    connKey
	tls    *tls.ConnectionState // set once after the handshake, shared by its responses (read-only)
	br     *bufio.Reader
	bw     *bufio.Writer
	reused bool   // served a request before
	cancel func() // ends a run's reads and writes: made once, not per run
	probe  idleProbe
	idleAt time.Time // when it went into the pool
}

var (
	readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4<<10) }}
	writerPool = sync.Pool{New: func() any { return bufio.NewWriterSize(nil, 4<<10) }}
)

// RoundTrip implements http.RoundTripper.
func (t *h1Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	key, host, err := t.keyFor(req)
	if err != nil {
		closeReqBody(req)
		return nil, err
	}
	ctx := req.Context()
	out := req // the request as written: a copy when it changes
	if !t.keepalive && !t.http10 && !req.Close {
		// Like http.Transport with DisableKeepAlives: tell the server.
		r2 := *req
		r2.Close = true
		out = &r2
	}
	for retried := false; ; retried = true {
		var pc *h1Conn
		if !retried {
			// A request that may be sent again needs no probe: if the
			// server closed the connection, the retry below takes a new one.
			pc = t.getIdle(key, !replayable(out))
		}
		if pc == nil {
			if pc, err = t.dial(ctx, key, host); err != nil {
				closeReqBody(out)
				return nil, ctxError(ctx, err)
			}
		}
		resp, early, err := t.exchange(ctx, pc, req, out)
		if err == nil {
			return resp, nil
		}
		// A reused connection the server closed while it was idle fails
		// before any byte of an answer: try once more on a fresh one when
		// the request may be sent again (as http.Transport does).
		if !pc.reused || retried || !early || !closedByServer(err) || !replayable(out) || ctx.Err() != nil {
			return nil, ctxError(ctx, err)
		}
		if out, err = rewind(out); err != nil {
			return nil, err
		}
	}
}

// keyFor returns the pool key of the request's target and its host name
// (the default TLS server name).
func (t *h1Transport) keyFor(req *http.Request) (connKey, string, error) {
	u := req.URL
	if u == nil {
		return connKey{}, "", errors.New("http: nil Request.URL")
	}
	var k connKey
	switch u.Scheme {
	case "http":
	case "https":
		k.https = true
	default:
		return connKey{}, "", errors.New("unsupported protocol scheme " + u.Scheme)
	}
	host := u.Hostname()
	if host == "" {
		return connKey{}, "", errors.New("http: no Host in request URL")
	}
	if !isASCII(host) {
		h, err := idna.Lookup.ToASCII(host)
		if err != nil {
			return connKey{}, "", err
		}
		host = h
	}
	port := u.Port()
	switch {
	case port == "" && k.https:
		port = "443"
	case port == "":
		port = "80"
	}
	if port == u.Port() && host == u.Hostname() {
		k.addr = u.Host // host:port as written: no allocation
	} else {
		k.addr = net.JoinHostPort(host, port)
	}
	if k.https {
		k.sni = t.tls.ServerName
		if k.sni == "" {
			k.sni = host
		}
	}
	return k, host, nil
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func (t *h1Transport) dial(ctx context.Context, key connKey, host string) (*h1Conn, error) {
	nd := &net.Dialer{KeepAlive: -1}
	var conn net.Conn
	var err error
	if !key.https {
		conn, err = nd.DialContext(ctx, "tcp", key.addr)
	} else {
		cfg := t.tls
		if cfg.ServerName == "" {
			cfg = cfg.Clone()
			cfg.ServerName = host
		}
		// tls.Dialer handshakes within ctx and returns
		// *tls.CertificateVerificationError for a bad certificate.
		conn, err = (&tls.Dialer{NetDialer: nd, Config: cfg}).DialContext(ctx, "tcp", key.addr)
	}
	if err != nil {
		return nil, err
	}
	pc := &h1Conn{conn: conn, key: key}
	pc.cancel = func() { conn.SetDeadline(time.Unix(1, 0)) }
	if t.keepalive && !t.http10 {
		pc.probe.init(conn)
	}
	if tc, ok := conn.(*tls.Conn); ok {
		st := tc.ConnectionState()
		pc.tls = &st
	}
	pc.br = readerPool.Get().(*bufio.Reader)
	pc.br.Reset(conn)
	pc.bw = writerPool.Get().(*bufio.Writer)
	pc.bw.Reset(conn)
	return pc, nil
}

// exchange writes out on pc and reads the response head. early reports an
// error before any byte of a response arrived. On error pc is closed.
func (t *h1Transport) exchange(ctx context.Context, pc *h1Conn, req, out *http.Request) (resp *http.Response, early bool, err error) {
	if dl, ok := ctx.Deadline(); ok {
		pc.conn.SetDeadline(dl)
	}
	var stop func() bool
	if ctx.Done() != nil {
		stop = context.AfterFunc(ctx, pc.cancel)
	}
	fail := func(e error) (*http.Response, bool, error) {
		if stop != nil {
			stop()
		}
		pc.close()
		return nil, early, e
	}
	early = true
	if err := t.write(pc, out); err != nil {
		return fail(err)
	}
	// Wait for the first byte: an error here is an answer never begun.
	if _, err := pc.br.Peek(1); err != nil {
		return fail(err)
	}
	early = false
	for {
		resp, err = http.ReadResponse(pc.br, req)
		if err != nil {
			return fail(err)
		}
		// Skip interim answers (100 Continue, 103 Early Hints); 101 is final.
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			break
		}
	}
	resp.Request = req
	resp.TLS = pc.tls
	keep := t.keepalive && !t.http10 && !out.Close && !resp.Close && resp.StatusCode != http.StatusSwitchingProtocols
	b := &h1Body{t: t, pc: pc, ctx: ctx, body: resp.Body, stop: stop, keep: keep}
	if resp.Body == http.NoBody {
		b.release(true) // HEAD, 204, 304, empty: the connection is free now
		return resp, false, nil
	}
	resp.Body = b
	return resp, false, nil
}

// write sends the request with one write call when it fits the buffer.
func (t *h1Transport) write(pc *h1Conn, req *http.Request) error {
	if !t.http10 {
		if err := req.Write(pc.bw); err != nil {
			return err
		}
		return pc.bw.Flush()
	}
	// HTTP/1.0: net/http writes "HTTP/1.1" in the request line; change it.
	// The line ends at the first CRLF (Write refuses control bytes in the URI).
	if req.Body != nil && req.Body != http.NoBody && req.ContentLength <= 0 {
		closeReqBody(req)
		return errors.New("HTTP/1.0 needs a request body of known length")
	}
	buf := bufPool.Get().(*bytes.Buffer)
	defer bufPool.Put(buf)
	buf.Reset()
	if err := req.Write(buf); err != nil {
		return err
	}
	b := buf.Bytes()
	if i := bytes.Index(b, []byte("\r\n")); i >= 8 && string(b[i-8:i]) == "HTTP/1.1" {
		b[i-1] = '0'
	} else {
		return errors.New("http: unexpected request line")
	}
	if _, err := pc.bw.Write(b); err != nil {
		return err
	}
	return pc.bw.Flush()
}

// h1Body is a response body on an h1Conn: at its end the connection goes
// back to the pool (or is closed); closed earlier, the connection is
// closed, never reused with unread bytes. Read and Close are called by one
// goroutine.
type h1Body struct {
	t    *h1Transport
	pc   *h1Conn // nil once released
	ctx  context.Context
	body io.ReadCloser
	stop func() bool
	keep bool // the connection may be reused after the body's end
	eof  bool // read to the end
}

var errBodyClosed = errors.New("http: read on closed response body")

func (b *h1Body) Read(p []byte) (int, error) {
	if b.pc == nil {
		if b.eof {
			return 0, io.EOF
		}
		return 0, errBodyClosed
	}
	n, err := b.body.Read(p)
	if err == io.EOF {
		b.eof = true
		b.release(true)
	} else if err != nil {
		b.release(false)
		err = ctxError(b.ctx, err)
	}
	return n, err
}

func (b *h1Body) Close() error {
	if b.pc != nil {
		// Before the end: never drain (http's body would read it all), close.
		b.release(false)
	}
	return nil
}

// release ends the exchange: the connection is pooled when the body was
// read to its end and reuse is allowed, else closed.
func (b *h1Body) release(atEOF bool) {
	pc := b.pc
	b.pc = nil
	stopped := b.stop == nil || b.stop() // false: the cancel func ran or runs
	if !atEOF || !b.keep || !stopped || pc.br.Buffered() > 0 {
		pc.close()
		return
	}
	pc.conn.SetDeadline(time.Time{})
	b.t.putIdle(pc)
}

func (pc *h1Conn) close() {
	pc.conn.Close()
	if pc.br != nil {
		pc.br.Reset(nil)
		readerPool.Put(pc.br)
		pc.bw.Reset(nil)
		writerPool.Put(pc.bw)
		pc.br, pc.bw = nil, nil
	}
}

// getIdle takes the most recently used idle connection for key, closing
// any that idled too long; with probe, only if a non-blocking read finds
// it still open (one system call).
func (t *h1Transport) getIdle(key connKey, probe bool) *h1Conn {
	if !t.keepalive || t.http10 {
		return nil
	}
	now := time.Now()
	t.mu.Lock()
	list := t.idle[key]
	if len(list) == 0 {
		t.mu.Unlock()
		return nil
	}
	pc := list[len(list)-1]
	list[len(list)-1] = nil
	list = list[:len(list)-1]
	var expired []*h1Conn
	if now.Sub(pc.idleAt) > idleTimeout {
		// It and every older one expired.
		expired = append(list, pc)
		pc, list = nil, nil
	}
	t.idle[key] = list // kept when empty: the next putIdle appends without allocating
	t.mu.Unlock()
	for _, c := range expired {
		c.close()
	}
	if pc == nil {
		return nil
	}
	if probe && !pc.probe.idleAlive() {
		// Closed by the server while idle (its idle timeout): older ones
		// likely too, so dial rather than try each.
		pc.close()
		return nil
	}
	pc.reused = true
	return pc
}

// putIdle keeps pc for reuse, or closes it when idlePerHost are kept.
func (t *h1Transport) putIdle(pc *h1Conn) {
	pc.idleAt = time.Now()
	t.mu.Lock()
	list := t.idle[pc.key]
	if len(list) >= idlePerHost {
		t.mu.Unlock()
		pc.close()
		return
	}
	if t.idle == nil {
		t.idle = make(map[connKey][]*h1Conn)
	}
	t.idle[pc.key] = append(list, pc)
	if t.sweep == nil {
		t.sweep = time.AfterFunc(idleTimeout, t.closeExpired)
	}
	t.mu.Unlock()
}

// closeExpired closes idle connections older than idleTimeout; it runs
// every idleTimeout while any are kept.
func (t *h1Transport) closeExpired() {
	t.closeIdle(time.Now().Add(-idleTimeout))
}

// CloseIdleConnections closes every idle connection (http.Client calls it).
func (t *h1Transport) CloseIdleConnections() {
	t.closeIdle(time.Now().Add(time.Hour))
}

// closeIdle closes idle connections that went idle before cutoff.
func (t *h1Transport) closeIdle(cutoff time.Time) {
	var old []*h1Conn
	t.mu.Lock()
	for k, list := range t.idle {
		n := 0
		for n < len(list) && list[n].idleAt.Before(cutoff) {
			n++
		}
		old = append(old, list[:n]...)
		if n == len(list) {
			delete(t.idle, k)
		} else if n > 0 {
			t.idle[k] = append(list[:0], list[n:]...)
			clear(list[len(list)-n:])
		}
	}
	if t.sweep != nil {
		if len(t.idle) > 0 {
			t.sweep.Reset(idleTimeout)
		} else {
			t.sweep.Stop()
			t.sweep = nil
		}
	}
	t.mu.Unlock()
	for _, pc := range old {
		pc.close()
	}
}

// replayable: the request may be sent again (http.Transport's rule):
// an idempotent method, or no body.
func replayable(req *http.Request) bool {
	hasBody := req.Body != nil && req.Body != http.NoBody
	if hasBody && req.GetBody == nil {
		return false
	}
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return !hasBody
}

// rewind returns req ready to be written again: with a new body from
// GetBody when it has one (Write closed the old one).
func rewind(req *http.Request) (*http.Request, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return req, nil
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, err
	}
	r2 := *req
	r2.Body = body
	return &r2, nil
}

func closeReqBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}

// ctxError reports a failure caused by the run's context as the context's
// error: the connection's deadline is the context's, and a cancelled
// context sets a past one, so an i/o timeout means the context ended, even
// when its own timer has not fired yet.
func ctxError(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return &ctxErr{cerr, err}
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
			return &ctxErr{context.DeadlineExceeded, err}
		}
	}
	return err
}

// ctxErr is the context's error with the connection's under it.
type ctxErr struct{ ctx, conn error }

func (e *ctxErr) Error() string   { return e.ctx.Error() }
func (e *ctxErr) Unwrap() []error { return []error{e.ctx, e.conn} }

// closedByServer reports the errors of a connection the server closed:
// end of stream, reset, broken pipe.
func closedByServer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
