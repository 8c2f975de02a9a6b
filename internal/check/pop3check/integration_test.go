package pop3check

import (
	"testing"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/checktest"
)

func daemon(t *testing.T, env, def string) int { return checktest.DaemonPort(t, "dovecot", env, def) }

func TestIntegration(t *testing.T) {
	plain := daemon(t, "MAMORI_ITEST_POP3_PORT", "10110")
	secure := daemon(t, "MAMORI_ITEST_POP3S_PORT", "10995")
	user, pass := checktest.ITestLogin()
	ca := checktest.ITestCA()
	login := func(p string) func(*Spec) {
		return func(s *Spec) { s.User, s.Password = user, check.NewSecret(p) }
	}
	kind.Table(t, []checktest.Case[*Spec]{
		{"greeting", plain, nil, 0, check.OK, "greeting '+OK"},
		{"login and stat", plain, login(pass), 0, check.OK, "logged in as '" + user + "'"},
		{"stls and login", plain, func(s *Spec) {
			s.StartTLS, s.CAFile, s.WarningDays, s.CriticalDays = true, ca, 30, 7
			login(pass)(s)
		}, 0, check.OK, "STLS ok"},
		{"pop3s", secure, func(s *Spec) { s.TLS, s.CAFile = true, ca; login(pass)(s) }, 0, check.OK, "messages"},
		{"stopped daemon", checktest.ClosedPort(t), nil, 0, check.Critical, "connection refused"},
		// Last: Dovecot delays logins from an address that just failed one.
		{"bad password", plain, login("wrong-password"), 0, check.Critical, "login failed for user '" + user + "': -ERR"},
	}, func(t *testing.T, tt checktest.Case[*Spec], s *Spec, r check.Result) {
		if tt.Want == check.OK && s.User != "" && !hasPerf(r, "messages") {
			t.Errorf("no messages perfdata: %v", r.Perf)
		}
	})
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
	kind.ComparePlugin(t, daemon(t, "MAMORI_ITEST_POP3_PORT", "10110"), checktest.Comparison[*Spec]{
		Plugin: "check_pop", Args: []string{"-w", "6", "-c", "11", "-t", "12"},
		Flag: "-e", What: "expect", OK: "+OK", Wrong: "WRONG",
		Set: func(s *Spec, v string) { s.Expect = v },
	})
}
