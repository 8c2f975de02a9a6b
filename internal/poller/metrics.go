package poller

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

type metrics struct {
	reg       *prometheus.Registry
	runs      *prometheus.CounterVec
	dropped   prometheus.Counter
	sent      prometheus.Counter
	connected prometheus.Gauge
	relayed   *prometheus.CounterVec
}

func newMetrics(p *Poller) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	labels := prometheus.Labels{"zone": p.o.Zone, "poller": p.o.Name}
	m.runs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mamori_poller_jobs_run_total", ConstLabels: labels,
		Help: "Checks run, by mode (queued: a job from the zone's queue; offline: from the cache while the broker was unreachable) and status."}, []string{"mode", "state"})
	m.dropped = prometheus.NewCounter(prometheus.CounterOpts{Name: "mamori_poller_results_dropped_total", ConstLabels: labels,
		Help: "Results the bounded buffer dropped (oldest first) while the broker was unreachable."})
	m.sent = prometheus.NewCounter(prometheus.CounterOpts{Name: "mamori_poller_batches_sent_total", ConstLabels: labels, Help: "Result batches the broker stored."})
	m.relayed = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mamori_poller_agent_requests_total", ConstLabels: labels,
		Help: "Agent requests on --agent-listen, by outcome (relayed: answered by the server; link_down, no_server, timeout: answered 503; too_large: 413)."}, []string{"outcome"})
	m.connected = prometheus.NewGauge(prometheus.GaugeOpts{Name: "mamori_poller_connected", ConstLabels: labels, Help: "1 while connected to the broker."})
	buffered := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mamori_poller_buffered_batches", ConstLabels: labels, Help: "Result batches on disk not yet stored by the broker."},
		func() float64 { n, _ := p.spool.Pending(); return float64(n) })
	bytes := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "mamori_poller_buffered_bytes", ConstLabels: labels, Help: "Bytes of the result buffer on disk."},
		func() float64 { _, b := p.spool.Pending(); return float64(b) })
	m.reg.MustRegister(m.runs, m.dropped, m.sent, m.connected, m.relayed, buffered, bytes,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) setConnected(up bool) {
	if up {
		m.connected.Set(1)
	} else {
		m.connected.Set(0)
	}
}
