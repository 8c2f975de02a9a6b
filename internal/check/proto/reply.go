package proto

import (
	"fmt"
	"strconv"
	"strings"
)

// Reply is an SMTP or FTP reply: a three-digit code and its lines (code and
// separator stripped).
type Reply struct {
	Code  int
	Lines []string
}

// Text is the reply on one line: "220 mail.example ESMTP".
func (r Reply) Text() string {
	return strings.TrimSpace(strconv.Itoa(r.Code) + " " + strings.Join(r.Lines, " "))
}

// Class is the first digit of the code (2 for success).
func (r Reply) Class() int { return r.Code / 100 }

// ReplyError is a reply that a step did not expect.
type ReplyError struct {
	What  string
	Reply Reply
}

func (e *ReplyError) Error() string { return e.What + ": " + e.Reply.Text() }

// ReadReply reads one SMTP/FTP reply, multi-line ones included
// ("250-first", ..., "250 last"; FTP allows free text between the first and
// last line).
func (c *Conn) ReadReply() (Reply, error) {
	line, err := c.ReadLine()
	if err != nil {
		return Reply{}, err
	}
	code, sep, text, err := parseReplyLine(line)
	if err != nil {
		return Reply{}, err
	}
	r := Reply{Code: code, Lines: []string{text}}
	if sep != '-' {
		return r, nil
	}
	prefix := line[:3]
	for {
		line, err := c.ReadLine()
		if err != nil {
			return r, err
		}
		if len(line) >= 3 && line[:3] == prefix && (len(line) == 3 || line[3] == ' ') {
			r.Lines = append(r.Lines, strings.TrimSpace(line[3:]))
			return r, nil
		}
		if len(line) >= 4 && line[:3] == prefix && line[3] == '-' {
			line = line[4:]
		}
		r.Lines = append(r.Lines, line)
	}
}

func parseReplyLine(line string) (code int, sep byte, text string, err error) {
	if len(line) < 3 {
		return 0, 0, "", fmt.Errorf("malformed reply %q", clip(line))
	}
	code, cerr := strconv.Atoi(line[:3])
	if cerr != nil || code < 100 || code > 599 {
		return 0, 0, "", fmt.Errorf("malformed reply %q", clip(line))
	}
	if len(line) == 3 {
		return code, ' ', "", nil
	}
	sep = line[3]
	if sep != ' ' && sep != '-' {
		return 0, 0, "", fmt.Errorf("malformed reply %q", clip(line))
	}
	return code, sep, line[4:], nil
}

// Cmd sends a command line and reads the reply.
func (c *Conn) Cmd(format string, args ...any) (Reply, error) {
	if err := c.WriteLine(fmt.Sprintf(format, args...)); err != nil {
		return Reply{}, err
	}
	return c.ReadReply()
}

// clip shortens remote text for messages.
func clip(s string) string {
	const max = 120
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && (s[cut]&0xC0) == 0x80 {
		cut--
	}
	return s[:cut] + "…"
}

// Clip shortens remote text (a banner, a reply) for check output.
func Clip(s string) string { return clip(s) }
