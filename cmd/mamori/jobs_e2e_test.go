package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

const jobToken = "e2e-backup-push-token-0123456789"

func writeJobsConfig(t *testing.T, dir string, port int) string {
	t.Helper()
	path := filepath.Join(dir, "mamori.yaml")
	cfg := fmt.Sprintf(`listen: 127.0.0.1:%d
data_dir: %s
hosts:
  - name: web1
    address: 127.0.0.1
    agent: true
checks:
  - name: backup
    type: push
    period: 1h
    attempts: 1
    token: %s
  - name: derived
    type: push
    period: 1h
    attempts: 1
  - name: silent
    type: push
    period: 2s
    grace: 1s
    interval: 1s
    attempts: 1
`, port, filepath.Join(dir, "data"), jobToken)
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// requireJobsWired skips the test while the agent routes or the run/host
// commands are not part of this build yet.
func requireJobsWired(t *testing.T, s *server) {
	t.Helper()
	resp, err := http.Post(s.base+"/api/v1/push/probe-not-a-token", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		t.Fatal("the push route is not served (agentapi routes missing from the server)")
	}
	if out, _ := mamori(t, "run"); strings.Contains(out, "unknown command") {
		t.Fatal("mamori run is missing from the command line")
	}
}

// TestJobsRunAndSilence: `mamori run` of a failing command makes its push
// check CRITICAL with the exit code; a job that never reports goes
// CRITICAL after period + grace.
func TestJobsRunAndSilence(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	dir := t.TempDir()
	port := freePort(t)
	cfgPath := writeJobsConfig(t, dir, port)
	s := startServer(t, cfgPath, port)
	requireJobsWired(t, s)

	// 1. A failing job: passed-through output, its exit code, and the report.
	out, code := mamori(t, "run", "--job", "backup", "--server", s.base, "--token", jobToken, "--",
		"sh", "-c", `echo "copying files"; sleep 0.2; echo "disk full" >&2; exit 3`)
	if code != 3 {
		t.Fatalf("mamori run exited %d, want the job's 3:\n%s", code, out)
	}
	if !strings.Contains(out, "copying files") || !strings.Contains(out, "disk full") {
		t.Fatalf("job output not passed through:\n%s", out)
	}
	c := s.waitFor("backup", 5*time.Second, "CRITICAL", func(c apiCheck) bool { return c.State == "CRITICAL" })
	if !regexp.MustCompile(`^PUSH CRITICAL - exit code 3 after \d+\.\d s: disk full$`).MatchString(c.Output) {
		t.Fatalf("output %q", c.Output)
	}

	// 2. A successful run via MAMORI_PUSH_URL recovers it.
	cmd := []string{"run", "--job", "backup", "--", "sh", "-c", "echo all good"}
	t.Setenv("MAMORI_PUSH_URL", s.base+"/api/v1/push/"+jobToken)
	if out, code := mamori(t, cmd...); code != 0 {
		t.Fatalf("mamori run (ok) exited %d:\n%s", code, out)
	}
	os.Unsetenv("MAMORI_PUSH_URL")
	c = s.waitFor("backup", 5*time.Second, "OK", func(c apiCheck) bool { return c.State == "OK" })
	if !strings.HasPrefix(c.Output, "PUSH OK - exit code 0 after") || !strings.HasSuffix(c.Output, ": all good") {
		t.Fatalf("output %q", c.Output)
	}

	// 3. --warning-exit maps an exit code to WARNING; --config derives the
	// token of a check without its own (on the server host).
	if out, code := mamori(t, "run", "--job", "derived", "--config", cfgPath, "--server", s.base, "--warning-exit", "1,4", "--", "sh", "-c", "exit 4"); code != 4 {
		t.Fatalf("mamori run (warning) exited %d:\n%s", code, out)
	}
	s.waitFor("derived", 5*time.Second, "WARNING", func(c apiCheck) bool {
		return c.State == "WARNING" && strings.Contains(c.Output, "exit code 4")
	})

	// 4. A bad token is refused (not retried) and the job's exit code stays.
	out, code = mamori(t, "run", "--server", s.base, "--token", "wrong-token-0123456789abc", "--", "true")
	if code != 0 || !strings.Contains(out, "unknown push token") {
		t.Fatalf("bad token: exit %d:\n%s", code, out)
	}

	// 5. A job that never reports goes CRITICAL after period + grace.
	c = s.waitFor("silent", 10*time.Second, "CRITICAL", func(c apiCheck) bool { return c.State == "CRITICAL" })
	if !strings.Contains(c.Output, "no report for") || !strings.Contains(c.Output, "(period 2s, grace 1s)") {
		t.Fatalf("silent job output %q", c.Output)
	}

	// 6. A plain curl-style report.
	resp, err := http.Post(s.base+"/api/v1/push/"+jobToken, "application/json", bytes.NewReader([]byte(`{"status":"WARNING","output":"slow backup","duration":12.5}`)))
	if err != nil {
		t.Fatal(err)
	}
	var ack map[string]string
	json.NewDecoder(resp.Body).Decode(&ack)
	resp.Body.Close()
	if resp.StatusCode != 202 || ack["check"] != "backup" || ack["status"] != "WARNING" {
		t.Fatalf("push: %d %v", resp.StatusCode, ack)
	}
}

// TestHostAddEnrolsAgent: `mamori host add` prints a token the running
// server accepts for that host; revoked, it is refused.
func TestHostAddEnrolsAgent(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	dir := t.TempDir()
	port := freePort(t)
	cfgPath := writeJobsConfig(t, dir, port)
	s := startServer(t, cfgPath, port)
	requireJobsWired(t, s)

	if out, code := mamori(t, "host", "add", "nosuch", "--config", cfgPath); code != 1 || !strings.Contains(out, `host "nosuch" is not in`) {
		t.Fatalf("unknown host: %d %s", code, out)
	}
	out, code := mamori(t, "host", "add", "web1", "--config", cfgPath)
	if code != 0 {
		t.Fatalf("host add: %d %s", code, out)
	}
	m := regexp.MustCompile(`mamori agent --server \S+ --token (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no agent command in:\n%s", out)
	}
	tok := m[1]
	if out, code := mamori(t, "host", "add", "web1", "--config", cfgPath); code != 1 || !strings.Contains(out, "already has") {
		t.Fatalf("second add: %d %s", code, out)
	}
	hello := func() int {
		req, _ := http.NewRequest("POST", s.base+"/api/v1/agent/hello", strings.NewReader(`{"version":1,"agent":"e2e","hostname":"web1","os":"linux","arch":"amd64"}`))
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := hello(); code != 200 {
		t.Fatalf("hello with the new token: %d", code)
	}
	s.waitFor("web1/agent", 40*time.Second, "OK", func(c apiCheck) bool { return c.State == "OK" })
	out, _ = mamori(t, "host", "list", "--config", cfgPath)
	if !strings.Contains(out, "web1") || !strings.Contains(out, "enrolled") || !strings.Contains(out, "e2e linux/amd64") {
		t.Fatalf("host list:\n%s", out)
	}
	if out, code := mamori(t, "host", "revoke", "web1", "--config", cfgPath); code != 0 {
		t.Fatalf("revoke: %d %s", code, out)
	}
	deadline := time.Now().Add(10 * time.Second)
	for hello() != 401 {
		if time.Now().After(deadline) {
			t.Fatal("revoked token still accepted after 10 s")
		}
		time.Sleep(200 * time.Millisecond)
	}
}
