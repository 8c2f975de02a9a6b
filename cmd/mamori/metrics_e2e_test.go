package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestMetricsIngestAndQueryRange(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	dir := t.TempDir()
	port := freePort(t)
	web := &target{port: freePort(t)}
	web.up(t)
	cfgPath := filepath.Join(dir, "mamori.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`listen: 127.0.0.1:%d
data_dir: %s
api_tokens:
  - {name: other, token: other-tenant-token, role: viewer, tenant: other}
hosts:
  - name: db1
    address: 127.0.0.1
    tenant: acme
    agent_token: db1-agent-token-0123
    checks:
      - {name: web, type: tcp, port: %d, interval: 1s}
`, port, filepath.Join(dir, "data"), web.port)), 0o644)
	s := startServer(t, cfgPath, port)

	// An agent's batch with host metrics.
	now := time.Now().Truncate(time.Second)
	var samples []map[string]any
	for i := 0; i < 5; i++ {
		samples = append(samples, map[string]any{"name": "node_load5", "t": now.Add(time.Duration(i-4) * 15 * time.Second).UnixMilli(), "v": 0.5 + float64(i)/10})
	}
	body, _ := json.Marshal(map[string]any{"seq": 1, "sent": now.UnixMilli(), "samples": samples})
	req, _ := http.NewRequest("POST", s.base+"/api/v1/agent/batch", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer db1-agent-token-0123")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("batch: %v %v", resp, err)
	}
	resp.Body.Close()

	type promResp struct {
		Status string `json:"status"`
		Data   struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Metric map[string]string `json:"metric"`
				Values [][2]any          `json:"values"`
			} `json:"result"`
		} `json:"data"`
	}
	query := func(tok, q string) promResp {
		v := url.Values{"query": {q}, "start": {fmt.Sprint(now.Add(-2 * time.Minute).Unix())}, "end": {fmt.Sprint(now.Add(time.Minute).Unix())}, "step": {"15"}}
		req, _ := http.NewRequest("GET", s.base+"/api/v1/query_range?"+v.Encode(), nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var pr promResp
		json.NewDecoder(resp.Body).Decode(&pr)
		return pr
	}
	pr := query(token, `node_load5{host="db1"}`)
	if pr.Status != "success" || pr.Data.ResultType != "matrix" || len(pr.Data.Result) != 1 || pr.Data.Result[0].Metric["tenant"] != "acme" || len(pr.Data.Result[0].Values) < 4 {
		t.Fatalf("query_range: %+v", pr)
	}
	if pr := query("other-tenant-token", `{__name__=~".+"}`); pr.Status != "success" || len(pr.Data.Result) != 0 {
		t.Fatalf("another tenant reads acme's series: %+v", pr)
	}
	// Check perfdata lands in the same store.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if pr := query(token, `mamori_check_perf{check="db1/web", perf="time"}`); len(pr.Data.Result) == 1 {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal("check perfdata never reached the time-series store")
}
