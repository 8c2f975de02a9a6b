package schedule

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestPhaseDeterministicAndSpread(t *testing.T) {
	iv := time.Minute
	if Phase("web1/http", iv) != Phase("web1/http", iv) {
		t.Fatal("phase is not deterministic")
	}
	// 6,000 names over a minute: every 10 s bucket gets a fair share.
	buckets := make([]int, 6)
	for i := 0; i < 6000; i++ {
		buckets[Phase(fmt.Sprintf("host%d/check", i), iv)/(10*time.Second)]++
	}
	for i, n := range buckets {
		if n < 800 || n > 1200 {
			t.Errorf("bucket %d has %d of 6000 jobs: phases not spread", i, n)
		}
	}
}

func TestNextSlot(t *testing.T) {
	base := time.Unix(1_000_000_000, 0)
	iv, phase := time.Minute, 15*time.Second
	n := nextSlot(base, iv, phase)
	if !n.After(base) || n.Sub(base) > iv {
		t.Fatalf("next slot %v not within one interval after %v", n, base)
	}
	if (time.Duration(n.UnixNano())-phase)%iv != 0 {
		t.Fatalf("slot %v not on the phase grid", n)
	}
	if n2 := nextSlot(n, iv, phase); n2.Sub(n) != iv {
		t.Fatalf("slot after a slot is %v later, want one interval", n2.Sub(n))
	}
}

func TestRunsOnIntervalAndRetriesWhileSoft(t *testing.T) {
	var mu sync.Mutex
	times := map[string][]time.Time{}
	s := New(func(ctx context.Context, name string) bool {
		mu.Lock()
		defer mu.Unlock()
		times[name] = append(times[name], time.Now())
		return name == "soft"
	}, 10)
	s.Add("ok", Timing{Interval: 200 * time.Millisecond}, time.Time{})
	s.Add("soft", Timing{Interval: time.Hour, Retry: 40 * time.Millisecond}, time.Now())
	ctx, cancel := context.WithTimeout(context.Background(), 1100*time.Millisecond)
	defer cancel()
	s.Run(ctx)
	mu.Lock()
	defer mu.Unlock()
	if n := len(times["ok"]); n < 4 || n > 6 {
		t.Errorf("ok ran %d times in 1.1s at 200ms, want ~5", n)
	}
	if n := len(times["soft"]); n < 15 {
		t.Errorf("soft job ran %d times, want it on its 40ms retry interval", n)
	}
}

func TestNoOverlapAndConcurrencyLimit(t *testing.T) {
	var running, peak, overlap atomic.Int32
	perJob := sync.Map{}
	s := New(func(ctx context.Context, name string) bool {
		v, _ := perJob.LoadOrStore(name, new(atomic.Int32))
		if v.(*atomic.Int32).Add(1) > 1 {
			overlap.Add(1)
		}
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(30 * time.Millisecond) // longer than the interval
		running.Add(-1)
		v.(*atomic.Int32).Add(-1)
		return false
	}, 3)
	for i := 0; i < 10; i++ {
		s.Add(fmt.Sprint("job", i), Timing{Interval: 10 * time.Millisecond}, time.Now())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	s.Run(ctx)
	if peak.Load() > 3 {
		t.Errorf("peak concurrency %d exceeds the limit 3", peak.Load())
	}
	if peak.Load() < 3 {
		t.Errorf("peak concurrency %d: the limit was never reached", peak.Load())
	}
	if overlap.Load() != 0 {
		t.Errorf("a job overlapped itself %d times", overlap.Load())
	}
}

func TestRemoveAndRunNow(t *testing.T) {
	var runs sync.Map
	count := func(n string) int32 {
		v, _ := runs.LoadOrStore(n, new(atomic.Int32))
		return v.(*atomic.Int32).Load()
	}
	s := New(func(ctx context.Context, name string) bool {
		v, _ := runs.LoadOrStore(name, new(atomic.Int32))
		v.(*atomic.Int32).Add(1)
		return false
	}, 2)
	s.Add("gone", Timing{Interval: 20 * time.Millisecond}, time.Now())
	s.Add("later", Timing{Interval: time.Hour}, time.Now().Add(time.Hour))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	time.Sleep(70 * time.Millisecond)
	s.Remove("gone")
	n := count("gone")
	if !s.RunNow("later") || s.RunNow("nope") {
		t.Error("RunNow result wrong")
	}
	time.Sleep(60 * time.Millisecond)
	cancel()
	<-done
	if count("gone") > n+1 {
		t.Errorf("removed job kept running: %d → %d", n, count("gone"))
	}
	if count("later") != 1 {
		t.Errorf("RunNow: job ran %d times, want 1", count("later"))
	}
	if s.Len() != 1 {
		t.Errorf("Len %d, want 1", s.Len())
	}
}

func TestLagReported(t *testing.T) {
	var lags atomic.Int32
	s := New(func(ctx context.Context, name string) bool { return false }, 1)
	s.Lag = func(d time.Duration) {
		if d >= 0 && d < time.Second {
			lags.Add(1)
		}
	}
	s.Add("a", Timing{Interval: time.Hour}, time.Now())
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	s.Run(ctx)
	if lags.Load() != 1 {
		t.Fatalf("lag observed %d times, want 1", lags.Load())
	}
}

// BenchmarkHold100k measures adding 100,000 jobs and dispatching one
// interval's worth of them with a no-op run.
func BenchmarkHold100k(b *testing.B) {
	for i := 0; i < b.N; i++ {
		var n atomic.Int64
		s := New(func(ctx context.Context, name string) bool { n.Add(1); return false }, 1000)
		start := time.Now()
		for j := 0; j < 100_000; j++ {
			s.Add(fmt.Sprintf("host%d/check%d", j/10, j%10), Timing{Interval: time.Second}, start.Add(time.Duration(j)*10*time.Microsecond))
		}
		ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
		s.Run(ctx)
		cancel()
		if n.Load() < 100_000 {
			b.Fatalf("dispatched %d of 100000 in 1.5s", n.Load())
		}
		b.ReportMetric(float64(n.Load()), "runs")
	}
}

// Due makes a job run at a deadline its checker knows of, before its slot.
func TestDueBeforeTheNextSlot(t *testing.T) {
	var runs atomic.Int32
	var s *Scheduler
	s = New(func(ctx context.Context, name string) bool {
		if runs.Add(1) == 1 {
			s.Due(name, time.Now().Add(100*time.Millisecond))
		}
		return false
	}, 1)
	s.Add("job", Timing{Interval: time.Hour}, time.Now())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for runs.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done
	if n := runs.Load(); n != 2 {
		t.Fatalf("runs %d, want 2 (the second at the deadline, not the hourly slot)", n)
	}
	// A deadline after the next slot or in the past changes nothing.
	s.Add("other", Timing{Interval: time.Hour}, time.Now().Add(time.Minute))
	before := s.Next("other")
	s.Due("other", before.Add(time.Hour))
	if !s.Next("other").Equal(before) {
		t.Fatal("a later deadline moved the job")
	}
}

// A job due soon after a wake-up waits for the batch; one due after a
// quiet spell, and one asked for with RunNow, start on time.
func TestBatchedStarts(t *testing.T) {
	var mu sync.Mutex
	started := map[string]time.Time{}
	s := New(func(ctx context.Context, name string) bool {
		mu.Lock()
		started[name] = time.Now()
		mu.Unlock()
		return false
	}, 10)
	s.batch = 400 * time.Millisecond
	t0 := time.Now()
	s.Add("first", Timing{Interval: time.Hour}, t0.Add(20*time.Millisecond))
	s.Add("second", Timing{Interval: time.Hour}, t0.Add(200*time.Millisecond))
	s.Add("now", Timing{Interval: time.Hour}, t0.Add(time.Hour))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	time.Sleep(100 * time.Millisecond)
	asked := time.Now()
	s.RunNow("now")
	time.Sleep(700 * time.Millisecond)
	cancel()
	<-done
	mu.Lock()
	defer mu.Unlock()
	first, second, now := started["first"], started["second"], started["now"]
	if first.IsZero() || second.IsZero() || now.IsZero() {
		t.Fatalf("started %v, want first, second and now", started)
	}
	if lag := first.Sub(t0.Add(20 * time.Millisecond)); lag > 150*time.Millisecond {
		t.Errorf("first job, after a quiet spell, started %v late", lag)
	}
	// The first wake-up came at t0+20ms or later, the next a batch after it.
	if at := second.Sub(t0); at < 420*time.Millisecond {
		t.Errorf("second job (due at 200ms) started at %v, want a batch (400ms) after the first's wake-up", at)
	}
	if lag := now.Sub(asked); lag > 150*time.Millisecond || now.After(second) {
		t.Errorf("RunNow started %v after it was asked (second at %v), want at once", lag, second.Sub(asked))
	}
}
