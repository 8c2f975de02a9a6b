// Package poller is `mamori poller`: a process inside a customer network
// that connects outbound to the central NATS JetStream, takes the jobs of
// its zone from the zone's work queue, runs them with the same check code
// as the server, and sends the results back through a bounded buffer on
// disk. While the broker is unreachable it keeps running the checks it was
// running, from its cache of their specs.
package poller

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/mamori/mamori/internal/broker"
	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/spool"
)

// Options configure a poller.
type Options struct {
	Broker      broker.ConnOptions
	Zone        string
	Name        string
	StateDir    string
	Concurrency int   // checks running at once
	BufferMax   int64 // bytes of results kept on disk while the broker is unreachable
	Log         *slog.Logger
	// Agents, if set, is where the agents of the network reach this
	// poller (--agent-listen): their requests are relayed to the server.
	Agents   net.Listener
	AgentTLS *tls.Config // nil: plain HTTP
}

// Poller runs a zone's checks.
type Poller struct {
	o     Options
	log   *slog.Logger
	nc    *nats.Conn
	js    jetstream.JetStream
	spool *spool.Spool
	m     *metrics
	sem   chan struct{}

	mu      sync.Mutex
	known   map[string]*known // the zone's checks this poller has run
	dirty   bool
	offline map[string]bool // checks it runs on its own while disconnected

	connected atomic.Bool
	upSince   atomic.Int64 // unix nanoseconds of the last (re)connection
	drained   atomic.Bool  // the buffer was empty once since then
	results   chan broker.Result
	wake      chan struct{}

	linkMu   sync.Mutex
	linkUp   bool
	linkDown chan struct{} // closed while the link is down (ends relayed requests)
}

type known struct {
	Job     broker.Job `json:"job"`
	LastRun time.Time  `json:"last_run"`
	kind    *check.Kind
	checker check.Checker
	problem error
	built   string // digest the checker was built from
	running bool
}

// New opens the poller's state (buffer, cache); Run connects and works.
func New(o Options) (*Poller, error) {
	if o.Concurrency <= 0 {
		o.Concurrency = 64
	}
	if o.BufferMax <= 0 {
		o.BufferMax = 256 << 20
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if err := os.MkdirAll(o.StateDir, 0o700); err != nil {
		return nil, err
	}
	sp, err := spool.OpenSpool(filepath.Join(o.StateDir, "results"), o.BufferMax)
	if err != nil {
		return nil, fmt.Errorf("result buffer: %w", err)
	}
	p := &Poller{o: o, log: o.Log, spool: sp, sem: make(chan struct{}, o.Concurrency), known: map[string]*known{},
		results: make(chan broker.Result, 4096), wake: make(chan struct{}, 1), linkDown: make(chan struct{})}
	close(p.linkDown) // down until connected
	p.m = newMetrics(p)
	p.loadCache()
	return p, nil
}

func (p *Poller) cachePath() string { return filepath.Join(p.o.StateDir, "jobs.json") }

func (p *Poller) loadCache() {
	b, err := os.ReadFile(p.cachePath())
	if err != nil {
		return
	}
	var list []*known
	if err := json.Unmarshal(b, &list); err != nil {
		p.log.Warn("job cache unreadable: starting without it", "err", err)
		return
	}
	for _, k := range list {
		if k.Job.Zone == p.o.Zone {
			p.known[k.Job.Check] = k
		}
	}
	p.log.Info("job cache loaded", "checks", len(p.known))
}

func (p *Poller) saveCache() {
	p.mu.Lock()
	if !p.dirty {
		p.mu.Unlock()
		return
	}
	list := make([]*known, 0, len(p.known))
	for _, k := range p.known {
		list = append(list, &known{Job: k.Job, LastRun: k.LastRun})
	}
	p.dirty = false
	p.mu.Unlock()
	b, _ := json.Marshal(list)
	if err := spool.WriteFileAtomic(p.cachePath(), b); err != nil {
		p.log.Warn("write job cache", "err", err)
	}
}

// Run works until ctx ends.
func (p *Poller) Run(ctx context.Context) error {
	bo := p.o.Broker
	bo.Zone, bo.Name, bo.Log = p.o.Zone, "mamori poller "+p.o.Name, p.log
	bo.OnState = p.linkState
	nc, err := broker.Connect(bo)
	if err != nil {
		return err
	}
	defer nc.Close()
	p.nc = nc
	p.connected.Store(nc.IsConnected())
	p.relayLink(nc.IsConnected())
	p.upSince.Store(time.Now().UnixNano())
	if p.js, err = jetstream.New(nc); err != nil {
		return err
	}
	var wg sync.WaitGroup
	for _, f := range []func(context.Context){p.collect, p.send, p.runOffline, p.housekeep, p.serveAgents} {
		wg.Add(1)
		go func() { defer wg.Done(); f(ctx) }()
	}
	p.consume(ctx)
	wg.Wait()
	p.saveCache()
	return p.spool.Close()
}

func (p *Poller) linkState(up bool) {
	p.relayLink(up)
	if up {
		p.drained.Store(false)
	}
	p.connected.Store(up)
	if up {
		p.upSince.Store(time.Now().UnixNano())
	}
	p.m.setConnected(up)
	p.mu.Lock()
	defer p.mu.Unlock()
	if up {
		if len(p.offline) > 0 {
			p.log.Info("broker back: the zone's queue drives the checks again", "ran_offline", len(p.offline))
		}
		p.offline = nil
		return
	}
	// The checks whose newest job came to this poller are its share while
	// the link is down; the zone's other pollers keep theirs.
	p.offline = map[string]bool{}
	now := time.Now()
	for name, k := range p.known {
		if !k.LastRun.IsZero() && now.Sub(k.LastRun) < k.Job.IntervalDuration()+time.Second {
			p.offline[name] = true
		}
	}
	p.log.Warn("broker unreachable: running this poller's checks from its cache, buffering results", "checks", len(p.offline))
}

// consume takes the zone's jobs from its work queue.
func (p *Poller) consume(ctx context.Context) {
	for ctx.Err() == nil {
		cons, err := p.js.Consumer(ctx, broker.JobStream(p.o.Zone), broker.PollerConsumer)
		if err != nil {
			if ctx.Err() == nil {
				p.log.Debug("zone queue not reachable yet", "err", err)
			}
			sleep(ctx, 2*time.Second)
			continue
		}
		it, err := cons.Messages(jetstream.PullMaxMessages(p.o.Concurrency), jetstream.PullExpiry(5*time.Second), jetstream.PullHeartbeat(2*time.Second))
		if err != nil {
			sleep(ctx, 2*time.Second)
			continue
		}
		stop := context.AfterFunc(ctx, it.Stop)
		for {
			m, err := it.Next()
			if err != nil {
				if errors.Is(err, jetstream.ErrMsgIteratorClosed) || ctx.Err() != nil {
					break
				}
				if !p.connected.Load() {
					sleep(ctx, time.Second)
				}
				continue
			}
			p.take(ctx, m)
		}
		stop()
	}
}

// take runs one job (waiting for a free slot) and acknowledges it once its
// result is safe in the buffer.
func (p *Poller) take(ctx context.Context, m jetstream.Msg) {
	j, err := broker.DecodeJob(m.Data())
	if err == nil && j.Zone != p.o.Zone {
		err = fmt.Errorf("a job of zone %q in zone %q's queue", j.Zone, p.o.Zone)
	}
	if err != nil {
		p.log.Warn("job refused", "subject", m.Subject(), "err", err)
		_ = m.Term()
		return
	}
	k := p.learn(j)
	// After an outage, let the zone's pollers deliver what they buffered
	// before running new jobs: a new result of a check reaching the server
	// before the buffered ones would make those late (history only).
	for !p.caughtUp() && ctx.Err() == nil {
		sleep(ctx, 200*time.Millisecond)
	}
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return
	}
	go func() {
		defer func() { <-p.sem }()
		if p.run(ctx, k, j, false) {
			_ = m.Ack()
		}
	}()
}

// catchUpGrace is how long after a (re)connection a poller waits before it
// runs new jobs, so that its peers can deliver their buffers first.
const catchUpGrace = 3 * time.Second

// Once the buffer has drained after a (re)connection, the poller is caught
// up until the next one: in steady state the buffer is rarely empty (the
// results of the last 50 ms are on their way), and waiting for it would
// throttle every job (bench/scale: 100,000 checks a minute).
func (p *Poller) caughtUp() bool {
	if !p.connected.Load() || time.Since(time.Unix(0, p.upSince.Load())) < catchUpGrace {
		return !p.connected.Load() // disconnected: a job already taken still runs
	}
	if p.drained.Load() {
		return true
	}
	n, _ := p.spool.Pending()
	if n == 0 {
		p.drained.Store(true)
	}
	return n == 0
}

// learn records a job's spec (building its checker when new or changed).
func (p *Poller) learn(j broker.Job) *known {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := p.known[j.Check]
	if k == nil {
		k = &known{}
		p.known[j.Check] = k
	}
	if k.Job.Digest != j.Digest || k.Job.Interval != j.Interval || k.Job.Timeout != j.Timeout || k.Job.Address != j.Address {
		p.dirty = true
	}
	k.Job = j
	return k
}

// run runs a check once and queues its result; false if it did not run
// to a verdict (shutting down).
func (p *Poller) run(ctx context.Context, k *known, j broker.Job, offline bool) bool {
	p.mu.Lock()
	if k.built != j.Digest || (k.checker == nil && k.problem == nil) {
		k.kind, k.checker, k.problem = build(j, p.log)
		k.built = j.Digest
	}
	kind, ck, problem := k.kind, k.checker, k.problem
	k.LastRun = time.Now()
	k.running = true
	p.mu.Unlock()
	defer func() { p.mu.Lock(); k.running = false; p.mu.Unlock() }()
	var r check.Result
	if problem != nil {
		r = check.Resultf(check.Unknown, "poller %s cannot run this check: %v", p.o.Name, problem)
		r.Time = time.Now()
	} else {
		r = check.Run(ctx, kind, ck, j.TimeoutDuration())
	}
	if ctx.Err() != nil {
		return false
	}
	mode := "queued"
	if offline {
		mode = "offline"
	}
	p.m.runs.WithLabelValues(mode, r.Status.String()).Inc()
	select {
	case p.results <- broker.NewResult(j, p.o.Name, r, offline):
	case <-ctx.Done():
		return false
	}
	return true
}

// runOffline runs this poller's share of the checks on their intervals
// while the broker is unreachable.
func (p *Poller) runOffline(ctx context.Context) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if p.connected.Load() {
			continue
		}
		now := time.Now()
		var due []*known
		p.mu.Lock()
		for name := range p.offline {
			k := p.known[name]
			if k != nil && !k.running && now.Sub(k.LastRun) >= k.Job.IntervalDuration() {
				k.running = true
				due = append(due, k)
			}
		}
		p.mu.Unlock()
		for _, k := range due {
			j := k.Job
			j.Due = k.LastRun.Add(j.IntervalDuration())
			select {
			case p.sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			go func() { defer func() { <-p.sem }(); p.run(ctx, k, j, true) }()
		}
	}
}

// collect writes results to the buffer in small batches (one fsync each).
func (p *Poller) collect(ctx context.Context) {
	var batch []broker.Result
	flush := func() {
		if len(batch) == 0 {
			return
		}
		_, di, err := p.spool.Append(func(seq, dropped, _ uint64) ([]byte, uint32, uint32, error) {
			b, err := broker.EncodeBatch(broker.ResultBatch{Zone: p.o.Zone, Poller: p.o.Name, Seq: seq, Dropped: dropped, Results: batch})
			return b, uint32(len(batch)), 0, err
		})
		if err != nil {
			p.log.Error("buffer results", "err", err, "results", len(batch))
		}
		if di.Results > 0 {
			p.m.dropped.Add(float64(di.Results))
			p.log.Warn("result buffer full: dropped the oldest results", "dropped", di.Results, "max_bytes", p.o.BufferMax)
		}
		batch = batch[:0]
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case r := <-p.results:
			batch = append(batch, r)
			if len(batch) >= 256 {
				flush()
			}
		case <-t.C:
			flush()
		case <-ctx.Done():
			for {
				select {
				case r := <-p.results:
					batch = append(batch, r)
				default:
					flush()
					return
				}
			}
		}
	}
}

// send publishes the buffer's batches in order, each removed from disk
// once the broker has stored it.
func (p *Poller) send(ctx context.Context) {
	for ctx.Err() == nil {
		rec, ok, err := p.spool.Oldest()
		if err != nil {
			p.log.Error("read result buffer", "err", err)
			sleep(ctx, time.Second)
			continue
		}
		if !ok {
			select {
			case <-p.wake:
			case <-time.After(time.Second):
			case <-ctx.Done():
			}
			continue
		}
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err = p.js.Publish(pctx, broker.ResultSubject(p.o.Zone), rec.Payload, jetstream.WithMsgID(fmt.Sprintf("%s-%s-%d", p.o.Zone, p.o.Name, rec.Seq)))
		cancel()
		if err != nil {
			if ctx.Err() == nil && p.connected.Load() {
				p.log.Warn("send results", "err", err)
			}
			sleep(ctx, time.Second)
			continue
		}
		if err := p.spool.Ack(rec.Seq); err != nil {
			p.log.Error("acknowledge buffered results", "err", err)
		}
		p.m.sent.Inc()
	}
}

func (p *Poller) housekeep(ctx context.Context) {
	t := time.NewTicker(15 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p.mu.Lock()
			p.dirty = true // last-run times, for the offline share after a restart
			p.mu.Unlock()
			p.saveCache()
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
