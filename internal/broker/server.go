package broker

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/engine/spec"
	"github.com/mamori/mamori/internal/state"
)

// Recorder is the engine, as the result consumer uses it.
type Recorder interface {
	Spec(name string) (*spec.Check, bool)
	RecordFrom(ctx context.Context, name string, r check.Result, poller string) (*state.Transition, error)
}

// Server is the server's side: it queues the jobs of zone checks and
// records the results the pollers send back.
type Server struct {
	nc  *nats.Conn
	js  jetstream.JetStream
	log *slog.Logger
	// HostAddress gives a host's address (the default target of its
	// checks, which a poller applies as the server does).
	HostAddress func(host string) string

	mu      sync.Mutex
	ackWait map[string]time.Duration // zones set up → their consumer's AckWait

	dispatched, dispatchErrors, dropped prometheus.Counter
	results                             *prometheus.CounterVec
	delay                               prometheus.Histogram
}

// Margin added to a zone's longest check timeout for the AckWait of its
// jobs: past it, a job a poller took without answering (killed) is handed
// to another poller.
const ackMargin = 15 * time.Second

// NewServer builds the server's side on a connection; reg (may be nil)
// gets its metrics.
func NewServer(nc *nats.Conn, log *slog.Logger, reg prometheus.Registerer) (*Server, error) {
	js, err := jetstream.New(nc)
	if err != nil {
		return nil, err
	}
	s := &Server{nc: nc, js: js, log: log, ackWait: map[string]time.Duration{},
		dispatched:     prometheus.NewCounter(prometheus.CounterOpts{Name: "mamori_broker_jobs_queued_total", Help: "Zone check runs handed to the broker."}),
		dispatchErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "mamori_broker_job_errors_total", Help: "Zone check runs the broker did not take (unreachable)."}),
		dropped:        prometheus.NewCounter(prometheus.CounterOpts{Name: "mamori_broker_results_dropped_total", Help: "Results pollers' bounded buffers dropped while the broker was unreachable (reported by the pollers)."}),
		results:        prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mamori_broker_results_total", Help: "Results received from pollers, by outcome (recorded, late, refused, retried)."}, []string{"outcome"}),
		delay: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "mamori_broker_result_delay_seconds",
			Help:    "From a zone check's due time to its result's state committed on the server (results run while the broker was reachable).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300}}),
	}
	if reg != nil {
		reg.MustRegister(s.dispatched, s.dispatchErrors, s.dropped, s.results, s.delay)
	}
	return s, nil
}

// setup makes sure a zone's job stream and its pollers' consumer exist,
// with an AckWait that covers timeout.
func (s *Server) setup(ctx context.Context, zone string, timeout time.Duration) error {
	if timeout <= 0 {
		timeout = time.Minute
	}
	want := timeout + ackMargin
	s.mu.Lock()
	have, ok := s.ackWait[zone]
	s.mu.Unlock()
	if ok && have >= want {
		return nil
	}
	want = max(want, have)
	if _, err := s.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: JobStream(zone), Subjects: []string{JobSubjects(zone)}, Retention: jetstream.WorkQueuePolicy,
		// The newest job of each check only: an older one not taken yet
		// has expired (and the stream cannot pile up while pollers are away).
		MaxMsgsPerSubject: 1, Discard: jetstream.DiscardOld, MaxAge: 24 * time.Hour, Storage: jetstream.FileStorage,
	}); err != nil {
		return fmt.Errorf("job stream of zone %s: %w", zone, err)
	}
	if _, err := s.js.CreateOrUpdateConsumer(ctx, JobStream(zone), jetstream.ConsumerConfig{
		Durable: PollerConsumer, AckPolicy: jetstream.AckExplicitPolicy, AckWait: want, MaxDeliver: 5,
		MaxAckPending: 100000, MaxWaiting: 512,
	}); err != nil {
		return fmt.Errorf("pollers' consumer of zone %s: %w", zone, err)
	}
	s.mu.Lock()
	s.ackWait[zone] = want
	s.mu.Unlock()
	return nil
}

// Dispatch queues a due run of a zone's check (engine.Remote).
func (s *Server) Dispatch(ctx context.Context, c *spec.Check, due time.Time) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	err := s.dispatch(ctx, c, due)
	if err != nil {
		s.dispatchErrors.Inc()
		return err
	}
	s.dispatched.Inc()
	return nil
}

func (s *Server) dispatch(ctx context.Context, c *spec.Check, due time.Time) error {
	if err := s.setup(ctx, c.Zone, c.Timeout); err != nil {
		return err
	}
	j := Job{Check: c.Name, Type: c.Type, Zone: c.Zone, Host: c.Host, Spec: c.YAML, Digest: c.Digest,
		Interval: c.Interval.Seconds(), Timeout: c.Timeout.Seconds(), Due: due.UTC()}
	if c.Host != "" && s.HostAddress != nil {
		j.Address = s.HostAddress(c.Host)
	}
	b, err := EncodeJob(j)
	if err != nil {
		return err
	}
	_, err = s.js.Publish(ctx, JobSubject(c.Zone, c.Name), b)
	return err
}

// resultsStream makes sure the results stream and the server's consumer exist.
func (s *Server) resultsStream(ctx context.Context) (jetstream.Consumer, error) {
	if _, err := s.js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name: ResultStream, Subjects: []string{"mamori.results.*"}, Retention: jetstream.WorkQueuePolicy,
		MaxAge: 7 * 24 * time.Hour, Storage: jetstream.FileStorage, Duplicates: 10 * time.Minute,
	}); err != nil {
		return nil, fmt.Errorf("results stream: %w", err)
	}
	c, err := s.js.CreateOrUpdateConsumer(ctx, ResultStream, jetstream.ConsumerConfig{
		Durable: ServerConsumer, AckPolicy: jetstream.AckExplicitPolicy, AckWait: time.Minute, MaxAckPending: 20000,
	})
	if err != nil {
		return nil, fmt.Errorf("results consumer: %w", err)
	}
	return c, nil
}

// Results records the pollers' results until ctx ends. Results of one
// check are recorded in the order the broker holds them.
func (s *Server) Results(ctx context.Context, rec Recorder) error {
	var cons jetstream.Consumer
	for {
		var err error
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		cons, err = s.resultsStream(cctx)
		cancel()
		if err == nil {
			break
		}
		s.log.Warn("broker: results stream not ready", "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
	// Each worker waits for its result's commit, so the workers in flight
	// bound the rows one store transaction can carry: with PostgreSQL's
	// commit (a WAL flush) at 10–50 ms on a busy machine, 32 workers
	// capped the rate at 200–600 results/s (bench/scale); 512 let the
	// writer's batches grow to its 512-row limit.
	const workers = 512
	queues := make([]chan item, workers)
	var wg sync.WaitGroup
	for i := range queues {
		queues[i] = make(chan item, 64) // 32k results buffered in all
		wg.Add(1)
		go func(q chan item) {
			defer wg.Done()
			for it := range q {
				s.record(ctx, rec, it)
			}
		}(queues[i])
	}
	defer func() {
		for _, q := range queues {
			close(q)
		}
		wg.Wait()
	}()
	it, err := cons.Messages(jetstream.PullMaxMessages(64))
	if err != nil {
		return err
	}
	go func() { <-ctx.Done(); it.Stop() }()
	for {
		m, err := it.Next()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return ctx.Err()
			}
			s.log.Debug("broker: reading results", "err", err)
			time.Sleep(200 * time.Millisecond)
			continue
		}
		s.split(m, queues)
	}
}

// item is one result of a batch on its way to its check's worker; the
// batch's message is acknowledged when the last of its results is done.
type item struct {
	r     Result
	batch *batchAck
}

type batchAck struct {
	m       jetstream.Msg
	pending atomic.Int32
	failed  atomic.Bool
}

func (b *batchAck) done(ok bool) {
	if !ok {
		b.failed.Store(true)
	}
	if b.pending.Add(-1) == 0 {
		if b.failed.Load() {
			_ = b.m.NakWithDelay(time.Second) // the recorded ones come back as late duplicates of themselves
		} else {
			_ = b.m.Ack()
		}
	}
}

// split checks a batch and hands each result to its check's worker (one
// worker per check: a check's results are recorded in order).
func (s *Server) split(m jetstream.Msg, queues []chan item) {
	b, err := DecodeBatch(m.Data())
	if err == nil && b.Zone != strings.TrimPrefix(m.Subject(), "mamori.results.") {
		err = fmt.Errorf("a batch of zone %q published on %s", b.Zone, m.Subject())
	}
	if err != nil {
		s.results.WithLabelValues("refused").Inc()
		s.log.Warn("broker: result batch refused", "subject", m.Subject(), "err", err)
		_ = m.Term()
		return
	}
	if b.Dropped > 0 {
		s.dropped.Add(float64(b.Dropped))
		s.log.Warn("broker: a poller's buffer dropped results while the broker was unreachable", "zone", b.Zone, "poller", b.Poller, "dropped", b.Dropped)
	}
	if len(b.Results) == 0 {
		_ = m.Ack()
		return
	}
	ba := &batchAck{m: m}
	ba.pending.Store(int32(len(b.Results)))
	for _, r := range b.Results {
		h := fnv.New32a()
		h.Write([]byte(r.Check))
		queues[h.Sum32()%uint32(len(queues))] <- item{r: r, batch: ba}
	}
}

func (s *Server) record(ctx context.Context, rec Recorder, it item) {
	r := it.r
	if ctx.Err() != nil {
		it.batch.done(false) // shutting down: the broker keeps it for the next start
		return
	}
	c, ok := rec.Spec(r.Check)
	var err error
	switch {
	case !ok:
		err = fmt.Errorf("no check %q", r.Check)
	case c.Zone != r.Zone:
		err = fmt.Errorf("check %q is in zone %q, not %q", r.Check, c.Zone, r.Zone)
	}
	if err != nil {
		s.results.WithLabelValues("refused").Inc()
		s.log.Warn("broker: result refused", "poller", r.Poller, "err", err)
		it.batch.done(true) // refused for good: not retried
		return
	}
	if _, err := rec.RecordFrom(ctx, r.Check, r.CheckResult(), r.Poller); err != nil {
		s.results.WithLabelValues("retried").Inc()
		if ctx.Err() == nil {
			s.log.Warn("broker: record result", "check", r.Check, "err", err)
		}
		it.batch.done(false)
		return
	}
	s.results.WithLabelValues("recorded").Inc()
	if !r.Offline && !r.Due.IsZero() {
		s.delay.Observe(time.Since(r.Due).Seconds())
	}
	it.batch.done(true)
}
