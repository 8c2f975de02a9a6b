package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Two servers on one data_dir, or two agents on one state_dir, corrupt
// each other's files: the second is refused at once, names the holder's
// pid, and exits 1. After kill -9 of the holder the directory is free.
func TestSecondProcessOnALockedDirIsRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server and agent processes")
	}
	dir := t.TempDir()
	port := freePort(t)
	dataDir := filepath.Join(dir, "data")
	cfgPath := filepath.Join(dir, "mamori.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`listen: 127.0.0.1:%d
data_dir: %s
hosts:
  - name: web01
    address: 127.0.0.1
    agent_token: web01-agent-token-0123
    checks: [{name: svc, type: tcp, port: 1, interval: 1h}]
`, port, dataDir)), 0o644)
	s := startServer(t, cfgPath, port)

	start := time.Now()
	out, code := mamoriWithin(t, 30*time.Second, "server", "--config", cfgPath, "--listen", fmt.Sprintf("127.0.0.1:%d", freePort(t)))
	if code != 1 || !strings.Contains(out, dataDir) || !strings.Contains(out, fmt.Sprintf("pid %d", s.cmd.Process.Pid)) || !strings.Contains(out, "mamori server") {
		t.Fatalf("second server on the data_dir: exit %d\n%s", code, out)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("the second server took %s to give up", d)
	}

	agentCfg := filepath.Join(dir, "agent.yaml")
	stateDir := filepath.Join(dir, "agent-state")
	os.WriteFile(agentCfg, []byte(fmt.Sprintf("state_dir: %s\nhostname: web01\n", stateDir)), 0o644)
	ag := startAgent(t, s.base, "web01-agent-token-0123", agentCfg)
	// The agent holds its state dir once it has written its pid there.
	deadline := time.Now().Add(30 * time.Second)
	for {
		b, _ := os.ReadFile(filepath.Join(stateDir, "mamori.lock"))
		if strings.HasPrefix(string(b), fmt.Sprintf("%d\n", ag.cmd.Process.Pid)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the agent did not lock its state dir: %q", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	out, code = mamoriWithin(t, 30*time.Second, "agent", "--server", s.base, "--token", "web01-agent-token-0123", "--config", agentCfg)
	if code != 1 || !strings.Contains(out, stateDir) || !strings.Contains(out, fmt.Sprintf("pid %d", ag.cmd.Process.Pid)) {
		t.Fatalf("second agent on the state_dir: exit %d\n%s", code, out)
	}

	// kill -9 leaves the lock file behind, but not the lock.
	s.kill9()
	if _, err := os.Stat(filepath.Join(dataDir, "mamori.lock")); err != nil {
		t.Fatal(err)
	}
	s = startServer(t, cfgPath, port)
	s.waitFor("web01/agent", 20*time.Second, "the agent back", func(c apiCheck) bool { return c.State == "OK" })
}

// mamoriWithin runs the CLI like mamori, killed after d (a process that
// should refuse to start must not hang the test when it does start).
func mamoriWithin(t *testing.T, d time.Duration, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), "MAMORI_E2E_MAIN=1")
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("mamori %s still ran after %s:\n%s", strings.Join(args, " "), d, out)
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}
