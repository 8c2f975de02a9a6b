package metrics

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/event"
)

// PerfSink takes check perfdata from the engine's Result events without
// ever blocking the engine: Handle and Offer queue (or, when the queue is
// full, drop and count), and one goroutine appends to the store.
type PerfSink struct {
	st      *Store
	q       chan perfItem
	dropped atomic.Uint64
	failed  atomic.Uint64
	onErr   func(error)
	wg      sync.WaitGroup
	once    sync.Once
}

type perfItem struct {
	check, host, tenant string
	t                   time.Time
	perf                []check.Metric
}

// NewPerfSink starts a sink with room for queue results (0 = 10,000);
// onErr (may be nil) is called, from the sink's goroutine, for perfdata the
// store refused. Drops and refusals are also counted in
// mamori_metrics_rejected_samples_total.
func NewPerfSink(st *Store, queue int, onErr func(error)) *PerfSink {
	if queue <= 0 {
		queue = 10000
	}
	p := &PerfSink{st: st, q: make(chan perfItem, queue), onErr: onErr}
	p.wg.Add(1)
	go p.run()
	return p
}

// Offer queues one result's perfdata; it never blocks. It returns false
// when the queue was full and the perfdata was dropped (see Dropped).
func (p *PerfSink) Offer(checkName, host, tenant string, t time.Time, perf []check.Metric) bool {
	if len(perf) == 0 {
		return true
	}
	select {
	case p.q <- perfItem{checkName, host, tenant, t, perf}:
		return true
	default:
		p.dropped.Add(uint64(len(perf)))
		p.st.rejected.WithLabelValues("perf_queue_full").Add(float64(len(perf)))
		return false
	}
}

// Handle offers a Result event's perfdata (attach the sink to the event
// bus for event.Result); it never blocks.
func (p *PerfSink) Handle(_ context.Context, e event.Event) error {
	if len(e.Result.Perf) > 0 {
		p.Offer(e.Check, e.Host, e.Tenant, e.Result.Time, e.Result.Perf)
	}
	return nil
}

// Dropped is the number of perfdata items dropped because the queue was full.
func (p *PerfSink) Dropped() uint64 { return p.dropped.Load() }

// Failed is the number of perfdata items the store refused.
func (p *PerfSink) Failed() uint64 { return p.failed.Load() }

func (p *PerfSink) run() {
	defer p.wg.Done()
	for it := range p.q {
		n, err := p.st.AppendPerf(it.check, it.host, it.tenant, it.t, it.perf)
		if err != nil {
			p.failed.Add(uint64(len(it.perf) - n))
			if p.onErr != nil {
				p.onErr(err)
			}
		}
	}
}

// Close stops taking perfdata and waits until the queue is stored (or ctx
// ends). Offer must not be called after Close.
func (p *PerfSink) Close(ctx context.Context) error {
	p.once.Do(func() { close(p.q) })
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return errors.New("metrics: perfdata queue not drained: " + ctx.Err().Error())
	}
}
