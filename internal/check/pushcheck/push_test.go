package pushcheck

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
)

type fakePassive struct {
	pushes map[string]check.Result
	at     map[string]time.Time
	since  map[string]time.Time
	names  map[check.Spec]string
}

func (f *fakePassive) AgentSeen(string) (time.Time, bool) { return time.Time{}, false }
func (f *fakePassive) LastPush(name string) (check.Result, time.Time, bool) {
	r, ok := f.pushes[name]
	return r, f.at[name], ok
}
func (f *fakePassive) WatchSince(name string) time.Time { return f.since[name] }
func (f *fakePassive) CheckNameOf(s check.Spec) (string, bool) {
	n, ok := f.names[s]
	return n, ok
}

func TestPushChecker(t *testing.T) {
	now := time.Date(2026, 5, 2, 3, 0, 0, 0, time.UTC)
	ok := check.Result{Status: check.OK, Output: "PUSH OK - backup done", Perf: []check.Metric{check.Seconds("duration", 3*time.Second, 0, 0)}}
	p := &fakePassive{
		pushes: map[string]check.Result{"fresh": ok, "late": ok},
		at:     map[string]time.Time{"fresh": now.Add(-23 * time.Hour), "late": now.Add(-26 * time.Hour)},
		since:  map[string]time.Time{"new": now.Add(-time.Hour), "forgotten": now.Add(-30 * time.Hour)},
	}
	cases := []struct {
		name    string
		status  check.Status
		output  string
		waiting bool
	}{
		{"fresh", check.OK, "PUSH OK - backup done", false},
		{"late", check.Critical, "no report for 26h (period 24h, grace 1h)", false},
		{"new", check.Unknown, "waiting for the first report (due within 24h)", true},
		{"forgotten", check.Critical, "no report for 30h since monitoring started (period 24h, grace 1h)", false},
	}
	for _, tc := range cases {
		s := &Spec{Period: 24 * time.Hour, Grace: time.Hour}
		s.SetCheckName(tc.name)
		c, err := s.New(check.Env{Passive: p})
		if err != nil {
			t.Fatal(err)
		}
		pc := c.(*Checker)
		pc.now = func() time.Time { return now }
		r := c.Check(context.Background())
		if r.Status != tc.status || r.Output != tc.output {
			t.Errorf("%s: %s %q, want %s %q", tc.name, r.Status, r.Output, tc.status, tc.output)
		}
		if pc.Waiting() != tc.waiting {
			t.Errorf("%s: Waiting() = %v", tc.name, !tc.waiting)
		}
		// The engine also runs the check when silence would turn CRITICAL.
		due := pc.NextDeadline(now)
		want := map[string]time.Time{"fresh": now.Add(2*time.Hour + time.Millisecond), "new": now.Add(24*time.Hour + time.Millisecond)}[tc.name]
		if !due.Equal(want) {
			t.Errorf("%s: NextDeadline %v, want %v", tc.name, due, want)
		}
	}
	// The name comes from the Passive when the config did not give it.
	s := &Spec{Period: 24 * time.Hour}
	p.names = map[check.Spec]string{s: "fresh"}
	c, _ := s.New(check.Env{Passive: p})
	c.(*Checker).now = func() time.Time { return now }
	if r := c.Check(context.Background()); r.Status != check.OK {
		t.Errorf("named by passive: %+v", r)
	}
	// Outside the server.
	c, _ = (&Spec{Period: time.Hour}).New(check.Env{})
	if r := c.Check(context.Background()); r.Status != check.Unknown {
		t.Errorf("no passive: %+v", r)
	}
}

func TestSpec(t *testing.T) {
	if g := (&Spec{Period: 24 * time.Hour}).EffectiveGrace(); g != 144*time.Minute {
		t.Errorf("grace %s", g)
	}
	if g := (&Spec{Period: 5 * time.Minute}).EffectiveGrace(); g != time.Minute {
		t.Errorf("grace %s", g)
	}
	errs := (&Spec{Grace: -time.Second, Token: check.NewSecret("short")}).Validate()
	fields := map[string]bool{}
	for _, e := range errs {
		fields[e.Field] = true
	}
	if !fields["period"] || !fields["grace"] || !fields["token"] {
		t.Errorf("validate: %v", errs)
	}
	if msg := BadToken("has/slash-in-it-0123456789"); !strings.Contains(msg, "URL path") {
		t.Errorf("slash: %q", msg)
	}
	if BadToken("abcdefABCDEF0123456789._~-") != "" {
		t.Errorf("good token refused")
	}
	a, b := PushToken([]byte("secret"), "web1/backup"), PushToken([]byte("secret"), "web1/backup2")
	if len(a) != 64 || a == b || a != PushToken([]byte("secret"), "web1/backup") || a == PushToken([]byte("other"), "web1/backup") {
		t.Errorf("PushToken %s %s", a, b)
	}
	k, ok := check.Lookup("push")
	if !ok || k.Scope != check.ScopePassive || k.Label != Label {
		t.Fatalf("kind %+v", k)
	}
}
