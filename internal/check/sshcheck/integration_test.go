package sshcheck

import (
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/checktest"
)

func daemon(t *testing.T) int {
	return checktest.DaemonPort(t, "sshd", "MAMORI_ITEST_SSH_PORT", "2222")
}

func TestIntegration(t *testing.T) {
	p := daemon(t)
	withExpect := func(expect, protocol string) func(*Spec) {
		return func(s *Spec) { s.Expect, s.Protocol = expect, protocol }
	}
	kind.Table(t, []checktest.Case[*Spec]{
		{"ok", p, nil, 0, check.OK, "OpenSSH"},
		{"expect and protocol", p, withExpect("OpenSSH_", "2.0"), 0, check.OK, "(protocol 2.0)"},
		{"wrong version", p, withExpect("WRONG", ""), 0, check.Critical, "does not contain 'WRONG'"},
		{"stopped daemon", checktest.ClosedPort(t), nil, 0, check.Critical, "connection refused"},
	})
}

// TestPluginComparison: check_ssh and this check agree on the same targets.
// check_ssh -r compares the whole software version exactly, expect is a
// substring: the OK case uses the full version string.
func TestPluginComparison(t *testing.T) {
	p := daemon(t)
	r0 := kind.Run(t, kind.Spec("127.0.0.1", p), 0)
	full, _, _ := strings.Cut(strings.TrimPrefix(r0.Output, "SSH OK - "), " (protocol")
	kind.ComparePlugin(t, p, checktest.Comparison[*Spec]{
		Plugin: "check_ssh", Args: []string{"-t", "12"},
		Flag: "-r", What: "version", OK: full, Wrong: "WRONG_1.0",
		Set: func(s *Spec, v string) { s.Expect = v },
	})
}
