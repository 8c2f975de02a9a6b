package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/shirou/gopsutil/v4/host"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/fieldset"
	"github.com/mamori/mamori/internal/dirlock"
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
	lock   *dirlock.Lock // the state dir, held until Run returns

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

// New prepares a runtime: it locks the state dir (one agent per state
// dir; the lock is held until Run returns), opens the spool in it and
// loads the last config the server gave (so checks run even while the
// server is unreachable at start).
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
	lock, err := dirlock.Acquire(cfg.StateDir, "mamori agent")
	if err != nil {
		return nil, fmt.Errorf("state_dir: %w", err)
	}
	sp, err := OpenSpool(filepath.Join(cfg.StateDir, "spool"), cfg.SpoolMaxBytes)
	if err != nil {
		lock.Release()
		return nil, fmt.Errorf("spool: %w", err)
	}
	cl, err := NewClient(cfg, opt.Agent)
	if err != nil {
		sp.Close()
		lock.Release()
		return nil, err
	}
	r := &Runtime{
		cfg: cfg, opt: opt, log: opt.Logger, client: cl, spool: sp, coll: NewCollector(), lock: lock,
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
	defer r.lock.Release()
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
