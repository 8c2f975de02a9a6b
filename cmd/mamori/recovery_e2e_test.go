package main

import (
	"github.com/mamori/mamori/internal/check/checktest"

	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// webScript starts `python3 -m http.server` on a port, detached from the
// agent's process group, its pid in a pidfile, and waits until it listens.
func webScript(t *testing.T, dir string, port int) (script, pidfile string) {
	t.Helper()
	pidfile = filepath.Join(dir, fmt.Sprintf("web-%d.pid", port))
	script = filepath.Join(dir, fmt.Sprintf("start-web-%d.sh", port))
	body := fmt.Sprintf(`#!/bin/bash
setsid python3 -m http.server %d --bind 127.0.0.1 --directory %q >%q 2>&1 </dev/null &
echo $! > %q
for i in $(seq 1 100); do
  if (exec 3<>/dev/tcp/127.0.0.1/%d) 2>/dev/null; then echo "web server up on port %d (pid $(cat %q))"; exit 0; fi
  sleep 0.1
done
echo "web server did not come up" >&2
exit 1
`, port, dir, filepath.Join(dir, fmt.Sprintf("web-%d.log", port)), pidfile, port, port, pidfile)
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { killPidfile(pidfile) })
	return script, pidfile
}

func killPidfile(pidfile string) {
	b, err := os.ReadFile(pidfile)
	if err != nil {
		return
	}
	if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 {
		syscall.Kill(pid, syscall.SIGKILL)
	}
}

func listening(port int) bool {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// supervisedAgent restarts the agent whenever it exits, as systemd would
// (and as a rebooted host does): the "reboot" of the test. It owns its
// processes (a single Wait each).
type supervisedAgent struct {
	mu      sync.Mutex
	stop    bool
	cur     *exec.Cmd
	starts  int
	logs    []string
	stopped chan struct{}
}

func superviseAgent(t *testing.T, server, tok, cfgPath string) *supervisedAgent {
	sa := &supervisedAgent{stopped: make(chan struct{})}
	logDir := t.TempDir()
	start := func() *exec.Cmd {
		sa.mu.Lock()
		defer sa.mu.Unlock()
		if sa.stop {
			return nil
		}
		logf, _ := os.Create(filepath.Join(logDir, fmt.Sprintf("agent-%d.log", sa.starts)))
		cmd := exec.Command(os.Args[0], "agent", "--server", server, "--token", tok, "--config", cfgPath)
		cmd.Env = append(os.Environ(), "MAMORI_E2E_MAIN=1")
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Errorf("start agent: %v", err)
			return nil
		}
		sa.cur = cmd
		sa.starts++
		sa.logs = append(sa.logs, logf.Name())
		return cmd
	}
	cmd := start()
	go func() {
		defer close(sa.stopped)
		for cmd != nil {
			cmd.Wait()
			time.Sleep(500 * time.Millisecond)
			cmd = start()
		}
	}()
	t.Cleanup(func() {
		sa.mu.Lock()
		sa.stop = true
		cur := sa.cur
		sa.mu.Unlock()
		if cur != nil {
			cur.Process.Signal(syscall.SIGTERM)
		}
		select {
		case <-sa.stopped:
		case <-time.After(15 * time.Second):
			cur.Process.Kill()
			<-sa.stopped
		}
		if t.Failed() {
			for _, l := range sa.logs {
				b, _ := os.ReadFile(l)
				t.Logf("agent output (%s):\n%s", filepath.Base(l), b)
			}
		}
	})
	return sa
}

func (sa *supervisedAgent) startCount() int {
	sa.mu.Lock()
	defer sa.mu.Unlock()
	return sa.starts
}

type recoveryRecord struct {
	Kind       string `json:"kind"`
	Step       int    `json:"step"`
	Action     string `json:"action"`
	Trigger    string `json:"trigger"`
	Who        string `json:"who"`
	Refused    bool   `json:"refused"`
	DryRun     bool   `json:"dry_run"`
	ExitCode   int    `json:"exit_code"`
	Error      string `json:"error"`
	Verified   string `json:"verified"`
	VerifyText string `json:"verify_text"`
	Finished   string `json:"finished_at"`
}

func (s *server) recoveryLog(check string) []recoveryRecord {
	s.t.Helper()
	var out []recoveryRecord
	if code := s.get("/api/v1/recover/"+check, &out); code != 200 {
		s.t.Fatalf("GET recover %s: %d", check, code)
	}
	return out
}

func timelineText(in apiIncident) string {
	var b strings.Builder
	for _, e := range in.Timeline {
		fmt.Fprintf(&b, "[%s] %s\n", e.Kind, e.Text)
	}
	return b.String()
}

func (s *server) incidentOf(check string, d time.Duration, what string, cond func(apiIncident) bool) apiIncident {
	s.t.Helper()
	deadline := time.Now().Add(d)
	var last apiIncident
	for time.Now().Before(deadline) {
		for _, in := range s.incidents("?check=" + check) {
			if in.Check != check {
				continue
			}
			var full apiIncident
			s.get(fmt.Sprintf("/api/v1/incidents/%d", in.ID), &full)
			last = full
			if cond(full) {
				return full
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	s.t.Fatalf("%s: %s not reached within %s; last incident %d %s:\n%s", check, what, d, last.ID, last.Status, timelineText(last))
	return last
}

func TestRecoveryEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server, agent and web server processes")
	}
	if _, err := exec.LookPath("python3"); err != nil {
		if checktest.Integration() {
			t.Fatal("python3 (the test's web server) is not installed")
		}
		t.Skip("python3 (the test's web server) is not installed")
	}
	dir := t.TempDir()
	port := freePort(t)
	webPort, web2Port, web3Port, softPort, maintPort := freePort(t), freePort(t), freePort(t), freePort(t), freePort(t)
	startWeb, pidfile := webScript(t, dir, webPort)
	startWeb2, pidfile2 := webScript(t, dir, web2Port)
	rebootMarker := filepath.Join(dir, "rebooted")
	hook := newHookReceiver(t)

	cfgPath := filepath.Join(dir, "mamori.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`listen: 127.0.0.1:%d
data_dir: %s
channels:
  - {name: hook, type: webhook, url: "%s/hook"}
recovery: {enabled: true, budget_per_host: {max: 20, per: 1h}}
hosts:
  - name: web01
    address: 127.0.0.1
    agent_token: web01-agent-token-0123
    checks:
      # restart helps
      - name: web
        type: http
        url: http://127.0.0.1:%d/
        interval: 1s
        attempts: 2
        notify: [hook]
        recovery: [{after: 2s, action: command, command: restart_web, verify_within: 20s}]
      # restart does not help; a "reboot" restarts the agent; then the budget is spent
      - name: web2
        type: http
        url: http://127.0.0.1:%d/
        interval: 1s
        attempts: 2
        notify: [hook]
        recovery:
          budget: {max: 2, per: 1h}
          steps:
            - {after: 2s, action: command, command: restart_web2_noop, verify_within: 3s}
            - {action: reboot, after: 2s, verify_within: 3s, wait_back: 30s}
            - {action: command, command: restart_web2_noop, after: 2s, verify_within: 3s}
      # not in the agent's allowlist
      - name: web3
        type: http
        url: http://127.0.0.1:%d/
        interval: 1s
        attempts: 2
        notify: [hook]
        recovery: [{after: 1s, action: command, command: format_disks}]
      # never hard
      - name: soft
        type: tcp
        port: %d
        interval: 1s
        attempts: 1000
        recovery: [{after: 1s, action: command, command: restart_web}]
      # in maintenance
      - name: maint
        type: tcp
        port: %d
        interval: 1s
        attempts: 1
        recovery: [{after: 1s, action: command, command: restart_web}]
`, port, filepath.Join(dir, "data"), hook.srv.URL, webPort, web2Port, web3Port, softPort, maintPort)), 0o644)
	agentCfg := filepath.Join(dir, "agent.yaml")
	os.WriteFile(agentCfg, []byte(fmt.Sprintf(`state_dir: %s
hostname: web01
action_timeout: 30s
actions:
  restart_web: [%q]
  restart_web2_noop: ["true"]
  reboot: [sh, -c, "touch %s; kill -TERM $PPID"]
`, filepath.Join(dir, "agent-state"), startWeb, rebootMarker)), 0o644)

	if out, code := mamori(t, "validate", "--config", cfgPath); code != 0 {
		t.Fatalf("validate: %s", out)
	}
	// The web servers run before mamori starts.
	for _, sc := range []string{startWeb, startWeb2} {
		if out, err := exec.Command(sc).CombinedOutput(); err != nil {
			t.Fatalf("%s: %v %s", sc, err, out)
		}
	}
	if out, code := mamori(t, "maintenance", "add", "--config", cfgPath, "--check", "web01/maint", "--duration", "10m", "--reason", "test"); code != 0 {
		t.Fatalf("maintenance add: %d %s", code, out)
	}
	s := startServer(t, cfgPath, port)
	ag := superviseAgent(t, s.base, "web01-agent-token-0123", agentCfg)
	s.waitFor("web01/web", 20*time.Second, "OK", func(c apiCheck) bool { return c.State == "OK" && c.LastCheck != "" })
	s.waitFor("web01/web2", 20*time.Second, "OK", func(c apiCheck) bool { return c.State == "OK" && c.LastCheck != "" })

	// 1. The web server is killed; the agent restarts it; the re-check is
	// OK; the incident is resolved with the whole story.
	killPidfile(pidfile)
	sawSoft := false
	s.waitFor("web01/web", 20*time.Second, "hard CRITICAL", func(c apiCheck) bool {
		sawSoft = sawSoft || c.StateType == "soft"
		return c.StateType == "hard" && c.State == "CRITICAL"
	})
	if !sawSoft {
		t.Log("the soft state was too short to see (attempts 2, interval 1s)")
	}
	in := s.incidentOf("web01/web", 60*time.Second, "resolved with the verification on the timeline", func(in apiIncident) bool {
		return in.Status == "resolved" && strings.Contains(timelineText(in), "verification: OK")
	})
	tl := timelineText(in)
	for _, want := range []string{"[opened]", "recovery step 1/1: agent action restart_web on web01", "automatic: CRITICAL hard for", "by mamori",
		"finished: exit code 0", "web server up on port", "verification: OK", "[recovered]", "[resolved]"} {
		if !strings.Contains(tl, want) {
			t.Errorf("timeline of web01/web lacks %q:\n%s", want, tl)
		}
	}
	if !listening(webPort) {
		t.Error("the web server is not listening after the recovery")
	}
	recs := s.recoveryLog("web01/web")
	if len(recs) != 1 || recs[0].ExitCode != 0 || recs[0].Verified != "ok" || recs[0].Who != "mamori" || recs[0].Finished == "" {
		t.Errorf("audit log of web01/web: %+v", recs)
	}
	// The recovery notification says what was done.
	deadline := time.Now().Add(20 * time.Second)
	for {
		var found string
		for _, m := range hook.messages() {
			if m["kind"] == "recovery" && m["check"] == "web01/web" {
				b, _ := json.Marshal(m["actions"])
				found = string(b)
			}
		}
		if strings.Contains(found, "restart_web run automatically at") && strings.Contains(found, "service recovered") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the recovery notification does not say what was done: actions %s; messages %v", found, hook.messages())
		}
		time.Sleep(200 * time.Millisecond)
	}

	// 2. A restart that does not help: the next step "reboots" (the agent
	// restarts and comes back), then the budget is spent: people take over.
	startsBefore := ag.startCount()
	killPidfile(pidfile2)
	in2 := s.incidentOf("web01/web2", 90*time.Second, "recovery exhausted", func(in apiIncident) bool {
		return strings.Contains(timelineText(in), "recovery exhausted: escalating to people")
	})
	tl2 := timelineText(in2)
	for _, want := range []string{"recovery step 1/3: agent action restart_web2_noop", "verification: FAILED", "recovery step 2/3: reboot web01",
		"agent of web01 back at", "budget: 2 actions for this check", "recovery exhausted: escalating to people"} {
		if !strings.Contains(tl2, want) {
			t.Errorf("timeline of web01/web2 lacks %q:\n%s", want, tl2)
		}
	}
	if strings.Contains(tl2, "recovery step 3/3") {
		t.Errorf("a third action ran beyond the budget:\n%s", tl2)
	}
	if _, err := os.Stat(rebootMarker); err != nil {
		t.Errorf("the reboot command did not run: %v", err)
	}
	if ag.startCount() <= startsBefore {
		t.Errorf("the agent was not restarted by the reboot (starts %d)", ag.startCount())
	}
	if in2.Status == "resolved" {
		t.Errorf("web01/web2 resolved though nothing fixed it")
	}

	// 3. An action outside the agent's allowlist is refused, on the record.
	in3 := s.incidentOf("web01/web3", 30*time.Second, "refused on the timeline", func(in apiIncident) bool {
		return strings.Contains(timelineText(in), "refused by the agent")
	})
	if tl3 := timelineText(in3); !strings.Contains(tl3, "format_disks") || !strings.Contains(tl3, "not in this agent's local allowlist") {
		t.Errorf("timeline of web01/web3:\n%s", tl3)
	}
	if recs := s.recoveryLog("web01/web3"); len(recs) == 0 || !recs[len(recs)-1].Refused {
		t.Errorf("audit log of web01/web3: %+v", recs)
	}

	// 4. No action while soft or during maintenance.
	if c := s.check("web01/soft"); c.StateType != "soft" || c.State != "CRITICAL" {
		t.Errorf("web01/soft: %+v", c)
	}
	if c := s.check("web01/maint"); c.StateType != "hard" || c.State != "CRITICAL" {
		t.Errorf("web01/maint: %+v", c)
	}
	if recs := s.recoveryLog("web01/soft"); len(recs) != 0 {
		t.Errorf("an action ran for a soft state: %+v", recs)
	}
	if recs := s.recoveryLog("web01/maint"); len(recs) != 0 {
		t.Errorf("an action ran during maintenance: %+v", recs)
	}

	// 5. By hand: refused by the same safety rules (soft); a dry run is
	// recorded with the operator's name (and the agent still refuses a name
	// it does not have).
	if out, code := mamori(t, "recover", "web01/soft", "--server", s.base, "--token", token); code != 3 || !strings.Contains(out, "soft state") {
		t.Errorf("mamori recover on a soft check: %d %s", code, out)
	}
	if out, code := mamori(t, "recover", "web01/web3", "--server", s.base, "--token", token, "--dry-run"); code != 1 || !strings.Contains(out, "refused by the agent") {
		t.Errorf("mamori recover --dry-run: %d %s", code, out)
	}
	recs = s.recoveryLog("web01/web3")
	if len(recs) == 0 || !recs[0].DryRun || recs[0].Who != "MAMORI_ADMIN_TOKEN" || recs[0].Trigger != "manual" {
		t.Errorf("the manual dry run is not on the record: %+v", recs)
	}
}
