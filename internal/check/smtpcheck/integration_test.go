package smtpcheck

import (
	"testing"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/checktest"
)

func daemon(t *testing.T) int {
	return checktest.DaemonPort(t, "postfix", "MAMORI_ITEST_SMTP_PORT", "2525")
}

func TestIntegration(t *testing.T) {
	p := daemon(t)
	user, pass := checktest.ITestLogin()
	ca := checktest.ITestCA()
	kind.Table(t, []checktest.Case[*Spec]{
		{"greeting", p, nil, 0, check.OK, "greeting '220 "},
		{"starttls", p, func(s *Spec) { s.StartTLS = true; s.CAFile = ca; s.WarningDays = 30; s.CriticalDays = 7 }, 0, check.OK, "STARTTLS ok"},
		{"starttls and auth", p, func(s *Spec) {
			s.StartTLS = true
			s.CAFile = ca
			s.User, s.Password = user, check.NewSecret(pass)
		}, 0, check.OK, "authenticated as '" + user + "'"},
		{"bad password", p, func(s *Spec) {
			s.StartTLS = true
			s.CAFile = ca
			s.User, s.Password = user, check.NewSecret("wrong-password")
		}, 0, check.Critical, "authentication failed for user '" + user + "': 535"},
		{"starttls without the CA", p, func(s *Spec) { s.StartTLS = true }, 0, check.Critical, "unknown authority"},
		{"stopped daemon", checktest.ClosedPort(t), nil, 0, check.Critical, "connection refused"},
	})
}

// TestPluginComparison: check_smtp and this check agree on the same targets.
func TestPluginComparison(t *testing.T) {
	kind.ComparePlugin(t, daemon(t), checktest.Comparison[*Spec]{
		Plugin: "check_smtp", Args: []string{"-w", "5", "-c", "10", "-t", "10"},
		Flag: "-e", What: "expect", OK: "ESMTP", Wrong: "WRONG",
		Set: func(s *Spec, v string) { s.Expect = v },
	})
}
