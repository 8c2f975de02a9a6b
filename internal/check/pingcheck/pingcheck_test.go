package pingcheck

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/checktest"
)

func TestParseLimits(t *testing.T) {
	tests := []struct {
		in   string
		want limits
		err  bool
	}{
		{"100ms,20%", limits{100 * time.Millisecond, 20}, false},
		{"100,20%", limits{100 * time.Millisecond, 20}, false},
		{"100.5,20", limits{100500 * time.Microsecond, 20}, false},
		{"0.3s, 60 %", limits{300 * time.Millisecond, 60}, false},
		{"1s,100%", limits{time.Second, 100}, false},
		{"250ms", limits{250 * time.Millisecond, 7}, false}, // loss keeps the default
		{"35%", limits{time.Minute, 35}, false},             // rta keeps the default
		{"", limits{time.Minute, 7}, false},                 // all default
		{"abc,20%", limits{}, true},
		{"100,120%", limits{}, true},
		{"100,x%", limits{}, true},
		{"-5,20%", limits{}, true},
		{"-5ms,20%", limits{}, true},
	}
	def := limits{time.Minute, 7}
	for _, tt := range tests {
		got, err := parseLimits(tt.in, def)
		if (err != nil) != tt.err || (!tt.err && got != tt.want) {
			t.Errorf("%q: %+v %v, want %+v err=%v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestGrade(t *testing.T) {
	ms := time.Millisecond
	w, c := limits{100 * ms, 20}, limits{300 * ms, 60}
	tests := []struct {
		name string
		st   stats
		want check.Status
	}{
		{"fast, no loss", stats{Sent: 5, Received: 5, Avg: 1 * ms}, check.OK},
		{"just below warning", stats{Sent: 5, Received: 5, Avg: 99 * ms}, check.OK},
		{"rta at warning", stats{Sent: 5, Received: 5, Avg: 100 * ms}, check.Warning},
		{"rta between", stats{Sent: 5, Received: 5, Avg: 299 * ms}, check.Warning},
		{"rta at critical", stats{Sent: 5, Received: 5, Avg: 300 * ms}, check.Critical},
		{"loss 10%", stats{Sent: 10, Received: 9, Avg: ms, LossPct: 10}, check.OK},
		{"loss 20%", stats{Sent: 5, Received: 4, Avg: ms, LossPct: 20}, check.Warning},
		{"loss 40%", stats{Sent: 5, Received: 3, Avg: ms, LossPct: 40}, check.Warning},
		{"loss 60%", stats{Sent: 5, Received: 2, Avg: ms, LossPct: 60}, check.Critical},
		{"loss warning, rta critical", stats{Sent: 5, Received: 4, Avg: 400 * ms, LossPct: 20}, check.Critical},
		{"all lost", stats{Sent: 5, Received: 0, LossPct: 100}, check.Critical},
	}
	for _, tt := range tests {
		if got := grade(tt.st, w, c); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
	// All lost is CRITICAL even with loss thresholds at 100%.
	if got := grade(stats{Sent: 5, LossPct: 100}, limits{0, 100}, limits{0, 100}); got != check.Critical {
		t.Errorf("all lost with 100%% thresholds: %s", got)
	}
	// A 0% loss threshold alerts on any loss, not on none.
	if got := grade(stats{Sent: 5, Received: 5, Avg: ms}, limits{0, 0}, limits{0, 100}); got != check.OK {
		t.Errorf("0%% threshold, no loss: %s", got)
	}
	if got := grade(stats{Sent: 5, Received: 4, Avg: ms, LossPct: 20}, limits{0, 0}, limits{0, 100}); got != check.Warning {
		t.Errorf("0%% threshold, loss: %s", got)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		mod    func(*Spec)
		fields []string
	}{
		{"host required", func(s *Spec) {}, []string{"host"}},
		{"ok", func(s *Spec) { s.Host = "127.0.0.1" }, nil},
		{"rta only", func(s *Spec) { s.Host = "x"; s.Warning = "50ms"; s.Critical = "200" }, nil},
		{"warning above critical", func(s *Spec) { s.Host = "x"; s.Warning = "400ms,20%" }, []string{"warning"}},
		{"loss above critical", func(s *Spec) { s.Host = "x"; s.Warning = "100,70%" }, []string{"warning"}},
		{"everything wrong", func(s *Spec) {
			s.Packets = 0
			s.PacketInterval = 0
			s.Warning = "fast"
			s.Critical = "1,200%"
			s.Size = -1
			s.ICMPMode = "magic"
		}, []string{"host", "packets", "packet_interval", "warning", "critical", "size", "icmp_mode"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSpec()
			tt.mod(s)
			var got []string
			for _, e := range s.Validate() {
				got = append(got, e.Field)
			}
			if strings.Join(got, " ") != strings.Join(tt.fields, " ") {
				t.Fatalf("fields %v, want %v (%v)", got, tt.fields, s.Validate())
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	k, ok := check.Lookup("ping")
	if !ok || k.Timeout != 10*time.Second || k.Label != "PING" {
		t.Fatalf("%+v", k)
	}
	s := k.New().(*Spec)
	if s.Packets != 5 || s.PacketInterval != 200*time.Millisecond || s.Size != 56 || s.Warning != "100ms,20%" || s.Critical != "300ms,60%" || s.ICMPMode != "auto" {
		t.Fatalf("%+v", s)
	}
	s.DefaultHost("192.0.2.7")
	if s.Host != "192.0.2.7" {
		t.Fatal(s.Host)
	}
	s.DefaultHost("192.0.2.8")
	if s.Host != "192.0.2.7" {
		t.Fatal("host overridden")
	}
}

// testChecker builds a checker for host that uses p instead of the shared pinger.
func testChecker(t testing.TB, s *Spec, p *pinger) check.Checker {
	t.Helper()
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	c, err := s.New(check.Env{})
	if err != nil {
		t.Fatal(err)
	}
	if p != nil {
		c.(*checker).pinger = func(bool) (*pinger, error) { return p, nil }
	}
	return c
}

func runCheck(c check.Checker, timeout time.Duration) check.Result {
	k, _ := check.Lookup("ping")
	return check.Run(context.Background(), k, c, timeout)
}

func fastSpec(host string) *Spec {
	s := newSpec()
	s.Host = host
	s.PacketInterval = 10 * time.Millisecond
	return s
}

// openOrSkip opens a test pinger; an unavailable privileged socket fails the
// test in CI (MAMORI_INTEGRATION=1, root) and skips it elsewhere.
func openOrSkip(t *testing.T, v6 bool, mode sockMode) *pinger {
	t.Helper()
	p, err := openAny(v6, mode)
	if err != nil {
		if mode == modePrivileged && checktest.Integration() {
			t.Fatalf("raw ICMP must work in CI (root): %v", err)
		}
		t.Skipf("%s ICMP not available here (%v); TestNetns covers it in a network namespace", mode, err)
	}
	t.Cleanup(func() { p.close() })
	return p
}

// TestLoopback pings loopback addresses through both socket modes, each
// where this machine allows it (here: raw, as root; unprivileged sockets are
// tested in a namespace by TestNetns).
func TestLoopback(t *testing.T) {
	for _, mode := range []sockMode{modePrivileged, modeUnprivileged} {
		for _, host := range []string{"127.0.0.1", "127.0.0.2", "::1", "localhost"} {
			t.Run(mode.String()+"/"+host, func(t *testing.T) {
				a, err := netip.ParseAddr(host)
				v6 := err == nil && a.Is6()
				p := openOrSkip(t, v6, mode)
				r := runCheck(testChecker(t, fastSpec(host), p), 5*time.Second)
				wantPrefix := "PING OK - " + host + ": rta "
				if host == "localhost" {
					wantPrefix = "PING OK - localhost (127.0.0.1): rta "
				}
				// Loopback RTT stays far below 100 ms, but not on a machine
				// loaded by the race detector: judge the replies, not the clock.
				if r.Status == check.Critical || r.Status == check.Unknown || !strings.Contains(r.Output, wantPrefix[len("PING OK - "):]) || !strings.HasSuffix(r.Output, "ms, lost 0%") {
					t.Fatalf("%s %q", r.Status, r.PluginLine())
				}
				perf := check.PerfString(r.Perf)
				if !strings.HasPrefix(perf, "rta=") || !strings.Contains(perf, "ms;100;300;0 pl=0%;20;60;0 rtmin=") || !strings.Contains(perf, " rtmax=") {
					t.Fatalf("perf %q", perf)
				}
				if n := p.inFlight(); n != 0 {
					t.Fatalf("%d requests still registered", n)
				}
			})
		}
	}
}

// TestSharedPinger runs many checks at once through the process-wide socket:
// every reply must reach its own check.
func TestSharedPinger(t *testing.T) {
	if _, err := sharedPinger(false, modeAuto); err != nil {
		if checktest.Integration() {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	const checks = 60
	var wg sync.WaitGroup
	results := make([]check.Result, checks)
	for i := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			host := []string{"127.0.0.1", "127.0.0.3", "127.0.0.4"}[i%3]
			s := fastSpec(host)
			s.PacketInterval = 2 * time.Millisecond
			s.Packets = 10
			// This test is about every reply reaching its own check (0 %
			// loss), not latency: keep RTT thresholds out of the way.
			s.Warning, s.Critical = "5000ms,20%", "10000ms,60%"
			results[i] = runCheck(testChecker(t, s, nil), 5*time.Second)
		}()
	}
	wg.Wait()
	for i, r := range results {
		if r.Status != check.OK || !strings.HasSuffix(r.Output, "lost 0%") {
			t.Errorf("check %d: %s %q", i, r.Status, r.Output)
		}
	}
	// Same socket every time.
	p1, _ := sharedPinger(false, modeAuto)
	p2, _ := sharedPinger(false, modeAuto)
	if p1 != p2 {
		t.Fatal("two shared pingers")
	}
}

// TestRawDemux: a raw socket sees every reply on the host; a reply to another
// socket's request (same sequence number) must not be taken for ours.
func TestRawDemux(t *testing.T) {
	a := openOrSkip(t, false, modePrivileged)
	b := openOrSkip(t, false, modePrivileged)
	dst := netip.MustParseAddr("127.0.0.1")
	chB := make(chan reply, 1)
	// b waits for sequence 1 to 127.0.0.1 (registered without sending).
	b.mu.Lock()
	b.wait[1] = &pending{dst: dst, sent: time.Now(), ch: chB}
	b.mu.Unlock()
	a.mu.Lock()
	a.seq = 0 // a's next request is sequence 1 as well
	a.mu.Unlock()
	chA := make(chan reply, 1)
	seq, err := a.send(dst, 56, 0, chA)
	if err != nil || seq != 1 {
		t.Fatal(seq, err)
	}
	select {
	case <-chA:
	case <-time.After(2 * time.Second):
		t.Fatal("a got no reply")
	}
	select {
	case r := <-chB:
		t.Fatalf("b took a's reply: %+v", r)
	case <-time.After(100 * time.Millisecond):
	}
	b.forget(1)
}

func TestUnresolvable(t *testing.T) {
	s := fastSpec("nonexistent.invalid")
	r := runCheck(testChecker(t, s, nil), 3*time.Second)
	if r.Status != check.Critical || !strings.Contains(r.Output, "nonexistent.invalid: cannot resolve") {
		t.Fatalf("%s %q", r.Status, r.Output)
	}
}

func TestSocketUnavailable(t *testing.T) {
	s := fastSpec("127.0.0.1")
	c := testChecker(t, s, nil)
	c.(*checker).pinger = func(v6 bool) (*pinger, error) {
		return nil, socketError(v6, modeAuto, []error{errors.New("permission denied"), errors.New("operation not permitted")})
	}
	r := runCheck(c, 3*time.Second)
	if r.Status != check.Unknown || !strings.Contains(r.Output, "net.ipv4.ping_group_range") || !strings.Contains(r.Output, "cap_net_raw") {
		t.Fatalf("%s %q", r.Status, r.Output)
	}
}
