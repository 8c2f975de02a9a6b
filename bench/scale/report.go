package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"time"
)

// snap is everything read at one end of the window.
type snap struct {
	at         time.Time
	m          machine
	serverCPU  float64
	pollerCPU  []float64
	harnessCPU float64 // this process: the tcp target
	natsCPU    float64 // our nats-server (0 with -nats)
	pgPIDs     []int
	pgCPU      map[int]float64
	pg         pgStats
	server     scrape
	pollers    []scrape
}

func (s *setup) snapshot(ctx context.Context) (*snap, error) {
	n := &snap{at: time.Now(), m: readMachine(), pgCPU: map[int]float64{}}
	var err error
	if n.serverCPU, err = cpuSeconds(s.server.cmd.Process.Pid); err != nil {
		return nil, err
	}
	for i, p := range s.pollers {
		c, err := cpuSeconds(p.cmd.Process.Pid)
		if err != nil {
			return nil, err
		}
		n.pollerCPU = append(n.pollerCPU, c)
		ps, err := getMetrics(s.pAddrs[i])
		if err != nil {
			return nil, err
		}
		n.pollers = append(n.pollers, ps)
	}
	n.harnessCPU, _ = cpuSeconds(os.Getpid())
	if s.nats != nil {
		n.natsCPU, _ = cpuSeconds(s.nats.cmd.Process.Pid)
	}
	n.pgPIDs = s.db.backendPIDs(ctx)
	for _, pid := range n.pgPIDs {
		if c, err := cpuSeconds(pid); err == nil {
			n.pgCPU[pid] = c
		}
	}
	if n.pg, err = s.db.stats(ctx); err != nil {
		return nil, err
	}
	if n.server, err = getMetrics(s.addr); err != nil {
		return nil, err
	}
	return n, nil
}

// report holds the figures of a run (printed, and written as JSON).
type report struct {
	Checks, Pollers                int
	Interval, Window               string
	CPUs                           int
	LoadStart, LoadEnd             string
	OthersCores, StealPct          float64
	Expected, Persisted            float64 // results/s
	ExecutedPct                    float64 // results run in the window and stored / expected
	StoredInWindow, ChecksInWindow int64
	ServerCorePct, ServerUSPerRes  float64
	PollerCorePct, PollerUSPerRes  []float64
	HarnessCorePct                 float64
	NATSCorePct, NATSUSPerRes      float64
	PGBackendsCorePct              float64 // the backends of the run's database that lived through the window
	PGBackendsUSPerRes             float64
	ServerRSSMiB                   float64
	PollerRSSMiB                   []float64
	PGResultsRowsPerS              float64
	PGStateUpdatesPerS, PGHotPct   float64
	PGEventsPerS, PGCommitsPerS    float64
	PGDatabaseMiB                  float64
	Commits                        float64 // engine writer's transactions in the window
	RowsPerCommit                  float64
	CommitP50ms, CommitP99ms       float64
	WriterBusyPct                  float64
	CommitErrors                   float64
	DelayCount                     float64
	DelayP50ms, DelayP90ms         float64
	DelayP99ms, DelayMaxBucket     float64
	DelayWithin1s                  float64
	LagP99ms                       float64
	JobsQueuedPerS, JobErrors      float64
	Recorded, Retried, Refused     float64
	PollerJobs                     []float64
}

func (s *setup) report(ctx context.Context, o options, a, b *snap) (*report, error) {
	win := b.at.Sub(a.at).Seconds()
	r := &report{Checks: o.n, Pollers: o.pollers, Interval: o.interval.String(), Window: fmt.Sprintf("%.1fs", win), CPUs: runtime.NumCPU(),
		LoadStart: a.m.load, LoadEnd: readMachine().load, Expected: float64(o.n) / o.interval.Seconds()}
	total := b.m.total - a.m.total
	busyCores := float64(r.CPUs) * (b.m.busy - a.m.busy) / total
	r.StealPct = 100 * (b.m.steal - a.m.steal) / total
	core := func(d float64) float64 { return 100 * d / win }
	ours := b.serverCPU - a.serverCPU + b.harnessCPU - a.harnessCPU
	r.ServerCorePct, r.HarnessCorePct = core(b.serverCPU-a.serverCPU), core(b.harnessCPU-a.harnessCPU)
	res := float64(b.pg.ResultsIns - a.pg.ResultsIns)
	r.Persisted = res / win
	perRes := func(d float64) float64 { return 1e6 * d / math.Max(res, 1) }
	r.ServerUSPerRes = perRes(b.serverCPU - a.serverCPU)
	for i := range b.pollerCPU {
		d := b.pollerCPU[i] - a.pollerCPU[i]
		ours += d
		r.PollerCorePct, r.PollerUSPerRes = append(r.PollerCorePct, core(d)), append(r.PollerUSPerRes, perRes(d))
		r.PollerRSSMiB = append(r.PollerRSSMiB, rssMiB(s.pollers[i].cmd.Process.Pid))
		r.PollerJobs = append(r.PollerJobs, b.pollers[i].sum("mamori_poller_jobs_run_total")-a.pollers[i].sum("mamori_poller_jobs_run_total"))
	}
	pg := 0.0
	for pid, c := range a.pgCPU {
		if c2, ok := b.pgCPU[pid]; ok {
			pg += c2 - c
		}
	}
	r.PGBackendsCorePct, r.PGBackendsUSPerRes = core(pg), perRes(pg)
	nats := b.natsCPU - a.natsCPU
	r.NATSCorePct, r.NATSUSPerRes = core(nats), perRes(nats)
	r.OthersCores = busyCores - (ours+pg+nats)/win
	r.ServerRSSMiB = rssMiB(s.server.cmd.Process.Pid)
	r.pgFigures(a.pg, b.pg, win)
	r.PGDatabaseMiB = s.db.size(ctx)
	r.serverFigures(a.server, b.server, win, res)
	var err error
	r.StoredInWindow, r.ChecksInWindow, err = s.db.resultsBetween(ctx, a.at, b.at)
	r.ExecutedPct = 100 * float64(r.StoredInWindow) / (r.Expected * win)
	return r, err
}

func (r *report) pgFigures(a, b pgStats, win float64) {
	r.PGResultsRowsPerS = float64(b.ResultsIns-a.ResultsIns) / win
	upd := float64(b.ChecksUpd - a.ChecksUpd)
	r.PGStateUpdatesPerS = upd / win
	if upd > 0 {
		r.PGHotPct = 100 * float64(b.ChecksHot-a.ChecksHot) / upd
	}
	r.PGEventsPerS = float64(b.EventsIns-a.EventsIns) / win
	r.PGCommitsPerS = float64(b.Commits-a.Commits) / win
}

func (r *report) serverFigures(a, b scrape, win, res float64) {
	c := diffHistogram(a, b, "mamori_store_commit_seconds")
	r.Commits = c.count
	r.RowsPerCommit = res / math.Max(c.count, 1)
	r.CommitP50ms, r.CommitP99ms = 1e3*c.quantile(.5), 1e3*c.quantile(.99)
	r.WriterBusyPct = 100 * c.sum / win
	r.CommitErrors = b["mamori_store_commit_errors_total"] - a["mamori_store_commit_errors_total"]
	d := diffHistogram(a, b, "mamori_broker_result_delay_seconds")
	r.DelayCount = d.count
	r.DelayP50ms, r.DelayP90ms, r.DelayP99ms = 1e3*d.quantile(.5), 1e3*d.quantile(.9), 1e3*d.quantile(.99)
	r.DelayMaxBucket = 1e3 * d.quantile(1)
	r.DelayWithin1s = 100 * d.within(1)
	r.LagP99ms = 1e3 * diffHistogram(a, b, "mamori_scheduler_lag_seconds").quantile(.99)
	r.JobsQueuedPerS = (b["mamori_broker_jobs_queued_total"] - a["mamori_broker_jobs_queued_total"]) / win
	r.JobErrors = b["mamori_broker_job_errors_total"] - a["mamori_broker_job_errors_total"]
	o := func(k string) float64 {
		key := `mamori_broker_results_total{outcome="` + k + `"}`
		return b[key] - a[key]
	}
	r.Recorded, r.Retried, r.Refused = o("recorded"), o("retried"), o("refused")
}

func (r *report) print(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format+"\n", args...) }
	p("SCALE  %d tcp checks every %s, %d pollers, window %s, %d CPUs, load %s → %s, others %.2f cores, steal %.1f %%",
		r.Checks, r.Interval, r.Pollers, r.Window, r.CPUs, r.LoadStart, r.LoadEnd, r.OthersCores, r.StealPct)
	p("THROUGHPUT  expected %.1f/s  persisted %.1f/s  executed %.2f %% (%d results run in the window, %d checks)",
		r.Expected, r.Persisted, r.ExecutedPct, r.StoredInWindow, r.ChecksInWindow)
	p("CPU  server %.1f %% of a core (%.0f µs/result, RSS %.0f MiB)", r.ServerCorePct, r.ServerUSPerRes, r.ServerRSSMiB)
	for i := range r.PollerCorePct {
		p("     poller%d %.1f %% of a core (%.0f µs/result of all, %.0f jobs run, RSS %.0f MiB)", i+1, r.PollerCorePct[i], r.PollerUSPerRes[i], r.PollerJobs[i], r.PollerRSSMiB[i])
	}
	p("     PostgreSQL backends of the database %.1f %% (%.0f µs/result); nats-server %.1f %% (%.0f µs/result); harness (tcp target) %.1f %%",
		r.PGBackendsCorePct, r.PGBackendsUSPerRes, r.NATSCorePct, r.NATSUSPerRes, r.HarnessCorePct)
	p("POSTGRESQL  results rows %.1f/s, state updates %.1f/s (HOT %.0f %%), events %.2f/s, commits %.1f/s, database %.0f MiB",
		r.PGResultsRowsPerS, r.PGStateUpdatesPerS, r.PGHotPct, r.PGEventsPerS, r.PGCommitsPerS, r.PGDatabaseMiB)
	p("WRITER  %.0f commits, %.1f rows/commit, p50 %.1f ms p99 %.1f ms, busy %.1f %%, errors %.0f",
		r.Commits, r.RowsPerCommit, r.CommitP50ms, r.CommitP99ms, r.WriterBusyPct, r.CommitErrors)
	p("DUE → COMMITTED  %.0f results: p50 %.0f ms  p90 %.0f ms  p99 %.0f ms  (≤ 1 s: %.2f %%; histogram-interpolated)",
		r.DelayCount, r.DelayP50ms, r.DelayP90ms, r.DelayP99ms, r.DelayWithin1s)
	p("BROKER  jobs queued %.1f/s (errors %.0f), results recorded %.0f, retried %.0f, refused %.0f; scheduler lag p99 %.1f ms",
		r.JobsQueuedPerS, r.JobErrors, r.Recorded, r.Retried, r.Refused, r.LagP99ms)
}
