package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
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

	"github.com/nats-io/nats.go"
)

// natsd is a nats-server process of a test, with its own port, store and
// accounts: a server user and one user per zone, each allowed only its
// zone's subjects (the configuration docs/pollers.md describes).
type natsd struct {
	t    *testing.T
	port int
	conf string
	cmd  *exec.Cmd
}

func natsServerBinary(t *testing.T) string {
	for _, p := range []string{"/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("nats-server"); err == nil {
		return p
	}
	if os.Getenv("MAMORI_INTEGRATION") != "" {
		t.Fatal("nats-server not found (MAMORI_INTEGRATION is set)")
	}
	t.Skip("nats-server not installed")
	return ""
}

// zonePermissions is a zone user's permissions block (see docs/pollers.md).
func zonePermissions(zone string) string {
	return fmt.Sprintf(`permissions: {
        publish: { allow: ["mamori.results.%[1]s", "mamori.agent.%[1]s", "$JS.API.CONSUMER.INFO.MAMORI_JOBS_%[1]s.pollers",
          "$JS.API.CONSUMER.MSG.NEXT.MAMORI_JOBS_%[1]s.pollers", "$JS.ACK.MAMORI_JOBS_%[1]s.pollers.>"] }
        subscribe: { allow: ["_INBOX_%[1]s.>"] }
      }`, zone)
}

func startNATS(t *testing.T) *natsd {
	t.Helper()
	dir := t.TempDir()
	n := &natsd{t: t, port: freePort(t), conf: filepath.Join(dir, "nats.conf")}
	conf := fmt.Sprintf(`listen: 127.0.0.1:%d
jetstream { store_dir: %q }
accounts {
  MAMORI {
    jetstream: enabled
    users: [
      { user: server, password: server-secret }
      { user: zone-z1, password: z1-secret, %s }
      { user: zone-z2, password: z2-secret, %s }
    ]
  }
}
`, n.port, filepath.Join(dir, "js"), zonePermissions("z1"), zonePermissions("z2"))
	if err := os.WriteFile(n.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	n.start()
	t.Cleanup(n.stop)
	return n
}

func (n *natsd) url() string { return fmt.Sprintf("nats://127.0.0.1:%d", n.port) }

func (n *natsd) start() {
	n.t.Helper()
	n.cmd = exec.Command(natsServerBinary(n.t), "-c", n.conf)
	n.cmd.Stdout, n.cmd.Stderr = io.Discard, io.Discard
	if err := n.cmd.Start(); err != nil {
		n.t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", n.port)); err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	n.t.Fatal("nats-server did not come up")
}

func (n *natsd) stop() {
	if n.cmd != nil && n.cmd.ProcessState == nil {
		n.cmd.Process.Signal(syscall.SIGTERM)
		n.cmd.Wait()
	}
}

// proc is a mamori subprocess (a poller) with its output kept.
type proc struct {
	cmd *exec.Cmd
	mu  sync.Mutex
	out strings.Builder
}

func startPoller(t *testing.T, broker, zone, name, creds string, extra ...string) *proc {
	t.Helper()
	p := &proc{}
	args := append([]string{"poller", "--broker", broker, "--zone", zone, "--name", name, "--state-dir", t.TempDir(), "--creds", creds}, extra...)
	p.cmd = exec.Command(os.Args[0], args...)
	p.cmd.Env = append(os.Environ(), "MAMORI_E2E_MAIN=1")
	pr, pw := io.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = pw, pw
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			p.mu.Lock()
			p.out.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
		}
	}()
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Signal(syscall.SIGTERM)
			p.cmd.Wait()
		}
		if t.Failed() {
			t.Logf("poller %s output:\n%s", name, p.output())
		}
	})
	return p
}

func (p *proc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

func (p *proc) kill9() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
}

func writeFile(t *testing.T, path, text string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// tcpTarget is a real listener the tcp checks connect to; it can be
// closed and reopened on the same port.
type tcpTarget struct {
	t    *testing.T
	port int
	mu   sync.Mutex
	ln   net.Listener
}

func newTCPTarget(t *testing.T) *tcpTarget {
	tt := &tcpTarget{t: t, port: freePort(t)}
	tt.open()
	t.Cleanup(tt.close)
	return tt
}

func (tt *tcpTarget) open() {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	var err error
	for i := 0; i < 50; i++ {
		if tt.ln, err = net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", tt.port)); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		tt.t.Fatal(err)
	}
	ln := tt.ln
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
}

func (tt *tcpTarget) close() {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	if tt.ln != nil {
		tt.ln.Close()
		tt.ln = nil
	}
}

type pollerSetup struct {
	nats     *natsd
	srv      *server
	target   *tcpTarget
	dir      string
	z1, z2   string // creds files
	zone1    []string
	interval time.Duration
}

// setupPollers starts NATS, a server with zone checks (z1: four, z2: one)
// and one check of its own.
func setupPollers(t *testing.T) *pollerSetup {
	t.Helper()
	natsServerBinary(t)
	s := &pollerSetup{nats: startNATS(t), target: newTCPTarget(t), dir: t.TempDir(), interval: 2 * time.Second}
	s.z1 = writeFile(t, filepath.Join(s.dir, "z1.creds"), "zone-z1:z1-secret\n")
	s.z2 = writeFile(t, filepath.Join(s.dir, "z2.creds"), "zone-z2:z2-secret\n")
	writeFile(t, filepath.Join(s.dir, "server.creds"), "server:server-secret\n")
	var checks strings.Builder
	for i := 1; i <= 4; i++ {
		name := fmt.Sprintf("z1-tcp-%d", i)
		s.zone1 = append(s.zone1, name)
		fmt.Fprintf(&checks, "  - {name: %s, type: tcp, host: 127.0.0.1, port: %d, zone: z1, interval: 2s, attempts: 1, timeout: 2s}\n", name, s.target.port)
	}
	fmt.Fprintf(&checks, "  - {name: z2-tcp, type: tcp, host: 127.0.0.1, port: %d, zone: z2, interval: 2s, attempts: 1}\n", s.target.port)
	fmt.Fprintf(&checks, "  - {name: central-tcp, type: tcp, host: 127.0.0.1, port: %d, interval: 2s, attempts: 1}\n", s.target.port)
	port := freePort(t)
	cfg := writeFile(t, filepath.Join(s.dir, "mamori.yaml"), fmt.Sprintf(`listen: 127.0.0.1:%d
data_dir: %s
broker: %s
broker_creds: server.creds
api_tokens:
  - {name: e2e, token: %s, role: operator}
checks:
%s`, port, filepath.Join(s.dir, "data"), s.nats.url(), token, checks.String()))
	s.srv = startServer(t, cfg, port)
	return s
}

type checkRow struct {
	Name      string    `json:"name"`
	State     string    `json:"state"`
	Poller    string    `json:"poller"`
	Zone      string    `json:"zone"`
	LastCheck time.Time `json:"last_check"`
}

func (s *pollerSetup) checks(t *testing.T) map[string]checkRow {
	var rows []checkRow
	s.srv.get("/api/v1/checks", &rows)
	out := map[string]checkRow{}
	for _, r := range rows {
		out[r.Name] = r
	}
	return out
}

func waitUntil(t *testing.T, what string, d time.Duration, f func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if f() {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// TestPollersRunTheirZone: zone checks run only on their zone's pollers,
// the server's own check on the server; a poller killed with -9 leaves its
// checks to the other within one interval; a zone's credentials reach no
// other zone's subjects.
func TestPollersRunTheirZone(t *testing.T) {
	s := setupPollers(t)
	p1 := startPoller(t, s.nats.url(), "z1", "p1", s.z1)
	startPoller(t, s.nats.url(), "z1", "p2", s.z1)
	startPoller(t, s.nats.url(), "z2", "p3", s.z2)
	ranBy := map[string]map[string]bool{}
	waitUntil(t, "every check run by p1 and p2 and the others by their runner", 60*time.Second, func() bool {
		cs := s.checks(t)
		done := true
		for name, c := range cs {
			if ranBy[name] == nil {
				ranBy[name] = map[string]bool{}
			}
			if c.Poller != "" {
				ranBy[name][c.Poller] = true
			}
			if c.Poller == "" || c.State != "OK" {
				done = false
			}
		}
		all := map[string]bool{}
		for _, n := range s.zone1 {
			for p := range ranBy[n] {
				all[p] = true
			}
		}
		return done && all["p1"] && all["p2"]
	})
	for name, by := range ranBy {
		for p := range by {
			want := map[string]bool{"p1": true, "p2": true}
			switch name {
			case "z2-tcp":
				want = map[string]bool{"p3": true}
			case "central-tcp":
				want = map[string]bool{"server": true}
			}
			if !want[p] {
				t.Errorf("check %s was run by %q", name, p)
			}
		}
	}

	// kill -9 p1: every z1 check gets its next result from p2 within one
	// interval (plus the time a run and its delivery take).
	p1.kill9()
	killed := time.Now()
	for _, n := range s.zone1 {
		n := n
		waitUntil(t, n+" run by p2 after p1 died", s.interval+5*time.Second+time.Until(killed.Add(s.interval)), func() bool {
			c := s.checks(t)[n]
			return c.Poller == "p2" && c.LastCheck.After(killed)
		})
	}

	// z2's credentials: no subscription to z1's jobs or inboxes, no z1
	// results, no pull from z1's queue.
	violations := make(chan error, 16)
	nc, err := nats.Connect(s.nats.url(), nats.UserInfo("zone-z2", "z2-secret"), nats.CustomInboxPrefix("_INBOX_z2"),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { violations <- err }))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	for _, subj := range []string{"mamori.jobs.z1.>", "_INBOX_z1.>", "mamori.results.z1"} {
		if _, err := nc.Subscribe(subj, func(*nats.Msg) {}); err != nil {
			t.Fatal(err)
		}
		expectViolation(t, violations, "subscribe "+subj)
	}
	for _, subj := range []string{"mamori.results.z1", "$JS.API.CONSUMER.MSG.NEXT.MAMORI_JOBS_z1.pollers"} {
		if err := nc.Publish(subj, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		nc.Flush()
		expectViolation(t, violations, "publish "+subj)
	}
	// ... while its own zone's subjects are open to it.
	if _, err := nc.Subscribe("_INBOX_z2.x", func(*nats.Msg) {}); err != nil {
		t.Fatal(err)
	}
	nc.Flush()
	select {
	case err := <-violations:
		t.Fatalf("own inbox refused: %v", err)
	case <-time.After(500 * time.Millisecond):
	}
}

func expectViolation(t *testing.T, ch chan error, what string) {
	t.Helper()
	select {
	case err := <-ch:
		if !errors.Is(err, nats.ErrPermissionViolation) && !strings.Contains(strings.ToLower(err.Error()), "permissions violation") {
			t.Fatalf("%s: %v, want a permissions violation", what, err)
		}
		t.Logf("%s: %v", what, err)
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: allowed to a zone-z2 user", what)
	}
}

func outageSeconds() time.Duration {
	if v, err := strconv.Atoi(os.Getenv("MAMORI_POLLER_OUTAGE_SECONDS")); err == nil && v > 0 {
		return time.Duration(v) * time.Second
	}
	return 120 * time.Second
}

type checkHistory struct {
	Results []struct {
		Time  time.Time `json:"time"`
		State string    `json:"state"`
	} `json:"results"`
	Events []struct {
		Time  time.Time `json:"time"`
		State string    `json:"state"`
		Hard  bool      `json:"hard"`
	} `json:"events"`
}

// TestPollersThroughAnOutage stops NATS (MAMORI_POLLER_OUTAGE_SECONDS,
// default 120 s) while the target goes down and comes back: the pollers
// keep running their checks, buffer the results and deliver them when
// NATS is back; no interval is missing from any check's history and the
// states changed at the times the checks saw the target fail and recover.
func TestPollersThroughAnOutage(t *testing.T) {
	s := setupPollers(t)
	startPoller(t, s.nats.url(), "z1", "p1", s.z1)
	startPoller(t, s.nats.url(), "z1", "p2", s.z1)
	waitUntil(t, "z1 checks OK from their pollers", 60*time.Second, func() bool {
		cs := s.checks(t)
		for _, n := range s.zone1 {
			if c := cs[n]; c.State != "OK" || (c.Poller != "p1" && c.Poller != "p2") {
				return false
			}
		}
		return true
	})
	outage := outageSeconds()
	down := time.Now()
	s.nats.stop()
	time.Sleep(outage / 3)
	closed := time.Now()
	s.target.close()
	time.Sleep(outage / 3)
	reopened := time.Now()
	s.target.open()
	time.Sleep(time.Until(down.Add(outage)))
	up := time.Now()
	s.nats.start()
	t.Logf("NATS down %s; target closed %s..%s", up.Sub(down).Round(time.Second), closed.Sub(down).Round(time.Second), reopened.Sub(down).Round(time.Second))
	waitUntil(t, "the buffered results delivered", 60*time.Second, func() bool {
		for _, n := range s.zone1 {
			var h checkHistory
			s.srv.get("/api/v1/checks/"+n+"?results=1", &h)
			if len(h.Results) == 0 || h.Results[0].Time.Before(up) {
				return false
			}
		}
		return true
	})
	time.Sleep(3 * time.Second)
	slack := s.interval + 3*time.Second
	for _, n := range s.zone1 {
		var h checkHistory
		s.srv.get(fmt.Sprintf("/api/v1/checks/%s?results=5000&events=100", n), &h)
		// Every interval of the outage has its result: no gap longer than
		// two intervals between consecutive results.
		var times []time.Time
		for _, r := range h.Results {
			if r.Time.After(down.Add(-s.interval)) && r.Time.Before(up) {
				times = append(times, r.Time)
			}
		}
		sortTimes(times)
		want := int(outage / s.interval * 8 / 10)
		if len(times) < want {
			t.Errorf("%s: %d results during the %s outage, want at least %d", n, len(times), outage, want)
		}
		for i := 1; i < len(times); i++ {
			if gap := times[i].Sub(times[i-1]); gap > 2*s.interval+time.Second {
				t.Errorf("%s: no result between %s and %s (%s)", n, times[i-1].Format(time.TimeOnly), times[i].Format(time.TimeOnly), gap)
			}
		}
		if len(times) > 0 && (times[0].Sub(down) > 2*s.interval+time.Second || up.Sub(times[len(times)-1]) > 2*s.interval+time.Second) {
			t.Errorf("%s: results of the outage only from %s to %s (outage %s to %s)", n, times[0].Format(time.TimeOnly), times[len(times)-1].Format(time.TimeOnly), down.Format(time.TimeOnly), up.Format(time.TimeOnly))
		}
		// The state changes carry the times the poller saw them, not the
		// time the results reached the server.
		var crit, ok bool
		for _, e := range h.Events {
			if e.State == "CRITICAL" && e.Hard && !e.Time.Before(closed) && e.Time.Before(closed.Add(slack)) {
				crit = true
			}
			if e.State == "OK" && e.Hard && !e.Time.Before(reopened) && e.Time.Before(reopened.Add(slack)) {
				ok = true
			}
		}
		if !crit || !ok {
			t.Errorf("%s: want a hard CRITICAL in [%s, +%s] and a recovery in [%s, +%s]; events %+v", n, closed.Format(time.TimeOnly), slack, reopened.Format(time.TimeOnly), slack, h.Events)
		}
		if c := s.checks(t)[n]; c.State != "OK" {
			t.Errorf("%s: state %s after the outage, want OK", n, c.State)
		}
	}
}

func sortTimes(ts []time.Time) {
	for i := 1; i < len(ts); i++ {
		for j := i; j > 0 && ts[j].Before(ts[j-1]); j-- {
			ts[j], ts[j-1] = ts[j-1], ts[j]
		}
	}
}
