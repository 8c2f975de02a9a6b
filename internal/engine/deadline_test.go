package engine

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	_ "github.com/mamori/mamori/internal/check/pushcheck"
	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/server/specs"
	"github.com/mamori/mamori/internal/store/sqlite"
)

// pushes is a Passive with one job report, made just before the check
// first asks for it (so a loaded machine cannot make it stale at once).
type pushes struct {
	mu sync.Mutex
	at time.Time
}

func (p *pushes) reported() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.at
}

func (p *pushes) AgentSeen(string) (time.Time, bool) { return time.Time{}, false }
func (p *pushes) LastPush(string) (check.Result, time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.at.IsZero() {
		p.at = time.Now()
	}
	return check.Result{Status: check.OK, Output: "job done"}, p.at, true
}

func newEngineWith(t *testing.T, yaml string, opts ...Option) *Engine {
	t.Helper()
	cfg, err := config.Parse("t.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(context.Background(), specs.Plan(cfg), st, slog.New(slog.NewTextHandler(io.Discard, nil)), opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; st.Close() })
	return e
}

// A silent job is noticed at period + grace after its last report, not at
// the check's next interval.
func TestPushSilenceNoticedAtPeriodPlusGrace(t *testing.T) {
	p := &pushes{}
	e := newEngineWith(t, "checks:\n  - {name: job, type: push, period: 1s, grace: 300ms, interval: 1h}\n", WithPassive(p))
	e.RunNow("job")
	deadline := time.Now().Add(10 * time.Second)
	sawOK := false
	for time.Now().Before(deadline) {
		v, _ := e.Get("job")
		sawOK = sawOK || v.Status == check.OK && !v.Pending()
		if v.Status == check.Critical {
			if !sawOK {
				t.Fatalf("CRITICAL without the first, fresh OK: %+v", v.CheckState)
			}
			if late := v.LastCheck.Sub(p.reported()); late > 6*time.Second {
				t.Fatalf("silence noticed after %s, period + grace is 1.3s", late)
			}
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	v, _ := e.Get("job")
	t.Fatalf("silence not noticed within 10s (interval 1h): %+v", v.CheckState)
}
