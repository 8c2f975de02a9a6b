// Package tcpcheck is the "tcp" check type: connect to a port, optionally
// send a string and expect a substring in the answer, like check_tcp.
package tcpcheck

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/proto"
)

// Defaults from the seed's first service table (hosting option, the
// FTP/POP/IMAP/MySQL/PostgreSQL rows): WARNING when the answer takes
// 6–11 s, CRITICAL over 11 s. See docs/checks.md.
func init() {
	check.Register(&check.Kind{
		Name:    "tcp",
		Label:   "TCP",
		Summary: "connect to a TCP port; optionally send a string and expect a substring in the answer",
		Scope:   check.ScopeServer,
		Timeout: 12 * time.Second,
		Inline:  true, // proto.Conn bounds dial, handshake and I/O by the run's context
		New: func() check.Spec {
			return &Spec{Timing: proto.Timing{Warning: 6 * time.Second, Critical: 11 * time.Second}, Mismatch: "warning"}
		},
	})
}

// Spec is the tcp check's configuration.
type Spec struct {
	Host string `yaml:"host" help:"host name or address to connect to" required:"true"`
	Port int    `yaml:"port" help:"TCP port" required:"true"`
	proto.Timing
	Send               string `yaml:"send" help:"string to send after connecting (\\n, \\r, \\t and \\\\ escapes)"`
	Expect             string `yaml:"expect" help:"substring the answer must contain"`
	Mismatch           string `yaml:"mismatch" help:"status when expect is not found: ok, warning or critical (check_tcp -M)"`
	Quit               string `yaml:"quit" help:"string to send before closing (escapes as in send)"`
	TLS                bool   `yaml:"tls" help:"connect with TLS"`
	CAFile             string `yaml:"ca_file" help:"PEM file of CA certificates to trust (with tls)"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify" help:"do not verify the server certificate (with tls)"`
	ServerName         string `yaml:"server_name" help:"TLS server name (SNI and verification; default: host)"`
}

// DefaultHost takes the host's address when the check has none.
func (s *Spec) DefaultHost(address string) {
	if s.Host == "" {
		s.Host = address
	}
}

// Validate reports every problem.
func (s *Spec) Validate() []check.FieldError {
	errs := proto.Errors(proto.ValidateTarget(s.Host, s.Port), s.ValidateTimes())
	if _, err := mismatchStatus(s.Mismatch); err != nil {
		errs = append(errs, check.Errf("mismatch", "%v", err))
	}
	if s.Expect != "" && Unescape(s.Expect) == "" {
		errs = append(errs, check.Errf("expect", "is empty after unescaping"))
	}
	return errs
}

func mismatchStatus(s string) (check.Status, error) {
	switch strings.ToLower(s) {
	case "", "warning", "warn":
		return check.Warning, nil
	case "ok":
		return check.OK, nil
	case "critical", "crit":
		return check.Critical, nil
	}
	return check.Unknown, fmt.Errorf("%q is not ok, warning or critical", s)
}

// New builds the checker.
func (s *Spec) New(env check.Env) (check.Checker, error) {
	if errs := s.Validate(); len(errs) > 0 {
		return nil, errs[0]
	}
	c := &checker{spec: *s, send: Unescape(s.Send), expect: Unescape(s.Expect), quit: Unescape(s.Quit)}
	c.mismatch, _ = mismatchStatus(s.Mismatch)
	var err error
	o := proto.TLSOptions{CAFile: s.CAFile, InsecureSkipVerify: s.InsecureSkipVerify, ServerName: s.ServerName}
	if c.tls, err = o.ClientTLS(s.TLS, s.Host); err != nil {
		return nil, err
	}
	return c, nil
}

// Unescape turns \n, \r, \t and \\ into the characters they name.
func Unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	return strings.NewReplacer(`\\`, `\`, `\n`, "\n", `\r`, "\r", `\t`, "\t").Replace(s)
}

// expectGrace is how long to wait for more data once an answer that does
// not (yet) contain the expected string has arrived.
const expectGrace = 300 * time.Millisecond

// maxAnswer bounds how much of the answer is read.
const maxAnswer = 64 << 10

type checker struct {
	spec               Spec
	send, expect, quit string
	mismatch           check.Status
	tls                *tls.Config
}

func (c *checker) Check(ctx context.Context) check.Result {
	return proto.Run(ctx, c.spec.Host, c.spec.Port, c.spec.Timing, c.run)
}

func (c *checker) run(ctx context.Context, r *proto.Report) error {
	conn, _, err := r.Open(ctx, c.spec.TLS, c.tls)
	if err != nil {
		return err
	}
	defer conn.Close()
	if c.send != "" {
		if _, err := conn.Write([]byte(c.send)); err != nil {
			return proto.Step(ctx, "sending to "+r.Where, err)
		}
	}
	if c.expect != "" {
		answer, found, err := c.read(conn)
		switch {
		case err != nil && len(answer) == 0:
			return proto.Step(ctx, "no answer from "+r.Where, err)
		case !found && len(answer) == 0:
			r.Grade(c.mismatch, fmt.Sprintf("no answer (expected '%s')", c.expect))
		case !found:
			r.Grade(c.mismatch, fmt.Sprintf("unexpected answer '%s' (expected '%s')", proto.Clip(firstLine(answer)), c.expect))
		}
	}
	if c.quit != "" {
		conn.Write([]byte(c.quit))
	}
	return nil
}

// read reads the answer until it contains the expected string, the server
// closes, maxAnswer bytes came, or no more data comes for expectGrace after
// some did.
func (c *checker) read(conn *proto.Conn) (answer string, found bool, err error) {
	var buf []byte
	chunk := make([]byte, 4096)
	for len(buf) < maxAnswer {
		if len(buf) > 0 {
			conn.SetReadDeadline(time.Now().Add(expectGrace))
		}
		n, err := conn.Read(chunk)
		buf = append(buf, chunk[:n]...)
		if strings.Contains(string(buf), c.expect) {
			return string(buf), true, nil
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return string(buf), false, err
		}
	}
	return string(buf), false, nil
}

func firstLine(s string) string {
	s = strings.TrimLeft(s, "\r\n")
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}
