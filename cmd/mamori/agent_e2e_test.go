package main

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// agentProc runs `mamori agent` as a real process.
type agentProc struct {
	cmd *exec.Cmd
	out *os.File
}

func startAgent(t *testing.T, server, tok, cfgPath string) *agentProc {
	t.Helper()
	logf, _ := os.CreateTemp(t.TempDir(), "agent-*.log")
	cmd := exec.Command(os.Args[0], "agent", "--server", server, "--token", tok, "--config", cfgPath)
	cmd.Env = append(os.Environ(), "MAMORI_E2E_MAIN=1")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	a := &agentProc{cmd: cmd, out: logf}
	t.Cleanup(func() {
		a.stop()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("agent output:\n%s", b)
		}
	})
	return a
}

func (a *agentProc) stop() {
	if a.cmd.ProcessState == nil {
		a.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { a.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			a.cmd.Process.Kill()
			<-done
		}
	}
}

func TestAgentEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server and agent processes")
	}
	dir := t.TempDir()
	port := freePort(t)
	logPath := filepath.Join(dir, "app.log")
	os.WriteFile(logPath, []byte("old ERROR line written before the agent started\n"), 0o644)
	marker := fmt.Sprintf("mamoriE2E%d", time.Now().UnixNano())
	victim := exec.Command("bash", "-c", "exec -a "+marker+" sleep 600")
	if err := victim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { victim.Process.Kill(); victim.Wait() })

	cfgPath := filepath.Join(dir, "mamori.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`listen: 127.0.0.1:%d
data_dir: %s
hosts:
  - name: web01
    address: 127.0.0.1
    tenant: acme
    agent_token: web01-agent-token-0123
    metrics_interval: 2s
    checks:
      - {name: disk, type: disk, mounts: [/], warning: 0.001, critical: 0.002, interval: 1s, attempts: 3}
      - {name: proc, type: process, cmdline_regex: "%s", interval: 1s, attempts: 1}
      - {name: applog, type: log, files: ["%s"], critical_patterns: [ERROR], interval: 1s}
`, port, filepath.Join(dir, "data"), marker, logPath)), 0o644)
	agentCfg := filepath.Join(dir, "agent.yaml")
	os.WriteFile(agentCfg, []byte(fmt.Sprintf("state_dir: %s\nhostname: web01\n", filepath.Join(dir, "agent-state"))), 0o644)

	s := startServer(t, cfgPath, port)
	ag := startAgent(t, s.base, "web01-agent-token-0123", agentCfg)

	// Metrics arrive and can be queried like Prometheus.
	deadline := time.Now().Add(30 * time.Second)
	for {
		v := url.Values{"query": {`node_load5{host="web01"}`}, "start": {fmt.Sprint(time.Now().Add(-time.Minute).Unix())}, "end": {fmt.Sprint(time.Now().Unix())}, "step": {"1"}}
		req, _ := http.NewRequest("GET", s.base+"/api/v1/query_range?"+v.Encode(), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(b), `"host":"web01"`) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("no node_load5 samples from the agent")
		}
		time.Sleep(200 * time.Millisecond)
	}

	// As Node Exporter dashboards select: job="node", the host in instance,
	// and node_uname_info naming the system, asked for with "bearer" in
	// lower case as some clients send it.
	v := url.Values{"query": {`node_uname_info{job="node",instance="web01"}`}}
	req, _ := http.NewRequest("GET", s.base+"/api/v1/query?"+v.Encode(), nil)
	req.Header.Set("Authorization", "bearer "+token)
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), `"nodename":`) || !strings.Contains(string(b), `"sysname":"Linux"`) {
			t.Errorf("node_uname_info: %d %s", resp.StatusCode, b)
		}
	}

	// A disk threshold the machine crosses: soft, then hard.
	sawSoft := false
	s.waitFor("web01/disk", 30*time.Second, "hard CRITICAL", func(c apiCheck) bool {
		sawSoft = sawSoft || (c.StateType == "soft" && c.State == "CRITICAL")
		return c.StateType == "hard" && c.State == "CRITICAL"
	})
	if !sawSoft { // polling can miss it on a busy machine: the history cannot
		var evs []struct {
			State     string `json:"state"`
			StateType string `json:"state_type"`
		}
		s.get("/api/v1/events?check=web01/disk", &evs)
		for _, e := range evs {
			sawSoft = sawSoft || (e.StateType == "soft" && e.State == "CRITICAL")
		}
	}
	if !sawSoft {
		t.Error("the disk check never went through its soft state on the way")
	}
	if c := s.check("web01/agent"); c.State != "OK" {
		t.Errorf("heartbeat: %+v", c)
	}

	// A process killed makes its check CRITICAL.
	s.waitFor("web01/proc", 20*time.Second, "OK", func(c apiCheck) bool { return c.State == "OK" && c.LastCheck != "" })
	victim.Process.Kill()
	victim.Wait()
	s.waitFor("web01/proc", 20*time.Second, "CRITICAL", func(c apiCheck) bool { return c.State == "CRITICAL" })

	// A log line appended fires once; old lines never.
	s.waitFor("web01/applog", 20*time.Second, "a first run", func(c apiCheck) bool { return c.LastCheck != "" })
	if c := s.check("web01/applog"); c.State != "OK" {
		t.Fatalf("a line written before the agent started alerted: %+v", c)
	}
	appendLine := func(line string) {
		f, _ := os.OpenFile(logPath, os.O_APPEND|os.O_WRONLY, 0)
		fmt.Fprintln(f, line)
		f.Close()
	}
	appendLine("ERROR first failure")
	s.waitFor("web01/applog", 20*time.Second, "CRITICAL", func(c apiCheck) bool {
		return c.State == "CRITICAL" && strings.Contains(c.Output, "first failure")
	})
	s.waitFor("web01/applog", 20*time.Second, "OK again", func(c apiCheck) bool { return c.State == "OK" })
	logAlerts := func() int {
		var evs []apiEvent
		s.get("/api/v1/events?check=web01/applog&hard=1&limit=100", &evs)
		n := 0
		for _, e := range evs {
			if e.State == "CRITICAL" {
				n++
			}
		}
		return n
	}
	if n := logAlerts(); n != 1 {
		t.Fatalf("log check alerted %d times, want once", n)
	}
	ag.stop()
	ag = startAgent(t, s.base, "web01-agent-token-0123", agentCfg)
	time.Sleep(4 * time.Second)
	if n := logAlerts(); n != 1 {
		t.Fatalf("after an agent restart the old line alerted again: %d alerts", n)
	}

	// The server goes away; the agent keeps results; all arrive later.
	s.kill9()
	appendLine("ERROR during the outage")
	time.Sleep(4 * time.Second)
	s = startServer(t, cfgPath, port)
	deadline = time.Now().Add(30 * time.Second)
	for {
		var evs []apiEvent
		s.get("/api/v1/events?check=web01/applog&limit=100", &evs)
		var got []map[string]any
		s.get("/api/v1/checks/web01/applog?results=200&events=0", &struct{ Results *[]map[string]any }{&got})
		found := false
		for _, r := range got {
			if strings.Contains(fmt.Sprint(r["output"]), "during the outage") {
				found = true
			}
		}
		if found {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the result spooled during the outage never arrived; recent results: %v", got)
		}
		time.Sleep(300 * time.Millisecond)
	}
}
