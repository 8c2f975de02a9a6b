package email

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/textproto"

	"github.com/mamori/mamori/internal/notify"
)

// finalError is a session error returned as it is, not classified from an
// SMTP reply (TLS failures, a refusal to send credentials in clear).
type finalError struct{ error }

// session opens the SMTP conversation on raw: implicit TLS or STARTTLS,
// the greeting, EHLO and AUTH.
func (n *Notifier) session(ctx context.Context, raw net.Conn) (*conn, error) {
	var nc net.Conn = raw
	secure := false
	if n.implicit {
		tc := tls.Client(raw, n.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, finalError{fmt.Errorf("email: TLS: %w", err)}
		}
		nc, secure = tc, true
	}
	c := &conn{c: nc, text: textproto.NewConn(nc)}
	if _, _, err := c.text.ReadResponse(220); err != nil {
		var te *textproto.Error
		if errors.As(err, &te) {
			err = &replyError{cmd: "greeting", code: te.Code, msg: te.Msg}
		}
		return nil, err
	}
	if err := c.hello(n.helo); err != nil {
		return nil, err
	}
	if !secure && n.starttls {
		if _, ok := c.ext["STARTTLS"]; !ok {
			return nil, finalError{notify.Permanent(errors.New("email: the server does not offer STARTTLS (set starttls: false to send without TLS)"))}
		}
		if _, _, err := c.cmd("STARTTLS", 220, "STARTTLS"); err != nil {
			return nil, err
		}
		tc := tls.Client(raw, n.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, finalError{fmt.Errorf("email: STARTTLS: %w", err)}
		}
		nc, secure = tc, true
		c = &conn{c: nc, text: textproto.NewConn(nc)}
		if err := c.hello(n.helo); err != nil {
			return nil, err
		}
	}
	if n.user != "" {
		if !secure && !n.insecure {
			return nil, finalError{notify.Permanent(errors.New("email: refusing AUTH over a connection without TLS (allow_insecure_auth)"))}
		}
		if err := n.auth(c); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// transfer sends one message: MAIL, RCPT for each recipient (the refused
// ones are logged, the others still get it), DATA; it returns the final
// reply.
func (n *Notifier) transfer(c *conn, rcpts []*mail.Address, msg []byte) (int, string, error) {
	if _, _, err := c.cmd("MAIL", 250, "MAIL FROM:<%s>", n.from.Address); err != nil {
		return 0, "", err
	}
	var accepted int
	var rejected []string
	var lastErr error
	for _, a := range rcpts {
		if _, _, err := c.cmd("RCPT", 25, "RCPT TO:<%s>", a.Address); err != nil {
			var re *replyError
			if !errors.As(err, &re) {
				return 0, "", err
			}
			lastErr = err
			rejected = append(rejected, a.Address+": "+re.Error())
			continue
		}
		accepted++
	}
	if accepted == 0 {
		return 0, "", lastErr
	}
	if len(rejected) > 0 {
		n.log.Warn("email: some recipients refused; sending to the others", "refused", rejected)
	}
	if _, _, err := c.cmd("DATA", 354, "DATA"); err != nil {
		return 0, "", err
	}
	dw := c.text.DotWriter()
	if _, err := dw.Write(msg); err != nil {
		return 0, "", err
	}
	if err := dw.Close(); err != nil {
		return 0, "", err
	}
	code, answer, err := c.text.ReadResponse(250)
	if err != nil {
		var te *textproto.Error
		if errors.As(err, &te) {
			err = &replyError{cmd: "DATA", code: te.Code, msg: te.Msg}
		}
		return 0, "", err
	}
	return code, answer, nil
}
