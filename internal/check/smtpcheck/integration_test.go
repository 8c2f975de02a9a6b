package smtpcheck

import (
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/checktest"
)

func daemon(t *testing.T) int {
	t.Helper()
	_, p, _ := net.SplitHostPort(checktest.Daemon(t, "postfix", "MAMORI_ITEST_SMTP_PORT", "2525"))
	n, _ := strconv.Atoi(p)
	return n
}

func caFile() string { return checktest.Env("MAMORI_ITEST_CA", "/tmp/mamori-itest/certs/ca.pem") }

func TestIntegration(t *testing.T) {
	p := daemon(t)
	user := checktest.Env("MAMORI_ITEST_USER", "mtest")
	pass := checktest.Env("MAMORI_ITEST_PASSWORD", "mtestpass")
	for _, tt := range []struct {
		name string
		port int
		mod  func(*Spec)
		want check.Status
		out  string
	}{
		{"greeting", p, nil, check.OK, "greeting '220 "},
		{"starttls", p, func(s *Spec) { s.StartTLS = true; s.CAFile = caFile(); s.WarningDays = 30; s.CriticalDays = 7 }, check.OK, "STARTTLS ok"},
		{"starttls and auth", p, func(s *Spec) {
			s.StartTLS = true
			s.CAFile = caFile()
			s.User, s.Password = user, check.NewSecret(pass)
		}, check.OK, "authenticated as '" + user + "'"},
		{"bad password", p, func(s *Spec) {
			s.StartTLS = true
			s.CAFile = caFile()
			s.User, s.Password = user, check.NewSecret("wrong-password")
		}, check.Critical, "authentication failed for user '" + user + "': 535"},
		{"starttls without the CA", p, func(s *Spec) { s.StartTLS = true }, check.Critical, "unknown authority"},
		{"stopped daemon", checktest.ClosedPort(t), nil, check.Critical, "connection refused"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := spec("127.0.0.1", tt.port)
			if tt.mod != nil {
				tt.mod(s)
			}
			if r := run(t, s, 0); r.Status != tt.want || !strings.Contains(r.Output, tt.out) {
				t.Errorf("got %s %q, want %s containing %q", r.Status, r.Output, tt.want, tt.out)
			}
		})
	}
}

// TestPluginComparison: check_smtp and this check agree on the same targets.
func TestPluginComparison(t *testing.T) {
	p := daemon(t)
	closed := checktest.ClosedPort(t)
	for _, tt := range []struct {
		name   string
		port   int
		expect string
	}{
		{"ok", p, ""},
		{"expect ok", p, "ESMTP"},
		{"closed port", closed, ""},
		{"wrong expect", p, "WRONG"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"-H", "127.0.0.1", "-p", strconv.Itoa(tt.port), "-w", "5", "-c", "10", "-t", "10"}
			if tt.expect != "" {
				args = append(args, "-e", tt.expect)
			}
			want, _ := checktest.Plugin(t, "check_smtp", args...)
			s := spec("127.0.0.1", tt.port)
			s.Expect = tt.expect
			if r := run(t, s, 0); r.Status.ExitCode() != want {
				t.Errorf("mamori %s %q, check_smtp exit %d", r.Status, r.Output, want)
			}
		})
	}
}
