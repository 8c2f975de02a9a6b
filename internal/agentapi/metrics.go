package agentapi

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the agent API's counters. Register them with
// registry.MustRegister(api.Metrics().Collectors()...).
type Metrics struct {
	rejected       *prometheus.CounterVec
	batches        *prometheus.CounterVec
	results        *prometheus.CounterVec
	samples        *prometheus.CounterVec
	droppedResults *prometheus.CounterVec
	droppedSamples *prometheus.CounterVec
	lastSeen       *prometheus.GaugeVec
	pushes         *prometheus.CounterVec
	requests       *prometheus.CounterVec
	resyncs        prometheus.Counter
}

func newMetrics() *Metrics {
	return &Metrics{
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mamori_agent_rejected_requests_total",
			Help: "Agent and push requests (or batch items: reason=items) refused, by route and reason."}, []string{"route", "reason"}),
		batches: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mamori_agent_batches_total",
			Help: "Agent batches by outcome: stored, replayed (Seq already stored), empty, rejected, failed."}, []string{"outcome"}),
		results: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mamori_agent_results_total",
			Help: "Agent check results by outcome: stored, rejected."}, []string{"outcome"}),
		samples: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mamori_agent_samples_total",
			Help: "Agent metric samples by outcome: stored, rejected, discarded (no time-series store)."}, []string{"outcome"}),
		droppedResults: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mamori_agent_dropped_results_total",
			Help: "Results an agent reported it discarded because its spool was full."}, []string{"host"}),
		droppedSamples: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mamori_agent_dropped_samples_total",
			Help: "Samples an agent reported it discarded because its spool was full."}, []string{"host"}),
		lastSeen: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "mamori_agent_last_seen_timestamp_seconds",
			Help: "Unix time of the last authenticated contact of a host's agent."}, []string{"host"}),
		pushes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mamori_push_reports_total",
			Help: "Job reports to /api/v1/push/{token} by outcome: accepted, rejected, unknown_token, failed."}, []string{"outcome"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mamori_agent_requests_total",
			Help: "Server-to-agent requests by outcome: answered, timeout, cancelled."}, []string{"outcome"}),
		resyncs: prometheus.NewCounter(prometheus.CounterOpts{Name: "mamori_agent_seq_resyncs_total",
			Help: "Hosts whose stored batch Seq was re-synchronised to their agent's numbering (agent state reset, or a forged batch)."}),
	}
}

// Collectors lists every collector, for registration.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.rejected, m.batches, m.results, m.samples, m.droppedResults, m.droppedSamples, m.lastSeen, m.pushes, m.requests, m.resyncs}
}
