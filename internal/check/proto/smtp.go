package proto

import (
	"crypto/tls"
	"encoding/base64"
	"errors"
	"strings"
)

// ErrNoStartTLS means the server does not offer STARTTLS.
var ErrNoStartTLS = errors.New("server does not offer STARTTLS")

// SMTP is a minimal SMTP client over a Conn.
type SMTP struct {
	*Conn
	// Ext holds the EHLO extensions, keyword upper-cased → parameters.
	Ext map[string]string
}

// Greeting reads the server's greeting reply.
func (s *SMTP) Greeting() (Reply, error) { return s.ReadReply() }

// Hello sends EHLO (falling back to HELO when EHLO is refused) and records
// the extensions. A non-2xx reply to both is a *ReplyError.
func (s *SMTP) Hello(name string) error {
	r, err := s.Cmd("EHLO %s", name)
	if err != nil {
		return err
	}
	if r.Class() != 2 {
		hr, err := s.Cmd("HELO %s", name)
		if err != nil {
			return err
		}
		if hr.Class() != 2 {
			return &ReplyError{What: "EHLO refused", Reply: r}
		}
		s.Ext = map[string]string{}
		return nil
	}
	s.Ext = map[string]string{}
	for _, l := range r.Lines[1:] {
		k, v, _ := strings.Cut(strings.TrimSpace(l), " ")
		s.Ext[strings.ToUpper(k)] = v
	}
	return nil
}

// StartTLS asks for STARTTLS (ErrNoStartTLS if EHLO did not offer it) and
// upgrades the connection; the caller must send EHLO again afterwards.
func (s *SMTP) StartTLS(cfg *tls.Config) (*tls.ConnectionState, error) {
	if err := s.RequestStartTLS(); err != nil {
		return nil, err
	}
	return s.UpgradeTLS(cfg)
}

// RequestStartTLS sends STARTTLS and expects 220, without the handshake.
func (s *SMTP) RequestStartTLS() error {
	if _, ok := s.Ext["STARTTLS"]; !ok {
		return ErrNoStartTLS
	}
	r, err := s.Cmd("STARTTLS")
	if err != nil {
		return err
	}
	if r.Code != 220 {
		return &ReplyError{What: "STARTTLS refused", Reply: r}
	}
	return nil
}

// ErrNoAuth means the server offers no AUTH mechanism this client knows.
var ErrNoAuth = errors.New("server offers no AUTH PLAIN or LOGIN")

// Auth authenticates with PLAIN or LOGIN, whichever the server offers
// (PLAIN first). A refusal is a *ReplyError whose What is
// "authentication failed".
func (s *SMTP) Auth(user, pass string) (mech string, err error) {
	mechs := strings.Fields(strings.ToUpper(s.Ext["AUTH"]))
	has := func(m string) bool {
		for _, x := range mechs {
			if x == m {
				return true
			}
		}
		return false
	}
	switch {
	case has("PLAIN"):
		ir := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
		r, err := s.Cmd("AUTH PLAIN %s", ir)
		if err != nil {
			return "PLAIN", err
		}
		if r.Code == 334 { // server wants the response after an empty challenge
			if r, err = s.Cmd("%s", ir); err != nil {
				return "PLAIN", err
			}
		}
		return "PLAIN", authResult(r)
	case has("LOGIN"):
		r, err := s.Cmd("AUTH LOGIN")
		if err != nil {
			return "LOGIN", err
		}
		for _, v := range []string{user, pass} {
			if r.Code != 334 {
				return "LOGIN", authResult(r)
			}
			if r, err = s.Cmd("%s", base64.StdEncoding.EncodeToString([]byte(v))); err != nil {
				return "LOGIN", err
			}
		}
		return "LOGIN", authResult(r)
	}
	if _, ok := s.Ext["AUTH"]; !ok {
		return "", errors.New("server does not offer AUTH (it may only after STARTTLS)")
	}
	return "", ErrNoAuth
}

func authResult(r Reply) error {
	if r.Code == 235 {
		return nil
	}
	return &ReplyError{What: "authentication failed", Reply: r}
}

// Quit says goodbye, ignoring the answer's content.
func (s *SMTP) Quit() { s.Bye("QUIT") }

// Send submits one message: MAIL FROM, RCPT TO, DATA with the message
// dot-stuffed (lines ending in CR LF). A refusal is a *ReplyError naming
// the step.
func (s *SMTP) Send(from, to string, msg []byte) error {
	steps := []struct {
		what, cmd string
		want      int
	}{
		{"MAIL FROM refused", "MAIL FROM:<" + from + ">", 2},
		{"RCPT TO refused", "RCPT TO:<" + to + ">", 2},
		{"DATA refused", "DATA", 3},
	}
	for _, st := range steps {
		r, err := s.Cmd("%s", st.cmd)
		if err != nil {
			return err
		}
		if r.Class() != st.want {
			return &ReplyError{What: st.what, Reply: r}
		}
	}
	if _, err := s.Write(DotStuff(msg)); err != nil {
		return err
	}
	r, err := s.Cmd(".")
	if err != nil {
		return err
	}
	if r.Class() != 2 {
		return &ReplyError{What: "message refused", Reply: r}
	}
	return nil
}

// DotStuff prepares a message for DATA: CR LF line ends, a dot doubled at
// the start of a line, and a final CR LF (the caller sends the "." line).
func DotStuff(msg []byte) []byte {
	text := strings.ReplaceAll(strings.ReplaceAll(string(msg), "\r\n", "\n"), "\n", "\r\n")
	if !strings.HasSuffix(text, "\r\n") {
		text += "\r\n"
	}
	if strings.HasPrefix(text, ".") {
		text = "." + text
	}
	return []byte(strings.ReplaceAll(text, "\r\n.", "\r\n.."))
}
