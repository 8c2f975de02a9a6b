package heartbeatcheck

import (
	"context"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
)

type fakePassive map[string]time.Time

func (f fakePassive) AgentSeen(host string) (time.Time, bool) { t, ok := f[host]; return t, ok }
func (f fakePassive) LastPush(string) (check.Result, time.Time, bool) {
	return check.Result{}, time.Time{}, false
}

func TestHeartbeat(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	p := fakePassive{"web1": now.Add(-12 * time.Second), "old": now.Add(-(5*time.Minute + 12*time.Second))}
	cases := []struct {
		host    string
		ttl     time.Duration
		passive check.Passive
		status  check.Status
		output  string
	}{
		{"web1", DefaultTTL, p, check.OK, "agent seen 12s ago"},
		{"old", DefaultTTL, p, check.Critical, "agent silent for 5m12s (ttl 3m)"},
		{"old", 10 * time.Minute, p, check.OK, "agent seen 5m12s ago"},
		{"new", DefaultTTL, p, check.Unknown, "waiting for the agent's first connection (due within 2m48s)"},
		{"new", 10 * time.Second, p, check.Critical, "agent has never connected (waited 10s)"},
		{"web1", DefaultTTL, nil, check.Unknown, "the agent heartbeat is known only to the mamori server"},
		{"", DefaultTTL, p, check.Unknown, "a heartbeat check must be declared under a host"},
	}
	for _, tc := range cases {
		s := &Spec{TTL: tc.ttl}
		s.SetHostName(tc.host)
		c, err := s.New(check.Env{Passive: tc.passive})
		if err != nil {
			t.Fatal(err)
		}
		c.(*checker).now = func() time.Time { return now }
		c.(*checker).built = now.Add(-12 * time.Second)
		r := c.Check(context.Background())
		if r.Status != tc.status || r.Output != tc.output {
			t.Errorf("%s ttl %s: %s %q, want %s %q", tc.host, tc.ttl, r.Status, r.Output, tc.status, tc.output)
		}
		if r.Status == check.OK && (len(r.Perf) != 1 || r.Perf[0].Label != "age") {
			t.Errorf("perf %v", r.Perf)
		}
	}
	k, ok := check.Lookup("heartbeat")
	if !ok || k.Label != "AGENT" || k.Scope != check.ScopeServer {
		t.Fatalf("kind %+v", k)
	}
	if errs := (&Spec{TTL: 0}).Validate(); len(errs) != 1 || errs[0].Field != "ttl" {
		t.Errorf("validate %v", errs)
	}
}

func TestShort(t *testing.T) {
	for d, want := range map[time.Duration]string{
		3 * time.Minute: "3m", 26 * time.Hour: "26h", 312 * time.Second: "5m12s", 90 * time.Minute: "1h30m",
		10 * time.Second: "10s", 0: "0s", 1500 * time.Millisecond: "2s", 24*time.Hour + time.Second: "24h0m1s",
	} {
		if got := Short(d); got != want {
			t.Errorf("Short(%s) = %q, want %q", d, got, want)
		}
	}
}

// A new host's agent gets ttl to connect: meanwhile the check is waiting
// (not recorded) and due again when the ttl runs out; once it connected,
// it is neither.
func TestHeartbeatWaitsForTheFirstConnection(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	p := fakePassive{}
	s := &Spec{TTL: time.Minute}
	s.SetHostName("new")
	ck, err := s.New(check.Env{Passive: p})
	if err != nil {
		t.Fatal(err)
	}
	c := ck.(*checker)
	c.built, c.now = now, func() time.Time { return now.Add(20 * time.Second) }
	if !c.Waiting() {
		t.Error("not waiting 20s after the start")
	}
	if got, want := c.NextDeadline(c.now()), now.Add(time.Minute+time.Millisecond); !got.Equal(want) {
		t.Errorf("deadline %s, want %s", got, want)
	}
	c.now = func() time.Time { return now.Add(61 * time.Second) }
	if c.Waiting() || !c.NextDeadline(c.now()).IsZero() {
		t.Error("still waiting after the ttl")
	}
	if r := c.Check(context.Background()); r.Status != check.Critical {
		t.Errorf("after the ttl: %s %q", r.Status, r.Output)
	}
	p["new"] = now.Add(60 * time.Second)
	c.now = func() time.Time { return now.Add(20 * time.Second) }
	if c.Waiting() {
		t.Error("waiting although the agent connected")
	}
}
