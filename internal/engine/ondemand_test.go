package engine

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/state"
	"github.com/mamori/mamori/internal/store"
)

func setVerdict(target string, s check.Status) {
	verdicts.mu.Lock()
	verdicts.m[target] = s
	verdicts.mu.Unlock()
}

// collect gathers the engine's published events until the test ends.
func collect(t *testing.T, e *Engine) func() []store.Event {
	sub := e.Bus().Subscribe(1000)
	var mu sync.Mutex
	var evs []store.Event
	go func() {
		for ev := range sub.C {
			mu.Lock()
			evs = append(evs, ev)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() { e.Bus().Unsubscribe(sub) })
	return func() []store.Event {
		mu.Lock()
		defer mu.Unlock()
		return append([]store.Event(nil), evs...)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

// The host and its service die together; the service reaches its last
// attempt while the host is still soft. It must not alert on its own: the
// host is re-checked at once, and the service goes hard only once the host
// is decided — as unreachable, attached to the host's incident.
func TestChildWaitsForSoftParent(t *testing.T) {
	setVerdict("od-host", check.Critical)
	setVerdict("od-svc", check.Critical)
	e := newEngineWith(t, `
checks:
  - {name: host, type: stub, target: od-host, interval: 1h, retry_interval: 1h, attempts: 2}
  - {name: svc, type: stub, target: od-svc, interval: 1h, retry_interval: 1h, attempts: 1, depends_on: [host]}
`)
	events := collect(t, e)
	ctx := context.Background()
	if _, err := e.Record(ctx, "host", check.Result{Status: check.Critical, Output: "host soft", Time: time.Now()}); err != nil {
		t.Fatal(err)
	}
	tr, err := e.Record(ctx, "svc", check.Result{Status: check.Critical, Output: "svc down", Time: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if tr != nil && (tr.Hard || tr.Notify) {
		t.Fatalf("service alerted on its own while the host is soft: %+v", tr)
	}
	// The host is re-checked on demand (its retry interval is an hour),
	// goes hard, and the held service follows as unreachable.
	waitFor(t, "the host to go hard", func() bool {
		v, _ := e.Get("host")
		return v.State.Type == state.Hard && v.Status == check.Critical
	})
	waitFor(t, "the service to go hard", func() bool {
		v, _ := e.Get("svc")
		return v.State.Type == state.Hard && v.Status == check.Critical
	})
	v, _ := e.Get("svc")
	if !v.Unreachable {
		t.Fatalf("service not marked unreachable: %+v", v.CheckState)
	}
	notified := map[string]int{}
	for _, ev := range events() {
		if ev.Notify {
			notified[ev.Check]++
		}
	}
	if notified["svc"] != 0 || notified["host"] != 1 {
		t.Fatalf("notifications %v, want one, for the host", notified)
	}
}

// The parent's last OK is older than the child's problem: it is re-checked
// on demand; still OK, so the child alerts as its own problem, at once.
func TestChildWaitsForStaleParentOK(t *testing.T) {
	setVerdict("od2-host", check.OK)
	setVerdict("od2-svc", check.Critical)
	e := newEngineWith(t, `
checks:
  - {name: host, type: stub, target: od2-host, interval: 1h, attempts: 2}
  - {name: svc, type: stub, target: od2-svc, interval: 1h, retry_interval: 1h, attempts: 2, depends_on: [host]}
`)
	ctx := context.Background()
	start := time.Now()
	if _, err := e.Record(ctx, "host", check.Result{Status: check.OK, Time: start.Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		tr, err := e.Record(ctx, "svc", check.Result{Status: check.Critical, Output: "svc down", Time: start.Add(time.Duration(i) * time.Millisecond)})
		if err != nil {
			t.Fatal(err)
		}
		if tr != nil && tr.Hard {
			t.Fatalf("hard before the host was re-checked: %+v", tr)
		}
	}
	waitFor(t, "the service to go hard", func() bool {
		v, _ := e.Get("svc")
		return v.State.Type == state.Hard
	})
	h, _ := e.Get("host")
	v, _ := e.Get("svc")
	if v.Unreachable || h.LastCheck.Before(start) {
		t.Fatalf("host %+v, service %+v", h.CheckState, v.CheckState)
	}
}
