// Package httpserve runs mamori's HTTP listener safely on an open network:
// a connection cap, header, body, write and idle timeouts, body size limits
// per route, and TLS (files reloaded on SIGHUP, optional client
// certificates for agents, ACME for a public name).
package httpserve

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"golang.org/x/net/netutil"
)

// Limits bound what one client can hold on the server.
type Limits struct {
	// MaxConns caps open connections; more wait in the kernel's backlog
	// until one closes.
	MaxConns int
	// ReadHeaderTimeout bounds reading a request's headers.
	ReadHeaderTimeout time.Duration
	// BodyTimeout bounds reading a request's body (a slow sender is cut).
	BodyTimeout time.Duration
	// WriteTimeout bounds writing a response; streams (event streams,
	// agent long polls) lift it themselves with NoWriteDeadline.
	WriteTimeout time.Duration
	// IdleTimeout closes a keep-alive connection without requests.
	IdleTimeout time.Duration
	// MaxBody is the largest body of a route without its own limit.
	MaxBody int64
	// RouteBody gives a larger (or smaller) limit to some paths by prefix.
	RouteBody map[string]int64
}

// DefaultLimits are the server's limits (max is the connection cap; 0 for
// the default).
func DefaultLimits(maxConns int) Limits {
	if maxConns <= 0 {
		maxConns = DefaultMaxConns
	}
	return Limits{
		MaxConns:          maxConns,
		ReadHeaderTimeout: 10 * time.Second,
		BodyTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       90 * time.Second,
		MaxBody:           1 << 20,
		RouteBody: map[string]int64{
			"/api/v1/agent/batch": 8 << 20, // wire.MaxBatchBytes (the handler bounds the decoded size too)
			"/api/v1/push/":       64 << 10,
			"/login":              16 << 10,
		},
	}
}

// DefaultMaxConns is the connection cap by default.
const DefaultMaxConns = 2048

// Listen opens addr with the connection cap.
func (l Limits) Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return netutil.LimitListener(ln, max(l.MaxConns, 1)), nil
}

// Server builds the http.Server for h with the timeouts and body limits.
// There is no server-wide ReadTimeout or WriteTimeout: they would cut
// event streams and long polls; Guard sets both per request instead.
func (l Limits) Server(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           l.Guard(h),
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
	}
}

// bodyLimit is the limit of a path.
func (l Limits) bodyLimit(path string) int64 {
	best, n := "", l.MaxBody
	for p, v := range l.RouteBody {
		if strings.HasPrefix(path, p) && len(p) > len(best) {
			best, n = p, v
		}
	}
	return n
}

// Guard bounds each request: its body in size and time, its response in
// time.
func (l Limits) Guard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if l.WriteTimeout > 0 {
			_ = rc.SetWriteDeadline(time.Now().Add(l.WriteTimeout))
		}
		if r.Body != nil && r.Body != http.NoBody {
			limit := l.bodyLimit(r.URL.Path)
			if r.ContentLength > limit {
				w.Header().Set("Connection", "close")
				http.Error(w, fmt.Sprintf("request body of %d bytes is over the limit of %d for %s", r.ContentLength, limit, r.URL.Path), http.StatusRequestEntityTooLarge)
				return
			}
			if l.BodyTimeout > 0 {
				_ = rc.SetReadDeadline(time.Now().Add(l.BodyTimeout))
			}
			r.Body = &guardedBody{ReadCloser: http.MaxBytesReader(w, r.Body, limit), rc: rc}
		}
		h.ServeHTTP(w, r)
	})
}

// guardedBody lifts the body's read deadline once the body is read, so
// that a handler working on it afterwards is not cancelled.
type guardedBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	done bool
}

func (b *guardedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && !b.done {
		b.done = true
		var ne net.Error
		if !(errors.As(err, &ne) && ne.Timeout()) {
			_ = b.rc.SetReadDeadline(time.Time{})
		}
	}
	return n, err
}

// NoWriteDeadline lifts the write deadline for a long-lived response (an
// event stream, a long poll); it then bounds itself.
func NoWriteDeadline(w http.ResponseWriter) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
}
