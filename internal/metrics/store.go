// Package metrics stores agent metrics and check perfdata in a time-series
// database (the Prometheus TSDB library, with its write-ahead log) and
// answers PromQL queries over it, limited per tenant when asked.
//
// Series carry the label host=<host> (set by the server, never by the
// client) and, for hosts that belong to a tenant, tenant=<tenant>. A query
// made for a tenant only ever reads series with that tenant label: the
// matcher is added to every selector of the expression and, as a second
// line of defence, to every read of the storage.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
)

// Defaults.
const (
	// DefaultRetention keeps data for 400 days (more than 13 months).
	DefaultRetention = 400 * 24 * time.Hour
	// DefaultOutOfOrderWindow is how far behind the newest sample in the
	// store a sample may be and still be accepted: agents replay their
	// spool after an outage, while other agents have moved the head on.
	DefaultOutOfOrderWindow = 24 * time.Hour
	// DefaultQueryTimeout bounds one PromQL evaluation.
	DefaultQueryTimeout = 2 * time.Minute
	// DefaultMaxSamples bounds the samples one query may hold in memory
	// (about 16 bytes each).
	DefaultMaxSamples = 50_000_000
	// DefaultLookback is PromQL's lookback delta: agents send every 60 s.
	DefaultLookback = 5 * time.Minute
)

// Label names the server sets.
const (
	HostLabel   = "host"
	TenantLabel = "tenant"
	// InstanceLabel and JobLabel are set on agent series as a Prometheus
	// scrape of Node Exporter would set them: instance=<host>, job="node".
	InstanceLabel = "instance"
	JobLabel      = "job"
	NodeJob       = "node"
)

// Option configures a Store.
type Option func(*options)

type options struct {
	ooo        time.Duration
	timeout    time.Duration
	maxSamples int
	lookback   time.Duration
	reg        prometheus.Registerer
	now        func() time.Time
	maxFuture  time.Duration
	hook       func([]Appended)
}

// Appended is one sample as committed, with its full label set.
type Appended struct {
	Labels labels.Labels
	T      int64 // milliseconds since the epoch
	V      float64
}

// WithAppendHook has every committed write reported to hook, in commit
// order, after the commit (remote write queues them). hook must not block
// for long: writers wait for it.
func WithAppendHook(hook func([]Appended)) Option { return func(o *options) { o.hook = hook } }

// WithOutOfOrderWindow sets how old (relative to the newest sample stored)
// a sample may be and still be accepted; 0 disables out-of-order ingestion.
func WithOutOfOrderWindow(d time.Duration) Option { return func(o *options) { o.ooo = d } }

// WithQueryLimits sets the timeout and the maximum number of samples of one query.
func WithQueryLimits(timeout time.Duration, maxSamples int) Option {
	return func(o *options) { o.timeout, o.maxSamples = timeout, maxSamples }
}

// WithLookback sets PromQL's lookback delta.
func WithLookback(d time.Duration) Option { return func(o *options) { o.lookback = d } }

// WithRegisterer registers the TSDB's, the query engine's and the store's
// own metrics (mamori_metrics_*) there.
func WithRegisterer(r prometheus.Registerer) Option { return func(o *options) { o.reg = r } }

// WithMaxFuture sets how far ahead of the server's clock a sample may be
// (default 5 minutes, as wire.MaxFutureSkew). A sample far in the future
// would move the head on and make every current sample "too old".
func WithMaxFuture(d time.Duration) Option { return func(o *options) { o.maxFuture = d } }

// Store is the time-series store. Its methods are safe for concurrent use.
type Store struct {
	db      *tsdb.DB
	ro      *tsdb.DBReadOnly // set instead of db by OpenReadOnly
	sandbox string           // OpenReadOnly's temporary directory
	roMu    sync.Mutex       // held by each read of a read-only store (see lockRO)
	roOnce  sync.Once        // opens roQ
	roQ     storage.Querier  // a read-only store's querier over all its data
	roErr   error
	engine  *promql.Engine
	parser  parser.Parser
	log     *slog.Logger
	opts    options
	tenants atomic.Pointer[map[string]string]

	rejected *prometheus.CounterVec
	appended prometheus.Counter

	closeOnce sync.Once
	closeErr  error
}

// ErrClosed is returned by a closed store.
var ErrClosed = errors.New("metrics: store closed")

// Open opens (or creates) the store in dir, with its write-ahead log, and
// keeps data for retention (0 = DefaultRetention).
func Open(dir string, retention time.Duration, log *slog.Logger, opt ...Option) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	o := options{
		ooo:        DefaultOutOfOrderWindow,
		timeout:    DefaultQueryTimeout,
		maxSamples: DefaultMaxSamples,
		lookback:   DefaultLookback,
		now:        time.Now,
		maxFuture:  5 * time.Minute,
	}
	for _, f := range opt {
		f(&o)
	}
	if retention <= 0 {
		retention = DefaultRetention
	}
	if o.ooo < 0 || o.timeout <= 0 || o.maxSamples <= 0 || o.lookback <= 0 {
		return nil, errors.New("metrics: out-of-order window, query timeout, max samples and lookback must be positive")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}

	to := tsdb.DefaultOptions()
	to.RetentionDuration = retention.Milliseconds()
	// As the Prometheus server does: blocks are merged up to a tenth of the
	// retention, at most 31 days, so a year is a dozen blocks, not 4,800.
	maxBlock := min(retention/10, 31*24*time.Hour)
	if maxBlock < 2*time.Hour {
		maxBlock = 2 * time.Hour
	}
	to.MaxBlockDuration = maxBlock.Milliseconds()
	to.OutOfOrderTimeWindow = o.ooo.Milliseconds()
	to.EnableOverlappingCompaction = true // needed by out-of-order blocks
	to.NewCompactorFunc = newCompactor    // joins a series' 2-hour chunks when blocks merge

	db, err := tsdb.Open(dir, log.With("component", "tsdb"), o.reg, to, nil)
	if err != nil {
		return nil, fmt.Errorf("metrics: open %s: %w", dir, err)
	}
	p := parser.NewParser(parser.Options{})
	s := &Store{
		db:     db,
		parser: p,
		log:    log,
		opts:   o,
		engine: promql.NewEngine(promql.EngineOpts{
			Logger:               log.With("component", "promql"),
			Reg:                  o.reg,
			MaxSamples:           o.maxSamples,
			Timeout:              o.timeout,
			LookbackDelta:        o.lookback,
			EnableAtModifier:     true,
			EnableNegativeOffset: true,
			Parser:               p,
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mamori_metrics_rejected_samples_total",
			Help: "Samples the time-series store refused, by reason.",
		}, []string{"reason"}),
		appended: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mamori_metrics_appended_samples_total",
			Help: "Samples stored in the time-series store.",
		}),
	}
	if o.reg != nil {
		for _, c := range []prometheus.Collector{s.rejected, s.appended} {
			if err := o.reg.Register(c); err != nil {
				_ = db.Close()
				return nil, fmt.Errorf("metrics: %w", err)
			}
		}
	}
	empty := map[string]string{}
	s.tenants.Store(&empty)
	return s, nil
}

// Close flushes and closes the database. Further calls return the first result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.ro != nil {
			if s.roQ != nil {
				_ = s.roQ.Close()
			}
			s.closeErr = s.ro.Close()
			os.RemoveAll(s.sandbox)
			return
		}
		s.closeErr = s.db.Close()
	})
	return s.closeErr
}

// SetHostTenants tells the store which tenant each host belongs to (hosts
// not in m have none). Samples appended afterwards carry tenant=<tenant>.
// The map is copied.
func (s *Store) SetHostTenants(m map[string]string) {
	c := make(map[string]string, len(m))
	for h, t := range m {
		if t != "" {
			c[h] = t
		}
	}
	s.tenants.Store(&c)
}

func (s *Store) tenantOf(host string) string { return (*s.tenants.Load())[host] }

// Stats describes the store's contents.
type Stats struct {
	HeadSeries  uint64 // series in the in-memory head
	Blocks      int    // persisted blocks
	BlockBytes  int64  // bytes of the persisted blocks (chunks, index, tombstones, meta)
	BlockSample uint64 // samples in the persisted blocks
}

// Stats returns figures about the store.
func (s *Store) Stats() Stats {
	st := Stats{HeadSeries: s.db.Head().NumSeries()}
	for _, b := range s.db.Blocks() {
		st.Blocks++
		st.BlockBytes += b.Size()
		st.BlockSample += b.Meta().Stats.NumSamples
	}
	return st
}

// compact persists what the head holds and merges blocks as the library's
// planner sees fit (tests and benchmarks; the database compacts by itself
// once a minute).
func (s *Store) compact(ctx context.Context) error { return s.db.Compact(ctx) }
