package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check/checktest"
)

// startPrometheus runs Debian's Prometheus as a remote write receiver on
// port, its data in dir (kept across restarts).
func startPrometheus(t *testing.T, dir string, port int) *exec.Cmd {
	t.Helper()
	cfg := filepath.Join(dir, "prometheus.yml")
	os.WriteFile(cfg, []byte("global: {scrape_interval: 1m}\n"), 0o644)
	logf, err := os.OpenFile(filepath.Join(dir, "prometheus.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("prometheus", "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"),
		fmt.Sprintf("--web.listen-address=127.0.0.1:%d", port), "--web.enable-remote-write-receiver")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); logf.Close() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		if resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/-/ready", port)); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return cmd
			}
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(filepath.Join(dir, "prometheus.log"))
			t.Fatalf("prometheus did not come up:\n%s", b)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// promSamples returns the timestamps (ms) Prometheus holds for a selector
// over the last window.
func promSamples(t *testing.T, port int, sel string, window time.Duration) []int64 {
	t.Helper()
	q := url.Values{"query": {fmt.Sprintf("%s[%ds]", sel, int(window.Seconds()))}}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/api/v1/query?%s", port, q.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Data struct {
			Result []struct {
				Values [][2]any `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, s := range r.Data.Result {
		for _, v := range s.Values {
			f, _ := v[0].(float64)
			out = append(out, int64(f*1000))
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// A real Prometheus receives the agent's series through remote write; it
// is stopped for a while and started again: the samples of the outage
// arrive from mamori's queue, and the series has no gap.
func TestRemoteWriteToPrometheus(t *testing.T) {
	if testing.Short() {
		t.Skip("starts prometheus, server and agent processes")
	}
	if _, err := exec.LookPath("prometheus"); err != nil {
		if checktest.Integration() {
			t.Fatal("prometheus is missing (scripts/itest-daemons.sh installs it)")
		}
		t.Skip("prometheus is not installed")
	}
	outage := 20 * time.Second
	if v, err := strconv.Atoi(os.Getenv("MAMORI_REMOTE_WRITE_OUTAGE_SECONDS")); err == nil && v > 0 {
		outage = time.Duration(v) * time.Second
	}
	dir := t.TempDir()
	port, promPort := freePort(t), freePort(t)
	cfgPath := filepath.Join(dir, "mamori.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`listen: 127.0.0.1:%d
data_dir: %s
remote_write:
  - {name: prom, url: "http://127.0.0.1:%d/api/v1/write", metrics: "node_load1|node_uname_info"}
hosts:
  - name: web01
    address: 127.0.0.1
    agent_token: web01-agent-token-0123
    metrics_interval: 1s
`, port, filepath.Join(dir, "data"), promPort)), 0o644)
	agentCfg := filepath.Join(dir, "agent.yaml")
	os.WriteFile(agentCfg, []byte(fmt.Sprintf("state_dir: %s\nhostname: web01\n", filepath.Join(dir, "agent-state"))), 0o644)

	promDir := filepath.Join(dir, "prom")
	os.MkdirAll(promDir, 0o755)
	prom := startPrometheus(t, promDir, promPort)
	s := startServer(t, cfgPath, port)
	startAgent(t, s.base, "web01-agent-token-0123", agentCfg)

	sel := `node_load1{host="web01",instance="web01",job="node"}`
	deadline := time.Now().Add(60 * time.Second)
	for len(promSamples(t, promPort, sel, 5*time.Minute)) < 3 {
		if time.Now().After(deadline) {
			t.Fatal("Prometheus never received node_load1 of web01")
		}
		time.Sleep(500 * time.Millisecond)
	}

	prom.Process.Kill()
	prom.Wait()
	stopped := time.Now()
	time.Sleep(outage)
	startPrometheus(t, promDir, promPort)
	restarted := time.Now()

	// Every second of the outage arrives: no gap wider than a few intervals.
	deadline = time.Now().Add(60 * time.Second)
	for {
		ts := promSamples(t, promPort, sel, 10*time.Minute)
		gap, at := int64(0), int64(0)
		covered := len(ts) > 0 && ts[0] < stopped.UnixMilli() && ts[len(ts)-1] > restarted.UnixMilli()
		for i := 1; i < len(ts); i++ {
			if d := ts[i] - ts[i-1]; d > gap {
				gap, at = d, ts[i-1]
			}
		}
		if covered && gap <= 3000 {
			t.Logf("%d samples across a %s outage, widest gap %d ms", len(ts), outage, gap)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the outage: %d samples, covered %v, widest gap %d ms at %s", len(ts), covered, gap, time.UnixMilli(at).UTC().Format(time.RFC3339))
		}
		time.Sleep(time.Second)
	}
	var m map[string]any
	if code := s.get("/api/v1/status/buildinfo", &m); code != 200 {
		t.Errorf("buildinfo: %d", code)
	}
}
