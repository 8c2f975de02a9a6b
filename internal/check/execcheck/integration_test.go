//go:build unix

package execcheck

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/checktest"
)

// TestMonitoringPlugins runs real Monitoring Plugins through the exec check
// and directly: same exit status, same line.
func TestMonitoringPlugins(t *testing.T) {
	dir := checktest.PluginDir()
	tests := [][]string{
		{"check_dummy", "0", "all good"},
		{"check_dummy", "1", "a warning"},
		{"check_dummy", "2", "broken"},
		{"check_dummy", "3", "no idea"},
		{"check_dummy", "7", "out of range"}, // check_dummy itself says UNKNOWN (3)
		{"check_dummy"},                      // usage: UNKNOWN
		{"check_tcp", "-H", "127.0.0.1", "-p", "1"},
	}
	k, _ := check.Lookup("exec")
	for _, argv := range tests {
		t.Run(filepath.Base(argv[0])+" "+joinArgs(argv[1:]), func(t *testing.T) {
			st, line := checktest.Plugin(t, argv[0], argv[1:]...)
			s := k.New()
			if err := k.Args(s, append([]string{filepath.Join(dir, argv[0])}, argv[1:]...)); err != nil {
				t.Fatal(err)
			}
			r := run(t, s.(*Spec), 20*time.Second)
			if int(r.Status) != st {
				t.Fatalf("plugin exit %d (%s), exec check %s (%s)", st, line, r.Status, r.PluginLine())
			}
			if r.PluginLine() != line && st <= 3 {
				t.Fatalf("line %q, plugin printed %q", r.PluginLine(), line)
			}
		})
	}
}

func joinArgs(a []string) string {
	out := ""
	for i, s := range a {
		if i > 0 {
			out += " "
		}
		out += s
	}
	return out
}
