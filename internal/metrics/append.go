package metrics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/storage"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/wire"
)

// Limits on one sample's labels.
const (
	MaxLabels        = 32   // labels a client may send on one sample
	MaxNameLength    = 200  // bytes of a metric or label name
	MaxLabelValueLen = 1024 // bytes of a label value
)

// Rejection reasons, as counted in Rejections and in
// mamori_metrics_rejected_samples_total{reason}.
const (
	ReasonBadName       = "bad_metric_name"   // not [a-zA-Z_:][a-zA-Z0-9_:]*
	ReasonBadLabel      = "bad_label"         // bad label name, value not UTF-8, too long, too many
	ReasonReserved      = "reserved_label"    // host, instance, job, tenant or __* sent by the client
	ReasonFuture        = "too_far_in_future" // beyond the server clock + max future
	ReasonOutOfBounds   = "out_of_bounds"     // older than the store accepts at all
	ReasonTooOld        = "too_old"           // older than the out-of-order window
	ReasonOutOfOrder    = "out_of_order"      // out of order and out-of-order ingestion off
	ReasonDuplicate     = "duplicate"         // same series and time, different value
	ReasonStorageFailed = "storage"           // any other storage refusal
)

// Rejections is the error Append and AppendPerf return when some samples
// were refused; the others were stored. Counts is by reason (Reason*).
type Rejections struct {
	Counts   map[string]int
	Examples []string // up to 10 messages naming the sample
}

// Total is the number of refused samples.
func (r *Rejections) Total() int {
	n := 0
	for _, c := range r.Counts {
		n += c
	}
	return n
}

func (r *Rejections) Error() string {
	reasons := make([]string, 0, len(r.Counts))
	for k, c := range r.Counts {
		reasons = append(reasons, fmt.Sprintf("%s: %d", k, c))
	}
	sort.Strings(reasons)
	msg := fmt.Sprintf("metrics: %d samples rejected (%s)", r.Total(), strings.Join(reasons, ", "))
	if len(r.Examples) > 0 {
		msg += "; e.g. " + r.Examples[0]
	}
	return msg
}

func (r *Rejections) add(reason, example string) {
	if r.Counts == nil {
		r.Counts = map[string]int{}
	}
	r.Counts[reason]++
	if len(r.Examples) < 10 {
		r.Examples = append(r.Examples, example)
	}
}

// Append stores samples of host in one transaction, adding host=<host>,
// instance=<host>, job="node" (the labels Node Exporter dashboards select
// on) and, if the host has one, tenant=<tenant>. Samples that fail validation
// or that the database refuses (too old, duplicate…) are counted in a
// *Rejections error; the others are committed. Any other error means
// nothing was stored (accepted is then 0).
func (s *Store) Append(host string, samples []wire.Sample) (accepted int, err error) {
	if host == "" || !utf8.ValidString(host) || len(host) > MaxLabelValueLen {
		return 0, errors.New("metrics: host name empty, too long or not UTF-8")
	}
	if s.db == nil {
		return 0, ErrReadOnly
	}
	tenant := s.tenantOf(host)
	var rej Rejections
	app := s.db.Appender(context.Background())
	var b labels.ScratchBuilder
	maxT := s.opts.now().Add(s.opts.maxFuture).UnixMilli()
	// The database drops a second sample of a series at the same time in
	// one transaction silently at commit: find those here and count them.
	seen := make(map[seriesTime]float64, len(samples))
	var done []Appended
	for i := range samples {
		sm := &samples[i]
		lset, reason, msg := buildLabels(&b, sm.Name, sm.Labels, host, tenant)
		if reason == "" && sm.Time > maxT {
			reason, msg = ReasonFuture, fmt.Sprintf("%s at %s is in the future", sm.Name, time.UnixMilli(sm.Time).UTC().Format(time.RFC3339))
		}
		if reason == "" {
			k := seriesTime{lset.Hash(), sm.Time}
			if v, dup := seen[k]; dup {
				if math.Float64bits(v) == math.Float64bits(sm.Value) {
					accepted++ // the same sample twice: stored once
					continue
				}
				reason, msg = ReasonDuplicate, fmt.Sprintf("%s at %s: two different values in one batch", lset.String(), time.UnixMilli(sm.Time).UTC().Format(time.RFC3339))
			} else {
				seen[k] = sm.Value
			}
		}
		if reason == "" {
			reason, msg = s.appendOne(app, lset, sm.Time, sm.Value)
		}
		if reason != "" {
			rej.add(reason, msg)
			continue
		}
		accepted++
		done = s.appended1(done, lset, sm.Time, sm.Value)
	}
	return s.commit(app, accepted, &rej, done)
}

// appended1 remembers a sample for the append hook (if there is one).
func (s *Store) appended1(done []Appended, lset labels.Labels, t int64, v float64) []Appended {
	if s.opts.hook == nil {
		return done
	}
	return append(done, Appended{Labels: lset, T: t, V: v})
}

type seriesTime struct {
	hash uint64
	t    int64
}

// PerfMetric is the name of check perfdata series.
const PerfMetric = "mamori_check_perf"

// AppendPerf stores a check result's perfdata at t, one series per item:
//
//	mamori_check_perf{check="web1/http", host="web1", perf="time", unit="s", tenant="acme"}
//
// Only the value is stored (not warn/crit/min/max: thresholds belong to the
// configuration and would double the series). host and unit are left out
// when empty; tenant is the given one, or else the host's.
func (s *Store) AppendPerf(checkName, host, tenant string, t time.Time, perf []check.Metric) (accepted int, err error) {
	if len(perf) == 0 {
		return 0, nil
	}
	if s.db == nil {
		return 0, ErrReadOnly
	}
	if tenant == "" && host != "" {
		tenant = s.tenantOf(host)
	}
	var rej Rejections
	app := s.db.Appender(context.Background())
	var b labels.ScratchBuilder
	var done []Appended
	ts := t.UnixMilli()
	for _, m := range perf {
		b.Reset()
		b.Add(labels.MetricName, PerfMetric)
		b.Add("check", checkName)
		b.Add("perf", m.Label)
		if host != "" {
			b.Add(HostLabel, host)
		}
		if tenant != "" {
			b.Add(TenantLabel, tenant)
		}
		if m.Unit != "" {
			b.Add("unit", m.Unit)
		}
		ok := checkName != "" && m.Label != "" && utf8.ValidString(checkName+host+tenant+m.Label+m.Unit) &&
			len(checkName) <= MaxLabelValueLen && len(m.Label) <= MaxLabelValueLen
		if !ok {
			rej.add(ReasonBadLabel, fmt.Sprintf("perfdata %q of check %q: empty, too long or not UTF-8", m.Label, checkName))
			continue
		}
		b.Sort()
		lset := b.Labels()
		if reason, msg := s.appendOne(app, lset, ts, m.Value); reason != "" {
			rej.add(reason, msg)
			continue
		}
		accepted++
		done = s.appended1(done, lset, ts, m.Value)
	}
	return s.commit(app, accepted, &rej, done)
}

func (s *Store) commit(app storage.Appender, accepted int, rej *Rejections, done []Appended) (int, error) {
	if err := app.Commit(); err != nil {
		s.rejected.WithLabelValues(ReasonStorageFailed).Add(float64(accepted + rej.Total()))
		return 0, fmt.Errorf("metrics: commit: %w", err)
	}
	if s.opts.hook != nil && len(done) > 0 {
		s.opts.hook(done)
	}
	s.appended.Add(float64(accepted))
	if rej.Total() > 0 {
		for k, c := range rej.Counts {
			s.rejected.WithLabelValues(k).Add(float64(c))
		}
		return accepted, rej
	}
	return accepted, nil
}

// appendOne adds one sample; a refusal is returned as a reason, never a panic.
func (s *Store) appendOne(app storage.Appender, lset labels.Labels, t int64, v float64) (reason, msg string) {
	if value.IsStaleNaN(v) {
		v = math.NaN() // a client cannot mark a series stale
	}
	_, err := app.Append(0, lset, t, v)
	if err == nil {
		return "", ""
	}
	switch {
	case errors.Is(err, storage.ErrOutOfBounds):
		reason = ReasonOutOfBounds
	case errors.Is(err, storage.ErrTooOldSample):
		reason = ReasonTooOld
	case errors.Is(err, storage.ErrOutOfOrderSample):
		reason = ReasonOutOfOrder
	case errors.Is(err, storage.ErrDuplicateSampleForTimestamp):
		reason = ReasonDuplicate
	default:
		reason = ReasonStorageFailed
	}
	return reason, fmt.Sprintf("%s at %s: %v", lset.String(), time.UnixMilli(t).UTC().Format(time.RFC3339), err)
}

// buildLabels validates a client sample's name and labels and returns its
// sorted label set with host (and tenant) added. Empty label values are
// dropped, as in Prometheus (a label with an empty value is no label).
func buildLabels(b *labels.ScratchBuilder, name string, ls map[string]string, host, tenant string) (labels.Labels, string, string) {
	if !ValidMetricName(name) {
		return labels.EmptyLabels(), ReasonBadName, fmt.Sprintf("metric name %q is not [a-zA-Z_:][a-zA-Z0-9_:]*", name)
	}
	if len(ls) > MaxLabels {
		return labels.EmptyLabels(), ReasonBadLabel, fmt.Sprintf("%s: %d labels, at most %d", name, len(ls), MaxLabels)
	}
	b.Reset()
	b.Add(labels.MetricName, name)
	b.Add(HostLabel, host)
	b.Add(InstanceLabel, host)
	b.Add(JobLabel, NodeJob)
	if tenant != "" {
		b.Add(TenantLabel, tenant)
	}
	for k, v := range ls {
		if k == HostLabel || k == TenantLabel || k == InstanceLabel || k == JobLabel || strings.HasPrefix(k, "__") {
			return labels.EmptyLabels(), ReasonReserved, fmt.Sprintf("%s: label %q is set by the server", name, k)
		}
		if !ValidLabelName(k) {
			return labels.EmptyLabels(), ReasonBadLabel, fmt.Sprintf("%s: label name %q is not [a-zA-Z_][a-zA-Z0-9_]*", name, k)
		}
		if len(v) > MaxLabelValueLen || !utf8.ValidString(v) {
			return labels.EmptyLabels(), ReasonBadLabel, fmt.Sprintf("%s: value of label %q is too long or not UTF-8", name, k)
		}
		if v == "" {
			continue
		}
		b.Add(k, v)
	}
	b.Sort()
	return b.Labels(), "", ""
}

// ValidMetricName reports whether name follows Prometheus' (classic) rule
// [a-zA-Z_:][a-zA-Z0-9_:]*, at most MaxNameLength bytes.
func ValidMetricName(name string) bool {
	if name == "" || len(name) > MaxNameLength {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == ':' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// ValidLabelName reports whether name follows Prometheus' (classic) rule
// [a-zA-Z_][a-zA-Z0-9_]*, at most MaxNameLength bytes.
func ValidLabelName(name string) bool {
	if name == "" || len(name) > MaxNameLength {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}
