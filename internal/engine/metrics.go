package engine

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/mamori/mamori/internal/check"
)

// Metrics are the engine's Prometheus metrics, on their own registry.
type Metrics struct {
	Registry      *prometheus.Registry
	runs          *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	lag           prometheus.Histogram
	commit        prometheus.Histogram
	commitErrors  prometheus.Counter
	stateChanges  *prometheus.CounterVec
	reloads       *prometheus.CounterVec
	lastLagSecond prometheus.Gauge
	lateResults   prometheus.Counter
	reread        prometheus.Histogram
}

func newMetrics(e *Engine) *Metrics {
	m := &Metrics{Registry: e.registry}
	if m.Registry == nil {
		m.Registry = prometheus.NewRegistry()
	}
	m.runs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mamori_checks_run_total", Help: "Check runs by type and resulting status."}, []string{"type", "state"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "mamori_check_duration_seconds", Help: "Check run time by type.",
		Buckets: []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}, []string{"type"})
	m.lag = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "mamori_scheduler_lag_seconds", Help: "How late checks start compared with their schedule.",
		// Fine at the low end, where a healthy scheduler lives, so that a p99 can
		// be read from the histogram itself.
		Buckets: []float64{.0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}})
	m.lastLagSecond = prometheus.NewGauge(prometheus.GaugeOpts{Name: "mamori_scheduler_last_lag_seconds", Help: "Lag of the most recent dispatch."})
	m.commit = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "mamori_store_commit_seconds", Help: "Time to commit a batch of results.",
		Buckets: []float64{.0005, .001, .005, .01, .05, .1, .5, 1}})
	m.commitErrors = prometheus.NewCounter(prometheus.CounterOpts{Name: "mamori_store_commit_errors_total", Help: "Failed result commits (the state is not advanced; the check reruns)."})
	m.reread = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "mamori_follower_reread_seconds", Help: "Time a follower takes to re-read every check's state from the store (the next re-read waits 2 s or nine times this, whichever is longer).",
		Buckets: prometheus.ExponentialBuckets(0.001, 4, 8)})
	m.stateChanges = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mamori_state_changes_total", Help: "State changes by kind (soft or hard)."}, []string{"kind"})
	m.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mamori_config_reloads_total", Help: "Configuration reloads by outcome."}, []string{"outcome"})
	m.lateResults = prometheus.NewCounter(prometheus.CounterOpts{Name: "mamori_results_late_total", Help: "Results older than their check's last one (buffered by a poller), kept in the history without moving the state."})
	m.Registry.MustRegister(m.runs, m.duration, m.lag, m.lastLagSecond, m.commit, m.commitErrors, m.stateChanges, m.reloads, m.lateResults, m.reread,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mamori_scheduler_jobs", Help: "Scheduled checks."},
		func() float64 { return float64(e.sched.Len()) }))
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mamori_scheduler_running", Help: "Checks running now."},
		func() float64 { return float64(e.sched.Running()) }))
	m.Registry.MustRegister(buildInfo())
	m.Registry.MustRegister(&stateCollector{e: e, desc: prometheus.NewDesc("mamori_checks", "Checks by current status and state type.", []string{"state", "state_type"}, nil)})
	return m
}

// stateCollector counts checks per state at scrape time.
type stateCollector struct {
	e    *Engine
	desc *prometheus.Desc
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	var counts [4][2]int
	for _, v := range c.e.Snapshot() {
		counts[v.Status.ExitCode()][int(v.Type)]++
	}
	for s := check.OK; s <= check.Unknown; s++ {
		for t, tn := range []string{"hard", "soft"} {
			ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(counts[s][t]), s.String(), tn)
		}
	}
}
