package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/mamori/mamori/internal/store/postgres/pgtest"
)

const relayAgentToken = "a-web01-agent-token-0123"

// relaySetup: NATS with the zone users, a server with a host of zone z1
// whose agent reaches it only through z1's poller, and a poller of each
// zone serving --agent-listen.
type relaySetup struct {
	nats          *natsd
	srv           *server
	dir, cfg      string
	z1, z2        string // the pollers' agent relays (base URLs)
	agentCfg      string
	agentStateDir string
	marker        string // the file the agent's recovery action creates
}

func setupRelay(t *testing.T) *relaySetup {
	t.Helper()
	natsServerBinary(t)
	s := &relaySetup{nats: startNATS(t), dir: t.TempDir()}
	z1 := writeFile(t, filepath.Join(s.dir, "z1.creds"), "zone-z1:z1-secret\n")
	z2 := writeFile(t, filepath.Join(s.dir, "z2.creds"), "zone-z2:z2-secret\n")
	writeFile(t, filepath.Join(s.dir, "server.creds"), "server:server-secret\n")
	port := freePort(t)
	s.cfg = writeFile(t, filepath.Join(s.dir, "mamori.yaml"), fmt.Sprintf(`listen: 127.0.0.1:%d
data_dir: %s
broker: %s
broker_creds: server.creds
api_tokens:
  - {name: e2e, token: %s, role: operator}
recovery: {enabled: true}
hosts:
  - name: a-web01
    zone: z1
    agent_token: %s
    metrics_interval: 2s
    checks:
      - {name: disk, type: disk, mounts: [/], warning: 0.001, critical: 0.002, interval: 1s, attempts: 1,
         recovery: [{after: 1s, action: command, command: mark, verify_within: 2s}]}
`, port, filepath.Join(s.dir, "data"), s.nats.url(), token, relayAgentToken))
	s.srv = startServer(t, s.cfg, port)
	p1, p2 := freePort(t), freePort(t)
	startPoller(t, s.nats.url(), "z1", "p1", z1, "--agent-listen", fmt.Sprintf("127.0.0.1:%d", p1))
	startPoller(t, s.nats.url(), "z2", "p2", z2, "--agent-listen", fmt.Sprintf("127.0.0.1:%d", p2))
	s.z1, s.z2 = fmt.Sprintf("http://127.0.0.1:%d", p1), fmt.Sprintf("http://127.0.0.1:%d", p2)
	s.agentStateDir = filepath.Join(s.dir, "agent-state")
	s.marker = filepath.Join(s.dir, "action-ran")
	s.agentCfg = writeFile(t, filepath.Join(s.dir, "agent.yaml"), fmt.Sprintf("state_dir: %s\nhostname: a-web01\nactions:\n  mark: [touch, %q]\n", s.agentStateDir, s.marker))
	return s
}

// relayPost posts a hello to a poller's relay with a-web01's token.
func relayPost(t *testing.T, base string) (int, http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/api/v1/agent/hello", strings.NewReader(`{"version":1,"agent":"e2e"}`))
	req.Header.Set("Authorization", "Bearer "+relayAgentToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// hasSeries reports whether the server has samples of query from the last minute.
func hasSeries(s *server, query string) bool {
	v := url.Values{"query": {query}, "start": {fmt.Sprint(time.Now().Add(-time.Minute).Unix())}, "end": {fmt.Sprint(time.Now().Unix())}, "step": {"1"}}
	var out struct {
		Data struct {
			Result []json.RawMessage `json:"result"`
		} `json:"data"`
	}
	s.get("/api/v1/query_range?"+v.Encode(), &out)
	return len(out.Data.Result) > 0
}

// serverMetrics is the server's /metrics text.
func serverMetrics(s *server) string {
	req, _ := http.NewRequest("GET", s.base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// spoolIndex is the agent's spool index (internal/spool).
func spoolIndex(t *testing.T, dir string) (acked, last, dropped uint64) {
	var idx struct {
		Acked   uint64 `json:"acked"`
		LastSeq uint64 `json:"last_seq"`
		DropR   uint64 `json:"dropped_results"`
		DropS   uint64 `json:"dropped_samples"`
	}
	b, _ := os.ReadFile(filepath.Join(dir, "spool", "spool.idx"))
	json.Unmarshal(b, &idx)
	return idx.Acked, idx.LastSeq, idx.DropR + idx.DropS
}

// TestAgentThroughPoller: an agent whose only way to the server is its
// zone's poller (--agent-listen) delivers its metrics and check results;
// z2's poller cannot relay for a z1 host (403) and z2's NATS user cannot
// publish to z1's agent subject; NATS stopped for a while (20 s,
// MAMORI_RELAY_OUTAGE_SECONDS) loses nothing: the agent keeps its batches
// and every second of its check's results reaches the server afterwards.
func TestAgentThroughPoller(t *testing.T) {
	s := setupRelay(t)
	ag := startAgent(t, s.z1, relayAgentToken, s.agentCfg)
	waitUntil(t, "a-web01's metrics and check results through p1", 40*time.Second, func() bool {
		return s.srv.check("a-web01/disk").LastCheck != "" && hasSeries(s.srv, `node_load5{host="a-web01"}`)
	})

	// A recovery action reaches the agent through its long poll and its
	// answer comes back, both relayed.
	waitUntil(t, "the recovery action run by the agent (poll and respond through p1)", 20*time.Second, func() bool {
		_, err := os.Stat(s.marker)
		return err == nil
	})
	waitUntil(t, "the agent's answer to the action recorded by the server", 10*time.Second, func() bool {
		return strings.Contains(serverMetrics(s.srv), `mamori_agent_requests_total{outcome="answered"}`)
	})

	// z2's poller relays for zone z2 only.
	code, _, body := relayPost(t, s.z2)
	if code != http.StatusForbidden || !strings.Contains(body, `is in zone \"z1\": poller \"p2\" of zone \"z2\" may not relay for it`) {
		t.Fatalf("hello for a z1 host through z2's poller: %d %s", code, body)
	}
	violations := make(chan error, 4)
	nc, err := nats.Connect(s.nats.url(), nats.UserInfo("zone-z2", "z2-secret"), nats.CustomInboxPrefix("_INBOX_z2"),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { violations <- err }))
	if err != nil {
		t.Fatal(err)
	}
	nc.Publish("mamori.agent.z1", []byte("{}"))
	nc.Flush()
	expectViolation(t, violations, "publish mamori.agent.z1")
	nc.Close()

	outage := 20 * time.Second
	if v, err := strconv.Atoi(os.Getenv("MAMORI_RELAY_OUTAGE_SECONDS")); err == nil && v > 0 {
		outage = time.Duration(v) * time.Second
	}
	down := time.Now()
	s.nats.stop()
	waitUntil(t, "p1 answering 503 while NATS is down", 10*time.Second, func() bool {
		code, h, _ := relayPost(t, s.z1)
		return code == http.StatusServiceUnavailable && h.Get("Retry-After") != ""
	})
	time.Sleep(time.Until(down.Add(outage)))
	up := time.Now()
	s.nats.start()
	// The agent's back-off (doubling from 1 s) decides when it tries again.
	waitUntil(t, "the agent's spool delivered through p1", 60*time.Second, func() bool {
		acked, last, _ := spoolIndex(t, s.agentStateDir)
		var h checkHistory
		s.srv.get("/api/v1/checks/a-web01/disk?results=1", &h)
		return acked == last && len(h.Results) > 0 && h.Results[0].Time.After(up)
	})
	t.Logf("NATS down %s; delivered %s after it came back", up.Sub(down).Round(time.Second), time.Since(up).Round(time.Second))
	var h checkHistory
	s.srv.get("/api/v1/checks/a-web01/disk?results=1000&events=0", &h)
	var times []time.Time
	for _, r := range h.Results {
		if r.Time.After(down.Add(-2*time.Second)) && r.Time.Before(up) {
			times = append(times, r.Time)
		}
	}
	sortTimes(times)
	if want := int(outage/time.Second) * 8 / 10; len(times) < want {
		t.Errorf("%d results of the disk check during the %s outage, want at least %d", len(times), outage, want)
	}
	for i := 1; i < len(times); i++ {
		if gap := times[i].Sub(times[i-1]); gap > 3*time.Second {
			t.Errorf("no result between %s and %s (%s)", times[i-1].Format(time.TimeOnly), times[i].Format(time.TimeOnly), gap)
		}
	}
	ag.stop()
	acked, last, dropped := spoolIndex(t, s.agentStateDir)
	s.srv.kill9()
	out, _ := mamori(t, "host", "list", "--config", s.cfg)
	var line string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "a-web01 ") {
			line = l
		}
	}
	fields := strings.Fields(line)
	t.Logf("agent spool: acked %d, last %d, dropped %d; server: %s", acked, last, dropped, line)
	// The server stored every batch the agent had delivered (a batch cut
	// as the agent stopped stays in its spool for its next start).
	if dropped != 0 || !strings.Contains(line, " "+strconv.FormatUint(acked, 10)+" ") || !strings.Contains(line, "via poller p1 (zone z1)") || len(fields) < 5 {
		t.Errorf("the server's record of a-web01 %q does not match the agent's spool (acked %d, last %d, dropped %d)", line, acked, last, dropped)
	}
}

// TestAgentThroughPollerHA: two servers on one PostgreSQL database with
// one broker: only the leader answers the relayed agent requests (the
// follower's agent API sees none); kill -9 of the leader: the agent's data
// waits in its spool and reaches the new leader through the same poller,
// with no gap in its check's results.
func TestAgentThroughPollerHA(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server, poller and agent processes")
	}
	natsServerBinary(t)
	n := startNATS(t)
	dir := t.TempDir()
	z1 := writeFile(t, filepath.Join(dir, "z1.creds"), "zone-z1:z1-secret\n")
	writeFile(t, filepath.Join(dir, "server.creds"), "server:server-secret\n")
	dsn := pgtest.DSN(t)
	start := func(name string) *server {
		port := freePort(t)
		cfg := writeFile(t, filepath.Join(dir, name+".yaml"), fmt.Sprintf(`listen: 127.0.0.1:%d
data_dir: %s
database: %s
broker: %s
broker_creds: server.creds
api_tokens:
  - {name: e2e, token: %s, role: operator}
hosts:
  - name: a-web01
    zone: z1
    agent_token: %s
    checks:
      - {name: disk, type: disk, mounts: [/], interval: 1s, attempts: 1}
`, port, filepath.Join(dir, name+"-data"), dsn, n.url(), token, relayAgentToken))
		return startServer(t, cfg, port)
	}
	a := start("a")
	waitUntil(t, "server a leads", 20*time.Second, func() bool { return a.status().Leader })
	b := start("b")
	relay := freePort(t)
	startPoller(t, n.url(), "z1", "p1", z1, "--agent-listen", fmt.Sprintf("127.0.0.1:%d", relay))
	agentCfg := writeFile(t, filepath.Join(dir, "agent.yaml"), fmt.Sprintf("state_dir: %s\nhostname: a-web01\n", filepath.Join(dir, "agent-state")))
	startAgent(t, fmt.Sprintf("http://127.0.0.1:%d", relay), relayAgentToken, agentCfg)
	waitUntil(t, "a-web01's results through p1 to the leader", 40*time.Second, func() bool { return a.check("a-web01/disk").LastCheck != "" })
	time.Sleep(2 * time.Second)
	stored := `mamori_agent_batches_total{outcome="stored"}`
	if !strings.Contains(serverMetrics(a), stored) || strings.Contains(serverMetrics(b), stored) {
		t.Fatalf("want the leader alone to store the agent's batches:\na: %s\nb: %s", grepLines(serverMetrics(a), "mamori_agent_batches"), grepLines(serverMetrics(b), "mamori_agent_batches"))
	}

	a.kill9()
	killed := time.Now()
	waitUntil(t, "b leads", 30*time.Second, func() bool { return b.status().Leader })
	takeover := time.Since(killed)
	waitUntil(t, "a-web01's results through p1 to the new leader", 60*time.Second, func() bool {
		lc, _ := time.Parse(time.RFC3339Nano, b.check("a-web01/disk").LastCheck)
		return lc.After(killed.Add(takeover)) && strings.Contains(serverMetrics(b), stored)
	})
	t.Logf("takeover %s; the agent's data reached b %s after the kill", takeover.Round(100*time.Millisecond), time.Since(killed).Round(100*time.Millisecond))
	h := b.history("a-web01/disk")
	for i := 1; i < len(h.Results); i++ {
		if gap := h.Results[i].Time.Sub(h.Results[i-1].Time); h.Results[i].Time.After(killed.Add(-5*time.Second)) && gap > 3*time.Second {
			t.Errorf("no result from %s to %s (%s)", h.Results[i-1].Time.Format(time.TimeOnly), h.Results[i].Time.Format(time.TimeOnly), gap)
		}
	}
}
