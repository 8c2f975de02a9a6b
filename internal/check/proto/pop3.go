package proto

import (
	"crypto/tls"
	"fmt"
	"strconv"
	"strings"
)

// POP3 is a minimal POP3 client over a Conn.
type POP3 struct{ *Conn }

// POP3Error is a -ERR answer (or anything but +OK).
type POP3Error struct {
	What string
	Line string
}

func (e *POP3Error) Error() string { return e.What + ": " + clip(e.Line) }

// Line reads one status line; ok reports "+OK".
func (p *POP3) Line() (line string, ok bool, err error) {
	line, err = p.ReadLine()
	if err != nil {
		return "", false, err
	}
	return line, strings.HasPrefix(line, "+OK"), nil
}

// Cmd sends a command and reads its status line; -ERR is a *POP3Error
// described by what.
func (p *POP3) Cmd(what, format string, args ...any) (string, error) {
	if err := p.WriteLine(fmt.Sprintf(format, args...)); err != nil {
		return "", err
	}
	line, ok, err := p.Line()
	if err != nil {
		return "", err
	}
	if !ok {
		return line, &POP3Error{What: what, Line: line}
	}
	return line, nil
}

// RequestStartTLS sends STLS and expects +OK, without the handshake.
func (p *POP3) RequestStartTLS() error {
	_, err := p.Cmd("STLS refused", "STLS")
	return err
}

// StartTLS sends STLS and upgrades the connection.
func (p *POP3) StartTLS(cfg *tls.Config) (*tls.ConnectionState, error) {
	if err := p.RequestStartTLS(); err != nil {
		return nil, err
	}
	return p.UpgradeTLS(cfg)
}

// Login sends USER and PASS; a refusal is a *POP3Error "login failed".
func (p *POP3) Login(user, pass string) error {
	if _, err := p.Cmd("login failed", "USER %s", user); err != nil {
		return err
	}
	_, err := p.Cmd("login failed", "PASS %s", pass)
	return err
}

// Stat returns the number of messages and their total size.
func (p *POP3) Stat() (n int, size int64, err error) {
	line, err := p.Cmd("STAT failed", "STAT")
	if err != nil {
		return 0, 0, err
	}
	f := strings.Fields(line)
	if len(f) < 3 {
		return 0, 0, fmt.Errorf("malformed STAT answer %q", clip(line))
	}
	n, err1 := strconv.Atoi(f[1])
	size, err2 := strconv.ParseInt(f[2], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("malformed STAT answer %q", clip(line))
	}
	return n, size, nil
}

// Quit sends QUIT.
func (p *POP3) Quit() { p.Bye("QUIT") }

// Multi sends a command with a multi-line answer (LIST, UIDL, TOP) and
// returns its lines, dot-unstuffed, without the final ".".
func (p *POP3) Multi(what, format string, args ...any) ([]string, error) {
	if _, err := p.Cmd(what, format, args...); err != nil {
		return nil, err
	}
	var lines []string
	for {
		line, err := p.ReadLine()
		if err != nil {
			return lines, err
		}
		if line == "." {
			return lines, nil
		}
		lines = append(lines, strings.TrimPrefix(line, "."))
	}
}
