package tcpcheck

import (
	"testing"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/checktest"
)

func TestIntegrationSSHPort(t *testing.T) {
	port := checktest.DaemonPort(t, "sshd", "MAMORI_ITEST_SSH_PORT", "2222")
	for _, tt := range []struct {
		name   string
		port   int
		expect string
		want   check.Status
	}{
		{"connect", port, "", check.OK},
		{"expect", port, "SSH-2.0", check.OK},
		{"wrong expect", port, "WRONG", check.Warning},
		{"closed port", checktest.ClosedPort(t), "", check.Critical},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := kind.Spec("127.0.0.1", tt.port)
			s.Expect = tt.expect
			if r := kind.Run(t, s, 0); r.Status != tt.want {
				t.Errorf("got %s %q, want %s", r.Status, r.Output, tt.want)
			}
		})
	}
}

// TestPluginComparison runs check_tcp and this check against the same
// targets with the same options and expects the same exit status.
func TestPluginComparison(t *testing.T) {
	kind.ComparePlugin(t, checktest.DaemonPort(t, "sshd", "MAMORI_ITEST_SSH_PORT", "2222"), checktest.Comparison[*Spec]{
		Plugin: "check_tcp", Args: []string{"-w", "6", "-c", "11", "-t", "12"},
		Flag: "-e", What: "expect", OK: "SSH-", Wrong: "WRONG",
		Set: func(s *Spec, v string) { s.Expect = v },
	})
}
