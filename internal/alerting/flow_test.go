package alerting

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	_ "github.com/mamori/mamori/internal/check/tcpcheck"
	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/incident"
	_ "github.com/mamori/mamori/internal/notify/webhook"
	"github.com/mamori/mamori/internal/state"
	"github.com/mamori/mamori/internal/store"
	"github.com/mamori/mamori/internal/store/sqlite"
)

// fakeStates is the checks' current states as the engine would tell them.
type fakeStates struct {
	mu sync.Mutex
	m  map[string]store.CheckState
}

func (f *fakeStates) CheckState(name string) (store.CheckState, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v, ok := f.m[name]
	return v, ok
}

func (f *fakeStates) set(name string, st check.Status) {
	f.mu.Lock()
	defer f.mu.Unlock()
	v := store.CheckState{Name: name}
	v.Status, v.Type, v.Output = st, state.Hard, "output of "+name
	f.m[name] = v
}

// hooks is a webhook receiver (the webhook channel's wire format: one JSON
// object per POST).
type hooks struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []map[string]any
}

func newHooks(t *testing.T) *hooks {
	h := &hooks{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			t.Errorf("webhook body %q: %v", body, err)
		}
		h.mu.Lock()
		h.got = append(h.got, m)
		h.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hooks) kinds() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, m := range h.got {
		out = append(out, fmt.Sprint(m["kind"]))
	}
	return out
}

type flow struct {
	t      *testing.T
	ctx    context.Context
	s      *Service
	st     *sqlite.Store
	states *fakeStates
	hook   *hooks
	clock  *testClock
	evID   int64
}

// testClock is the service's clock in flows: the real time plus an offset
// a test moves forward (escalations due in minutes, at once).
type testClock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

// advance moves the clock forward by d.
func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// newFlow runs a Service on a real store (no engine): events are handed to
// it as the durable subscription would, deliveries go to local webhooks.
func newFlow(t *testing.T, extra string, channels ...string) *flow {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	h := newHooks(t)
	yaml := fmt.Sprintf(`listen: 127.0.0.1:0
data_dir: %s
channels:
  - {name: hook, type: webhook, url: %q}
%s
hosts:
  - name: web1
    address: 127.0.0.1
    checks:
      - {name: http, type: tcp, port: 1, notify: [hook]}
%s`, dir, h.srv.URL, strings.Join(channels, "\n"), extra)
	cfg, err := config.Parse("t.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	states := &fakeStates{m: map[string]store.CheckState{}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	s, err := New(Deps{Config: cfg, Store: st, States: states, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	clock := &testClock{}
	s.now = clock.now
	done := make(chan struct{})
	go func() { s.outboxLoop(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; st.Close() })
	return &flow{t: t, ctx: ctx, s: s, st: st, states: states, hook: h, clock: clock}
}

// change applies a hard state change of a check.
func (f *flow) change(name string, from, to check.Status) {
	f.t.Helper()
	f.evID++
	e := event.Event{ID: f.evID, Check: name}
	e.Time, e.From, e.To, e.ToType, e.Hard, e.Notify, e.Attempt = time.Now(), from, to, state.Hard, true, true, 1
	e.Output = fmt.Sprintf("%s is %s", name, to)
	if to == check.OK {
		e.Recovery, e.ProblemFor = true, 3*time.Minute
	}
	f.states.set(name, to)
	if err := f.s.Handle(f.ctx, e); err != nil {
		f.t.Fatal(err)
	}
}

// waitKinds waits until the webhook got want (in order).
func (f *flow) waitKinds(want ...string) {
	f.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if got := f.hook.kinds(); len(got) >= len(want) {
			if strings.Join(got, ",") != strings.Join(want, ",") {
				f.t.Fatalf("webhook got %v, want %v", got, want)
			}
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	f.t.Fatalf("webhook got %v, want %v", f.hook.kinds(), want)
}

func (f *flow) openIncident(name string) *incident.Incident {
	f.t.Helper()
	ins, err := f.st.Incidents(f.ctx, incident.Query{Check: name, Limit: 1})
	if err != nil || len(ins) == 0 {
		f.t.Fatalf("no incident for %s: %v", name, err)
	}
	in, err := f.st.Incident(f.ctx, ins[0].ID)
	if err != nil {
		f.t.Fatal(err)
	}
	return in
}

func hasTimeline(in *incident.Incident, kind, text string) bool {
	for _, e := range in.Timeline {
		if e.Kind == kind && strings.Contains(e.Text, text) {
			return true
		}
	}
	return false
}
