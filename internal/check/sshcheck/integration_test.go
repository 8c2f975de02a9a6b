package sshcheck

import (
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/checktest"
)

func port(t *testing.T, addr string) int {
	t.Helper()
	_, p, _ := net.SplitHostPort(addr)
	n, err := strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestIntegration(t *testing.T) {
	p := port(t, checktest.Daemon(t, "sshd", "MAMORI_ITEST_SSH_PORT", "2222"))
	for _, tt := range []struct {
		name     string
		port     int
		expect   string
		protocol string
		want     check.Status
		out      string
	}{
		{"ok", p, "", "", check.OK, "OpenSSH"},
		{"expect and protocol", p, "OpenSSH_", "2.0", check.OK, "(protocol 2.0)"},
		{"wrong version", p, "WRONG", "", check.Critical, "does not contain 'WRONG'"},
		{"stopped daemon", checktest.ClosedPort(t), "", "", check.Critical, "connection refused"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := spec("127.0.0.1", tt.port)
			s.Expect, s.Protocol = tt.expect, tt.protocol
			if r := run(t, s, 0); r.Status != tt.want || !strings.Contains(r.Output, tt.out) {
				t.Errorf("got %s %q, want %s containing %q", r.Status, r.Output, tt.want, tt.out)
			}
		})
	}
}

// TestPluginComparison: check_ssh and this check agree on the same targets.
// check_ssh -r compares the whole software version exactly, expect is a
// substring: the OK case uses the full version string.
func TestPluginComparison(t *testing.T) {
	p := port(t, checktest.Daemon(t, "sshd", "MAMORI_ITEST_SSH_PORT", "2222"))
	r0 := run(t, spec("127.0.0.1", p), 0)
	full, _, _ := strings.Cut(strings.TrimPrefix(r0.Output, "SSH OK - "), " (protocol")
	closed := checktest.ClosedPort(t)
	for _, tt := range []struct {
		name    string
		port    int
		version string
	}{
		{"ok", p, ""},
		{"version ok", p, full},
		{"closed port", closed, ""},
		{"wrong version", p, "WRONG_1.0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"-H", "127.0.0.1", "-p", strconv.Itoa(tt.port), "-t", "12"}
			if tt.version != "" {
				args = append(args, "-r", tt.version)
			}
			want, _ := checktest.Plugin(t, "check_ssh", args...)
			s := spec("127.0.0.1", tt.port)
			s.Expect = tt.version
			if r := run(t, s, 0); r.Status.ExitCode() != want {
				t.Errorf("mamori %s %q, check_ssh exit %d", r.Status, r.Output, want)
			}
		})
	}
}
