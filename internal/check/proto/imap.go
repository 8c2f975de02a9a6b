package proto

import (
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// IMAP is a minimal IMAP4rev1 client over a Conn.
type IMAP struct {
	*Conn
	tag int
}

// IMAPError is a tagged NO or BAD answer.
type IMAPError struct {
	What   string
	Status string // NO, BAD
	Text   string
}

func (e *IMAPError) Error() string { return e.What + ": " + e.Status + " " + clip(e.Text) }

// Cmd sends a tagged command and reads until its tagged answer. It returns
// the untagged lines; a NO or BAD answer is an *IMAPError described by what.
func (m *IMAP) Cmd(what, format string, args ...any) (untagged []string, err error) {
	m.tag++
	tag := "m" + strconv.Itoa(m.tag)
	if err := m.WriteLine(tag + " " + fmt.Sprintf(format, args...)); err != nil {
		return nil, err
	}
	return m.wait(what, tag)
}

func (m *IMAP) wait(what, tag string) ([]string, error) {
	var untagged []string
	for {
		line, err := m.ReadLine()
		if err != nil {
			return untagged, err
		}
		if strings.HasPrefix(line, tag+" ") {
			st, text, _ := strings.Cut(line[len(tag)+1:], " ")
			st = strings.ToUpper(st)
			if st == "OK" {
				return untagged, nil
			}
			return untagged, &IMAPError{What: what, Status: st, Text: text}
		}
		if len(untagged) < 200 {
			untagged = append(untagged, line)
		}
	}
}

// Capabilities asks for CAPABILITY and returns the upper-cased atoms.
func (m *IMAP) Capabilities() (map[string]bool, error) {
	lines, err := m.Cmd("CAPABILITY failed", "CAPABILITY")
	if err != nil {
		return nil, err
	}
	caps := map[string]bool{}
	for _, l := range lines {
		if rest, ok := cutPrefixFold(l, "* CAPABILITY "); ok {
			for _, c := range strings.Fields(rest) {
				caps[strings.ToUpper(c)] = true
			}
		}
	}
	return caps, nil
}

// RequestStartTLS sends STARTTLS and expects OK, without the handshake.
func (m *IMAP) RequestStartTLS() error {
	_, err := m.Cmd("STARTTLS refused", "STARTTLS")
	return err
}

// StartTLS sends STARTTLS and upgrades the connection.
func (m *IMAP) StartTLS(cfg *tls.Config) (*tls.ConnectionState, error) {
	if err := m.RequestStartTLS(); err != nil {
		return nil, err
	}
	return m.UpgradeTLS(cfg)
}

// Login authenticates: LOGIN with quoted strings, or AUTHENTICATE PLAIN when
// the server disables LOGIN or a credential cannot be quoted. A refusal is
// an *IMAPError "login failed".
func (m *IMAP) Login(user, pass string, caps map[string]bool) (mech string, err error) {
	if !caps["LOGINDISABLED"] && quotable(user) && quotable(pass) {
		_, err := m.Cmd("login failed", "LOGIN %s %s", quote(user), quote(pass))
		return "LOGIN", err
	}
	ir := base64.StdEncoding.EncodeToString([]byte("\x00" + user + "\x00" + pass))
	if caps["SASL-IR"] {
		_, err := m.Cmd("login failed", "AUTHENTICATE PLAIN %s", ir)
		return "PLAIN", err
	}
	m.tag++
	tag := "m" + strconv.Itoa(m.tag)
	if err := m.WriteLine(tag + " AUTHENTICATE PLAIN"); err != nil {
		return "PLAIN", err
	}
	line, err := m.ReadLine()
	if err != nil {
		return "PLAIN", err
	}
	if !strings.HasPrefix(line, "+") {
		if strings.HasPrefix(line, tag+" ") {
			st, text, _ := strings.Cut(line[len(tag)+1:], " ")
			return "PLAIN", &IMAPError{What: "login failed", Status: strings.ToUpper(st), Text: text}
		}
		return "PLAIN", fmt.Errorf("unexpected answer to AUTHENTICATE: %q", clip(line))
	}
	if err := m.WriteLine(ir); err != nil {
		return "PLAIN", err
	}
	_, err = m.wait("login failed", tag)
	return "PLAIN", err
}

// Status returns the MESSAGES and UNSEEN counts of a mailbox (-1 when the
// server omits one), falling back to EXAMINE when STATUS is not understood.
func (m *IMAP) Status(mailbox string) (messages, unseen int, err error) {
	lines, err := m.Cmd("mailbox "+quote(mailbox), "STATUS %s (MESSAGES UNSEEN)", quote(mailbox))
	if ie, ok := err.(*IMAPError); ok && ie.Status == "BAD" {
		return m.examine(mailbox)
	}
	if err != nil {
		return 0, 0, err
	}
	messages, unseen = -1, -1
	for _, l := range lines {
		rest, ok := cutPrefixFold(l, "* STATUS ")
		if !ok {
			continue
		}
		i := strings.LastIndexByte(rest, '(')
		j := strings.LastIndexByte(rest, ')')
		if i < 0 || j < i {
			continue
		}
		f := strings.Fields(rest[i+1 : j])
		for k := 0; k+1 < len(f); k += 2 {
			v, err := strconv.Atoi(f[k+1])
			if err != nil {
				continue
			}
			switch strings.ToUpper(f[k]) {
			case "MESSAGES":
				messages = v
			case "UNSEEN":
				unseen = v
			}
		}
	}
	if messages < 0 {
		return 0, 0, fmt.Errorf("mailbox %s: no MESSAGES in the STATUS answer", quote(mailbox))
	}
	return messages, unseen, nil
}

func (m *IMAP) examine(mailbox string) (int, int, error) {
	lines, err := m.Cmd("mailbox "+quote(mailbox), "EXAMINE %s", quote(mailbox))
	if err != nil {
		return 0, 0, err
	}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) == 3 && f[0] == "*" && strings.EqualFold(f[2], "EXISTS") {
			if n, err := strconv.Atoi(f[1]); err == nil {
				return n, -1, nil
			}
		}
	}
	return 0, 0, fmt.Errorf("mailbox %s: no EXISTS in the EXAMINE answer", quote(mailbox))
}

// Logout sends LOGOUT.
func (m *IMAP) Logout() {
	m.tag++
	m.Bye("m" + strconv.Itoa(m.tag) + " LOGOUT")
}

// GreetingOK reports whether an IMAP greeting is "* OK" or "* PREAUTH".
func GreetingOK(line string) bool {
	_, ok1 := cutPrefixFold(line, "* OK")
	_, ok2 := cutPrefixFold(line, "* PREAUTH")
	return ok1 || ok2
}

func quotable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}
