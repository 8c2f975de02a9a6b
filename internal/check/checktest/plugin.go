package checktest

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
