package imapcheck

import (
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/checktest"
)

func daemon(t *testing.T, env, def string) int {
	t.Helper()
	_, p, _ := net.SplitHostPort(checktest.Daemon(t, "dovecot", env, def))
	n, _ := strconv.Atoi(p)
	return n
}

func caFile() string { return checktest.Env("MAMORI_ITEST_CA", "/tmp/mamori-itest/certs/ca.pem") }

func TestIntegration(t *testing.T) {
	plain := daemon(t, "MAMORI_ITEST_IMAP_PORT", "10143")
	secure := daemon(t, "MAMORI_ITEST_IMAPS_PORT", "10993")
	user := checktest.Env("MAMORI_ITEST_USER", "mtest")
	pass := checktest.Env("MAMORI_ITEST_PASSWORD", "mtestpass")
	login := func(p string) func(*Spec) {
		return func(s *Spec) { s.User, s.Password = user, check.NewSecret(p) }
	}
	for _, tt := range []struct {
		name string
		port int
		mod  func(*Spec)
		want check.Status
		out  string
	}{
		{"greeting", plain, nil, check.OK, "greeting '* OK"},
		{"login and status", plain, login(pass), check.OK, "logged in as '" + user + "', INBOX:"},
		{"starttls and login", plain, func(s *Spec) {
			s.StartTLS, s.CAFile, s.WarningDays, s.CriticalDays = true, caFile(), 30, 7
			login(pass)(s)
		}, check.OK, "STARTTLS ok"},
		{"imaps", secure, func(s *Spec) { s.TLS, s.CAFile = true, caFile(); login(pass)(s) }, check.OK, "messages"},
		{"missing mailbox", plain, func(s *Spec) { login(pass)(s); s.Mailbox = "NoSuchBox" }, check.Critical, "mailbox 'NoSuchBox': NO"},
		{"stopped daemon", checktest.ClosedPort(t), nil, check.Critical, "connection refused"},
		// Last: Dovecot delays logins from an address that just failed one.
		{"bad password", plain, login("wrong-password"), check.Critical, "login failed for user '" + user + "': NO"},
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

// TestPluginComparison: check_imap and this check agree on the same targets.
func TestPluginComparison(t *testing.T) {
	p := daemon(t, "MAMORI_ITEST_IMAP_PORT", "10143")
	closed := checktest.ClosedPort(t)
	for _, tt := range []struct {
		name   string
		port   int
		expect string
	}{
		{"ok", p, ""},
		{"expect ok", p, "* OK"},
		{"closed port", closed, ""},
		{"wrong expect", p, "WRONG"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"-H", "127.0.0.1", "-p", strconv.Itoa(tt.port), "-w", "6", "-c", "11", "-t", "12"}
			if tt.expect != "" {
				args = append(args, "-e", tt.expect)
			}
			want, _ := checktest.Plugin(t, "check_imap", args...)
			s := spec("127.0.0.1", tt.port)
			s.Expect = tt.expect
			if r := run(t, s, 0); r.Status.ExitCode() != want {
				t.Errorf("mamori %s %q, check_imap exit %d", r.Status, r.Output, want)
			}
		})
	}
}
