// Package sshcheck is the "ssh" check type: read the server's identification
// banner ("SSH-2.0-OpenSSH_9.2p1 Debian-2"), like check_ssh.
package sshcheck

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/proto"
)

// The seed's SSH rows (both tables): OK when the banner contains "SSH",
// no WARNING rule; the 6 s / 11 s response times are the other ports'
// rule of the first table. See docs/checks.md.
func init() {
	check.Register(&check.Kind{
		Name:    "ssh",
		Label:   "SSH",
		Summary: "read an SSH server's banner; CRITICAL when there is none or it lacks SSH",
		Scope:   check.ScopeServer,
		Timeout: 12 * time.Second,
		New: func() check.Spec {
			return &Spec{Port: 22, Timing: proto.Timing{Warning: 6 * time.Second, Critical: 11 * time.Second}}
		},
	})
}

// Spec is the ssh check's configuration.
type Spec struct {
	proto.Target
	Port int `yaml:"port" help:"SSH port"`
	proto.Timing
	Expect   string `yaml:"expect" help:"substring the server's software version must contain (e.g. OpenSSH_9)"`
	Protocol string `yaml:"protocol" help:"protocol version the banner must announce (e.g. 2.0)"`
}

// Validate reports every problem.
func (s *Spec) Validate() []check.FieldError {
	errs := proto.Errors(proto.ValidateTarget(s.Host, s.Port), s.ValidateTimes())
	if s.Protocol != "" && strings.Trim(s.Protocol, "0123456789.") != "" {
		errs = append(errs, check.Errf("protocol", "%q is not a version such as 2.0", s.Protocol))
	}
	return errs
}

// New builds the checker.
func (s *Spec) New(env check.Env) (check.Checker, error) {
	if errs := s.Validate(); len(errs) > 0 {
		return nil, errs[0]
	}
	return &checker{spec: *s}, nil
}

// maxPreBanner is how many lines a server may send before its SSH- line
// (RFC 4253 4.2 allows some).
const maxPreBanner = 20

// preBannerGrace is how long to wait for the SSH- line after another line.
const preBannerGrace = 500 * time.Millisecond

type checker struct{ spec Spec }

func (c *checker) Check(ctx context.Context) check.Result {
	r := proto.NewReport(c.spec.Host, c.spec.Port)
	start := r.Start
	text, status, err := c.run(ctx, r)
	res := r.Result(ctx, err, c.spec.Warning, c.spec.Critical)
	if err == nil {
		// check_ssh's wording: "OpenSSH_9.2p1 Debian-2 (protocol 2.0)".
		d := time.Since(start)
		res.Status = check.Worst(status, check.ByDuration(d, c.spec.Warning, c.spec.Critical))
		res.Output = check.OneLine(fmt.Sprintf("%s, %s on %s", text, proto.Elapsed(d), r.Where))
	}
	return res
}

func (c *checker) run(ctx context.Context, r *proto.Report) (string, check.Status, error) {
	conn, _, err := r.Open(ctx, false, nil)
	if err != nil {
		return "", 0, err
	}
	defer conn.Close()
	conn.MaxLine = 255 + 8 // RFC 4253: at most 255 characters, some slack
	conn.MaxLines = maxPreBanner + 1
	banner, err := readBanner(ctx, conn, r.Where)
	if err != nil {
		return "", 0, err
	}
	// Be polite: identify ourselves so sshd logs a clean disconnect.
	conn.WriteLine("SSH-2.0-mamori_check")
	// "SSH-2.0-OpenSSH_9.2p1 Debian-2": protocol, then software and comments.
	rest := strings.TrimPrefix(banner, "SSH-")
	protoVer, server, _ := strings.Cut(rest, "-")
	if server == "" {
		return "", 0, proto.Fail(check.Critical, "malformed SSH banner '%s'", proto.Clip(banner))
	}
	text := fmt.Sprintf("%s (protocol %s)", server, protoVer)
	if c.spec.Protocol != "" && protoVer != c.spec.Protocol {
		return "", 0, proto.Fail(check.Critical, "%s: protocol %s, expected %s", text, protoVer, c.spec.Protocol)
	}
	if c.spec.Expect != "" && !strings.Contains(server, c.spec.Expect) {
		return "", 0, proto.Fail(check.Critical, "%s: version does not contain '%s'", text, c.spec.Expect)
	}
	return text, check.OK, nil
}

// readBanner reads up to the SSH identification line. Lines before it are
// allowed (RFC 4253), but a server that said something else and then waits,
// closes or sends no line end is not SSH: the error shows what it sent.
func readBanner(ctx context.Context, conn *proto.Conn, where string) (string, error) {
	var sent []string
	for i := 0; ; i++ {
		if i > 0 {
			conn.SetReadDeadline(time.Now().Add(preBannerGrace))
		}
		line, err := conn.ReadLine()
		if err == nil && strings.HasPrefix(line, "SSH-") {
			return line, nil
		}
		if err == nil {
			sent = append(sent, line)
		} else if p := conn.Partial(); p != "" {
			sent = append(sent, p)
		}
		if err != nil && len(sent) == 0 {
			return "", proto.Step(ctx, "no banner from "+where, err)
		}
		if err != nil || i+1 >= maxPreBanner {
			text := strings.Join(sent, "\n")
			if !strings.Contains(text, "SSH") {
				return "", proto.Fail(check.Critical, "banner %s from %s does not contain 'SSH'", shown(text), where)
			}
			return "", proto.Fail(check.Critical, "banner %s from %s is not an SSH identification (SSH-x.y-...)", shown(text), where)
		}
	}
}

// shown renders what a server sent for the output: 'text' when it is
// printable, Go-quoted ("J\x00\x00...") when it is not, and says so when it
// was only an empty line.
func shown(s string) string {
	if strings.TrimSpace(s) == "" {
		return "(an empty line)"
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return strconv.Quote(proto.Clip(s))
		}
	}
	return "'" + proto.Clip(s) + "'"
}
