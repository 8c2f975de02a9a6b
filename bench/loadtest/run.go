package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/engine"
	"github.com/mamori/mamori/internal/schedule"
	"github.com/mamori/mamori/internal/server/specs"
	"github.com/mamori/mamori/internal/state"
	"github.com/mamori/mamori/internal/store"
	"github.com/mamori/mamori/internal/store/sqlite"
)

// runEnv is what a run sets up before the engine starts.
type runEnv struct {
	dir  string
	tgt  *target
	cfg  *config.Config
	st   *sqlite.Store
	h    *runRecorder
	undo []func()
}

func (e *runEnv) close() {
	for i := len(e.undo) - 1; i >= 0; i-- {
		e.undo[i]()
	}
}

// readings are the counters taken at the window's start (0) and end (1).
type readings struct {
	w0, w1         time.Time
	c0, c1         time.Duration // this process's CPU
	tc0, tc1       time.Duration // the target's CPU
	m0, m1         machineCPU
	psi0, psi1     time.Duration
	p0, p1         int64 // persisted results
	ms0, ms1       runtime.MemStats
	net0, net1     map[string]int64
	lag0, lag1     histo
	dur0, dur1     histo
	t0, t1, tStart time.Time
}

func run(o options) (*result, error) {
	res := &result{Type: o.typ, N: o.n, Interval: o.interval.Seconds(), Keepalive: o.keepalive,
		Concurrency: o.concurrency, Ports: o.ports, Warmup: o.warmup.Seconds(),
		GoVersion: runtime.Version(), CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0),
		Date: time.Now().UTC().Format(time.RFC3339), Args: strings.Join(os.Args[1:], " "), LoadStart: loadavg()}
	res.HostSpeedBefore = hostSpeed()
	env, err := prepare(o, res)
	if env != nil {
		defer env.close()
	}
	if err != nil {
		return nil, err
	}
	h := env.h
	if err := resetHWM(); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest: cannot reset VmHWM, peak includes config parsing:", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.newFrom = time.Now()
	eng, err := engine.New(ctx, specs.Plan(env.cfg), &timedStore{Store: env.st, h: h}, log)
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	h.newTo = time.Now()
	res.EngineNewSeconds = h.newTo.Sub(h.newFrom).Seconds()

	rd := readings{tStart: time.Now()}
	rd.t0 = rd.tStart.Add(o.warmup)
	rd.t1 = rd.t0.Add(o.duration)
	grace := min(o.interval/2, 10*time.Second)
	h.win0, h.win1 = rd.t0.UnixNano(), rd.t1.UnixNano()
	runDone := make(chan struct{})
	go func() { eng.Run(ctx); close(runDone) }()
	fmt.Fprintf(os.Stderr, "loadtest: %s N=%d interval=%s keepalive=%t: warmup %s, window %s (ends %s), target pid %d on ports %v\n",
		o.typ, o.n, o.interval, o.keepalive, o.warmup, o.duration, rd.t1.Add(grace).Format("15:04:05"), env.tgt.Pid(), env.tgt.Ports)
	stopProgress := progress(h, env.tgt.Pid(), rd.tStart)
	stopScrape := scrape(eng, o.scrape)
	if err := measure(o, env, eng, res, &rd); err != nil {
		return nil, err
	}
	// Let runs due late in the window start, then stop.
	sleepUntil(rd.t1.Add(grace))
	h.close()
	stopProgress()
	stopScrape(res)
	cancel()
	select {
	case <-runDone:
	case <-time.After(30 * time.Second):
		return nil, fmt.Errorf("engine did not stop within 30s of cancel")
	}
	res.LoadEnd = loadavg()
	res.HostSpeedAfter = hostSpeed()
	figures(o, h, res, &rd)
	return res, nil
}

// prepare raises the file limit, starts the target, parses the
// configuration through the real parser and opens the store.
func prepare(o options, res *result) (*runEnv, error) {
	need := o.fdsNeeded()
	soft, hard, err := raiseNofile(need)
	if err != nil {
		return nil, fmt.Errorf("RLIMIT_NOFILE: %w", err)
	}
	res.NofileSoft, res.NofileHard = soft, hard
	if soft < need {
		return nil, fmt.Errorf("open-file limit %d (hard %d) is below the %d this run needs (N=%d, keepalive=%t, concurrency=%d); raise it (ulimit -Hn) or lower -n/-concurrency",
			soft, hard, need, o.n, o.keepalive, o.concurrency)
	}
	env := &runEnv{}
	if env.dir, err = os.MkdirTemp("", "mamori-loadtest-"); err != nil {
		return nil, err
	}
	if o.keep {
		fmt.Fprintln(os.Stderr, "loadtest: data in", env.dir)
	} else {
		env.undo = append(env.undo, func() { os.RemoveAll(env.dir) })
	}
	if env.tgt, err = startTarget(o.typ, o.ports, o.targetProcs); err != nil {
		return env, err
	}
	env.undo = append(env.undo, env.tgt.Stop)
	res.RSSBaseline, _ = procStatus("self")
	if err := env.configure(o, res); err != nil {
		return env, err
	}
	if env.st, err = sqlite.Open(context.Background(), env.dir); err != nil {
		return env, err
	}
	env.undo = append(env.undo, func() { env.st.Close() })
	if err := storeHistory(env.st, env.cfg, o.history, o.interval); err != nil {
		return env, err
	}
	// Reserve the lag records now so that growing them is not counted as
	// mamori's memory.
	h := env.h
	winRuns := int(float64(o.n)*o.duration.Seconds()/o.interval.Seconds()) + o.n + 1024
	h.coldLags = make([]time.Duration, 0, o.n)
	h.winLags = make([]time.Duration, 0, winRuns)
	res.HarnessBytes = int64(o.n)*(24+48+40) + int64(cap(h.winLags)+cap(h.coldLags))*8
	return env, nil
}

// configure parses the generated configuration and wraps every check so
// that the recorder sees its runs.
func (e *runEnv) configure(o options, res *result) error {
	yaml := buildConfig(o, e.tgt.Ports)
	t := time.Now()
	cfg, err := config.Parse("loadtest.yaml", yaml)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	res.ParseSeconds = time.Since(t).Seconds()
	h := &runRecorder{interval: o.interval, namePrefix: "bench-", all: make([]ckStat, o.n)}
	h.retry = cfg.Checks[0].RetryInterval
	for _, c := range cfg.Checks {
		i := h.index(c.Name)
		if i < 0 {
			return fmt.Errorf("unexpected check name %q", c.Name)
		}
		h.all[i].phase = schedule.Phase(c.Name, c.Interval)
		h.all[i].phase30 = schedule.Phase(c.Name, min(c.Interval, 30*time.Second))
		c.Spec = &timedSpec{Spec: c.Spec, h: h, i: i}
	}
	e.cfg, e.h = cfg, h
	_, res.HWMParse = procStatus("self")
	debug.FreeOSMemory()
	res.RSSAfterParse, _ = procStatus("self")
	return nil
}

// measure takes the readings at the window's start and end (gathering
// first at the start: it walks every check, and its cost stays out).
func measure(o options, env *runEnv, eng *engine.Engine, res *result, rd *readings) error {
	sleepUntil(rd.t0)
	var err error
	if rd.lag0, err = gatherHisto(eng.Metrics.Registry, "mamori_scheduler_lag_seconds"); err != nil {
		return err
	}
	rd.dur0, _ = gatherHisto(eng.Metrics.Registry, "mamori_check_duration_seconds")
	runtime.ReadMemStats(&rd.ms0)
	rd.net0 = tcpExt("ListenOverflows", "ListenDrops")
	var prof *os.File
	if o.cpuprofile != "" {
		if prof, err = os.Create(o.cpuprofile); err != nil {
			return err
		}
		pprof.StartCPUProfile(prof)
	}
	pid := env.tgt.Pid()
	rd.p0 = env.h.persisted.Load()
	rd.w0, rd.c0, rd.tc0, rd.m0, rd.psi0 = time.Now(), cpuSelf(), cpuOf(pid), readMachineCPU(), cpuPressure()
	sleepUntil(rd.t1)
	rd.w1, rd.c1, rd.tc1, rd.m1, rd.psi1 = time.Now(), cpuSelf(), cpuOf(pid), readMachineCPU(), cpuPressure()
	rd.p1 = env.h.persisted.Load()
	if prof != nil {
		pprof.StopCPUProfile()
		prof.Close()
	}
	res.RSS, res.HWM = procStatus("self")
	res.TargetRSS, _ = procStatus(fmt.Sprint(pid))
	res.TimeWait = timeWait()
	rd.net1 = tcpExt("ListenOverflows", "ListenDrops")
	runtime.ReadMemStats(&rd.ms1)
	res.Goroutines = runtime.NumGoroutine()
	if o.memprofile != "" {
		if f, err := os.Create(o.memprofile); err == nil {
			pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	if rd.lag1, err = gatherHisto(eng.Metrics.Registry, "mamori_scheduler_lag_seconds"); err != nil {
		return err
	}
	rd.dur1, _ = gatherHisto(eng.Metrics.Registry, "mamori_check_duration_seconds")
	return nil
}

// storeHistory stores n OK results for every check, one interval apart and
// ending one interval ago: the store of a server that has run n intervals,
// whose per-check results index no longer fits a few pages.
func storeHistory(st *sqlite.Store, cfg *config.Config, n int, interval time.Duration) error {
	if n == 0 {
		return nil
	}
	start := time.Now()
	t0 := start.Add(-time.Duration(n) * interval)
	const batch = 500
	ws := make([]store.Write, 0, batch)
	flush := func() error {
		_, err := st.Commit(context.Background(), ws)
		ws = ws[:0]
		return err
	}
	for k := range n {
		for i, c := range cfg.Checks {
			at := t0.Add(time.Duration(k)*interval + time.Duration(i)*interval/time.Duration(len(cfg.Checks)))
			ws = append(ws, store.Write{Check: c.Name, Kept: k > 0,
				Result: check.Result{Status: check.OK, Time: at, Duration: time.Millisecond,
					Output: "HTTP OK: HTTP/1.1 200 OK - 2 bytes in 0.001 second response time",
					Perf:   []check.Metric{check.Seconds("time", time.Millisecond, 0, 0)}},
				State: state.State{Attempt: 1, LastCheck: at}})
			if len(ws) == batch {
				if err := flush(); err != nil {
					return fmt.Errorf("history: %w", err)
				}
			}
		}
	}
	if err := flush(); err != nil {
		return fmt.Errorf("history: %w", err)
	}
	fmt.Fprintf(os.Stderr, "loadtest: stored %d results per check before the run in %.1f s\n", n, time.Since(start).Seconds())
	return nil
}
