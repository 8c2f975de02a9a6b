package checktest

import (
	"bufio"
	"crypto/tls"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Rule answers one command of a scripted line server.
type Rule struct {
	// Match is a case-insensitive prefix of the command line (after the tag
	// when the script is Tagged). The first matching rule wins.
	Match string
	// Reply is sent back: lines separated by "\n", each ended with CR LF.
	// "{tag}" is replaced by the command's tag (Tagged scripts).
	Reply string
	// Do, if set, runs after Reply is sent, with the connection and the
	// command line (tag included).
	Do func(c *LineConn, cmd string)
	// StartTLS upgrades the connection to TLS (server side, with the
	// script's TLS config) after the reply.
	StartTLS bool
	// Close ends the connection after the reply.
	Close bool
}

// Script is what a scripted line server does on each connection: send the
// greeting, then answer each command line by the first matching rule.
type Script struct {
	Greeting    string        // sent on connect ("" sends nothing: a silent server)
	Rules       []Rule        // answers, in order
	Default     string        // reply to an unmatched command ("" sends nothing)
	TLS         *tls.Config   // server TLS config for StartTLS rules and ImplicitTLS
	ImplicitTLS bool          // handshake TLS before the greeting
	Tagged      bool          // IMAP: commands start with a tag, Match skips it
	GreetDelay  time.Duration // wait this long before the greeting
}

// LineServer is a scripted line-oriented TCP server on 127.0.0.1 for
// protocol unit tests (SMTP, POP3, IMAP, FTP, SSH banners, ...). It stops
// when the test ends.
type LineServer struct {
	Host string // "127.0.0.1"
	Port int
	Addr string // "127.0.0.1:PORT"

	script Script
	ln     net.Listener
	mu     sync.Mutex
	cmds   []string
	closer []io.Closer
	done   bool
	wg     sync.WaitGroup
}

// NewLineServer starts a scripted server.
func NewLineServer(t testing.TB, s Script) *LineServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &LineServer{script: s, ln: ln, Addr: ln.Addr().String(), Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port}
	srv.wg.Add(1)
	go srv.serve()
	t.Cleanup(srv.Close)
	return srv
}

// Close stops the server and closes every connection it has.
func (s *LineServer) Close() {
	s.mu.Lock()
	s.done = true
	cl := s.closer
	s.closer = nil
	s.mu.Unlock()
	s.ln.Close()
	for _, c := range cl {
		c.Close()
	}
	s.wg.Wait()
}

// track registers something to close with the server; false if it is closed.
func (s *LineServer) track(c io.Closer) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		c.Close()
		return false
	}
	s.closer = append(s.closer, c)
	return true
}

// Track closes c with the server (a data connection a rule accepted, say).
func (s *LineServer) Track(c io.Closer) { s.track(c) }

// Commands lists the command lines received so far, on all connections.
func (s *LineServer) Commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.cmds...)
}

// Listen opens another listener on 127.0.0.1 (an FTP data port, say),
// closed with the server. It returns the listener and its port.
func (s *LineServer) Listen() (net.Listener, int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, 0, err
	}
	if !s.track(ln) {
		return nil, 0, net.ErrClosed
	}
	return ln, ln.Addr().(*net.TCPAddr).Port, nil
}

// Go runs fn in a goroutine that Close waits for.
func (s *LineServer) Go(fn func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		fn()
	}()
}

func (s *LineServer) serve() {
	defer s.wg.Done()
	for {
		nc, err := s.ln.Accept()
		if err != nil {
			return
		}
		if !s.track(nc) {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer nc.Close()
			c := &LineConn{Conn: nc, Srv: s, State: map[string]any{}}
			c.r = bufio.NewReader(nc)
			s.handle(c)
		}()
	}
}

func (s *LineServer) handle(c *LineConn) {
	sc := s.script
	if sc.ImplicitTLS {
		if c.StartTLS() != nil {
			return
		}
	}
	if sc.GreetDelay > 0 {
		time.Sleep(sc.GreetDelay)
	}
	if sc.Greeting != "" {
		c.Send(sc.Greeting)
	}
	for {
		line, err := c.ReadLine()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.cmds = append(s.cmds, line)
		s.mu.Unlock()
		cmd := line
		c.Tag = ""
		if sc.Tagged {
			c.Tag, cmd, _ = strings.Cut(line, " ")
		}
		var rule *Rule
		for i := range sc.Rules {
			m := sc.Rules[i].Match
			if len(cmd) >= len(m) && strings.EqualFold(cmd[:len(m)], m) {
				rule = &sc.Rules[i]
				break
			}
		}
		if rule == nil {
			if sc.Default != "" {
				c.Send(sc.Default)
			}
			continue
		}
		if rule.Reply != "" {
			c.Send(rule.Reply)
		}
		if rule.Do != nil {
			rule.Do(c, line)
		}
		if rule.StartTLS {
			if c.StartTLS() != nil {
				return
			}
		}
		if rule.Close {
			return
		}
	}
}

// LineConn is one connection of a LineServer, as rules see it.
type LineConn struct {
	net.Conn
	Srv   *LineServer
	Tag   string         // tag of the current command (Tagged scripts)
	State map[string]any // per-connection state for Do functions
	r     *bufio.Reader
}

// Send writes text: lines separated by "\n", each ended with CR LF;
// "{tag}" becomes the current command's tag.
func (c *LineConn) Send(text string) error {
	text = strings.ReplaceAll(text, "{tag}", c.Tag)
	text = strings.ReplaceAll(strings.TrimSuffix(text, "\n"), "\r\n", "\n")
	_, err := io.WriteString(c.Conn, strings.ReplaceAll(text, "\n", "\r\n")+"\r\n")
	return err
}

// ReadLine reads a line without CR LF.
func (c *LineConn) ReadLine() (string, error) {
	line, err := c.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// StartTLS upgrades the connection as a TLS server.
func (c *LineConn) StartTLS() error {
	if c.Srv.script.TLS == nil {
		return errors.New("checktest: StartTLS without a TLS config in the script")
	}
	tc := tls.Server(c.Conn, c.Srv.script.TLS)
	tc.SetDeadline(time.Now().Add(10 * time.Second))
	if err := tc.Handshake(); err != nil {
		return err
	}
	tc.SetDeadline(time.Time{})
	c.Conn = tc
	c.r = bufio.NewReader(tc)
	return nil
}

// ServerTLS makes a server TLS config with the certificate.
func ServerTLS(cert tls.Certificate) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{cert}}
}

// ClosedPort returns a port on 127.0.0.1 where nothing listens (connecting
// is refused).
func ClosedPort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// PEMFile writes the CA certificate to a PEM file in a temporary directory
// (for ca_file fields) and returns its path.
func (ca *CA) PEMFile(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
