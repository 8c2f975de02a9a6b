package checktest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
)

// PluginDir is where Monitoring-Plugins live (MAMORI_PLUGIN_DIR overrides).
func PluginDir() string { return Env("MAMORI_PLUGIN_DIR", "/usr/lib/nagios/plugins") }

// Plugin runs a Monitoring-Plugins plugin (e.g. "check_tcp") with args and
// returns its exit status and first output line. When the plugin is not
// installed the test is skipped, or failed when Integration().
func Plugin(t testing.TB, name string, args ...string) (status int, line string) {
	t.Helper()
	path := filepath.Join(PluginDir(), name)
	if _, err := os.Stat(path); err != nil {
		if Integration() {
			t.Fatalf("plugin %s is not installed (%v): run scripts/itest-daemons.sh start", path, err)
		}
		t.Skipf("plugin %s not installed (set MAMORI_INTEGRATION=1 to require it)", path)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	out, err := cmd.Output()
	status = 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("running %s: %v", name, err)
		}
		status = ee.ExitCode()
	}
	line, _, _ = strings.Cut(string(out), "\n")
	t.Logf("%s %s → %d %s", name, strings.Join(args, " "), status, line)
	return status, line
}

// Comparison says how to run a plugin and a check type on the same targets.
type Comparison[S check.Spec] struct {
	Plugin string   // "check_smtp"
	Args   []string // the plugin's options besides -H, -p and Flag
	Flag   string   // the plugin's option for what Set sets ("-e")
	What   string   // what Flag is, for subtest names ("expect")
	OK     string   // a value of Flag the daemon matches
	Wrong  string   // one it does not
	Set    func(s S, value string)
}

// ComparePlugin runs the plugin and the check against port with and without
// the comparison's values, and against a closed port, and expects the same
// exit status.
func (k Kind[S]) ComparePlugin(t *testing.T, port int, c Comparison[S]) {
	t.Helper()
	closed := ClosedPort(t)
	for _, tt := range []struct {
		name  string
		port  int
		value string
	}{
		{"ok", port, ""},
		{c.What + " ok", port, c.OK},
		{"closed port", closed, ""},
		{"wrong " + c.What, port, c.Wrong},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"-H", "127.0.0.1", "-p", strconv.Itoa(tt.port)}, c.Args...)
			if tt.value != "" {
				args = append(args, c.Flag, tt.value)
			}
			want, _ := Plugin(t, c.Plugin, args...)
			s := k.Spec("127.0.0.1", tt.port)
			c.Set(s, tt.value)
			if r := k.Run(t, s, 0); r.Status.ExitCode() != want {
				t.Errorf("mamori %s %q, %s exit %d", r.Status, r.Output, c.Plugin, want)
			}
		})
	}
}
