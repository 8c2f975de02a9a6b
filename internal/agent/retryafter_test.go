package agent

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/wire"
)

func TestRetryAfterValue(t *testing.T) {
	now := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"1": time.Second, " 30 ": 30 * time.Second, "0": 0, "-4": 0, "soon": 0, "": 0,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Minute).Format(http.TimeFormat):     0,
	} {
		if got := retryAfter(v, now); got != want {
			t.Errorf("retryAfter(%q) = %v, want %v", v, got, want)
		}
	}
}

// A 503 with Retry-After (a poller whose link is down, a follower without
// a leader) is retried after the wait it names, not after the agent's own
// back-off: with a back-off of 10-20 s the batch still arrives within a
// few seconds of the first refusal.
func TestSendHonoursRetryAfter(t *testing.T) {
	f := newFakeServer(t, testToken, wire.AgentConfig{Host: "web01", ConfigVersion: "v1", MetricsInterval: wire.Duration(300 * time.Millisecond), Heartbeat: wire.Duration(time.Second)})
	up, _ := url.Parse(f.srv.URL)
	proxy := httputil.NewSingleHostReverseProxy(up)
	var refused atomic.Int32
	var firstRefusal atomic.Int64
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/agent/batch") && refused.Load() < 2 {
			if refused.Add(1) == 1 {
				firstRefusal.Store(time.Now().UnixNano())
			}
			w.Header().Set("Retry-After", "1")
			http.Error(w, "poller p1 is not connected to the centre's broker", http.StatusServiceUnavailable)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	c := baseConfig(t, f, t.TempDir())
	c.Server = front.URL
	rt, err := New(c, Options{Logger: testLogger(t), Agent: "mamori test", Linger: 20 * time.Millisecond, MinBackoff: 10 * time.Second, MaxBackoff: 20 * time.Second, PollWait: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- rt.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, "a batch after two refusals", 8*time.Second, func() bool { bs, _, _ := f.snapshot(); return len(bs) > 0 })
	if n := refused.Load(); n != 2 {
		t.Fatalf("%d refusals, want 2", n)
	}
	if took := time.Since(time.Unix(0, firstRefusal.Load())); took > 5*time.Second {
		t.Fatalf("delivered %v after the first refusal: the back-off, not Retry-After, set the wait", took)
	}
}
