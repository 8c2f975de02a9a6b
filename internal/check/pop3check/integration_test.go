package pop3check

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
	plain := daemon(t, "MAMORI_ITEST_POP3_PORT", "10110")
	secure := daemon(t, "MAMORI_ITEST_POP3S_PORT", "10995")
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
		{"greeting", plain, nil, check.OK, "greeting '+OK"},
		{"login and stat", plain, login(pass), check.OK, "logged in as '" + user + "'"},
		{"stls and login", plain, func(s *Spec) {
			s.StartTLS, s.CAFile, s.WarningDays, s.CriticalDays = true, caFile(), 30, 7
			login(pass)(s)
		}, check.OK, "STLS ok"},
		{"pop3s", secure, func(s *Spec) { s.TLS, s.CAFile = true, caFile(); login(pass)(s) }, check.OK, "messages"},
		{"stopped daemon", checktest.ClosedPort(t), nil, check.Critical, "connection refused"},
		// Last: Dovecot delays logins from an address that just failed one.
		{"bad password", plain, login("wrong-password"), check.Critical, "login failed for user '" + user + "': -ERR"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := spec("127.0.0.1", tt.port)
			if tt.mod != nil {
				tt.mod(s)
			}
			r := run(t, s, 0)
			if r.Status != tt.want || !strings.Contains(r.Output, tt.out) {
				t.Errorf("got %s %q, want %s containing %q", r.Status, r.Output, tt.want, tt.out)
			}
			if tt.want == check.OK && tt.mod != nil && s.User != "" && !hasPerf(r, "messages") {
				t.Errorf("no messages perfdata: %v", r.Perf)
			}
		})
	}
}

func hasPerf(r check.Result, label string) bool {
	for _, m := range r.Perf {
		if m.Label == label {
			return true
		}
	}
	return false
}

// TestPluginComparison: check_pop and this check agree on the same targets.
func TestPluginComparison(t *testing.T) {
	p := daemon(t, "MAMORI_ITEST_POP3_PORT", "10110")
	closed := checktest.ClosedPort(t)
	for _, tt := range []struct {
		name   string
		port   int
		expect string
	}{
		{"ok", p, ""},
		{"expect ok", p, "+OK"},
		{"closed port", closed, ""},
		{"wrong expect", p, "WRONG"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"-H", "127.0.0.1", "-p", strconv.Itoa(tt.port), "-w", "6", "-c", "11", "-t", "12"}
			if tt.expect != "" {
				args = append(args, "-e", tt.expect)
			}
			want, _ := checktest.Plugin(t, "check_pop", args...)
			s := spec("127.0.0.1", tt.port)
			s.Expect = tt.expect
			if r := run(t, s, 0); r.Status.ExitCode() != want {
				t.Errorf("mamori %s %q, check_pop exit %d", r.Status, r.Output, want)
			}
		})
	}
}
