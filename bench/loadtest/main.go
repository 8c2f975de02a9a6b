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
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	_ "github.com/mamori/mamori/internal/check/all"
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
	scrape      time.Duration
	history     int
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
	flag.DurationVar(&o.scrape, "scrape", 15*time.Second, "write what a Prometheus scrape of /metrics gets this often (0: never)")
	flag.IntVar(&o.history, "history", 0, "results stored per check before the run, as after that many intervals (0..1000)")
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
	case o.history < 0 || o.history > 1000:
		return fmt.Errorf("-history must be 0..1000")
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
	HostSpeedBefore      float64 `json:"host_speed_ms_before"`
	HostSpeedAfter       float64 `json:"host_speed_ms_after"`
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
	Scrapes               int     `json:"scrapes"`
	ScrapeBytes           int64   `json:"scrape_bytes"`
	ScrapeMaxSeconds      float64 `json:"scrape_max_s"`
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
	p("  %-34s %10.1f ms before, %.1f ms after (SHA-256 of 32 MiB; lower is faster)", "host speed", r.HostSpeedBefore, r.HostSpeedAfter)
	p("")
	p("MEMORY (mamori process)")
	p("  %-34s %10s", "VmRSS at window end", mib(r.RSS))
	p("  %-34s %10s  (reset after config parsing)", "VmHWM during the run", mib(r.HWM))
	p("  %-34s %10s  (before: %s; after parse + FreeOSMemory: %s)", "VmHWM through config parsing", mib(r.HWMParse), mib(r.RSSBaseline), mib(r.RSSAfterParse))
	p("  %-34s %10.0f B  (%.0f B above the post-parse baseline)", "RSS per check", r.BytesPerCheck, r.BytesPerCheckOverBase)
	p("  %-34s %10s  (Go Sys %s), %d goroutines", "Go heap in use", mib(r.HeapInuse), mib(r.GoSys), r.Goroutines)
	p("  %-34s %10d  (%s each, longest %.2f s; included above)", "/metrics scrapes, whole run", r.Scrapes, mib(r.ScrapeBytes), r.ScrapeMaxSeconds)
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
