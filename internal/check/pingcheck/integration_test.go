package pingcheck

import (
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/checktest"
)

// TestCheckPing compares with Monitoring Plugins' check_ping (which runs the
// ping binary) on loopback addresses with the default thresholds. Loss cases
// are in TestNetns: check_ping cannot enter our namespace.
func TestCheckPing(t *testing.T) {
	if _, err := sharedPinger(false, modeAuto); err != nil {
		if checktest.Integration() {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	for _, tt := range []struct {
		host string
		args []string
	}{
		{"127.0.0.1", []string{"-4"}},
		{"::1", []string{"-6"}},
		// An RTA threshold below loopback's round trip: both say CRITICAL.
		{"127.0.0.1", []string{"-4", "-w", "0.0001,20%", "-c", "0.0002,60%"}},
	} {
		t.Run(tt.host, func(t *testing.T) {
			args := append([]string{"-H", tt.host, "-p", "5", "-w", "100,20%", "-c", "300,60%"}, tt.args...)
			s := newSpec()
			s.Host = tt.host
			s.PacketInterval = 20 * time.Millisecond
			if len(tt.args) > 1 {
				args = append([]string{"-H", tt.host, "-p", "5"}, tt.args...)
				s.Warning, s.Critical = "0.0001,20%", "0.0002,60%"
			}
			st, line := checktest.Plugin(t, "check_ping", args...)
			r := runCheck(testChecker(t, s, nil), 10*time.Second)
			if int(r.Status) != st {
				t.Fatalf("check_ping %d (%s), mamori %s (%s)", st, line, r.Status, r.PluginLine())
			}
			if len(tt.args) == 1 && r.Status != check.OK {
				t.Fatalf("%s", r.PluginLine())
			}
		})
	}
}
