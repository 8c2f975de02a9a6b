// Package proto holds what the line-oriented protocol checks share (tcp, ssh,
// smtp, pop3, imap, ftp, tls_cert): dialing with the context's deadline, a
// line reader bounded in line length and line count so a hostile server
// cannot exhaust memory, TLS configuration, STARTTLS for each protocol, and
// small clients for SMTP, POP3, IMAP and FTP. It is not a check type.
package proto

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// Limits on what a server may send.
const (
	// MaxLine is the longest line (without CRLF) a server may send.
	MaxLine = 8 << 10
	// MaxLines is how many lines one connection may read in all.
	MaxLines = 2000
)

// Errors of the line reader.
var (
	ErrLineTooLong  = fmt.Errorf("server sent a line longer than %d bytes", MaxLine)
	ErrTooManyLines = fmt.Errorf("server sent more than %d lines", MaxLines)
	ErrInjected     = errors.New("server sent data before the TLS handshake (possible STARTTLS injection)")
)

// Conn is a client connection that reads bounded lines and follows the
// context's deadline (and cancellation) on every read and write.
type Conn struct {
	nc       net.Conn
	r        *bufio.Reader
	ctx      context.Context
	stop     func() bool
	lines    int
	partial  []byte
	MaxLine  int // 0: MaxLine
	MaxLines int // 0: MaxLines
	Addr     string
	Host     string // host part of Addr, for TLS server names
}

// Addr joins host and port.
func Addr(host string, port int) string { return net.JoinHostPort(host, strconv.Itoa(port)) }

// Dial connects to host:port over TCP, bounded by ctx.
func Dial(ctx context.Context, host string, port int) (*Conn, error) {
	addr := Addr(host, port)
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	return NewConn(ctx, nc, host), nil
}

// NewConn wraps nc: its deadline is ctx's deadline, and cancelling ctx
// interrupts any blocked read or write.
func NewConn(ctx context.Context, nc net.Conn, host string) *Conn {
	c := &Conn{nc: nc, ctx: ctx, Addr: nc.RemoteAddr().String(), Host: host}
	if dl, ok := ctx.Deadline(); ok {
		nc.SetDeadline(dl)
	}
	c.stop = context.AfterFunc(ctx, func() { nc.SetDeadline(time.Unix(1, 0)) })
	c.r = bufio.NewReaderSize(nc, 4096)
	return c
}

// Ctx is the context the connection follows.
func (c *Conn) Ctx() context.Context { return c.ctx }

// NetConn is the current underlying connection (a *tls.Conn after UpgradeTLS).
func (c *Conn) NetConn() net.Conn { return c.nc }

// Close closes the connection.
func (c *Conn) Close() error {
	c.stop()
	return c.nc.Close()
}

// SetReadDeadline sets a read deadline no later than the context's.
func (c *Conn) SetReadDeadline(t time.Time) {
	if dl, ok := c.ctx.Deadline(); ok && (t.IsZero() || dl.Before(t)) {
		t = dl
	}
	c.nc.SetReadDeadline(t)
}

// ReadLine reads one line without its CR LF. A line longer than MaxLine,
// more than MaxLines lines, or a connection closed in mid-line is an error.
func (c *Conn) ReadLine() (string, error) {
	maxLine, maxLines := c.MaxLine, c.MaxLines
	if maxLine <= 0 {
		maxLine = MaxLine
	}
	if maxLines <= 0 {
		maxLines = MaxLines
	}
	if c.lines >= maxLines {
		return "", ErrTooManyLines
	}
	c.lines++
	var buf []byte
	for {
		frag, err := c.r.ReadSlice('\n')
		if len(buf)+len(frag) > maxLine+2 {
			return "", ErrLineTooLong
		}
		buf = append(buf, frag...)
		if err == nil {
			break
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if len(buf) > 0 {
			c.partial = append(c.partial[:0], buf[:min(len(buf), maxLine)]...)
		}
		if errors.Is(err, io.EOF) {
			if len(buf) > 0 {
				return "", io.ErrUnexpectedEOF
			}
		}
		return "", err
	}
	line := strings.TrimRight(string(buf), "\r\n")
	if len(line) > maxLine {
		return "", ErrLineTooLong
	}
	return line, nil
}

// Partial is what the last failed ReadLine had received of a line that did
// not end (a server that closed or went silent in mid-line), for messages.
func (c *Conn) Partial() string { return string(c.partial) }

// Read reads raw bytes (buffered data first).
func (c *Conn) Read(p []byte) (int, error) { return c.r.Read(p) }

// Buffered is how many bytes have been read from the network but not consumed.
func (c *Conn) Buffered() int { return c.r.Buffered() }

// WriteLine sends s followed by CR LF.
func (c *Conn) WriteLine(s string) error {
	_, err := io.WriteString(c.nc, s+"\r\n")
	return err
}

// Write sends raw bytes.
func (c *Conn) Write(p []byte) (int, error) { return c.nc.Write(p) }

// UpgradeTLS starts TLS as a client over the connection (after a protocol's
// STARTTLS exchange, or at once for implicit TLS) and returns the
// handshake's state. Unread plain-text data at this point is refused: it
// would be an injection attack.
func (c *Conn) UpgradeTLS(cfg *tls.Config) (*tls.ConnectionState, error) {
	if c.r.Buffered() > 0 {
		return nil, ErrInjected
	}
	tc := tls.Client(c.nc, cfg)
	if err := tc.HandshakeContext(c.ctx); err != nil {
		return nil, err
	}
	c.nc = tc
	c.r = bufio.NewReaderSize(tc, 4096)
	st := tc.ConnectionState()
	return &st, nil
}

// TLSState is the TLS state, or nil on a plain connection.
func (c *Conn) TLSState() *tls.ConnectionState {
	if tc, ok := c.nc.(*tls.Conn); ok {
		st := tc.ConnectionState()
		return &st
	}
	return nil
}

// Bye sends a closing command (QUIT, LOGOUT) and waits briefly for one
// answer line, ignoring it: a server that does not answer must not make the
// check run into its deadline.
func (c *Conn) Bye(line string) {
	if c.WriteLine(line) != nil {
		return
	}
	c.SetReadDeadline(time.Now().Add(time.Second))
	c.ReadLine()
}
