package dnscheck

import (
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/checktest"
)

// TestIntegrationDNS queries the dnsmasq of scripts/itest-daemons.sh (zone
// monitor.test) and compares the verdicts with Monitoring Plugins' check_dig.
func TestIntegrationDNS(t *testing.T) {
	addr := checktest.Daemon(t, "dnsmasq", "MAMORI_ITEST_DNS_PORT", "5353")
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	tests := []struct {
		name   string
		mod    func(*Spec)
		status check.Status
		output string
		dig    []string // check_dig arguments after -H -p, nil: no comparison
		digSt  int      // check_dig's status when it differs on purpose (-1: same)
	}{
		{"A", func(s *Spec) { s.Name = "app.monitor.test"; s.Expect = []string{"10.20.30.40"} }, check.OK, "app.monitor.test A: 10.20.30.40",
			[]string{"-l", "app.monitor.test", "-a", "10.20.30.40"}, -1},
		{"A over TCP", func(s *Spec) { s.Name = "app.monitor.test"; s.TCP = true }, check.OK, "10.20.30.40", []string{"-l", "app.monitor.test", "-A", "+tcp"}, -1},
		{"AAAA", func(s *Spec) { s.Name = "v6.monitor.test"; s.RecordType = "AAAA"; s.Expect = []string{"fd00::1"} }, check.OK, "fd00::1",
			[]string{"-l", "v6.monitor.test", "-T", "AAAA", "-a", "fd00::1"}, -1},
		{"TXT", func(s *Spec) { s.Name = "txt.monitor.test"; s.RecordType = "TXT"; s.Expect = []string{"mamori-ok"} }, check.OK, "mamori-ok",
			[]string{"-l", "txt.monitor.test", "-T", "TXT", "-a", "mamori-ok"}, -1},
		{"MX", func(s *Spec) {
			s.Name = "monitor.test"
			s.RecordType = "MX"
			s.Expect = []string{"10 mail.monitor.test"}
		}, check.OK, "10 mail.monitor.test.",
			[]string{"-l", "monitor.test", "-T", "MX", "-a", "10 mail.monitor.test"}, -1},
		{"CNAME", func(s *Spec) {
			s.Name = "www.monitor.test"
			s.RecordType = "CNAME"
			s.Expect = []string{"app.monitor.test"}
		}, check.OK, "app.monitor.test.",
			[]string{"-l", "www.monitor.test", "-T", "CNAME", "-a", "app.monitor.test"}, -1},
		{"A through CNAME", func(s *Spec) { s.Name = "www.monitor.test"; s.Expect = []string{"10.20.30.40"} }, check.OK, "10.20.30.40", nil, -1},
		{"NXDOMAIN", func(s *Spec) { s.Name = "nope.monitor.test" }, check.Critical, "NXDOMAIN for a name that must exist",
			[]string{"-l", "nope.monitor.test"}, -1},
		{"NXDOMAIN expected", func(s *Spec) { s.Name = "nope.monitor.test"; s.ExpectNXDomain = true }, check.OK, "NXDOMAIN as expected", nil, -1},
		// check_dig says WARNING for a wrong answer; mamori says CRITICAL, as
		// check_dns does ("expected ... but got ...").
		{"expect mismatch", func(s *Spec) { s.Name = "app.monitor.test"; s.Expect = []string{"10.9.9.9"} }, check.Critical, "expected 10.9.9.9 not in the answer (10.20.30.40)",
			[]string{"-l", "app.monitor.test", "-a", "10.9.9.9"}, 1},
		// A name with no record of the type cannot be resolved: CRITICAL, as
		// the seed says and check_dig does ("No ANSWER SECTION found").
		{"no AAAA", func(s *Spec) { s.Name = "app.monitor.test"; s.RecordType = "AAAA" }, check.Critical, "no AAAA record",
			[]string{"-l", "app.monitor.test", "-T", "AAAA"}, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSpec()
			s.Server = addr
			tt.mod(s)
			r := run(t, s, 6*time.Second)
			if r.Status != tt.status || !strings.Contains(r.Output, tt.output) {
				t.Fatalf("got %s %q, want %s containing %q", r.Status, r.PluginLine(), tt.status, tt.output)
			}
			if tt.dig == nil {
				return
			}
			st, line := checktest.Plugin(t, "check_dig", append([]string{"-H", "127.0.0.1", "-p", port}, tt.dig...)...)
			want := int(r.Status)
			if tt.digSt >= 0 {
				want = tt.digSt
			}
			if st != want {
				t.Fatalf("check_dig says %d (%s), want %d (mamori: %s %s)", st, line, want, r.Status, r.Output)
			}
		})
	}
}
