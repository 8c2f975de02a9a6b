package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// mamori's own /metrics passes Debian's `promtool check metrics` (lint
// included) and carries the per-check series and mamori_build_info.
func TestMetricsPassPromtool(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("MAMORI_INTEGRATION") == "1" {
			t.Fatal("promtool is missing (apt-get install prometheus; scripts/itest-daemons.sh installs it)")
		}
		t.Skip("promtool not installed; set MAMORI_INTEGRATION=1 to require it")
	}
	dir := t.TempDir()
	port := freePort(t)
	web := &target{port: freePort(t)}
	web.up(t)
	cfgPath := filepath.Join(dir, "mamori.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`listen: 127.0.0.1:%d
data_dir: %s
hosts:
  - name: web1
    address: 127.0.0.1
    tenant: acme
    checks:
      - {name: web, type: tcp, port: %d, interval: 1s}
`, port, filepath.Join(dir, "data"), web.port)), 0o644)
	s := startServer(t, cfgPath, port)

	var body []byte
	deadline := time.Now().Add(60 * time.Second)
	for {
		req, _ := http.NewRequest("GET", s.base+"/metrics", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if bytes.Contains(body, []byte(`mamori_check_state{check="web1/web"`)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no mamori_check_state for web1/web in /metrics:\n%s", body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, want := range []string{`mamori_check_last_run_timestamp_seconds{check="web1/web"`, `mamori_check_last_duration_seconds{`, `mamori_build_info{`} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	var bi struct {
		Status string            `json:"status"`
		Data   map[string]string `json:"data"`
	}
	if code := s.get("/api/v1/status/buildinfo", &bi); code != 200 || bi.Status != "success" || !strings.HasPrefix(bi.Data["version"], "dev") || bi.Data["goVersion"] == "" {
		t.Errorf("/api/v1/status/buildinfo: %d %+v", code, bi)
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.CombinedOutput()
	// Exit 3 is lint findings only (1 would be a parse error). The one kind
	// accepted is the Prometheus TSDB and query-engine library's own names
	// (prometheus_*_histogram_*), which Prometheus' /metrics has too.
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 3) {
		t.Fatalf("promtool check metrics: %v\n%s", err, out)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if line != "" && !(strings.HasPrefix(line, "prometheus_") && strings.Contains(line, "should not include type 'histogram'")) {
			t.Errorf("promtool check metrics: %s", line)
		}
	}
}
