package tcpcheck

import (
	"net"
	"strconv"
	"testing"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/checktest"
)

func TestIntegrationSSHPort(t *testing.T) {
	addr := checktest.Daemon(t, "sshd", "MAMORI_ITEST_SSH_PORT", "2222")
	port := portOf(t, addr)
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
			s := spec("127.0.0.1", tt.port)
			s.Expect = tt.expect
			if r := run(t, s, 0); r.Status != tt.want {
				t.Errorf("got %s %q, want %s", r.Status, r.Output, tt.want)
			}
		})
	}
}

// TestPluginComparison runs check_tcp and this check against the same
// targets with the same options and expects the same exit status.
func TestPluginComparison(t *testing.T) {
	addr := checktest.Daemon(t, "sshd", "MAMORI_ITEST_SSH_PORT", "2222")
	port := portOf(t, addr)
	closed := checktest.ClosedPort(t)
	for _, tt := range []struct {
		name   string
		port   int
		expect string
	}{
		{"ok", port, ""},
		{"expect ok", port, "SSH-"},
		{"closed port", closed, ""},
		{"wrong expect", port, "WRONG"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"-H", "127.0.0.1", "-p", strconv.Itoa(tt.port), "-w", "6", "-c", "11", "-t", "12"}
			if tt.expect != "" {
				args = append(args, "-e", tt.expect)
			}
			want, _ := checktest.Plugin(t, "check_tcp", args...)
			s := spec("127.0.0.1", tt.port)
			s.Expect = tt.expect
			if r := run(t, s, 0); r.Status.ExitCode() != want {
				t.Errorf("mamori %s %q, check_tcp exit %d", r.Status, r.Output, want)
			}
		})
	}
}

func portOf(t *testing.T, addr string) int {
	t.Helper()
	_, p, _ := net.SplitHostPort(addr)
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
