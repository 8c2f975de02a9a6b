package remotewrite

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"

	"github.com/mamori/mamori/internal/metrics"
)

// receiver speaks the receiving side of remote write 1.0 and records the
// samples of node_load1 in arrival order; while down it answers 503.
type receiver struct {
	mu    sync.Mutex
	got   []int64 // timestamps
	down  atomic.Bool
	bad   atomic.Bool
	calls atomic.Int64
	auth  string
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rc.calls.Add(1)
	if r.Header.Get("Content-Encoding") != "snappy" || r.Header.Get("Content-Type") != "application/x-protobuf" ||
		r.Header.Get("X-Prometheus-Remote-Write-Version") != "0.1.0" || r.Header.Get("Authorization") != rc.auth {
		http.Error(w, "bad headers", http.StatusBadRequest)
		return
	}
	if rc.down.Load() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	if rc.bad.Load() {
		http.Error(w, "out of bounds", http.StatusBadRequest)
		return
	}
	body, _ := io.ReadAll(r.Body)
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var req prompb.WriteRequest
	if err := req.Unmarshal(raw); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, ts := range req.Timeseries {
		name := ""
		for i, l := range ts.Labels {
			if i > 0 && ts.Labels[i-1].Name >= l.Name {
				http.Error(w, "labels not sorted", http.StatusBadRequest)
				return
			}
			if l.Name == "__name__" {
				name = l.Value
			}
		}
		if name == "node_load1" {
			for _, s := range ts.Samples {
				rc.got = append(rc.got, s.Timestamp)
			}
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) received() []int64 {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]int64(nil), rc.got...)
}

func sample(name, tenant string, t int64) metrics.Appended {
	return metrics.Appended{Labels: labels.FromStrings("__name__", name, "host", "web1", "tenant", tenant), T: t, V: float64(t)}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func start(t *testing.T, tg Target, dir string) (*Writer, context.CancelFunc, chan struct{}) {
	t.Helper()
	w, err := New(tg, dir, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.minBO, w.maxBO = 10*time.Millisecond, 50*time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	return w, cancel, done
}

// A receiver that is down loses nothing: what was written meanwhile is
// queued on disk and arrives in order when it is back, also across a
// restart of the writer; only the target's tenants and metrics are sent.
func TestOutageAndRestartLoseNothing(t *testing.T) {
	rc := &receiver{auth: "Bearer s3cret"}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	dir := t.TempDir()
	tg := Target{Name: "prom", URL: srv.URL, Auth: func(r *http.Request) { r.Header.Set("Authorization", "Bearer s3cret") },
		Tenants: map[string]bool{"acme": true}, Include: regexp.MustCompile(`^node_.*$`)}
	w, cancel, done := start(t, tg, dir)
	var want []int64
	write := func(w *Writer, from, to int64) {
		for ts := from; ts < to; ts++ {
			w.Observe([]metrics.Appended{sample("node_load1", "acme", ts), sample("node_load1", "other", ts), sample("go_gc", "acme", ts)})
			want = append(want, ts)
		}
	}
	write(w, 1, 11)
	waitFor(t, "the first samples", func() bool { return len(rc.received()) == 10 })

	rc.down.Store(true)
	write(w, 11, 500)
	waitFor(t, "a failed attempt", func() bool { return rc.calls.Load() > 12 })
	cancel() // the server restarts during the outage
	<-done
	w, cancel, done = start(t, tg, dir)
	defer func() { cancel(); <-done }()
	write(w, 500, 600)
	rc.down.Store(false)
	waitFor(t, "the queue", func() bool { return len(rc.received()) >= len(want) })
	got := rc.received()
	if len(got) != len(want) {
		t.Fatalf("received %d samples, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("sample %d: t=%d, want %d (order or loss)", i, got[i], want[i])
		}
	}
	// The receiver has the last batch before the writer has read the
	// answer and acknowledged it: wait for the acknowledgement.
	waitFor(t, "the queue to be acknowledged", func() bool { return w.q.pending() == 0 })
}

// A request the receiver refuses as bad is dropped (and counted), not
// retried for ever; the next ones go through.
func TestBadRequestIsDropped(t *testing.T) {
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	w, cancel, done := start(t, Target{Name: "p", URL: srv.URL}, t.TempDir())
	defer func() { cancel(); <-done }()
	rc.bad.Store(true)
	w.Observe([]metrics.Appended{sample("node_load1", "", 1)})
	waitFor(t, "the refusal", func() bool { return rc.calls.Load() == 1 })
	rc.bad.Store(false)
	w.Observe([]metrics.Appended{sample("node_load1", "", 2)})
	waitFor(t, "the next sample", func() bool { return len(rc.received()) == 1 })
	if got := rc.received(); got[0] != 2 {
		t.Errorf("received %v", got)
	}
}

// The queue is bounded: past its size the oldest segments go, counted.
func TestQueueBound(t *testing.T) {
	q, err := openQueue(t.TempDir(), 3*segmentBytes)
	if err != nil {
		t.Fatal(err)
	}
	rec := make([]byte, 1<<20)
	for i := 0; i < 40; i++ {
		rec[0] = byte(i)
		if err := q.append(rec); err != nil {
			t.Fatal(err)
		}
	}
	if q.total() > 3*segmentBytes+segmentBytes/4 || q.dropped == 0 {
		t.Fatalf("total %d, dropped %d", q.total(), q.dropped)
	}
	got, _, ok, err := q.peek()
	if err != nil || !ok || got[0] != byte(q.dropped) {
		t.Fatalf("oldest kept record %v %v: first byte %d, dropped %d", ok, err, got[0], q.dropped)
	}
}
