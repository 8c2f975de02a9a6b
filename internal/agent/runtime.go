package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/shirou/gopsutil/v4/host"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/fieldset"
	"github.com/mamori/mamori/internal/schedule"
	"github.com/mamori/mamori/internal/wire"
)

// Defaults of the runtime.
const (
	DefaultMetricsInterval = 60 * time.Second
	DefaultHeartbeat       = 60 * time.Second
	DefaultCheckInterval   = 5 * time.Minute
	DefaultPollWait        = 30 * time.Second
	// a batch is cut at about this many encoded bytes of results
	batchSoftBytes = 2 << 20
)

// Options tune the runtime (tests shorten the waits).
type Options struct {
	Logger     *slog.Logger
	Agent      string        // build, e.g. "mamori dev+abc" (Hello.Agent)
	Linger     time.Duration // how long results wait for company before a batch is cut (default 1s)
	MinBackoff time.Duration // first retry delay after a send error (default 1s)
	MaxBackoff time.Duration // longest retry delay (default 2m)
	PollWait   time.Duration // long-poll wait (default 30s)
	// MetricsInterval overrides the server's interval when > 0; < 0 turns
	// metrics off.
	MetricsInterval time.Duration
}

// Runtime is a running agent.
type Runtime struct {
	cfg    Config
	opt    Options
	log    *slog.Logger
	client *Client
	spool  *Spool
	coll   *Collector
	sched  *schedule.Scheduler

	mu        sync.Mutex
	ac        wire.AgentConfig
	haveAC    bool
	checks    map[string]*agentCheck
	pendRes   []wire.Result
	pendBytes int
	lastCut   time.Time

	batchMu sync.Mutex // one batch cut at a time (spool order = Seq order)

	helloNow   chan struct{}
	sendNow    chan struct{}
	resultNow  chan struct{}
	metricsNew chan struct{}
	online     atomic.Int32 // 0 unknown, 1 online, 2 offline
	enrolled   atomic.Bool
	warnedAt   time.Time
	collectMu  sync.Mutex
}

type agentCheck struct {
	spec    wire.CheckSpec
	kind    *check.Kind
	checker check.Checker
	problem string // why it cannot run: answered as UNKNOWN
	timeout time.Duration
}

// New prepares a runtime: it opens the spool in the state dir and loads
// the last config the server gave (so checks run even while the server is
// unreachable at start).
func New(cfg Config, opt Options) (*Runtime, error) {
	if err := cfg.Finish(); err != nil {
		return nil, err
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	if opt.Linger <= 0 {
		opt.Linger = time.Second
	}
	if opt.MinBackoff <= 0 {
		opt.MinBackoff = time.Second
	}
	if opt.MaxBackoff <= 0 {
		opt.MaxBackoff = 2 * time.Minute
	}
	if opt.PollWait <= 0 {
		opt.PollWait = DefaultPollWait
	}
	if opt.Agent == "" {
		opt.Agent = "mamori-agent"
	}
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return nil, fmt.Errorf("state_dir: %w", err)
	}
	sp, err := OpenSpool(filepath.Join(cfg.StateDir, "spool"), cfg.SpoolMaxBytes)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	cl, err := NewClient(cfg, opt.Agent)
	if err != nil {
		sp.Close()
		return nil, err
	}
	r := &Runtime{
		cfg: cfg, opt: opt, log: opt.Logger, client: cl, spool: sp, coll: NewCollector(),
		checks:     map[string]*agentCheck{},
		helloNow:   make(chan struct{}, 1),
		sendNow:    make(chan struct{}, 1),
		resultNow:  make(chan struct{}, 1),
		metricsNew: make(chan struct{}, 1),
		lastCut:    time.Now(),
	}
	r.sched = schedule.New(r.runCheck, 4)
	if b, err := os.ReadFile(r.configCachePath()); err == nil {
		var ac wire.AgentConfig
		if json.Unmarshal(b, &ac) == nil {
			r.applyConfig(ac, false)
			r.log.Info("running the checks of the last known config until the server answers", "host", ac.Host, "checks", len(ac.Checks), "config_version", ac.ConfigVersion)
		}
	}
	return r, nil
}

func (r *Runtime) configCachePath() string { return filepath.Join(r.cfg.StateDir, "agent-config.json") }

// Spool gives access to the spool (for status output and tests).
func (r *Runtime) Spool() *Spool { return r.spool }

// Run runs the agent until ctx ends, then cuts a last batch of pending
// results into the spool and flushes its index.
func (r *Runtime) Run(ctx context.Context) error {
	r.log.Info("connecting to "+r.cfg.Server, "state_dir", r.cfg.StateDir, "actions", strings.Join(r.cfg.ActionNames(), ","))
	if n, b := r.spool.Pending(); n > 0 {
		r.log.Info(fmt.Sprintf("%d spooled batches (%d bytes) from before the restart will be sent first", n, b), "last_seq", r.spool.LastSeq())
	}
	r.signal(r.helloNow)
	var wg sync.WaitGroup
	for _, loop := range []func(context.Context){r.helloLoop, r.sendLoop, r.pollLoop, r.metricsLoop, r.batchLoop} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			loop(ctx)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		r.sched.Run(ctx)
	}()
	<-ctx.Done()
	wg.Wait()
	// Results that arrived after the last cut are spooled, not lost.
	r.cutBatch(nil, false)
	if err := r.spool.Close(); err != nil {
		return fmt.Errorf("flushing the spool index: %w", err)
	}
	n, b := r.spool.Pending()
	r.log.Info("agent stopped", "spooled_batches", n, "spooled_bytes", b, "last_seq", r.spool.LastSeq())
	return nil
}

func (r *Runtime) signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// sleep waits d or until ctx ends (false).
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// backoff is exponential with full jitter.
type backoff struct {
	min, max, cur time.Duration
}

func (b *backoff) next() time.Duration {
	if b.cur < b.min {
		b.cur = b.min
	} else {
		b.cur = min(b.cur*2, b.max)
	}
	return b.cur/2 + time.Duration(rand.Int64N(int64(b.cur/2)+1))
}

func (b *backoff) reset() { b.cur = 0 }

// ---- hello / config ----

func (r *Runtime) helloLoop(ctx context.Context) {
	bo := &backoff{min: r.opt.MinBackoff, max: r.opt.MaxBackoff}
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.helloNow:
		}
		for {
			err := r.hello(ctx)
			if err == nil {
				bo.reset()
				break
			}
			if ctx.Err() != nil {
				return
			}
			d := bo.next()
			r.log.Warn("hello failed: retrying", "error", err, "in", d.Round(time.Millisecond))
			if !sleep(ctx, d) {
				return
			}
		}
	}
}

func (r *Runtime) hello(ctx context.Context) error {
	st := r.spool.State()
	h := wire.Hello{Version: wire.Version, Agent: r.opt.Agent, Hostname: r.cfg.Hostname, OS: runtime.GOOS, Arch: runtime.GOARCH, Actions: r.cfg.ActionNames(), Spool: &st}
	if bt, err := host.BootTimeWithContext(ctx); err == nil {
		h.BootTime = int64(bt)
	}
	hctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ac, err := r.client.Hello(hctx, h)
	if err != nil {
		return err
	}
	if !r.enrolled.Swap(true) {
		r.log.Info("enrolled as host "+ac.Host, "config_version", ac.ConfigVersion, "checks", len(ac.Checks), "metrics_interval", time.Duration(ac.MetricsInterval), "heartbeat", time.Duration(ac.Heartbeat))
	}
	r.applyConfig(ac, true)
	return nil
}

// applyConfig builds the checks of a config and (re)schedules them.
func (r *Runtime) applyConfig(ac wire.AgentConfig, save bool) {
	r.mu.Lock()
	same := r.haveAC && r.ac.ConfigVersion == ac.ConfigVersion && reflect.DeepEqual(r.ac.Checks, ac.Checks)
	oldMetrics := r.ac.MetricsInterval
	r.ac, r.haveAC = ac, true
	r.mu.Unlock()
	if save {
		if b, err := json.Marshal(ac); err == nil {
			if err := writeFileAtomic(r.configCachePath(), b); err != nil {
				r.log.Warn("cannot cache the config", "error", err)
			}
		}
	}
	if oldMetrics != ac.MetricsInterval {
		r.signal(r.metricsNew)
	}
	if same {
		return
	}
	built := map[string]*agentCheck{}
	for _, cs := range ac.Checks {
		if _, dup := built[cs.Name]; dup {
			r.log.Warn("the server sent two checks with the same name; the first one runs", "check", cs.Name)
			continue
		}
		built[cs.Name] = r.build(ac.Host, cs)
	}
	r.mu.Lock()
	old := r.checks
	r.checks = built
	r.mu.Unlock()
	for name := range old {
		if _, ok := built[name]; !ok {
			r.sched.Remove(name)
		}
	}
	now := time.Now()
	for name, c := range built {
		iv, retry := time.Duration(c.spec.Interval), time.Duration(c.spec.Retry)
		if iv <= 0 {
			iv = DefaultCheckInterval
		}
		first := time.Time{}
		if o, ok := old[name]; !ok || !reflect.DeepEqual(o.spec, c.spec) {
			first = now // new or changed: run it now, then on its phase
		}
		r.sched.Add(name, schedule.Timing{Interval: iv, Retry: retry}, first)
		if c.problem != "" {
			r.log.Warn("check cannot run: reported as UNKNOWN", "check", name, "type", c.spec.Type, "problem", c.problem)
		}
	}
	r.log.Info("checks scheduled", "config_version", ac.ConfigVersion, "checks", len(built))
}

// nonSpecKeys are check-entry keys that belong to the server, not the
// type's spec; a server that leaves them in CheckSpec.YAML is tolerated.
var nonSpecKeys = map[string]bool{"name": true, "type": true, "interval": true, "retry_interval": true, "attempts": true, "timeout": true, "notify": true, "depends_on": true, "tags": true, "description": true, "disabled": true, "on_agent": true, "recovery": true}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// build turns a CheckSpec into a runnable check; any problem is kept to be
// reported as an UNKNOWN result, never a crash.
func (r *Runtime) build(hostName string, cs wire.CheckSpec) (ac *agentCheck) {
	ac = &agentCheck{spec: cs, timeout: time.Duration(cs.Timeout)}
	defer func() {
		if p := recover(); p != nil {
			ac.problem = fmt.Sprintf("building the check panicked: %v", p)
			ac.checker = nil
		}
	}()
	kind, ok := check.Lookup(cs.Type)
	if !ok {
		ac.problem = fmt.Sprintf("unknown check type %q (this agent knows: %s)", cs.Type, strings.Join(check.Names(), ", "))
		return ac
	}
	ac.kind = kind
	spec := kind.New()
	if strings.TrimSpace(cs.YAML) != "" {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(cs.YAML), &doc); err != nil {
			ac.problem = "bad spec YAML: " + err.Error()
			return ac
		}
		if len(doc.Content) > 0 {
			node := doc.Content[0]
			if node.Kind != yaml.MappingNode {
				ac.problem = "bad spec YAML: not a mapping"
				return ac
			}
			if issues := fieldset.DecodeMapping(node, spec, nonSpecKeys); len(issues) > 0 {
				var msgs []string
				for _, is := range issues {
					msgs = append(msgs, fmt.Sprintf("line %d: %s: %s", is.Line, is.Key, is.Msg))
				}
				ac.problem = "bad spec: " + strings.Join(msgs, "; ")
				return ac
			}
		}
	}
	if hd, ok := spec.(check.HostDefaulter); ok {
		hd.DefaultHost("localhost") // an agent-side network check targets its own host
	}
	if hn, ok := spec.(check.HostNamer); ok {
		hn.SetHostName(hostName)
	}
	if sf, ok := spec.(interface{ SetStateFile(string) }); ok {
		sf.SetStateFile(filepath.Join(r.cfg.StateDir, "checks", unsafeName.ReplaceAllString(cs.Name, "_")+"."+cs.Type+".json"))
	}
	var errs []string
	seen := map[string]bool{}
	for _, fe := range append(fieldset.MissingRequired(spec), spec.Validate()...) {
		if !seen[fe.Field] {
			seen[fe.Field] = true
			errs = append(errs, fe.Error())
		}
	}
	if len(errs) > 0 {
		ac.problem = "invalid spec: " + strings.Join(errs, "; ")
		return ac
	}
	c, err := spec.New(check.Env{Logger: r.log.With("check", cs.Name)})
	if err != nil {
		ac.problem = "cannot build the check: " + err.Error()
		return ac
	}
	ac.checker = c
	return ac
}

// runCheck is the scheduler's job: run one check and queue its result.
func (r *Runtime) runCheck(ctx context.Context, name string) bool {
	r.mu.Lock()
	c := r.checks[name]
	r.mu.Unlock()
	if c == nil {
		return false
	}
	var res check.Result
	if c.problem != "" {
		res = check.Resultf(check.Unknown, "agent cannot run this check: %s", c.problem)
		if c.kind != nil && c.kind.Label != "" {
			res.Output = check.OneLine(c.kind.Label + " UNKNOWN - " + res.Output)
		}
		res.Time = time.Now()
	} else {
		res = check.Run(ctx, c.kind, c.checker, c.timeout)
	}
	if ctx.Err() != nil && res.Duration > 0 && res.Status != check.OK && strings.Contains(res.Output, "cancelled") {
		return false // the agent is stopping: not a result
	}
	r.addResult(wireResult(name, res))
	return res.Status != check.OK
}

func wireResult(name string, res check.Result) wire.Result {
	return wire.Result{
		Check:    name,
		Status:   res.Status,
		Output:   cutString(res.Output, wire.MaxOutputBytes),
		Long:     cutString(res.Long, wire.MaxLongBytes),
		Perf:     res.Perf,
		Time:     res.Time.UnixMilli(),
		Duration: res.Duration.Seconds(),
	}
}

func cutString(s string, n int) string {
	if len(s) <= n {
		return s
	}
	n -= len("…")
	for n > 0 && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n] + "…"
}

func (r *Runtime) addResult(res wire.Result) {
	r.mu.Lock()
	r.pendRes = append(r.pendRes, res)
	r.pendBytes += len(res.Output) + len(res.Long) + 64*len(res.Perf) + 128
	r.mu.Unlock()
	r.signal(r.resultNow)
}

// ---- batches ----

// cutBatch moves the pending results (and samples, if any) into the spool
// as one or more batches. An empty batch is cut only when heartbeat is set.
func (r *Runtime) cutBatch(samples []wire.Sample, heartbeat bool) {
	r.batchMu.Lock()
	defer r.batchMu.Unlock()
	r.mu.Lock()
	results := r.pendRes
	r.pendRes, r.pendBytes = nil, 0
	r.mu.Unlock()
	if len(results) == 0 && len(samples) == 0 && !heartbeat && !r.spool.HasUnreportedDrops() {
		return
	}
	for first := true; first || len(results) > 0 || len(samples) > 0; first = false {
		// Bound one batch: result count and approximate bytes, sample count.
		nr, size := 0, 0
		for nr < len(results) && nr < wire.MaxBatchResults && (nr == 0 || size < batchSoftBytes) {
			size += len(results[nr].Output) + len(results[nr].Long) + 64*len(results[nr].Perf) + 128
			nr++
		}
		ns := min(len(samples), wire.MaxBatchSamples)
		b := wire.Batch{Results: results[:nr], Samples: samples[:ns]}
		results, samples = results[nr:], samples[ns:]
		seq, drop, err := r.spool.Append(func(seq, dr, ds uint64) ([]byte, uint32, uint32, error) {
			b.Seq, b.DroppedResults, b.DroppedSamples = seq, dr, ds
			b.Sent = time.Now().UnixMilli()
			gz, err := encodeBatch(&b)
			return gz, uint32(len(b.Results)), uint32(len(b.Samples)), err
		})
		if err != nil {
			// The disk refuses: these results cannot be kept. Say so.
			r.log.Error("cannot spool a batch: its results and samples are lost", "error", err, "results", len(b.Results), "samples", len(b.Samples))
			continue
		}
		if drop.Batches > 0 {
			r.log.Warn(fmt.Sprintf("spool full (%d bytes): dropped the %d oldest batches (%d results, %d samples); the next batch reports the count", r.cfg.SpoolMaxBytes, drop.Batches, drop.Results, drop.Samples))
		}
		if b.DroppedResults+b.DroppedSamples > 0 {
			r.log.Warn("reporting dropped data to the server", "seq", seq, "dropped_results", b.DroppedResults, "dropped_samples", b.DroppedSamples)
		}
	}
	r.mu.Lock()
	r.lastCut = time.Now()
	r.mu.Unlock()
	r.signal(r.sendNow)
}

func (r *Runtime) heartbeatEvery() time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	if hb := time.Duration(r.ac.Heartbeat); hb > 0 {
		return hb
	}
	return DefaultHeartbeat
}

// batchLoop cuts batches: results after a short linger, and an empty
// batch when nothing was sent for a heartbeat period.
func (r *Runtime) batchLoop(ctx context.Context) {
	tick := time.NewTicker(min(time.Second, r.heartbeatEvery()/4))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.resultNow:
			r.mu.Lock()
			big := r.pendBytes >= batchSoftBytes
			r.mu.Unlock()
			if !big && !sleep(ctx, r.opt.Linger) {
				return
			}
			r.cutBatch(nil, false)
		case <-tick.C:
			hb := r.heartbeatEvery()
			r.mu.Lock()
			due := time.Since(r.lastCut) >= hb
			r.mu.Unlock()
			if due {
				// Offline with data waiting: the pending batches are the
				// heartbeat once the server is back; do not pile up empties.
				if n, _ := r.spool.Pending(); n > 0 && r.online.Load() == 2 {
					r.mu.Lock()
					r.lastCut = time.Now()
					r.mu.Unlock()
					continue
				}
				r.cutBatch(nil, true)
			}
		}
	}
}

func (r *Runtime) metricsInterval() time.Duration {
	if r.opt.MetricsInterval != 0 {
		return r.opt.MetricsInterval
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if iv := time.Duration(r.ac.MetricsInterval); iv > 0 {
		return iv
	}
	return DefaultMetricsInterval
}

// CollectOnce collects the metrics once and spools them with the pending
// results (the metrics loop calls it on its interval).
func (r *Runtime) CollectOnce(ctx context.Context) int {
	r.collectMu.Lock()
	defer r.collectMu.Unlock()
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	samples := r.coll.Collect(cctx, time.Now())
	if len(r.coll.Errors) > 0 {
		r.log.Debug("some metrics could not be read", "errors", strings.Join(r.coll.Errors, "; "))
	}
	n := len(samples)
	r.cutBatch(samples, false) // spooled (encoded) before the collector reuses its buffer
	return n
}

func (r *Runtime) metricsLoop(ctx context.Context) {
	for {
		iv := r.metricsInterval()
		if iv < 0 {
			select {
			case <-ctx.Done():
				return
			case <-r.metricsNew:
				continue
			}
		}
		// Align on the interval grid, like a scrape.
		wait := time.Until(time.Now().Truncate(iv).Add(iv))
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-r.metricsNew:
			t.Stop()
			continue
		case <-t.C:
		}
		r.CollectOnce(ctx)
	}
}

// ---- sending ----

func (r *Runtime) sendLoop(ctx context.Context) {
	bo := &backoff{min: r.opt.MinBackoff, max: r.opt.MaxBackoff}
	for {
		rec, ok, err := r.spool.Oldest()
		if err != nil {
			r.log.Error("cannot read the spool", "error", err)
			if !sleep(ctx, bo.next()) {
				return
			}
			continue
		}
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-r.sendNow:
				continue
			}
		}
		err = r.send(ctx, rec)
		if err == nil {
			bo.reset()
			continue
		}
		if ctx.Err() != nil {
			return
		}
		var he *HTTPError
		if errors.As(err, &he) && he.Permanent() {
			drop, _ := r.spool.Skip(rec.Seq)
			r.log.Error("the server refused a batch for good: it is dropped and counted", "seq", rec.Seq, "error", err, "results", drop.Results, "samples", drop.Samples)
			continue
		}
		d := bo.next()
		n, b := r.spool.Pending()
		if r.online.Swap(2) != 2 || time.Since(r.warnedAt) > 5*time.Minute {
			r.warnedAt = time.Now()
			r.log.Warn(fmt.Sprintf("server unreachable: spooling (%d batches, %d bytes)", n, b), "error", err, "retry_in", d.Round(time.Millisecond))
		}
		if !sleep(ctx, d) {
			return
		}
	}
}

func (r *Runtime) send(ctx context.Context, rec Record) error {
	b, err := decodeBatch(rec.Payload)
	if err != nil {
		// A damaged record cannot be sent; count it and go on.
		drop, _ := r.spool.Skip(rec.Seq)
		r.log.Error("a spooled batch is damaged: dropped and counted", "seq", rec.Seq, "error", err, "results", drop.Results, "samples", drop.Samples)
		return nil
	}
	b.Seq = rec.Seq
	b.Sent = time.Now().UnixMilli()
	gz, err := encodeBatch(b)
	if err != nil {
		return err
	}
	sctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	ack, err := r.client.SendBatch(sctx, gz)
	var he *HTTPError
	if errors.As(err, &he) && he.Status == http.StatusConflict {
		r.log.Warn("the server's batch numbering differs from this agent's: saying hello to re-synchronise", "seq", rec.Seq, "error", err)
		r.signal(r.helloNow)
		return err
	}
	if err != nil {
		return err
	}
	if last := r.spool.LastSeq(); ack.Seq > last {
		// The server says it stored Seqs this agent never handed out: its
		// record is wrong (this state directory was reset, or a batch was
		// forged with this host's token). The batch was not stored: say
		// hello with the spool's numbering and send it again.
		r.log.Warn("the server is ahead of this agent's batch numbering: saying hello to re-synchronise", "seq", rec.Seq, "server_seq", ack.Seq, "agent_last", last)
		r.signal(r.helloNow)
		return fmt.Errorf("batch %d not stored: the server's seq %d is ahead of this agent's %d (re-synchronising)", rec.Seq, ack.Seq, last)
	}
	if prev := r.online.Swap(1); prev == 2 {
		n, _ := r.spool.Pending()
		r.log.Info(fmt.Sprintf("server reachable again: sending %d spooled batches", n))
	}
	if ack.Seq < rec.Seq {
		r.log.Warn("the server acknowledged an older Seq than it was sent; treating the batch as delivered", "sent", rec.Seq, "acked", ack.Seq)
	}
	if err := r.spool.Ack(max(ack.Seq, rec.Seq)); err != nil {
		r.log.Warn("cannot write the spool index", "error", err)
	}
	if ack.Rejected > 0 {
		r.log.Warn("the server rejected items of a batch", "seq", rec.Seq, "rejected", ack.Rejected, "reasons", strings.Join(ack.Reasons, "; "))
	}
	r.mu.Lock()
	changed := ack.ConfigVersion != "" && (!r.haveAC || ack.ConfigVersion != r.ac.ConfigVersion)
	r.mu.Unlock()
	if changed {
		r.log.Info("the server's config changed: saying hello again", "config_version", ack.ConfigVersion)
		r.signal(r.helloNow)
	}
	return nil
}

// ---- server requests ----

func (r *Runtime) pollLoop(ctx context.Context) {
	bo := &backoff{min: r.opt.MinBackoff, max: r.opt.MaxBackoff}
	var inflight sync.WaitGroup
	defer inflight.Wait()
	for ctx.Err() == nil {
		req, err := r.client.Poll(ctx, r.opt.PollWait)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if !sleep(ctx, bo.next()) {
				return
			}
			continue
		}
		bo.reset()
		if req == nil {
			continue
		}
		inflight.Add(1)
		go func() {
			defer inflight.Done()
			r.handle(ctx, req)
		}()
	}
}

// handle answers one request; the answer is retried a few times.
func (r *Runtime) handle(ctx context.Context, req *wire.Request) {
	var resp wire.Response
	switch req.Kind {
	case "action":
		resp = r.runAction(ctx, req)
	case "recheck":
		resp = wire.Response{ID: req.ID}
		if r.sched.RunNow(req.Check) {
			resp.Output = "running " + req.Check + " now; its result follows in the next batch"
		} else {
			resp.ExitCode = -1
			resp.Error = fmt.Sprintf("no check %q on this agent (known: %s)", req.Check, strings.Join(r.checkNames(), ", "))
		}
	case "config":
		r.signal(r.helloNow)
		resp = wire.Response{ID: req.ID, Output: "saying hello again to fetch the config"}
	default:
		resp = wire.Response{ID: req.ID, ExitCode: -1, Error: fmt.Sprintf("unknown request kind %q (this agent knows action, recheck, config)", req.Kind)}
		r.log.Warn("unknown request kind", "kind", req.Kind, "request", req.ID)
	}
	resp.Output = cutString(resp.Output, MaxActionOutput)
	bo := &backoff{min: r.opt.MinBackoff, max: 30 * time.Second}
	for attempt := 0; attempt < 5; attempt++ {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		err := r.client.Respond(rctx, resp)
		cancel()
		if err == nil {
			return
		}
		r.log.Warn("cannot answer a request", "request", req.ID, "error", err)
		var he *HTTPError
		if errors.As(err, &he) && he.Status/100 == 4 {
			return
		}
		if !sleep(ctx, bo.next()) {
			return
		}
	}
}

func (r *Runtime) checkNames() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	names := make([]string, 0, len(r.checks))
	for n := range r.checks {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
