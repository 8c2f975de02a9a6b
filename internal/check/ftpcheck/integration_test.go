package ftpcheck

import (
	"testing"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/checktest"
)

func daemon(t *testing.T) int {
	return checktest.DaemonPort(t, "vsftpd", "MAMORI_ITEST_FTP_PORT", "2121")
}

func TestIntegration(t *testing.T) {
	p := daemon(t)
	user, pass := checktest.ITestLogin()
	ca := checktest.ITestCA()
	file := checktest.Env("MAMORI_ITEST_FTP_FILE", "pub/hello.txt")
	readonly := checktest.Env("MAMORI_ITEST_FTP_READONLY_DIR", "readonly")
	login := func(p string) func(*Spec) {
		return func(s *Spec) { s.User, s.Password = user, check.NewSecret(p) }
	}
	kind.Table(t, []checktest.Case[*Spec]{
		{"greeting", p, nil, 0, check.OK, "greeting '220"},
		{"login", p, login(pass), 0, check.OK, "logged in as '" + user + "'"},
		{"list retrieve store", p, with(login(pass), func(s *Spec) {
			s.List, s.Retrieve, s.Expect, s.Store = "pub", file, "hello from mamori", "."
		}), 0, check.OK, "stored and deleted 'mamori-check-"},
		{"store refused", p, with(login(pass), func(s *Spec) { s.Store = readonly }), 0, check.Critical, "store refused: 553"},
		{"retrieve missing", p, with(login(pass), func(s *Spec) { s.Retrieve = "pub/nope.txt" }), 0, check.Critical, "retrieve 'pub/nope.txt': 550"},
		{"auth tls with transfers", p, with(login(pass), func(s *Spec) {
			s.TLS, s.CAFile, s.WarningDays, s.CriticalDays = true, ca, 30, 7
			s.List, s.Retrieve, s.Expect, s.Store = "pub", file, "hello from mamori", "pub"
		}), 0, check.OK, "AUTH TLS ok"},
		{"auth tls unknown ca", p, func(s *Spec) { s.TLS = true }, 0, check.Critical, "unknown authority"},
		{"bad password", p, login("wrong-password"), 0, check.Critical, "login failed for user '" + user + "': 530"},
		{"stopped daemon", checktest.ClosedPort(t), nil, 0, check.Critical, "connection refused"},
	})
}

// TestPluginComparison: check_ftp and this check agree on the same targets.
func TestPluginComparison(t *testing.T) {
	kind.ComparePlugin(t, daemon(t), checktest.Comparison[*Spec]{
		Plugin: "check_ftp", Args: []string{"-w", "6", "-c", "11", "-t", "12"},
		Flag: "-e", What: "expect", OK: "vsFTPd", Wrong: "WRONG",
		Set: func(s *Spec, v string) { s.ExpectBanner = v },
	})
}
