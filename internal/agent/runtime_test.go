package agent

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	_ "github.com/mamori/mamori/internal/check/diskcheck"
	_ "github.com/mamori/mamori/internal/check/loadcheck"
	_ "github.com/mamori/mamori/internal/check/logcheck"
	_ "github.com/mamori/mamori/internal/check/memcheck"
	_ "github.com/mamori/mamori/internal/check/proccheck"
	_ "github.com/mamori/mamori/internal/check/tcpcheck"
	"github.com/mamori/mamori/internal/dirlock"
	"github.com/mamori/mamori/internal/wire"
)

const testToken = "agent-token-123"

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

type agentProc struct {
	once   sync.Once
	rt     *Runtime
	cancel context.CancelFunc
	done   chan error
}

func startAgent(t *testing.T, cfg Config) *agentProc {
	t.Helper()
	rt, err := New(cfg, Options{Logger: testLogger(t), Agent: "mamori test", Linger: 20 * time.Millisecond, MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, PollWait: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	a := &agentProc{rt: rt, cancel: cancel, done: make(chan error, 1)}
	go func() { a.done <- rt.Run(ctx) }()
	t.Cleanup(a.stop)
	return a
}

func (a *agentProc) stop() { a.once.Do(a.stop1) }

func (a *agentProc) stop1() {
	a.cancel()
	select {
	case <-a.done:
	case <-time.After(30 * time.Second):
		buf := make([]byte, 1<<20)
		n := runtime.Stack(buf, true)
		panic("agent did not stop:\n" + string(buf[:n]))
	}
}

func baseConfig(t *testing.T, f *fakeServer, stateDir string) Config {
	return Config{
		Server: f.srv.URL, Token: check.NewSecret(testToken), StateDir: stateDir,
		SpoolMaxBytes: 8 << 20, ActionTimeout: 10 * time.Second, Hostname: "web01",
	}
}

func spec(name, typ, yaml string, interval time.Duration) wire.CheckSpec {
	return wire.CheckSpec{Name: name, Type: typ, Interval: wire.Duration(interval), YAML: yaml}
}

func assertClean(t *testing.T, f *fakeServer) {
	t.Helper()
	bs, dups, v := f.snapshot()
	if len(v) > 0 {
		t.Fatalf("protocol violations: %v", v)
	}
	for i := 1; i < len(bs); i++ {
		if bs[i].Seq <= bs[i-1].Seq {
			t.Fatalf("stored out of order: %d after %d", bs[i].Seq, bs[i-1].Seq)
		}
	}
	_ = dups
}

func TestRuntimeChecksMetricsActions(t *testing.T) {
	dir := t.TempDir()
	logFile := filepath.Join(dir, "app.log")
	os.WriteFile(logFile, []byte("ERROR old, before the agent\n"), 0o644)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	cfg := wire.AgentConfig{
		Host: "web01", ConfigVersion: "v1", MetricsInterval: wire.Duration(150 * time.Millisecond), Heartbeat: wire.Duration(time.Second),
		Checks: []wire.CheckSpec{
			spec("applog", "log", "files: ["+logFile+"]\ncritical_patterns: [ERROR]\n", 200*time.Millisecond),
			spec("ghost", "process", "process: no-such-process-xyz\n", time.Minute),
			spec("local_tcp", "tcp", "port: "+itoa(port)+"\n", time.Minute),
			spec("load", "load", "warning: 0\ncritical: 0\n", time.Minute),
			spec("typo", "memory", "warnign: 90\n", time.Minute),
			spec("alien", "no_such_type", "", time.Minute),
			spec("badvalue", "disk", "mounts: [relative]\n", time.Minute),
		},
	}
	f := newFakeServer(t, testToken, cfg)
	ac := baseConfig(t, f, filepath.Join(dir, "state"))
	exitScript := []string{"sh", "-c", "echo started; echo to-stderr >&2; exit 3"}
	if runtime.GOOS == "windows" {
		exitScript = []string{"cmd", "/c", "echo started & exit 3"}
	}
	ac.Actions = map[string][]string{"restart_app": exitScript, "slow": {"sleep", "30"}}
	a := startAgent(t, ac)

	waitFor(t, "hello", 10*time.Second, func() bool { f.mu.Lock(); defer f.mu.Unlock(); return len(f.hellos) > 0 })
	f.mu.Lock()
	h := f.hellos[0]
	f.mu.Unlock()
	if strings.Join(h.Actions, ",") != "restart_app,slow" || h.Hostname != "web01" || h.OS != runtime.GOOS {
		t.Fatalf("hello: %+v", h)
	}

	// Metrics arrive with node_exporter names.
	waitFor(t, "metrics", 10*time.Second, func() bool { return f.sampleCount("node_load5") >= 2 })
	for _, name := range []string{"node_load1", "node_cpu_seconds_total", "node_memory_MemTotal_bytes", "node_memory_MemAvailable_bytes", "node_filesystem_size_bytes", "node_network_receive_bytes_total", "node_procs_total", "node_boot_time_seconds", "node_time_seconds"} {
		if f.sampleCount(name) == 0 {
			t.Errorf("no %s sample", name)
		}
	}

	// Results of every check arrive; bad specs are UNKNOWN naming the problem.
	want := map[string]struct {
		st  check.Status
		out string
	}{
		"applog":    {check.OK, "LOG OK - no new matching lines"},
		"ghost":     {check.Critical, "no process with name no-such-process-xyz"},
		"local_tcp": {check.OK, "TCP OK"},
		"load":      {check.OK, "LOAD OK"},
		"typo":      {check.Unknown, `warnign: unknown field (did you mean "warning"?)`},
		"alien":     {check.Unknown, `unknown check type "no_such_type"`},
		"badvalue":  {check.Unknown, `mounts: item 0: "relative" is not an absolute path`},
	}
	for name, w := range want {
		waitFor(t, "result of "+name, 10*time.Second, func() bool { return len(f.results(name)) > 0 })
		r := f.results(name)[0]
		if r.Status != w.st || !strings.Contains(r.Output, w.out) {
			t.Errorf("%s: %v %q, want %v with %q", name, r.Status, r.Output, w.st, w.out)
		}
	}

	// A new log line alerts exactly once.
	appendLine(t, logFile, "ERROR fresh failure\n")
	waitFor(t, "log alert", 10*time.Second, func() bool { return countStatus(f.results("applog"), check.Critical) > 0 })
	time.Sleep(600 * time.Millisecond) // a few more runs
	if n := countStatus(f.results("applog"), check.Critical); n != 1 {
		t.Fatalf("log line alerted %d times", n)
	}

	// Actions: allowlisted runs, returns its exit code and output.
	resp := f.request(t, wire.Request{ID: "r1", Kind: "action", Action: "restart_app"})
	if resp.Refused || resp.ExitCode != 3 || !strings.Contains(resp.Output, "started") || resp.Error != "" {
		t.Fatalf("action: %+v", resp)
	}
	// Outside the allowlist: refused, with a clear error.
	resp = f.request(t, wire.Request{ID: "r2", Kind: "action", Action: "rm_everything"})
	if !resp.Refused || !strings.Contains(resp.Error, `"rm_everything" is not in this agent's local allowlist (allowed: restart_app, slow)`) {
		t.Fatalf("refusal: %+v", resp)
	}
	// Dry run: says what would run.
	resp = f.request(t, wire.Request{ID: "r3", Kind: "action", Action: "restart_app", DryRun: true})
	if resp.Refused || !strings.Contains(resp.Output, "dry run: would run") {
		t.Fatalf("dry run: %+v", resp)
	}
	// Timeout: the process group is killed.
	if runtime.GOOS != "windows" {
		start := time.Now()
		resp = f.request(t, wire.Request{ID: "r4", Kind: "action", Action: "slow", Timeout: wire.Duration(300 * time.Millisecond)})
		if resp.ExitCode != -1 || !strings.Contains(resp.Error, "timed out after 300ms; process group killed") || time.Since(start) > 10*time.Second {
			t.Fatalf("timeout: %+v", resp)
		}
	}
	// Recheck runs the check now.
	before := len(f.results("ghost"))
	resp = f.request(t, wire.Request{ID: "r5", Kind: "recheck", Check: "ghost"})
	if resp.Error != "" {
		t.Fatalf("recheck: %+v", resp)
	}
	waitFor(t, "recheck result", 10*time.Second, func() bool { return len(f.results("ghost")) > before })
	resp = f.request(t, wire.Request{ID: "r6", Kind: "recheck", Check: "nope"})
	if !strings.Contains(resp.Error, `no check "nope"`) {
		t.Fatalf("recheck unknown: %+v", resp)
	}
	resp = f.request(t, wire.Request{ID: "r7", Kind: "format_disk"})
	if !strings.Contains(resp.Error, "unknown request kind") {
		t.Fatalf("unknown kind: %+v", resp)
	}

	// Config change: the ack carries a new version → hello again → new checks.
	f.mu.Lock()
	f.config.ConfigVersion = "v2"
	f.config.Checks = []wire.CheckSpec{spec("mem", "memory", "warning: 0\ncritical: 0\nswap_warning: 0\nswap_critical: 0\n", time.Minute)}
	f.mu.Unlock()
	waitFor(t, "result of the new config", 10*time.Second, func() bool { return len(f.results("mem")) > 0 })
	if r := f.results("mem")[0]; r.Status != check.OK {
		t.Fatalf("mem: %+v", r)
	}
	a.stop()
	assertClean(t, f)
}

func TestOutageSpoolsThenDeliversInOrderExactlyOnce(t *testing.T) {
	dir := t.TempDir()
	cfg := wire.AgentConfig{Host: "web01", ConfigVersion: "v1", MetricsInterval: wire.Duration(50 * time.Millisecond), Heartbeat: wire.Duration(time.Second),
		Checks: []wire.CheckSpec{spec("ghost", "process", "process: no-such-process-xyz\n", 100*time.Millisecond)}}
	f := newFakeServer(t, testToken, cfg)
	a := startAgent(t, baseConfig(t, f, dir))
	waitFor(t, "first batches", 10*time.Second, func() bool { bs, _, _ := f.snapshot(); return len(bs) >= 2 })

	f.setDown(true)
	downAt := a.rt.Spool().LastSeq()
	waitFor(t, "spooling while down", 10*time.Second, func() bool { n, _ := a.rt.Spool().Pending(); return n >= 10 })
	pending, bytes := a.rt.Spool().Pending()
	t.Logf("spooled %d batches, %d bytes (last seq before outage %d)", pending, bytes, downAt)
	if files, _ := filepath.Glob(filepath.Join(dir, "spool", "seg-*.log")); len(files) == 0 {
		t.Fatal("nothing on disk while the server is down")
	}

	f.setDown(false)
	target := a.rt.Spool().LastSeq()
	waitFor(t, "catch up", 20*time.Second, func() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.lastSeq >= target })
	a.stop()
	// What was cut after the catch-up and not sent yet stays spooled and
	// goes with the next start.
	// (one more when the stop cut off an acknowledgement: sent again, ignored as a duplicate)
	f.mu.Lock()
	stored := f.lastSeq
	f.mu.Unlock()
	if n, _ := a.rt.Spool().Pending(); uint64(n) != a.rt.Spool().LastSeq()-stored && uint64(n) != a.rt.Spool().LastSeq()-stored+1 {
		t.Fatalf("%d pending, but the server lacks %d batches", n, a.rt.Spool().LastSeq()-stored)
	}
	a2 := startAgent(t, baseConfig(t, f, dir))
	final := a2.rt.Spool().LastSeq()
	waitFor(t, "the rest after a restart", 20*time.Second, func() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.lastSeq >= final })
	a2.stop()

	bs, _, v := f.snapshot()
	if len(v) > 0 {
		t.Fatal(v)
	}
	// Every Seq from 1 to the last, once each, in order: nothing lost.
	for i, b := range bs {
		if b.Seq != uint64(i+1) {
			t.Fatalf("batch %d has seq %d", i, b.Seq)
		}
		if b.DroppedResults+b.DroppedSamples != 0 {
			t.Fatalf("unexpected drops: %+v", b)
		}
	}
	// Results inside the batches are in time order too.
	var last int64
	for _, r := range f.results("ghost") {
		if r.Time < last {
			t.Fatalf("results out of order")
		}
		last = r.Time
	}
}

func TestSpoolBoundDropsOldestAndCounts(t *testing.T) {
	dir := t.TempDir()
	cfg := wire.AgentConfig{Host: "web01", ConfigVersion: "v1", MetricsInterval: wire.Duration(20 * time.Millisecond), Heartbeat: wire.Duration(time.Second),
		Checks: []wire.CheckSpec{spec("ghost", "process", "process: no-such-process-xyz\n", 50*time.Millisecond)}}
	f := newFakeServer(t, testToken, cfg)
	c := baseConfig(t, f, dir)
	c.SpoolMaxBytes = 32 << 10
	a := startAgent(t, c)
	waitFor(t, "online", 10*time.Second, func() bool { bs, _, _ := f.snapshot(); return len(bs) >= 2 })
	f.setDown(true)
	waitFor(t, "drops", 30*time.Second, func() bool { r, s := a.rt.Spool().Dropped(); return r > 0 && s > 0 })
	_, bytes := a.rt.Spool().Pending()
	if bytes > c.SpoolMaxBytes+(c.SpoolMaxBytes/16)+64<<10 {
		t.Fatalf("spool holds %d bytes over a bound of %d", bytes, c.SpoolMaxBytes)
	}
	f.setDown(false)
	a.stop() // after the stop nothing more is dropped: compare exact counts
	droppedR, droppedS := a.rt.Spool().Dropped()

	// A second agent on the same state dir sends what is left, with the counts.
	// The first agent may have sent its spool between the receiver's return
	// and its stop; the counts then ride on the second agent's next batch.
	told := func() (r, s uint64) {
		bs, _, _ := f.snapshot()
		for _, b := range bs {
			r += b.DroppedResults
			s += b.DroppedSamples
		}
		return r, s
	}
	a2 := startAgent(t, c)
	target := a2.rt.Spool().LastSeq()
	waitFor(t, "delivery", 20*time.Second, func() bool {
		f.mu.Lock()
		sent := f.lastSeq >= target
		f.mu.Unlock()
		r, s := told()
		return sent && r >= droppedR && s >= droppedS
	})
	a2.stop()
	bs, _, v := f.snapshot()
	if len(v) > 0 {
		t.Fatal(v)
	}
	// The second agent starts on a full spool: its first batches may drop
	// the oldest too, before its sender drains them. Its drops count.
	r2, s2 := a2.rt.Spool().Dropped()
	gotR, gotS := told()
	if gotR != droppedR+r2 || gotS != droppedS+s2 {
		t.Fatalf("server told of %d results / %d samples dropped, agents dropped %d+%d / %d+%d", gotR, gotS, droppedR, r2, droppedS, s2)
	}
	f.mu.Lock()
	gaps := f.gaps
	f.mu.Unlock()
	if gaps == 0 {
		t.Fatalf("the oldest batches should have been dropped (a gap in Seq)")
	}
	t.Logf("dropped %d results, %d samples; delivered %d batches up to seq %d", droppedR, droppedS, len(bs), bs[len(bs)-1].Seq)
}

func TestRestartResumesSeqAndLogOffsets(t *testing.T) {
	dir := t.TempDir()
	logFile := filepath.Join(dir, "app.log")
	os.WriteFile(logFile, []byte("ERROR before the first start\n"), 0o644)
	cfg := wire.AgentConfig{Host: "web01", ConfigVersion: "v1", MetricsInterval: wire.Duration(time.Hour), Heartbeat: wire.Duration(time.Second),
		Checks: []wire.CheckSpec{spec("applog", "log", "files: ["+logFile+"]\ncritical_patterns: [ERROR]\n", 100*time.Millisecond)}}
	f := newFakeServer(t, testToken, cfg)
	state := filepath.Join(dir, "state")
	a1 := startAgent(t, baseConfig(t, f, state))
	waitFor(t, "first result", 10*time.Second, func() bool { return len(f.results("applog")) > 0 })
	appendLine(t, logFile, "ERROR seen by agent one\n")
	waitFor(t, "alert", 10*time.Second, func() bool { return countStatus(f.results("applog"), check.Critical) == 1 })
	a1.stop()
	seq1 := a1.rt.Spool().LastSeq()
	n1 := len(f.results("applog"))

	// Written while the agent is down: seen once by the next one.
	appendLine(t, logFile, "ERROR written while down\n")
	a2 := startAgent(t, baseConfig(t, f, state))
	waitFor(t, "results after restart", 10*time.Second, func() bool { return len(f.results("applog")) > n1+3 })
	a2.stop()
	if a2.rt.Spool().LastSeq() <= seq1 {
		t.Fatalf("seq did not resume: %d then %d", seq1, a2.rt.Spool().LastSeq())
	}
	rs := f.results("applog")
	crit := 0
	for _, r := range rs {
		if r.Status == check.Critical {
			crit++
			if strings.Contains(r.Output, "before the first start") {
				t.Fatalf("old line alerted: %q", r.Output)
			}
		}
	}
	if crit != 2 || !strings.Contains(rs[len(rs)-1].Output, "no new matching lines") {
		t.Fatalf("want exactly 2 alerts (one per new line), got %d: last %q", crit, rs[len(rs)-1].Output)
	}
	assertClean(t, f)
	if _, dups, _ := f.snapshot(); dups != 0 {
		t.Fatalf("%d duplicate batches", dups)
	}
}

func TestStartsOfflineWithCachedConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := wire.AgentConfig{Host: "web01", ConfigVersion: "v1", MetricsInterval: wire.Duration(time.Hour), Heartbeat: wire.Duration(time.Second),
		Checks: []wire.CheckSpec{spec("ghost", "process", "process: no-such-process-xyz\n", 100*time.Millisecond)}}
	f := newFakeServer(t, testToken, cfg)
	a := startAgent(t, baseConfig(t, f, dir))
	waitFor(t, "result", 10*time.Second, func() bool { return len(f.results("ghost")) > 0 })
	a.stop()
	f.setDown(true)
	a2 := startAgent(t, baseConfig(t, f, dir))
	waitFor(t, "spooled results while offline from the start", 10*time.Second, func() bool { n, _ := a2.rt.Spool().Pending(); return n >= 2 })
	a2.stop()
}

func TestWrongTokenKeepsSpooling(t *testing.T) {
	f := newFakeServer(t, "the-right-one", wire.AgentConfig{Host: "x"})
	a := startAgent(t, baseConfig(t, f, t.TempDir()))
	waitFor(t, "hello retried", 10*time.Second, func() bool { f.mu.Lock(); defer f.mu.Unlock(); return len(f.violations) >= 2 })
	a.stop()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.stored) != 0 || len(f.hellos) != 0 {
		t.Fatalf("stored %d batches with a wrong token", len(f.stored))
	}
}

func appendLine(t *testing.T, path, s string) {
	t.Helper()
	fh, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	fh.WriteString(s)
	fh.Close()
}

func countStatus(rs []wire.Result, st check.Status) int {
	n := 0
	for _, r := range rs {
		if r.Status == st {
			n++
		}
	}
	return n
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestSecondAgentOnTheStateDirIsRefused(t *testing.T) {
	dir := t.TempDir()
	f := newFakeServer(t, testToken, wire.AgentConfig{Host: "web01", ConfigVersion: "v1", MetricsInterval: wire.Duration(time.Hour), Heartbeat: wire.Duration(time.Second)})
	a := startAgent(t, baseConfig(t, f, dir))

	// In the same process: New refuses at once.
	_, err := New(baseConfig(t, f, dir), Options{Logger: testLogger(t)})
	var le *dirlock.LockedError
	if !errors.As(err, &le) || le.PID != os.Getpid() || !strings.Contains(err.Error(), "state_dir: "+dir) {
		t.Fatalf("second runtime on the state dir: %v", err)
	}
	// The command line says so and exits 1.
	var stderr strings.Builder
	code := Main([]string{"--server", f.srv.URL, "--token", testToken, "--state-dir", dir, "--hostname", "web01"}, io.Discard, &stderr, "test")
	if code != 1 || !strings.Contains(stderr.String(), dir) || !strings.Contains(stderr.String(), "pid "+itoa(os.Getpid())) {
		t.Fatalf("mamori agent on a locked state dir: exit %d: %s", code, stderr.String())
	}
	// Once the first agent stops, the next one starts.
	a.stop()
	a2 := startAgent(t, baseConfig(t, f, dir))
	a2.stop()
}
