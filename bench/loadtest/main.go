// Command loadtest runs mamori's real engine (config.Parse, engine.New and
// Run, the SQLite store) with N http or tcp checks against a loopback target
// served by a child process, and measures what it costs: checks executed
// against expected, CPU per check, memory, exact scheduler lag, commit time,
// and how long a cold start takes to run every check once.
//
//	go run ./bench/loadtest -type http -n 10000 -interval 60s -duration 3m
//
// See bench/README.md for what each figure means.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"time"

	_ "github.com/mamori/mamori/internal/check/all"
	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/engine"
	"github.com/mamori/mamori/internal/schedule"
	"github.com/mamori/mamori/internal/server/specs"
	"github.com/mamori/mamori/internal/store/sqlite"
)

type options struct {
	typ         string
	n           int
	interval    time.Duration
	duration    time.Duration
	warmup      time.Duration
	keepalive   bool
	concurrency int
	ports       int
	targetProcs int
	jsonOut     string
	cpuprofile  string
	memprofile  string
	keep        bool
}

func main() {
	if spec := os.Getenv(targetEnv); spec != "" {
		runTarget(spec)
		return
	}
	var o options
	flag.StringVar(&o.typ, "type", "http", "check type: http or tcp")
	flag.IntVar(&o.n, "n", 1000, "number of checks (1..200000)")
	flag.DurationVar(&o.interval, "interval", 60*time.Second, "check interval (≥ 1s)")
	flag.DurationVar(&o.duration, "duration", 2*time.Minute, "measurement window, after the warmup (≤ 30m)")
	flag.DurationVar(&o.warmup, "warmup", 0, "time before the window (default: one interval, the cold start; ≤ 30m)")
	flag.BoolVar(&o.keepalive, "keepalive", false, "http: reuse connections (keepalive: true)")
	flag.IntVar(&o.concurrency, "concurrency", 1000, "scheduler.max_concurrent")
	flag.IntVar(&o.ports, "ports", 8, "loopback ports the target listens on (checks spread over them)")
	flag.IntVar(&o.targetProcs, "target-procs", 0, "GOMAXPROCS of the target process (0: Go's default, all CPUs)")
	flag.StringVar(&o.jsonOut, "json", "", "write the figures as JSON to this file")
	flag.StringVar(&o.cpuprofile, "cpuprofile", "", "write a CPU profile of the measurement window to this file")
	flag.StringVar(&o.memprofile, "memprofile", "", "write a heap profile at the end of the window to this file")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary data directory (SQLite database)")
	flag.Parse()
	if o.warmup == 0 {
		o.warmup = o.interval
	}
	if err := o.validate(); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(2)
	}
	res, err := run(o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadtest: FAILED:", err)
		os.Exit(1)
	}
	res.print(os.Stdout)
	if o.jsonOut != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(o.jsonOut, append(b, '\n'), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "loadtest:", err)
			os.Exit(1)
		}
	}
}

func (o options) validate() error {
	switch {
	case o.typ != "http" && o.typ != "tcp":
		return fmt.Errorf("-type must be http or tcp, not %q", o.typ)
	case o.keepalive && o.typ != "http":
		return fmt.Errorf("-keepalive applies to http only")
	case o.n < 1 || o.n > 200_000:
		return fmt.Errorf("-n must be 1..200000")
	case o.interval < time.Second || o.interval > time.Hour:
		return fmt.Errorf("-interval must be 1s..1h")
	case o.duration < 10*time.Second || o.duration > 30*time.Minute:
		return fmt.Errorf("-duration must be 10s..30m")
	case o.warmup < 0 || o.warmup > 30*time.Minute:
		return fmt.Errorf("-warmup must be 0..30m")
	case o.concurrency < 1 || o.concurrency > 100_000:
		return fmt.Errorf("-concurrency must be 1..100000")
	case o.ports < 1 || o.ports > 64:
		return fmt.Errorf("-ports must be 1..64")
	}
	return nil
}

// fdsNeeded estimates the open files one process needs: every check may hold
// a connection at once with keep-alive, else at most `concurrency` do.
func (o options) fdsNeeded() uint64 {
	n := uint64(o.concurrency)
	if o.keepalive {
		n = uint64(o.n) + uint64(o.concurrency)
	}
	return n + 256
}

func buildConfig(o options, ports []int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "scheduler:\n  max_concurrent: %d\nchecks:\n", o.concurrency)
	w := max(5, len(fmt.Sprint(o.n)))
	for i := 1; i <= o.n; i++ {
		port := ports[i%len(ports)]
		fmt.Fprintf(&b, "  - {name: bench-%0*d, type: %s, ", w, i, o.typ)
		switch o.typ {
		case "http":
			fmt.Fprintf(&b, "url: \"http://127.0.0.1:%d/\", keepalive: %t, ", port, o.keepalive)
		case "tcp":
			fmt.Fprintf(&b, "host: 127.0.0.1, port: %d, ", port)
		}
		fmt.Fprintf(&b, "interval: %s, attempts: 4}\n", o.interval)
	}
	return []byte(b.String())
}

func sleepUntil(t time.Time) { time.Sleep(time.Until(t)) }

func run(o options) (*result, error) {
	res := &result{Type: o.typ, N: o.n, Interval: o.interval.Seconds(), Keepalive: o.keepalive,
		Concurrency: o.concurrency, Ports: o.ports, Warmup: o.warmup.Seconds(),
		GoVersion: runtime.Version(), CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0),
		Date: time.Now().UTC().Format(time.RFC3339), Args: strings.Join(os.Args[1:], " "), LoadStart: loadavg()}

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

	dir, err := os.MkdirTemp("", "mamori-loadtest-")
	if err != nil {
		return nil, err
	}
	if o.keep {
		fmt.Fprintln(os.Stderr, "loadtest: data in", dir)
	} else {
		defer os.RemoveAll(dir)
	}

	tgt, err := startTarget(o.typ, o.ports, o.targetProcs)
	if err != nil {
		return nil, err
	}
	defer tgt.Stop()
	res.RSSBaseline, _ = procStatus("self")

	// Configuration through the real parser.
	yaml := buildConfig(o, tgt.Ports)
	t := time.Now()
	cfg, err := config.Parse("loadtest.yaml", yaml)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	res.ParseSeconds = time.Since(t).Seconds()
	yaml = nil
	prefix := "bench-"
	h := &runRecorder{interval: o.interval, namePrefix: prefix, all: make([]ckStat, o.n)}
	h.retry = cfg.Checks[0].RetryInterval
	for _, c := range cfg.Checks {
		i := h.index(c.Name)
		if i < 0 {
			return nil, fmt.Errorf("unexpected check name %q", c.Name)
		}
		h.all[i].phase = schedule.Phase(c.Name, c.Interval)
		h.all[i].phase30 = schedule.Phase(c.Name, min(c.Interval, 30*time.Second))
		c.Spec = &timedSpec{Spec: c.Spec, h: h, i: i}
	}
	_, res.HWMParse = procStatus("self")
	debug.FreeOSMemory()
	res.RSSAfterParse, _ = procStatus("self")

	st, err := sqlite.Open(context.Background(), dir)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	ts := &timedStore{Store: st, h: h}

	// Reserve the lag records now so that growing them is not counted as
	// mamori's memory.
	winRuns := int(float64(o.n)*o.duration.Seconds()/o.interval.Seconds()) + o.n + 1024
	h.coldLags = make([]time.Duration, 0, o.n)
	h.winLags = make([]time.Duration, 0, winRuns)
	res.HarnessBytes = int64(o.n)*(24+48+40) + int64(cap(h.winLags)+cap(h.coldLags))*8

	if err := resetHWM(); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest: cannot reset VmHWM, peak includes config parsing:", err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h.newFrom = time.Now()
	eng, err := engine.New(ctx, specs.Plan(cfg), ts, log)
	if err != nil {
		return nil, fmt.Errorf("engine: %w", err)
	}
	h.newTo = time.Now()
	res.EngineNewSeconds = h.newTo.Sub(h.newFrom).Seconds()

	tRun := time.Now()
	t0 := tRun.Add(o.warmup)
	t1 := t0.Add(o.duration)
	grace := min(o.interval/2, 10*time.Second)
	h.win0, h.win1 = t0.UnixNano(), t1.UnixNano()
	runDone := make(chan struct{})
	go func() { eng.Run(ctx); close(runDone) }()
	fmt.Fprintf(os.Stderr, "loadtest: %s N=%d interval=%s keepalive=%t: warmup %s, window %s (ends %s), target pid %d on ports %v\n",
		o.typ, o.n, o.interval, o.keepalive, o.warmup, o.duration, t1.Add(grace).Format("15:04:05"), tgt.Pid(), tgt.Ports)
	stopProgress := progress(h, tgt.Pid(), tRun)

	// Window start. Gathering first (it walks every check) keeps its cost
	// out of the window.
	sleepUntil(t0)
	lag0, err := gatherHisto(eng.Metrics.Registry, "mamori_scheduler_lag_seconds")
	if err != nil {
		return nil, err
	}
	dur0, _ := gatherHisto(eng.Metrics.Registry, "mamori_check_duration_seconds")
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	net0 := tcpExt("ListenOverflows", "ListenDrops")
	var prof *os.File
	if o.cpuprofile != "" {
		if prof, err = os.Create(o.cpuprofile); err != nil {
			return nil, err
		}
		pprof.StartCPUProfile(prof)
	}
	p0 := h.persisted.Load()
	w0, c0, tc0, m0, psi0 := time.Now(), cpuSelf(), cpuOf(tgt.Pid()), readMachineCPU(), cpuPressure()

	sleepUntil(t1)
	w1, c1, tc1, m1, psi1 := time.Now(), cpuSelf(), cpuOf(tgt.Pid()), readMachineCPU(), cpuPressure()
	p1 := h.persisted.Load()
	if prof != nil {
		pprof.StopCPUProfile()
		prof.Close()
	}
	res.RSS, res.HWM = procStatus("self")
	res.TargetRSS, _ = procStatus(fmt.Sprint(tgt.Pid()))
	res.TimeWait = timeWait()
	net1 := tcpExt("ListenOverflows", "ListenDrops")
	runtime.ReadMemStats(&ms1)
	res.Goroutines = runtime.NumGoroutine()
	if o.memprofile != "" {
		if f, err := os.Create(o.memprofile); err == nil {
			pprof.WriteHeapProfile(f)
			f.Close()
		}
	}
	lag1, err := gatherHisto(eng.Metrics.Registry, "mamori_scheduler_lag_seconds")
	if err != nil {
		return nil, err
	}
	dur1, _ := gatherHisto(eng.Metrics.Registry, "mamori_check_duration_seconds")

	// Let runs due late in the window start, then stop.
	sleepUntil(t1.Add(grace))
	h.close()
	stopProgress()
	cancel()
	select {
	case <-runDone:
	case <-time.After(30 * time.Second):
		return nil, fmt.Errorf("engine did not stop within 30s of cancel")
	}
	res.LoadEnd = loadavg()

	// Figures.
	win := w1.Sub(w0).Seconds()
	res.Window = win
	res.ExpectedPerSec = float64(o.n) / o.interval.Seconds()
	res.Persisted = p1 - p0
	res.PersistedPerSec = float64(res.Persisted) / win
	for i := range h.all {
		res.ExpectedRuns += slotsIn(t0, t1, o.interval, h.all[i].phase)
	}
	res.ExecutedRuns = int64(len(h.winLags))
	res.Missed = res.ExpectedRuns - res.ExecutedRuns
	for i, name := range []string{"ok", "warning", "critical", "unknown"} {
		if res.Status == nil {
			res.Status = map[string]int64{}
		}
		res.Status[name] = h.status[i].Load()
	}
	res.CommitErrors = h.commitErrs.Load()
	res.NegativeLag = h.negLag.Load()

	cpu := (c1 - c0).Seconds()
	res.CPUSeconds = cpu
	res.CPUPercentCore = 100 * cpu / win
	if res.Persisted > 0 {
		res.CPUMicrosPerCheck = cpu * 1e6 / float64(res.Persisted)
		res.CPUSecondsPer1000 = cpu * 1000 / float64(res.Persisted)
	}
	tcpu := (tc1 - tc0).Seconds()
	res.TargetCPUSeconds = tcpu
	res.TargetCPUPercent = 100 * tcpu / win
	if res.Persisted > 0 {
		res.TargetMicrosPerCheck = tcpu * 1e6 / float64(res.Persisted)
	}
	res.MachineBusyCores = (m1.busy - m0.busy) / win
	res.MachineStealPercent = 100 * (m1.steal - m0.steal) / (m1.total - m0.total)
	res.OtherCores = res.MachineBusyCores - (cpu+tcpu)/win
	res.CPUPressurePercent = 100 * (psi1 - psi0).Seconds() / win
	dd := dur1.minus(dur0)
	res.CheckDurP50, _ = dd.quantile(.5)
	res.CheckDurP99, _ = dd.quantile(.99)
	res.CheckDurP50 *= 1000
	res.CheckDurP99 *= 1000
	res.ListenOverflows = net1["ListenOverflows"] - net0["ListenOverflows"]
	res.ListenDrops = net1["ListenDrops"] - net0["ListenDrops"]
	res.GCCycles = ms1.NumGC - ms0.NumGC
	res.HeapInuse = int64(ms1.HeapInuse)
	res.GoSys = int64(ms1.Sys)
	res.BytesPerCheck = float64(res.RSS) / float64(o.n)
	res.BytesPerCheckOverBase = float64(res.RSS-res.RSSAfterParse) / float64(o.n)

	lq := quantiles(h.winLags, .5, .9, .99, .999, 1)
	res.Lag = lagStats{P50: ms(lq[0]), P90: ms(lq[1]), P99: ms(lq[2]), P999: ms(lq[3]), Max: ms(lq[4]), N: len(h.winLags)}
	for _, l := range h.winLags {
		if l > 250*time.Millisecond {
			res.Lag.Over250ms++
		}
		if l > time.Second {
			res.Lag.Over1s++
		}
	}
	hd := lag1.minus(lag0)
	res.LagHisto.N = hd.count
	var over bool
	var v float64
	v, _ = hd.quantile(.5)
	res.LagHisto.P50 = v * 1000
	v, over = hd.quantile(.99)
	res.LagHisto.P99, res.LagHisto.P99OverTop = v*1000, over
	if hd.count > 0 {
		res.LagHisto.Mean = hd.sum / float64(hd.count) * 1000
	}
	for i, b := range hd.bounds {
		res.LagHisto.Buckets = append(res.LagHisto.Buckets, bucket{LE: b, Count: hd.cum[i]})
	}

	cq := quantiles(h.coldLags, .5, .99, 1)
	res.Cold.LagP50, res.Cold.LagP99, res.Cold.LagMax = ms(cq[0]), ms(cq[1]), ms(cq[2])
	res.Cold.FirstRuns = h.firstCount.Load()
	if at := h.allDoneAt.Load(); at > 0 {
		res.Cold.AllRanSeconds = float64(at-tRun.UnixNano()) / 1e9
		res.Cold.AllRan = true
	}
	// Evenness: first results per second over the first interval.
	bins := make([]int, int(o.interval/time.Second)+1)
	for i := range h.all {
		if d := h.all[i].firstDone.Load(); d > 0 {
			if b := int((d - tRun.UnixNano()) / int64(time.Second)); b >= 0 && b < len(bins) {
				bins[b]++
			}
		}
	}
	peak := 0
	for _, c := range bins[:len(bins)-1] {
		peak = max(peak, c)
	}
	res.Cold.MeanPerSec = float64(o.n) / o.interval.Seconds()
	res.Cold.PeakPerSec = float64(peak)

	var durs []time.Duration
	rows := 0
	var busy time.Duration
	for _, c := range h.commits {
		durs = append(durs, c.dur)
		rows += c.rows
		busy += c.dur
	}
	cm := quantiles(durs, .5, .99, 1)
	res.Commit = commitStats{N: len(durs), PerSec: float64(len(durs)) / win, P50: ms(cm[0]), P99: ms(cm[1]), Max: ms(cm[2]),
		BusyPercent: 100 * busy.Seconds() / win}
	if len(durs) > 0 {
		res.Commit.RowsPerCommit = float64(rows) / float64(len(durs))
	}
	return res, nil
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// progress prints a line every 15 s to stderr.
func progress(h *runRecorder, pid int, since time.Time) (stop func()) {
	done := make(chan struct{})
	go func() {
		tk := time.NewTicker(15 * time.Second)
		defer tk.Stop()
		lastP, lastC, lastT, lastW := h.persisted.Load(), cpuSelf(), cpuOf(pid), time.Now()
		for {
			select {
			case <-done:
				return
			case now := <-tk.C:
				p, c, t := h.persisted.Load(), cpuSelf(), cpuOf(pid)
				dt := now.Sub(lastW).Seconds()
				rss, _ := procStatus("self")
				fmt.Fprintf(os.Stderr, "  t=%4.0fs persisted %8d (%7.1f/s), first runs %6d, mamori CPU %5.1f %%, target CPU %5.1f %%, RSS %s, load %s\n",
					now.Sub(since).Seconds(), p, float64(p-lastP)/dt, h.firstCount.Load(),
					100*(c-lastC).Seconds()/dt, 100*(t-lastT).Seconds()/dt, mib(rss), loadavg())
				lastP, lastC, lastT, lastW = p, c, t, now
			}
		}
	}()
	return func() { close(done) }
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

type lagStats struct {
	N         int     `json:"runs"`
	P50       float64 `json:"p50_ms"`
	P90       float64 `json:"p90_ms"`
	P99       float64 `json:"p99_ms"`
	P999      float64 `json:"p999_ms"`
	Max       float64 `json:"max_ms"`
	Over250ms int     `json:"over_250ms"`
	Over1s    int     `json:"over_1s"`
}

type bucket struct {
	LE    float64 `json:"le"`
	Count uint64  `json:"cumulative"`
}

type histoStats struct {
	N          uint64   `json:"runs"`
	P50        float64  `json:"p50_ms"`
	P99        float64  `json:"p99_ms"`
	P99OverTop bool     `json:"p99_above_last_bucket"`
	Mean       float64  `json:"mean_ms"`
	Buckets    []bucket `json:"buckets"`
}

type coldStats struct {
	AllRan        bool    `json:"all_ran"`
	AllRanSeconds float64 `json:"all_ran_seconds"`
	FirstRuns     int64   `json:"first_runs"`
	LagP50        float64 `json:"lag_p50_ms"`
	LagP99        float64 `json:"lag_p99_ms"`
	LagMax        float64 `json:"lag_max_ms"`
	MeanPerSec    float64 `json:"mean_first_runs_per_s"`
	PeakPerSec    float64 `json:"peak_first_runs_per_s"`
}

type commitStats struct {
	N             int     `json:"commits"`
	PerSec        float64 `json:"commits_per_s"`
	RowsPerCommit float64 `json:"rows_per_commit"`
	P50           float64 `json:"p50_ms"`
	P99           float64 `json:"p99_ms"`
	Max           float64 `json:"max_ms"`
	BusyPercent   float64 `json:"busy_percent"`
}

type result struct {
	Date        string  `json:"date"`
	Args        string  `json:"args"`
	GoVersion   string  `json:"go"`
	CPUs        int     `json:"cpus"`
	GOMAXPROCS  int     `json:"gomaxprocs"`
	LoadStart   string  `json:"loadavg_start"`
	LoadEnd     string  `json:"loadavg_end"`
	Type        string  `json:"type"`
	N           int     `json:"n"`
	Interval    float64 `json:"interval_s"`
	Keepalive   bool    `json:"keepalive"`
	Concurrency int     `json:"concurrency"`
	Ports       int     `json:"ports"`
	Warmup      float64 `json:"warmup_s"`
	Window      float64 `json:"window_s"`
	NofileSoft  uint64  `json:"nofile_soft"`
	NofileHard  uint64  `json:"nofile_hard"`

	ParseSeconds     float64 `json:"config_parse_s"`
	EngineNewSeconds float64 `json:"engine_new_s"`
	Cold             coldStats

	ExpectedPerSec  float64          `json:"expected_per_s"`
	Persisted       int64            `json:"persisted"`
	PersistedPerSec float64          `json:"persisted_per_s"`
	ExpectedRuns    int64            `json:"expected_runs"`
	ExecutedRuns    int64            `json:"executed_runs"`
	Missed          int64            `json:"missed"`
	Status          map[string]int64 `json:"status_all_runs"`
	CommitErrors    int64            `json:"commit_errors"`
	NegativeLag     int64            `json:"negative_lag_runs"`

	CPUSeconds           float64 `json:"cpu_s"`
	CPUPercentCore       float64 `json:"cpu_percent_core"`
	CPUMicrosPerCheck    float64 `json:"cpu_us_per_check"`
	CPUSecondsPer1000    float64 `json:"cpu_s_per_1000"`
	TargetCPUSeconds     float64 `json:"target_cpu_s"`
	TargetCPUPercent     float64 `json:"target_cpu_percent_core"`
	TargetMicrosPerCheck float64 `json:"target_cpu_us_per_check"`
	MachineBusyCores     float64 `json:"machine_busy_cores"`
	MachineStealPercent  float64 `json:"machine_steal_percent"`
	OtherCores           float64 `json:"other_processes_cores"`
	CPUPressurePercent   float64 `json:"cpu_pressure_some_percent"`
	CheckDurP50          float64 `json:"check_duration_p50_ms_histogram"`
	CheckDurP99          float64 `json:"check_duration_p99_ms_histogram"`
	GCCycles             uint32  `json:"gc_cycles"`

	RSSBaseline           int64   `json:"rss_baseline"`
	HWMParse              int64   `json:"hwm_config_parse"`
	RSSAfterParse         int64   `json:"rss_after_parse"`
	RSS                   int64   `json:"rss"`
	HWM                   int64   `json:"hwm_run"`
	HeapInuse             int64   `json:"heap_inuse"`
	GoSys                 int64   `json:"go_sys"`
	BytesPerCheck         float64 `json:"rss_bytes_per_check"`
	BytesPerCheckOverBase float64 `json:"rss_bytes_per_check_over_parse"`
	HarnessBytes          int64   `json:"harness_bytes_est"`
	Goroutines            int     `json:"goroutines"`
	TargetRSS             int64   `json:"target_rss"`

	Lag      lagStats    `json:"lag"`
	LagHisto histoStats  `json:"lag_engine_histogram"`
	Commit   commitStats `json:"commit"`

	ListenOverflows int64 `json:"listen_overflows"`
	ListenDrops     int64 `json:"listen_drops"`
	TimeWait        int64 `json:"time_wait_at_end"`
}

func (r *result) print(w io.Writer) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	ka := "fresh connection per check"
	if r.Keepalive {
		ka = "keep-alive"
	}
	if r.Type == "tcp" {
		ka = "connect+close"
	}
	p("mamori load test: %s × %d every %gs (%s), max_concurrent %d, %d target ports", r.Type, r.N, r.Interval, ka, r.Concurrency, r.Ports)
	p("  %s, %s, %d CPUs, GOMAXPROCS %d, load avg %s → %s, open files %d/%d", r.Date, r.GoVersion, r.CPUs, r.GOMAXPROCS, r.LoadStart, r.LoadEnd, r.NofileSoft, r.NofileHard)
	p("")
	p("START")
	p("  %-34s %10.2f s", "config.Parse", r.ParseSeconds)
	p("  %-34s %10.2f s", "engine.New", r.EngineNewSeconds)
	if r.Cold.AllRan {
		p("  %-34s %10.1f s  (interval %gs: %s)", "every check ran once after", r.Cold.AllRanSeconds, r.Interval, verdict(r.Cold.AllRanSeconds <= r.Interval+1))
	} else {
		p("  %-34s %10s    only %d of %d ran once by the end", "every check ran once after", "NEVER", r.Cold.FirstRuns, r.N)
	}
	p("  %-34s %10.1f /s peak 1-s bin vs %.1f /s mean", "first runs spread", r.Cold.PeakPerSec, r.Cold.MeanPerSec)
	p("  %-34s %10.1f / %.1f / %.1f ms", "first-run lag p50 / p99 / max", r.Cold.LagP50, r.Cold.LagP99, r.Cold.LagMax)
	p("")
	p("THROUGHPUT (window %.1f s after %.0f s warmup)", r.Window, r.Warmup)
	p("  %-34s %10.1f /s", "expected (N / interval)", r.ExpectedPerSec)
	p("  %-34s p50 %.1f, p99 %.1f ms (engine histogram, interpolated)", "check duration", r.CheckDurP50, r.CheckDurP99)
	p("  %-34s %10.1f /s  (%.1f %%)", "persisted (results committed)", r.PersistedPerSec, 100*r.PersistedPerSec/r.ExpectedPerSec)
	p("  %-34s %10d of %d due in the window; missed %d", "runs started", r.ExecutedRuns, r.ExpectedRuns, r.Missed)
	p("  %-34s ok %d, warning %d, critical %d, unknown %d; commit errors %d", "results (whole run)", r.Status["ok"], r.Status["warning"], r.Status["critical"], r.Status["unknown"], r.CommitErrors)
	p("")
	p("CPU (mamori process: getrusage self, user+sys)")
	p("  %-34s %10.2f s", "CPU seconds in window", r.CPUSeconds)
	p("  %-34s %10.1f %%", "of one core", r.CPUPercentCore)
	p("  %-34s %10.1f µs", "per persisted check", r.CPUMicrosPerCheck)
	p("  %-34s %10.3f s", "per 1,000 checks", r.CPUSecondsPer1000)
	p("  %-34s %10d", "GC cycles in window", r.GCCycles)
	p("  %-34s %10.1f %% of a core, %.1f µs per check", "target process (separate)", r.TargetCPUPercent, r.TargetMicrosPerCheck)
	p("  %-34s %10.2f cores busy (of %d), others %.2f, steal %.1f %%", "whole machine", r.MachineBusyCores, r.CPUs, r.OtherCores, r.MachineStealPercent)
	p("  %-34s %10.1f %% of the window some task waited for a CPU", "CPU pressure (PSI some)", r.CPUPressurePercent)
	p("")
	p("MEMORY (mamori process)")
	p("  %-34s %10s", "VmRSS at window end", mib(r.RSS))
	p("  %-34s %10s  (reset after config parsing)", "VmHWM during the run", mib(r.HWM))
	p("  %-34s %10s  (before: %s; after parse + FreeOSMemory: %s)", "VmHWM through config parsing", mib(r.HWMParse), mib(r.RSSBaseline), mib(r.RSSAfterParse))
	p("  %-34s %10.0f B  (%.0f B above the post-parse baseline)", "RSS per check", r.BytesPerCheck, r.BytesPerCheckOverBase)
	p("  %-34s %10s  (Go Sys %s), %d goroutines", "Go heap in use", mib(r.HeapInuse), mib(r.GoSys), r.Goroutines)
	p("  %-34s %10s  (included above)", "harness bookkeeping, estimate", mib(r.HarnessBytes))
	p("  %-34s %10s", "target process RSS", mib(r.TargetRSS))
	p("")
	p("SCHEDULER LAG (runs due in the window)")
	p("  %-34s p50 %.2f, p90 %.2f, p99 %.2f, p99.9 %.2f, max %.2f ms  (%d runs; >250 ms: %d, >1 s: %d)", "exact (harness)",
		r.Lag.P50, r.Lag.P90, r.Lag.P99, r.Lag.P999, r.Lag.Max, r.Lag.N, r.Lag.Over250ms, r.Lag.Over1s)
	top := ""
	if r.LagHisto.P99OverTop {
		top = " (above the last bucket: a floor)"
	}
	p("  %-34s p50 %.2f, p99 %.2f ms%s, mean %.2f ms  (%d dispatches)", "engine histogram, interpolated", r.LagHisto.P50, r.LagHisto.P99, top, r.LagHisto.Mean, r.LagHisto.N)
	p("")
	p("STORE COMMIT (SQLite, one transaction per batch)")
	p("  %-34s %10.1f /s, %.1f rows each", "commits", r.Commit.PerSec, r.Commit.RowsPerCommit)
	p("  %-34s p50 %.2f, p99 %.2f, max %.2f ms; writer busy %.1f %%", "commit time", r.Commit.P50, r.Commit.P99, r.Commit.Max, r.Commit.BusyPercent)
	p("")
	p("NETWORK  listen overflows %d, listen drops %d, TIME_WAIT sockets at end %d", r.ListenOverflows, r.ListenDrops, r.TimeWait)
}

func verdict(ok bool) string {
	if ok {
		return "within one interval"
	}
	return "LONGER than one interval"
}
