package proto

import (
	"fmt"
	"strings"
)

// StartTLSProtocols are the plain-text protocols PrepareStartTLS knows.
var StartTLSProtocols = []string{"smtp", "imap", "pop3", "ftp"}

// PrepareStartTLS runs a protocol's plain-text part up to the point where
// the TLS handshake starts: read the greeting, then EHLO + STARTTLS (smtp),
// STARTTLS (imap), STLS (pop3) or AUTH TLS (ftp). The caller then calls
// c.UpgradeTLS with its own configuration.
func PrepareStartTLS(c *Conn, protocol, helo string) error {
	switch strings.ToLower(protocol) {
	case "smtp":
		s := &SMTP{Conn: c}
		g, err := s.Greeting()
		if err != nil {
			return fmt.Errorf("reading greeting: %w", err)
		}
		if g.Code != 220 {
			return &ReplyError{What: "unexpected greeting", Reply: g}
		}
		if err := s.Hello(helo); err != nil {
			return err
		}
		return s.RequestStartTLS()
	case "imap":
		m := &IMAP{Conn: c}
		g, err := m.ReadLine()
		if err != nil {
			return fmt.Errorf("reading greeting: %w", err)
		}
		if !GreetingOK(g) {
			return fmt.Errorf("unexpected greeting %q", clip(g))
		}
		return m.RequestStartTLS()
	case "pop3":
		p := &POP3{Conn: c}
		g, ok, err := p.Line()
		if err != nil {
			return fmt.Errorf("reading greeting: %w", err)
		}
		if !ok {
			return fmt.Errorf("unexpected greeting %q", clip(g))
		}
		return p.RequestStartTLS()
	case "ftp":
		f := &FTP{Conn: c}
		g, err := f.ReadReply()
		if err != nil {
			return fmt.Errorf("reading greeting: %w", err)
		}
		if g.Code != 220 {
			return &ReplyError{What: "unexpected greeting", Reply: g}
		}
		return f.RequestAuthTLS()
	}
	return fmt.Errorf("unknown STARTTLS protocol %q (want one of %s)", protocol, strings.Join(StartTLSProtocols, ", "))
}
