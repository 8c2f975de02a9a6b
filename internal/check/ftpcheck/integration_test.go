package ftpcheck

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
	_, p, _ := net.SplitHostPort(checktest.Daemon(t, "vsftpd", "MAMORI_ITEST_FTP_PORT", "2121"))
	n, _ := strconv.Atoi(p)
	return n
}

func caFile() string { return checktest.Env("MAMORI_ITEST_CA", "/tmp/mamori-itest/certs/ca.pem") }

func TestIntegration(t *testing.T) {
	p := daemon(t)
	user := checktest.Env("MAMORI_ITEST_USER", "mtest")
	pass := checktest.Env("MAMORI_ITEST_PASSWORD", "mtestpass")
	file := checktest.Env("MAMORI_ITEST_FTP_FILE", "pub/hello.txt")
	readonly := checktest.Env("MAMORI_ITEST_FTP_READONLY_DIR", "readonly")
	login := func(p string) func(*Spec) {
		return func(s *Spec) { s.User, s.Password = user, check.NewSecret(p) }
	}
	with := func(fs ...func(*Spec)) func(*Spec) {
		return func(s *Spec) {
			for _, f := range fs {
				f(s)
			}
		}
	}
	for _, tt := range []struct {
		name string
		port int
		mod  func(*Spec)
		want check.Status
		out  string
	}{
		{"greeting", p, nil, check.OK, "greeting '220"},
		{"login", p, login(pass), check.OK, "logged in as '" + user + "'"},
		{"list retrieve store", p, with(login(pass), func(s *Spec) {
			s.List, s.Retrieve, s.Expect, s.Store = "pub", file, "hello from mamori", "."
		}), check.OK, "stored and deleted 'mamori-check-"},
		{"store refused", p, with(login(pass), func(s *Spec) { s.Store = readonly }), check.Critical, "store refused: 553"},
		{"retrieve missing", p, with(login(pass), func(s *Spec) { s.Retrieve = "pub/nope.txt" }), check.Critical, "retrieve 'pub/nope.txt': 550"},
		{"auth tls with transfers", p, with(login(pass), func(s *Spec) {
			s.TLS, s.CAFile, s.WarningDays, s.CriticalDays = true, caFile(), 30, 7
			s.List, s.Retrieve, s.Expect, s.Store = "pub", file, "hello from mamori", "pub"
		}), check.OK, "AUTH TLS ok"},
		{"auth tls unknown ca", p, func(s *Spec) { s.TLS = true }, check.Critical, "unknown authority"},
		{"bad password", p, login("wrong-password"), check.Critical, "login failed for user '" + user + "': 530"},
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

// TestPluginComparison: check_ftp and this check agree on the same targets.
func TestPluginComparison(t *testing.T) {
	p := daemon(t)
	closed := checktest.ClosedPort(t)
	for _, tt := range []struct {
		name   string
		port   int
		expect string
	}{
		{"ok", p, ""},
		{"expect ok", p, "vsFTPd"},
		{"closed port", closed, ""},
		{"wrong expect", p, "WRONG"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"-H", "127.0.0.1", "-p", strconv.Itoa(tt.port), "-w", "6", "-c", "11", "-t", "12"}
			if tt.expect != "" {
				args = append(args, "-e", tt.expect)
			}
			want, _ := checktest.Plugin(t, "check_ftp", args...)
			s := spec("127.0.0.1", tt.port)
			s.ExpectBanner = tt.expect
			if r := run(t, s, 0); r.Status.ExitCode() != want {
				t.Errorf("mamori %s %q, check_ftp exit %d", r.Status, r.Output, want)
			}
		})
	}
}
