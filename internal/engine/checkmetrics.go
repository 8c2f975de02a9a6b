package engine

import (
	"runtime"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mamori/mamori/internal/buildinfo"
	"github.com/mamori/mamori/internal/state"
)

// checkCollector exports each check's state at scrape time, so that a
// Prometheus and Alertmanager shop can alert on mamori's checks:
//
//	mamori_check_state{check,host,type,tenant}                    0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN
//	mamori_check_hard_state{check,host,type,tenant}               1 when the state is hard
//	mamori_check_last_duration_seconds{check,host,type,tenant}    run time of the last result
//	mamori_check_last_run_timestamp_seconds{check,host,type,tenant}
//
// A check that has not run yet has no series.
type checkCollector struct {
	e                         *Engine
	state, hard, dur, lastRun *prometheus.Desc
}

var checkLabels = []string{"check", "host", "type", "tenant"}

func newCheckCollector(e *Engine) *checkCollector {
	return &checkCollector{
		e:       e,
		state:   prometheus.NewDesc("mamori_check_state", "Current status of the check: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.", checkLabels, nil),
		hard:    prometheus.NewDesc("mamori_check_hard_state", "1 when the check's current state is hard (confirmed), 0 while soft.", checkLabels, nil),
		dur:     prometheus.NewDesc("mamori_check_last_duration_seconds", "Run time of the check's last result.", checkLabels, nil),
		lastRun: prometheus.NewDesc("mamori_check_last_run_timestamp_seconds", "Unix time of the check's last result.", checkLabels, nil),
	}
}

func (c *checkCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.state
	ch <- c.hard
	ch <- c.dur
	ch <- c.lastRun
}

func (c *checkCollector) Collect(ch chan<- prometheus.Metric) {
	for _, v := range c.e.Snapshot() {
		if v.Pending() {
			continue
		}
		lv := []string{v.Name, v.Host, v.CheckType, v.Tenant}
		hard := 0.0
		if v.Type == state.Hard {
			hard = 1
		}
		ch <- prometheus.MustNewConstMetric(c.state, prometheus.GaugeValue, float64(v.Status.ExitCode()), lv...)
		ch <- prometheus.MustNewConstMetric(c.hard, prometheus.GaugeValue, hard, lv...)
		ch <- prometheus.MustNewConstMetric(c.dur, prometheus.GaugeValue, v.Duration.Seconds(), lv...)
		ch <- prometheus.MustNewConstMetric(c.lastRun, prometheus.GaugeValue, float64(v.LastCheck.UnixMilli())/1000, lv...)
	}
}

// buildInfo is mamori_build_info, as Prometheus' own prometheus_build_info.
func buildInfo() prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "mamori_build_info",
		Help: "A metric with a constant '1' value labeled by version, revision, branch and goversion from which mamori was built.",
		ConstLabels: prometheus.Labels{
			"version": buildinfo.Short(), "revision": buildinfo.Revision, "branch": buildinfo.Branch,
			"goversion": runtime.Version(), "goos": runtime.GOOS, "goarch": runtime.GOARCH,
		},
	}, func() float64 { return 1 })
}
