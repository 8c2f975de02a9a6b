// Package remotewrite sends the samples mamori stores to other Prometheus-
// compatible stores (Prometheus with --web.enable-remote-write-receiver,
// Mimir, VictoriaMetrics, Grafana Cloud…) with the Prometheus remote write
// 1.0 protocol: snappy-compressed protobuf WriteRequests, POSTed in order.
//
// Every committed write of the time-series store (agent metrics, check
// perfdata) is filtered per target, encoded and appended to that target's
// queue on disk before anything is sent, so a receiver that is down loses
// nothing: the queue is sent, oldest first, when it is back. The queue is
// bounded; what the bound drops is counted, never silent.
package remotewrite

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"

	"github.com/mamori/mamori/internal/buildinfo"
	"github.com/mamori/mamori/internal/metrics"
)

// Target is one receiver.
type Target struct {
	Name     string
	URL      string
	Auth     func(*http.Request) // sets the credentials; nil: none
	Tenants  map[string]bool     // only series of these tenants; empty: all
	Include  *regexp.Regexp      // only metric names it matches; nil: all
	MaxQueue int64               // bytes on disk at most (default 512 MiB)
	Timeout  time.Duration       // of one request (default 30s)
}

// Writer queues and sends to one Target.
type Writer struct {
	t      Target
	q      *queue
	client *http.Client
	log    *slog.Logger
	m      *writerMetrics
	minBO  time.Duration
	maxBO  time.Duration
}

// New opens the target's queue in dir.
func New(t Target, dir string, client *http.Client, log *slog.Logger, m *Metrics) (*Writer, error) {
	if t.MaxQueue <= 0 {
		t.MaxQueue = 512 << 20
	}
	if t.Timeout <= 0 {
		t.Timeout = 30 * time.Second
	}
	if client == nil {
		client = &http.Client{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if m == nil {
		m = NewMetrics()
	}
	q, err := openQueue(dir, t.MaxQueue)
	if err != nil {
		return nil, fmt.Errorf("remote write %s: %w", t.Name, err)
	}
	w := &Writer{t: t, q: q, client: client, log: log.With("remote_write", t.Name), m: m.of(t.Name), minBO: 500 * time.Millisecond, maxBO: 30 * time.Second}
	w.m.queueBytes.Set(float64(q.pending()))
	return w, nil
}

// Observe queues the samples of one committed write that the target
// takes (metrics.WithAppendHook).
func (w *Writer) Observe(samples []metrics.Appended) {
	req := prompb.WriteRequest{}
	idx := map[string]int{}
	n := 0
	for _, s := range samples {
		if !w.takes(s) {
			continue
		}
		key := s.Labels.String()
		i, ok := idx[key]
		if !ok {
			i = len(req.Timeseries)
			idx[key] = i
			ts := prompb.TimeSeries{Labels: make([]prompb.Label, 0, s.Labels.Len())}
			s.Labels.Range(func(l labels.Label) { ts.Labels = append(ts.Labels, prompb.Label{Name: l.Name, Value: l.Value}) })
			req.Timeseries = append(req.Timeseries, ts)
		}
		req.Timeseries[i].Samples = append(req.Timeseries[i].Samples, prompb.Sample{Timestamp: s.T, Value: s.V})
		n++
	}
	if n == 0 {
		return
	}
	b, err := req.Marshal()
	if err == nil {
		err = w.q.append(snappy.Encode(nil, b))
	}
	if err != nil {
		w.m.samples.WithLabelValues("dropped").Add(float64(n))
		w.log.Error("remote write: cannot queue samples: they are dropped", "samples", n, "err", err)
		return
	}
	w.m.samples.WithLabelValues("queued").Add(float64(n))
	w.m.queueBytes.Set(float64(w.q.pending()))
}

func (w *Writer) takes(s metrics.Appended) bool {
	if len(w.t.Tenants) > 0 && !w.t.Tenants[s.Labels.Get(metrics.TenantLabel)] {
		return false
	}
	return w.t.Include == nil || w.t.Include.MatchString(s.Labels.Get("__name__"))
}

// Run sends the queue, oldest first, until ctx ends. A failed request is
// retried with growing pauses (the receiver is down or overloaded); only
// a request the receiver refuses as bad (4xx other than 429) is dropped,
// and counted.
func (w *Writer) Run(ctx context.Context) {
	defer w.q.close()
	pause := w.minBO
	for ctx.Err() == nil {
		rec, p, ok, err := w.q.peek()
		if err != nil {
			w.log.Error("remote write: reading the queue", "err", err)
			if !sleep(ctx, w.maxBO) {
				return
			}
			continue
		}
		if !ok {
			select {
			case <-ctx.Done():
				return
			case <-w.q.ready:
			}
			continue
		}
		err = w.send(ctx, rec)
		var bad *refused
		switch {
		case err == nil:
			pause = w.minBO
		case asRefused(err, &bad):
			w.log.Error("remote write: the receiver refused a request as bad: dropped", "status", bad.status, "answer", bad.body)
			w.m.requests.WithLabelValues("refused").Inc()
		default:
			w.m.requests.WithLabelValues("failed").Inc()
			w.log.Warn("remote write: receiver unreachable; the queue waits", "err", err, "retry_in", pause, "queued_bytes", w.q.pending())
			if !sleep(ctx, pause) {
				return
			}
			pause = min(pause*2, w.maxBO)
			continue
		}
		if err == nil {
			w.m.requests.WithLabelValues("sent").Inc()
		}
		if err := w.q.ack(rec, p); err != nil {
			w.log.Error("remote write: saving the queue position", "err", err)
		}
		w.m.queueBytes.Set(float64(w.q.pending()))
	}
}

type refused struct {
	status int
	body   string
}

func (r *refused) Error() string { return fmt.Sprintf("refused: %d %s", r.status, r.body) }

func asRefused(err error, out **refused) bool {
	r, ok := err.(*refused)
	if ok {
		*out = r
	}
	return ok
}

func (w *Writer) send(ctx context.Context, rec []byte) error {
	ctx, cancel := context.WithTimeout(ctx, w.t.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.t.URL, bytes.NewReader(rec))
	if err != nil {
		return &refused{0, err.Error()}
	}
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	req.Header.Set("User-Agent", "mamori/"+buildinfo.Short())
	if w.t.Auth != nil {
		w.t.Auth(req)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	switch {
	case resp.StatusCode/100 == 2:
		return nil
	case resp.StatusCode/100 == 4 && resp.StatusCode != http.StatusTooManyRequests:
		return &refused{resp.StatusCode, string(bytes.TrimSpace(body))}
	}
	return fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(body))
}

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

// Metrics are the writers' series (mamori_remote_write_*).
type Metrics struct {
	samples    *prometheus.CounterVec
	requests   *prometheus.CounterVec
	queueBytes *prometheus.GaugeVec
}

// NewMetrics makes the collectors; register Collectors().
func NewMetrics() *Metrics {
	return &Metrics{
		samples: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mamori_remote_write_samples_total",
			Help: "Samples for remote write targets: queued on disk, or dropped (queue full or unwritable)."}, []string{"remote", "result"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mamori_remote_write_requests_total",
			Help: "Remote write requests: sent, failed (retried), refused by the receiver as bad (dropped)."}, []string{"remote", "result"}),
		queueBytes: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "mamori_remote_write_queue_bytes",
			Help: "Bytes queued on disk, not yet taken by the receiver."}, []string{"remote"}),
	}
}

// Collectors are the collectors to register.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.samples, m.requests, m.queueBytes}
}

type writerMetrics struct {
	samples, requests *prometheus.CounterVec
	queueBytes        prometheus.Gauge
}

func (m *Metrics) of(name string) *writerMetrics {
	return &writerMetrics{samples: m.samples.MustCurryWith(prometheus.Labels{"remote": name}),
		requests: m.requests.MustCurryWith(prometheus.Labels{"remote": name}), queueBytes: m.queueBytes.WithLabelValues(name)}
}
