package agentapi

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/mamori/mamori/internal/check"
	_ "github.com/mamori/mamori/internal/check/heartbeatcheck"
	"github.com/mamori/mamori/internal/check/pushcheck"
	_ "github.com/mamori/mamori/internal/check/tcpcheck"
	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/engine"
	"github.com/mamori/mamori/internal/server/specs"
	"github.com/mamori/mamori/internal/store"
	"github.com/mamori/mamori/internal/store/sqlite"
	"github.com/mamori/mamori/internal/wire"
)

const (
	tokWeb1    = "web1-agent-token-0123456789"
	tokDB1     = "db1-agent-token-0123456789"
	tokNightly = "nightly-push-token-0123456789"
)

const testConfig = `listen: 127.0.0.1:0
data_dir: %s
hosts:
  - name: web1
    agent_token: ` + tokWeb1 + `
    checks:
      - name: nginx
        type: tcp
        on_agent: true
        host: 127.0.0.1
        port: 80
        attempts: 3
      - name: web
        type: tcp
        host: 127.0.0.1
        port: 1
        interval: 1h
  - name: db1
    agent_token: ` + tokDB1 + `
    checks:
      - name: pg
        type: tcp
        on_agent: true
        host: 127.0.0.1
        port: 5432
  - name: lonely
    agent: true
checks:
  - name: nightly
    type: push
    period: 2s
    grace: 1s
    interval: 1s
    attempts: 1
    token: ` + tokNightly + `
  - name: weekly
    type: push
    period: 168h
`

// sink records appended samples.
type sink struct {
	mu      sync.Mutex
	samples map[string][]wire.Sample
	err     error
}

func (s *sink) Append(host string, samples []wire.Sample) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return 0, s.err
	}
	if s.samples == nil {
		s.samples = map[string][]wire.Sample{}
	}
	s.samples[host] = append(s.samples[host], samples...)
	return len(samples), nil
}

func (s *sink) count(host string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.samples[host])
}

type env struct {
	t    *testing.T
	dir  string
	st   *sqlite.Store
	api  *API
	eng  *engine.Engine
	cfg  *config.Config
	sink *sink
	srv  *httptest.Server
	logs *bytes.Buffer
	stop func()
}

// check is a check's configuration.
func (e *env) check(name string) (*config.Check, bool) {
	c := e.cfg.Check(name)
	return c, c != nil
}

type syncBuf struct {
	mu sync.Mutex
	bytes.Buffer
}

func (b *syncBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.Buffer.Write(p)
}

// newEnv builds a real engine on SQLite in dir (a fresh one if "") with the API in front.
func newEnv(t *testing.T, dir string) *env {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	ctx, cancel := context.WithCancel(context.Background())
	cfg, err := config.Parse("t.yaml", []byte(fmt.Sprintf(testConfig, dir)))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	lb := &syncBuf{}
	log := slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug}))
	sk := &sink{}
	rec := NewRecord(st, func() *config.Config { return cfg }, log)
	eng, err := engine.New(ctx, specs.Plan(cfg), st, log, engine.WithPassive(rec))
	if err != nil {
		t.Fatal(err)
	}
	a := New(Deps{Results: eng, Record: rec, Config: func() *config.Config { return cfg }, Hosts: st, Sink: sk, Log: log})
	done := make(chan struct{})
	go func() { eng.Run(ctx); close(done) }()
	mux := http.NewServeMux()
	a.Routes(mux)
	srv := httptest.NewServer(mux)
	e := &env{t: t, dir: dir, st: st, api: a, eng: eng, cfg: cfg, sink: sk, srv: srv, logs: &lb.Buffer}
	var once sync.Once
	e.stop = func() {
		once.Do(func() {
			srv.Close()
			cancel()
			<-done
			st.Close()
		})
	}
	t.Cleanup(e.stop)
	return e
}

type req struct {
	method, path, token string
	body                []byte
	header              map[string]string
}

func (e *env) do(r req) (int, []byte) {
	e.t.Helper()
	hr, err := http.NewRequest(r.method, e.srv.URL+r.path, bytes.NewReader(r.body))
	if err != nil {
		e.t.Fatal(err)
	}
	if r.token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func (e *env) sendBatch(token string, b wire.Batch) (int, wire.BatchAck, []byte) {
	e.t.Helper()
	code, body := e.do(req{method: "POST", path: "/api/v1/agent/batch", token: token, body: mustJSON(b)})
	var ack wire.BatchAck
	if code == 200 {
		if err := json.Unmarshal(body, &ack); err != nil {
			e.t.Fatalf("ack: %v: %s", err, body)
		}
	}
	return code, ack, body
}

func nowMS() int64 { return time.Now().UnixMilli() }

func gz(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// gzipBomb is a small gzip stream that inflates to n zero bytes.
func gzipBomb(n int) []byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	chunk := make([]byte, 1<<20)
	for n > 0 {
		k := min(n, len(chunk))
		zw.Write(chunk[:k])
		n -= k
	}
	zw.Close()
	return buf.Bytes()
}

func manyResults(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"seq":1,"results":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"check":"nginx","status":"OK","output":"","time":%d,"duration":0}`, nowMS())
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

func manySamples(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"seq":1,"samples":[`)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"name":"a","t":1,"v":0}`)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// TestRejections: every refusal of a whole request, with its status and reason.
func TestRejections(t *testing.T) {
	e := newEnv(t, "")
	okHello := mustJSON(wire.Hello{Version: wire.Version, Agent: "test", Hostname: "web1", OS: "linux", Arch: "amd64"})
	big := bytes.Repeat([]byte(" "), wire.MaxBatchBytes+10)
	cases := []struct {
		name string
		r    req
		code int
		want string // substring of the JSON error
	}{
		{"no token", req{method: "POST", path: "/api/v1/agent/batch", body: []byte(`{"seq":1}`)}, 401, "authentication required"},
		{"wrong token", req{method: "POST", path: "/api/v1/agent/batch", token: "nope-not-a-token", body: []byte(`{"seq":1}`)}, 401, "invalid agent token"},
		{"wrong token hello", req{method: "POST", path: "/api/v1/agent/hello", token: tokWeb1 + "x", body: okHello}, 401, "invalid agent token"},
		{"wrong token poll", req{method: "GET", path: "/api/v1/agent/poll?wait=0", token: "x"}, 401, "invalid agent token"},
		{"basic auth", req{method: "POST", path: "/api/v1/agent/batch", header: map[string]string{"Authorization": "Basic eDp5"}, body: []byte(`{}`)}, 401, "authentication required"},
		{"malformed json", req{method: "POST", path: "/api/v1/agent/batch", token: tokWeb1, body: []byte(`{"seq":1,`)}, 400, "malformed batch"},
		{"not an object", req{method: "POST", path: "/api/v1/agent/batch", token: tokWeb1, body: []byte(`[1,2]`)}, 400, "malformed batch"},
		{"unknown field", req{method: "POST", path: "/api/v1/agent/batch", token: tokWeb1, body: []byte(`{"seq":1,"evil":true}`)}, 400, "unknown field"},
		{"trailing data", req{method: "POST", path: "/api/v1/agent/batch", token: tokWeb1, body: []byte(`{"seq":1} {"seq":2}`)}, 400, "after the JSON value"},
		{"empty body", req{method: "POST", path: "/api/v1/agent/batch", token: tokWeb1}, 400, "empty body"},
		{"seq 0 with content", req{method: "POST", path: "/api/v1/agent/batch", token: tokWeb1, body: []byte(fmt.Sprintf(`{"seq":0,"results":[{"check":"nginx","status":0,"time":%d}]}`, nowMS()))}, 400, "seq must be at least 1"},
		{"negative seq", req{method: "POST", path: "/api/v1/agent/batch", token: tokWeb1, body: []byte(`{"seq":-1}`)}, 400, "malformed batch"},
		{"oversized body", req{method: "POST", path: "/api/v1/agent/batch", token: tokWeb1, body: big}, 413, "over the limit"},
		{"too many results", req{method: "POST", path: "/api/v1/agent/batch", token: tokWeb1, body: manyResults(wire.MaxBatchResults + 1)}, 413, "results in one batch"},
		{"too many samples", req{method: "POST", path: "/api/v1/agent/batch", token: tokWeb1, body: manySamples(wire.MaxBatchSamples + 1)}, 413, "samples in one batch"},
		{"gzip bomb", req{method: "POST", path: "/api/v1/agent/batch", token: tokWeb1, body: gzipBomb(64 << 20), header: map[string]string{"Content-Encoding": "gzip"}}, 413, "decoded"},
		{"bad gzip", req{method: "POST", path: "/api/v1/agent/batch", token: tokWeb1, body: []byte(`{"seq":1}`), header: map[string]string{"Content-Encoding": "gzip"}}, 400, "gzip"},
		{"truncated gzip", req{method: "POST", path: "/api/v1/agent/batch", token: tokWeb1, body: gz([]byte(`{"seq":1,"results":[]}`))[:20], header: map[string]string{"Content-Encoding": "gzip"}}, 400, ""},
		{"unknown encoding", req{method: "POST", path: "/api/v1/agent/batch", token: tokWeb1, body: []byte(`{"seq":1}`), header: map[string]string{"Content-Encoding": "br"}}, 415, "not supported"},
		{"protocol header", req{method: "POST", path: "/api/v1/agent/batch", token: tokWeb1, body: []byte(`{"seq":1}`), header: map[string]string{ProtocolHeader: "2"}}, 426, "speaks version 1"},
		{"hello version 2", req{method: "POST", path: "/api/v1/agent/hello", token: tokWeb1, body: mustJSON(wire.Hello{Version: 2})}, 426, "speaks version 1"},
		{"hello no version", req{method: "POST", path: "/api/v1/agent/hello", token: tokWeb1, body: []byte(`{"agent":"x"}`)}, 426, "version 0"},
		{"hello malformed", req{method: "POST", path: "/api/v1/agent/hello", token: tokWeb1, body: []byte(`{"version":1`)}, 400, "malformed hello"},
		{"hello control chars", req{method: "POST", path: "/api/v1/agent/hello", token: tokWeb1, body: []byte(`{"version":1,"hostname":"a\u0007b"}`)}, 400, "control characters"},
		{"poll bad wait", req{method: "GET", path: "/api/v1/agent/poll?wait=soon", token: tokWeb1}, 400, "not a duration"},
		{"poll negative wait", req{method: "GET", path: "/api/v1/agent/poll?wait=-1s", token: tokWeb1}, 400, "negative"},
		{"respond unknown id", req{method: "POST", path: "/api/v1/agent/respond", token: tokWeb1, body: []byte(`{"id":"nope","exit_code":0,"output":""}`)}, 404, "no pending request"},
		{"respond no id", req{method: "POST", path: "/api/v1/agent/respond", token: tokWeb1, body: []byte(`{"exit_code":0}`)}, 400, "without id"},
		{"respond malformed", req{method: "POST", path: "/api/v1/agent/respond", token: tokWeb1, body: []byte(`nope`)}, 400, "malformed response"},
		{"push unknown token", req{method: "POST", path: "/api/v1/push/not-a-token-at-all"}, 404, "unknown push token"},
		{"push bad status", req{method: "POST", path: "/api/v1/push/" + tokNightly, body: []byte(`{"status":"FINE"}`), header: map[string]string{"Content-Type": "application/json"}}, 400, "unknown status"},
		{"push status 4", req{method: "POST", path: "/api/v1/push/" + tokNightly, body: []byte(`{"status":4}`)}, 400, "0..3"},
		{"push status 1.5", req{method: "POST", path: "/api/v1/push/" + tokNightly, body: []byte(`{"status":1.5}`)}, 400, "0..3"},
		{"push unknown field", req{method: "POST", path: "/api/v1/push/" + tokNightly, body: []byte(`{"status":"OK","colour":"green"}`)}, 400, "unknown field"},
		{"push negative duration", req{method: "POST", path: "/api/v1/push/" + tokNightly, body: []byte(`{"duration":-3}`)}, 400, "duration"},
		{"push bad form", req{method: "POST", path: "/api/v1/push/" + tokNightly, body: []byte(`status=OK&status=CRITICAL`), header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}, 400, "2 times"},
		{"push unknown form key", req{method: "POST", path: "/api/v1/push/" + tokNightly, body: []byte(`state=OK`), header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}, 400, "unknown field"},
		{"push content type", req{method: "POST", path: "/api/v1/push/" + tokNightly, body: []byte(`<xml/>`), header: map[string]string{"Content-Type": "text/xml"}}, 400, "not supported"},
		{"push oversized", req{method: "POST", path: "/api/v1/push/" + tokNightly, body: bytes.Repeat([]byte("a"), maxSmallBody+1)}, 413, "over the limit"},
		{"push output and message", req{method: "POST", path: "/api/v1/push/" + tokNightly, body: []byte(`{"output":"a","message":"b"}`)}, 400, "not both"},
		{"push exit code range", req{method: "POST", path: "/api/v1/push/" + tokNightly, body: []byte(`{"exit_code":99999999999}`)}, 400, "out of range"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body := e.do(tc.r)
			if code != tc.code {
				t.Fatalf("status %d, want %d: %s", code, tc.code, body)
			}
			var ae apiError
			if err := json.Unmarshal(body, &ae); err != nil || ae.Error == "" {
				t.Fatalf("no JSON reason: %q (%v)", body, err)
			}
			if !strings.Contains(ae.Error, tc.want) {
				t.Fatalf("reason %q does not contain %q", ae.Error, tc.want)
			}
		})
	}
	// Every refusal is logged with its reason, never with a token.
	logs := e.logs.String()
	if !strings.Contains(logs, "request rejected") || !strings.Contains(logs, "invalid agent token") {
		t.Errorf("refusals not logged:\n%s", logs)
	}
	for _, secret := range []string{tokWeb1, tokDB1, tokNightly} {
		if strings.Contains(logs, secret) {
			t.Errorf("a token leaked into the logs")
		}
	}
	if v, ok := e.eng.Get("web1/nginx"); !ok || !v.Pending() {
		t.Errorf("a refused request changed web1/nginx: %+v", v)
	}
}

// TestBatchItems: a batch with good and bad items stores the good ones, in
// order, and gives a reason for each bad one.
func TestBatchItems(t *testing.T) {
	e := newEnv(t, "")
	now := nowMS()
	b := wire.Batch{Seq: 1, Sent: now,
		Results: []wire.Result{
			{Check: "pg", Status: check.Critical, Output: "db1's check", Time: now},                                        // another host's check
			{Check: "web", Status: check.Critical, Output: "a server-side check", Time: now},                               // not on_agent
			{Check: "agent", Status: check.OK, Output: "the heartbeat", Time: now},                                         // not on_agent
			{Check: "nginx", Status: check.Critical, Output: "future", Time: now + int64(10*time.Minute/time.Millisecond)}, // future
			{Check: "nginx", Status: check.Critical, Output: "ancient", Time: now - int64(400*24*time.Hour/time.Millisecond)},
			{Check: "nginx", Status: check.Status(7), Output: "bad status", Time: now}, // sent as "Status(7)"
			{Check: "nginx", Status: check.Critical, Output: "no time"},
			{Check: "nginx", Status: check.Critical, Output: "negative duration", Time: now, Duration: -1},
			{Check: "nginx", Status: check.Warning, Output: "first\nsecond line dropped", Time: now - 2000, Duration: 0.25},
			{Check: "nginx", Status: check.Critical, Output: "TCP CRITICAL - refused", Time: now - 1000, Duration: 0.5,
				Perf: []check.Metric{check.Seconds("time", 500*time.Millisecond, 0, 0)}},
		},
		Samples: []wire.Sample{
			{Name: "node_load1", Time: now, Value: 0.5},
			{Name: "node_load5", Labels: map[string]string{"host": "db1"}, Time: now, Value: 1},
			{Name: "node_load15", Labels: map[string]string{"tenant": "x"}, Time: now, Value: 1},
			{Name: "node_cpu_seconds_total", Labels: map[string]string{"__name__": "x"}, Time: now, Value: 1},
			{Name: "bad name", Time: now, Value: 1},
			{Name: "node_future", Time: now + int64(time.Hour/time.Millisecond), Value: 1},
			{Name: "node_filesystem_avail_bytes", Labels: map[string]string{"mountpoint": "/"}, Time: now, Value: 1e9},
		},
	}
	code, ack, body := e.sendBatch(tokWeb1, b)
	if code != 200 {
		t.Fatalf("batch: %d %s", code, body)
	}
	if ack.Seq != 1 || ack.Rejected != 13 || len(ack.Reasons) != 13 {
		t.Fatalf("ack %+v", ack)
	}
	wantReasons := []string{`"pg" is not an agent-side check of this host`, `"web" is not an agent-side check`, `"agent" is not`,
		"in the future", "older than the result retention", "status is not OK", "time is missing", "duration -1",
		`label "host" is set by the server`, `label "tenant" is set by the server`, "reserved", "bad metric name", "in the future"}
	for i, w := range wantReasons {
		if !strings.Contains(ack.Reasons[i], w) {
			t.Errorf("reason %d = %q, want %q", i, ack.Reasons[i], w)
		}
	}
	v, _ := e.eng.Get("web1/nginx")
	if v.Status != check.Critical || v.Attempt != 2 || v.Output != "TCP CRITICAL - refused" {
		t.Errorf("web1/nginx = %s attempt %d %q; want the two good results in order (WARNING then CRITICAL, attempt 2)", v.Status, v.Attempt, v.Output)
	}
	rows, err := e.st.Results(context.Background(), "web1/nginx", time.Now().Add(time.Hour), 10)
	if err != nil || len(rows) != 2 {
		t.Fatalf("results %v %v", rows, err)
	}
	if got := e.sink.count("web1"); got != 2 {
		t.Errorf("sink got %d samples for web1, want 2", got)
	}
	if v, _ := e.eng.Get("db1/pg"); !v.Pending() {
		t.Errorf("web1's token changed db1/pg")
	}
	if !strings.Contains(e.logs.String(), "batch items rejected") {
		t.Errorf("item refusals not logged")
	}
}

// TestSeqIdempotent: a replayed batch is acknowledged but not stored again,
// also after a restart of the server.
func TestSeqIdempotent(t *testing.T) {
	e := newEnv(t, "")
	b := wire.Batch{Seq: 5, Results: []wire.Result{{Check: "nginx", Status: check.Critical, Output: "down", Time: nowMS()}},
		Samples: []wire.Sample{{Name: "node_load1", Time: nowMS(), Value: 1}}}
	for i := 0; i < 3; i++ {
		code, ack, body := e.sendBatch(tokWeb1, b)
		if code != 200 || ack.Seq != 5 {
			t.Fatalf("send %d: %d %s", i, code, body)
		}
	}
	v, _ := e.eng.Get("web1/nginx")
	if v.Attempt != 1 {
		t.Fatalf("attempt %d after one batch sent three times, want 1", v.Attempt)
	}
	if n := e.sink.count("web1"); n != 1 {
		t.Fatalf("%d samples stored, want 1", n)
	}
	// An older Seq is acknowledged with the highest stored.
	b.Seq = 3
	if _, ack, _ := e.sendBatch(tokWeb1, b); ack.Seq != 5 {
		t.Fatalf("old seq ack %+v", ack)
	}
	// Another host's Seq is its own.
	if code, ack, body := e.sendBatch(tokDB1, wire.Batch{Seq: 1, Results: []wire.Result{{Check: "pg", Status: check.OK, Time: nowMS()}}}); code != 200 || ack.Seq != 1 || ack.Rejected != 0 {
		t.Fatalf("db1: %d %+v %s", code, ack, body)
	}

	// Restart: the Seq is persisted.
	dir := e.dir
	e.stop()
	e2 := newEnv(t, dir)
	b.Seq = 5
	if code, ack, _ := e2.sendBatch(tokWeb1, b); code != 200 || ack.Seq != 5 {
		t.Fatalf("after restart: %d %+v", code, ack)
	}
	if v, _ := e2.eng.Get("web1/nginx"); v.Attempt != 1 {
		t.Fatalf("replay after restart stored again: attempt %d", v.Attempt)
	}
	b.Seq = 6
	if code, ack, _ := e2.sendBatch(tokWeb1, b); code != 200 || ack.Seq != 6 {
		t.Fatalf("next seq: %d %+v", code, ack)
	}
	if v, _ := e2.eng.Get("web1/nginx"); v.Attempt != 2 {
		t.Fatalf("seq 6 not stored: attempt %d", v.Attempt)
	}
	// Empty heartbeat batch (seq 0): acknowledged with the stored Seq.
	if code, ack, _ := e2.sendBatch(tokWeb1, wire.Batch{}); code != 200 || ack.Seq != 6 {
		t.Fatalf("heartbeat: %d %+v", code, ack)
	}
}

// TestGzipBatch: a gzip-compressed batch is accepted.
func TestGzipBatch(t *testing.T) {
	e := newEnv(t, "")
	b := mustJSON(wire.Batch{Seq: 1, Results: []wire.Result{{Check: "nginx", Status: check.OK, Output: "up", Time: nowMS()}}})
	code, body := e.do(req{method: "POST", path: "/api/v1/agent/batch", token: tokWeb1, body: gz(b), header: map[string]string{"Content-Encoding": "gzip"}})
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	if v, _ := e.eng.Get("web1/nginx"); v.Status != check.OK || v.Pending() {
		t.Fatalf("not stored: %+v", v)
	}
}

// TestSinkFailure: when the time-series store fails, the batch is refused
// with 503 and its Seq not stored, so the agent sends it again.
func TestSinkFailure(t *testing.T) {
	e := newEnv(t, "")
	e.sink.err = errors.New("disk full")
	b := wire.Batch{Seq: 1, Samples: []wire.Sample{{Name: "node_load1", Time: nowMS(), Value: 1}}}
	if code, _, body := e.sendBatch(tokWeb1, b); code != 503 || !strings.Contains(string(body), "disk full") {
		t.Fatalf("%d %s", code, body)
	}
	e.sink.err = nil
	if code, ack, _ := e.sendBatch(tokWeb1, b); code != 200 || ack.Seq != 1 || e.sink.count("web1") != 1 {
		t.Fatalf("resend: %d %+v", code, ack)
	}
}

// TestDropped: an agent's dropped counters are counted, logged and kept.
func TestDropped(t *testing.T) {
	e := newEnv(t, "")
	e.sendBatch(tokWeb1, wire.Batch{Seq: 1, DroppedResults: 3, DroppedSamples: 700})
	e.sendBatch(tokWeb1, wire.Batch{Seq: 1, DroppedResults: 3, DroppedSamples: 700}) // replay: not counted twice
	e.sendBatch(tokWeb1, wire.Batch{Seq: 2, DroppedSamples: 5})
	hs, err := e.st.AgentHosts(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var got store.AgentHost
	for _, h := range hs {
		if h.Host == "web1" {
			got = h
		}
	}
	if got.DroppedResults != 3 || got.DroppedSamples != 705 || got.LastSeq != 2 {
		t.Fatalf("stored %+v", got)
	}
	if !strings.Contains(e.logs.String(), "dropped_samples=700") {
		t.Errorf("not logged")
	}
	if v := counterValue(t, e.api.Metrics().droppedSamples.WithLabelValues("web1")); v != 705 {
		t.Errorf("mamori_agent_dropped_samples_total{host=web1} = %v", v)
	}
}

// TestHello: the agent gets its host's agent-side checks and a version
// that changes with them.
func TestHello(t *testing.T) {
	e := newEnv(t, "")
	code, body := e.do(req{method: "POST", path: "/api/v1/agent/hello", token: tokWeb1,
		body: mustJSON(wire.Hello{Version: wire.Version, Agent: "mamori test", Hostname: "web1.example", OS: "linux", Arch: "amd64", Actions: []string{"restart-nginx"}})})
	if code != 200 {
		t.Fatalf("%d %s", code, body)
	}
	var ac wire.AgentConfig
	if err := json.Unmarshal(body, &ac); err != nil {
		t.Fatal(err)
	}
	if ac.Host != "web1" || len(ac.Checks) != 1 || ac.ConfigVersion == "" ||
		time.Duration(ac.MetricsInterval) != time.Minute || time.Duration(ac.Heartbeat) != 30*time.Second {
		t.Fatalf("config %+v", ac)
	}
	c := ac.Checks[0]
	if c.Name != "nginx" || c.Type != "tcp" || time.Duration(c.Interval) != 5*time.Minute || !strings.Contains(c.YAML, "port: 80") || strings.Contains(c.YAML, "on_agent") {
		t.Fatalf("check %+v", c)
	}
	db := AgentConfig(e.cfg, "db1")
	if db.ConfigVersion == ac.ConfigVersion || len(db.Checks) != 1 || db.Checks[0].Name != "pg" {
		t.Fatalf("db1 config %+v", db)
	}
	if lonely := AgentConfig(e.cfg, "lonely"); len(lonely.Checks) != 0 || lonely.Checks == nil {
		t.Fatalf("lonely %+v", lonely)
	}
	// The batch ack carries the same version.
	if _, ack, _ := e.sendBatch(tokWeb1, wire.Batch{}); ack.ConfigVersion != ac.ConfigVersion {
		t.Fatalf("ack version %q != %q", ack.ConfigVersion, ac.ConfigVersion)
	}
	if _, ok := e.api.Passive().AgentSeen("web1"); !ok {
		t.Fatal("hello not recorded as contact")
	}
}

// TestEnrolledToken: a token from `mamori host add` authenticates its host;
// revoked, it no longer does; a host missing from the config is refused.
func TestEnrolledToken(t *testing.T) {
	e := newEnv(t, "")
	ctx := context.Background()
	tok := "enrolled-token-for-lonely-0123"
	sum := sha256.Sum256([]byte(tok))
	if err := e.st.EnrollAgent(ctx, "lonely", "", sum[:], false); err != nil {
		t.Fatal(err)
	}
	if err := e.st.EnrollAgent(ctx, "lonely", "", sum[:], false); !errors.Is(err, sqlite.ErrEnrolled) {
		t.Fatalf("second enrol: %v", err)
	}
	if code, _, body := e.sendBatch(tok, wire.Batch{}); code != 200 {
		t.Fatalf("enrolled token: %d %s", code, body)
	}
	// It reports for its own host only.
	_, ack, _ := e.sendBatch(tok, wire.Batch{Seq: 1, Results: []wire.Result{{Check: "nginx", Status: check.Critical, Time: nowMS()}}})
	if ack.Rejected != 1 {
		t.Fatalf("lonely reported for web1: %+v", ack)
	}
	if ok, err := e.st.RevokeAgent(ctx, "lonely"); err != nil || !ok {
		t.Fatalf("revoke %v %v", ok, err)
	}
	e.api.authMu.Lock()
	e.api.loadedAt = time.Time{} // as if tokenRefresh had passed
	e.api.authMu.Unlock()
	if code, _, _ := e.sendBatch(tok, wire.Batch{}); code != 401 {
		t.Fatalf("revoked token: %d", code)
	}
	// Enrolled for a host that is not in the config.
	other := "token-of-a-host-not-configured"
	sum = sha256.Sum256([]byte(other))
	if err := e.st.EnrollAgent(ctx, "ghost", "", sum[:], false); err != nil {
		t.Fatal(err)
	}
	e.api.authMu.Lock()
	e.api.loadedAt = time.Time{}
	e.api.authMu.Unlock()
	code, body := e.do(req{method: "GET", path: "/api/v1/agent/poll?wait=0", token: other})
	if code != 401 || !strings.Contains(string(body), "not in the server's configuration") {
		t.Fatalf("ghost: %d %s", code, body)
	}
}

// TestSendPollRespond: a server→agent request reaches the host's agent by
// long poll and its answer comes back; other hosts see and answer nothing.
func TestSendPollRespond(t *testing.T) {
	e := newEnv(t, "")
	type result struct {
		resp wire.Response
		err  error
	}
	done := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		r, err := e.api.Send(ctx, "web1", wire.Request{ID: "req-1", Kind: "action", Action: "restart-nginx", Timeout: wire.Duration(time.Minute)})
		done <- result{r, err}
	}()
	// db1 polls and gets nothing.
	start := time.Now()
	if code, body := e.do(req{method: "GET", path: "/api/v1/agent/poll?wait=300ms", token: tokDB1}); code != 204 {
		t.Fatalf("db1 poll: %d %s", code, body)
	}
	if time.Since(start) < 250*time.Millisecond {
		t.Errorf("poll returned before its wait")
	}
	code, body := e.do(req{method: "GET", path: "/api/v1/agent/poll?wait=5", token: tokWeb1})
	if code != 200 {
		t.Fatalf("web1 poll: %d %s", code, body)
	}
	var rq wire.Request
	json.Unmarshal(body, &rq)
	if rq.ID != "req-1" || rq.Action != "restart-nginx" {
		t.Fatalf("request %+v", rq)
	}
	// db1 cannot answer web1's request.
	resp := mustJSON(wire.Response{ID: "req-1", ExitCode: 0, Output: "restarted", Duration: 1.5})
	if code, _ := e.do(req{method: "POST", path: "/api/v1/agent/respond", token: tokDB1, body: resp}); code != 404 {
		t.Fatalf("db1 answered web1's request: %d", code)
	}
	if code, body := e.do(req{method: "POST", path: "/api/v1/agent/respond", token: tokWeb1, body: resp}); code != 204 {
		t.Fatalf("respond: %d %s", code, body)
	}
	r := <-done
	if r.err != nil || r.resp.Output != "restarted" {
		t.Fatalf("send: %+v", r)
	}
	// Answered once only.
	if code, _ := e.do(req{method: "POST", path: "/api/v1/agent/respond", token: tokWeb1, body: resp}); code != 404 {
		t.Fatalf("second answer accepted: %d", code)
	}

	// A request nobody takes is withdrawn when its context ends.
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := e.api.Send(ctx, "web1", wire.Request{Kind: "recheck", Check: "nginx"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("unanswered send: %v", err)
	}
	if code, _ := e.do(req{method: "GET", path: "/api/v1/agent/poll?wait=0", token: tokWeb1}); code != 204 {
		t.Fatalf("withdrawn request still delivered: %d", code)
	}
	if _, err := e.api.Send(context.Background(), "nohost", wire.Request{Kind: "action"}); !errors.Is(err, ErrUnknownHost) {
		t.Fatalf("unknown host: %v", err)
	}
	if _, err := e.api.Send(context.Background(), "web1", wire.Request{Kind: "rm -rf"}); err == nil {
		t.Fatal("bad kind accepted")
	}
}

// TestPollWakes: a request queued during a long poll is delivered at once.
func TestPollWakes(t *testing.T) {
	e := newEnv(t, "")
	go func() {
		time.Sleep(200 * time.Millisecond)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		e.api.Send(ctx, "web1", wire.Request{ID: "wake", Kind: "recheck", Check: "nginx"})
	}()
	start := time.Now()
	code, body := e.do(req{method: "GET", path: "/api/v1/agent/poll?wait=30s", token: tokWeb1})
	if code != 200 || !strings.Contains(string(body), `"wake"`) || time.Since(start) > 5*time.Second {
		t.Fatalf("%d %s after %s", code, body, time.Since(start))
	}
	e.do(req{method: "POST", path: "/api/v1/agent/respond", token: tokWeb1, body: []byte(`{"id":"wake","exit_code":0,"output":"","duration":0}`)})
}

// TestAgentSeenPersists: the heartbeat does not start from nothing after a restart.
func TestAgentSeenPersists(t *testing.T) {
	e := newEnv(t, "")
	if _, ok := e.api.Passive().AgentSeen("web1"); ok {
		t.Fatal("seen before any contact")
	}
	e.sendBatch(tokWeb1, wire.Batch{})
	seen, ok := e.api.Passive().AgentSeen("web1")
	if !ok || time.Since(seen) > 5*time.Second {
		t.Fatalf("seen %v %v", seen, ok)
	}
	dir := e.dir
	e.stop()
	e2 := newEnv(t, dir)
	seen2, ok := e2.api.Passive().AgentSeen("web1")
	if !ok || seen2.Sub(seen).Abs() > time.Millisecond {
		t.Fatalf("after restart: %v %v (was %v)", seen2, ok, seen)
	}
}

// TestHeartbeatCheck: the host's heartbeat check goes OK with contact and
// CRITICAL after its ttl.
func TestHeartbeatCheck(t *testing.T) {
	e := newEnv(t, "")
	c, ok := e.check("web1/agent")
	if !ok {
		t.Fatal("no heartbeat check")
	}
	ck, err := c.Spec.New(check.Env{Passive: e.api.Passive()})
	if err != nil {
		t.Fatal(err)
	}
	if r := ck.Check(context.Background()); r.Status != check.Unknown || !strings.HasPrefix(r.Output, "waiting for the agent's first connection") {
		t.Fatalf("never: %+v", r)
	}
	e.sendBatch(tokWeb1, wire.Batch{})
	if r := ck.Check(context.Background()); r.Status != check.OK || !strings.HasPrefix(r.Output, "agent seen 0s ago") {
		t.Fatalf("seen: %+v", r)
	}
	e.api.rec.mu.Lock()
	e.api.rec.seen["web1"] = time.Now().Add(-(5*time.Minute + 12*time.Second))
	e.api.rec.mu.Unlock()
	if r := ck.Check(context.Background()); r.Status != check.Critical || r.Output != "agent silent for 5m12s (ttl 3m)" {
		t.Fatalf("silent: %+v", r)
	}
}

// waitState polls a check's state.
func (e *env) waitState(name string, d time.Duration, cond func(engine.View) bool) engine.View {
	e.t.Helper()
	deadline := time.Now().Add(d)
	var v engine.View
	for time.Now().Before(deadline) {
		v, _ = e.eng.Get(name)
		if cond(v) {
			return v
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.t.Fatalf("%s: condition not reached within %s; last %s %q", name, d, v.Status, v.Output)
	return v
}

// TestPushJob: a job's report is recorded at once; when it falls silent
// for period + grace the check goes CRITICAL.
func TestPushJob(t *testing.T) {
	e := newEnv(t, "")
	code, body := e.do(req{method: "POST", path: "/api/v1/push/" + tokNightly, body: []byte(`{"status":"OK","output":"backup done","duration":3.2,"exit_code":0}`),
		header: map[string]string{"Content-Type": "application/json"}})
	if code != 202 {
		t.Fatalf("%d %s", code, body)
	}
	v, _ := e.eng.Get("nightly")
	if v.Status != check.OK || v.Output != "PUSH OK - backup done" {
		t.Fatalf("after report: %s %q", v.Status, v.Output)
	}
	r, at, ok := e.api.Passive().LastPush("nightly")
	if !ok || time.Since(at) > 5*time.Second || len(r.Perf) != 2 || r.Perf[0].Label != "duration" || r.Perf[1].Label != "exit_code" {
		t.Fatalf("last push %+v %v %v", r, at, ok)
	}
	// The server re-runs the checker every second: still OK within period+grace.
	time.Sleep(1500 * time.Millisecond)
	if v, _ := e.eng.Get("nightly"); v.Status != check.OK {
		t.Fatalf("early: %s %q", v.Status, v.Output)
	}
	v = e.waitState("nightly", 5*time.Second, func(v engine.View) bool { return v.Status == check.Critical })
	if !strings.HasPrefix(v.Output, "PUSH CRITICAL - no report for 3s (period 2s, grace 1s)") && !strings.HasPrefix(v.Output, "PUSH CRITICAL - no report for 4s (period 2s, grace 1s)") {
		t.Fatalf("silent: %q", v.Output)
	}
	if sec := time.Since(at); sec < 3*time.Second {
		t.Fatalf("CRITICAL after %s, before period+grace", sec)
	}
	// A failing run reported by form values, then recovery by an empty body.
	code, body = e.do(req{method: "POST", path: "/api/v1/push/" + tokNightly, body: []byte("status=2&output=exit+code+3&exit_code=3"),
		header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}})
	if code != 202 {
		t.Fatalf("%d %s", code, body)
	}
	if v, _ := e.eng.Get("nightly"); v.Status != check.Critical || v.Output != "PUSH CRITICAL - exit code 3" {
		t.Fatalf("form: %s %q", v.Status, v.Output)
	}
	if code, body := e.do(req{method: "POST", path: "/api/v1/push/" + tokNightly}); code != 202 {
		t.Fatalf("empty: %d %s", code, body)
	}
	if v, _ := e.eng.Get("nightly"); v.Status != check.OK || v.Output != "PUSH OK - job reported OK" {
		t.Fatalf("empty body: %s %q", v.Status, v.Output)
	}
	// Query values, exit code only: CRITICAL.
	if code, body := e.do(req{method: "POST", path: "/api/v1/push/" + tokNightly + "?exit_code=1&duration=2"}); code != 202 {
		t.Fatalf("query: %d %s", code, body)
	}
	if v, _ := e.eng.Get("nightly"); v.Status != check.Critical || v.Output != "PUSH CRITICAL - exit code 1" {
		t.Fatalf("query: %s %q", v.Status, v.Output)
	}
}

// TestPushDerivedToken: a push check without a token takes the one derived
// from the server secret; the last report survives a restart.
func TestPushDerivedToken(t *testing.T) {
	e := newEnv(t, "")
	secret, err := LoadSecret(e.dir)
	if err != nil {
		t.Fatal(err)
	}
	tok := pushcheck.PushToken(secret, "weekly")
	if len(tok) != 64 {
		t.Fatalf("token %q", tok)
	}
	if c, _ := e.check("weekly"); PushTokenOf(c, secret) != tok {
		t.Fatal("PushTokenOf differs")
	}
	if code, body := e.do(req{method: "POST", path: "/api/v1/push/" + tok, body: []byte(`{"status":1,"output":"slow"}`)}); code != 202 {
		t.Fatalf("%d %s", code, body)
	}
	if v, _ := e.eng.Get("weekly"); v.Status != check.Warning {
		t.Fatalf("weekly %s", v.Status)
	}
	// Another check's derived token is not this one's.
	if code, _ := e.do(req{method: "POST", path: "/api/v1/push/" + pushcheck.PushToken(secret, "nightly")}); code != 404 {
		t.Fatalf("derived token of a check with its own token accepted: %d", code)
	}
	dir := e.dir
	e.stop()
	e2 := newEnv(t, dir)
	r, _, ok := e2.api.Passive().LastPush("weekly")
	if !ok || r.Status != check.Warning || r.Output != "PUSH WARNING - slow" {
		t.Fatalf("after restart: %+v %v", r, ok)
	}
}

// TestPushWaiting: a push check that never reported waits (UNKNOWN) until
// period + grace after it started waiting, then is CRITICAL; the start of
// waiting survives restarts.
func TestPushWaiting(t *testing.T) {
	e := newEnv(t, "")
	v := e.waitState("nightly", 6*time.Second, func(v engine.View) bool { return v.Status == check.Critical })
	if !strings.Contains(v.Output, "no report for") || !strings.Contains(v.Output, "since monitoring started (period 2s, grace 1s)") {
		t.Fatalf("never reported: %q", v.Output)
	}
	since := e.api.Passive().WatchSince("nightly")
	dir := e.dir
	e.stop()
	e2 := newEnv(t, dir)
	if got := e2.api.Passive().WatchSince("nightly"); got.Sub(since).Abs() > time.Millisecond {
		t.Fatalf("watch since %v after restart, was %v", got, since)
	}
}

// TestConcurrentBatches: many hosts and batches at once (run with -race).
func TestConcurrentBatches(t *testing.T) {
	e := newEnv(t, "")
	var wg sync.WaitGroup
	for i := 1; i <= 20; i++ {
		wg.Add(1)
		go func(seq uint64) {
			defer wg.Done()
			tok, chk := tokWeb1, "nginx"
			if seq%2 == 0 {
				tok, chk = tokDB1, "pg"
			}
			e.sendBatch(tok, wire.Batch{Seq: seq, Results: []wire.Result{{Check: chk, Status: check.OK, Time: nowMS()}},
				Samples: []wire.Sample{{Name: "up", Time: nowMS(), Value: 1}}})
		}(uint64(i))
	}
	wg.Wait()
	if e.sink.count("web1")+e.sink.count("db1") == 0 {
		t.Fatal("nothing stored")
	}
}

func counterValue(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// TestBatchStatusForms: statuses as names or numbers; a bad one refuses
// its result only.
func TestBatchStatusForms(t *testing.T) {
	e := newEnv(t, "")
	now := nowMS()
	body := fmt.Sprintf(`{"seq":1,"results":[
		{"check":"nginx","status":"FINE","time":%d},
		{"check":"nginx","status":null,"time":%d},
		{"check":"nginx","status":2.5,"time":%d},
		{"check":"nginx","status":1,"output":"slow","time":%d},
		{"check":"nginx","status":"critical","output":"down","time":%d}]}`, now, now, now, now, now)
	code, b := e.do(req{method: "POST", path: "/api/v1/agent/batch", token: tokWeb1, body: []byte(body)})
	var ack wire.BatchAck
	json.Unmarshal(b, &ack)
	if code != 200 || ack.Rejected != 3 {
		t.Fatalf("%d %s", code, b)
	}
	if v, _ := e.eng.Get("web1/nginx"); v.Status != check.Critical || v.Attempt != 2 {
		t.Fatalf("%s attempt %d", v.Status, v.Attempt)
	}
}

// TestRelayedZone: a request relayed by a poller is served only for a
// host of the poller's zone; its hello records the poller.
func TestRelayedZone(t *testing.T) {
	e := newEnv(t, "")
	e.cfg.Host("web1").Zone = "z1"
	mux := http.NewServeMux()
	e.api.Routes(mux)
	relay := func(zone, token string, path string, body []byte) (int, string) {
		r := httptest.NewRequest("POST", path, bytes.NewReader(body))
		r.Header.Set("Authorization", "Bearer "+token)
		r.RemoteAddr = "10.1.0.5:40000 via poller p1"
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, Relayed(r, zone, "p1"))
		return w.Code, w.Body.String()
	}
	hello := mustJSON(wire.Hello{Version: wire.Version, Agent: "mamori test", Hostname: "web1", OS: "linux", Arch: "amd64"})
	if code, body := relay("z1", tokWeb1, "/api/v1/agent/hello", hello); code != 200 {
		t.Fatalf("own zone: %d %s", code, body)
	}
	hs, _ := e.st.AgentHosts(context.Background())
	for _, h := range hs {
		if h.Host == "web1" && !strings.Contains(h.AgentInfo, "via poller p1 (zone z1)") {
			t.Errorf("agent info %q does not say the poller", h.AgentInfo)
		}
	}
	for _, c := range []struct{ zone, token, want string }{
		{"z2", tokWeb1, `host \"web1\" is in zone \"z1\": poller \"p1\" of zone \"z2\" may not relay for it`},
		{"z1", tokDB1, `host \"db1\" has no zone`},
	} {
		code, body := relay(c.zone, c.token, "/api/v1/agent/batch", gz(mustJSON(wire.Batch{Seq: 1})))
		if code != http.StatusForbidden || !strings.Contains(body, c.want) {
			t.Errorf("zone %s token %s: %d %s", c.zone, c.token, code, body)
		}
	}
	if code, body := relay("z1", "", "/api/v1/push/"+tokNightly, []byte("ok")); code != http.StatusForbidden || !strings.Contains(body, `check \"nightly\" (host \"\") has no zone`) {
		t.Errorf("push of a check without zone: %d %s", code, body)
	}
	e.cfg.Check("nightly").Host = "web1"
	if code, body := relay("z1", "", "/api/v1/push/"+tokNightly, nil); code != http.StatusAccepted {
		t.Errorf("push of a check of a z1 host through a z1 poller: %d %s", code, body)
	}
	if code, body := e.do(req{method: "POST", path: "/api/v1/agent/hello", token: tokDB1, body: hello}); code != 200 {
		t.Errorf("direct request: %d %s", code, body)
	}
}

// TestPushTokenFromSharedSecret: servers of one database derive push tokens
// from the key they share (Deps.Secret), not from their own data directory.
func TestPushTokenFromSharedSecret(t *testing.T) {
	e := newEnv(t, "")
	shared := bytes.Repeat([]byte{7}, 32)
	a := New(Deps{Results: e.eng, Config: func() *config.Config { return e.cfg }, Hosts: e.st, Secret: shared})
	mux := http.NewServeMux()
	a.Routes(mux)
	push := func(tok string) int {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("POST", "/api/v1/push/"+tok, strings.NewReader(`{"status":0}`)))
		return rec.Code
	}
	if code := push(pushcheck.PushToken(shared, "weekly")); code != 202 {
		t.Fatalf("token derived from the shared key: %d", code)
	}
	own, err := LoadSecret(e.dir)
	if err != nil {
		t.Fatal(err)
	}
	if code := push(pushcheck.PushToken(own, "weekly")); code != 404 {
		t.Fatalf("token derived from the data directory's key accepted: %d", code)
	}
}
