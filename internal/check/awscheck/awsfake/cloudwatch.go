package awsfake

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// CloudWatch answers GetMetricData (RPC v2 CBOR, as the SDK speaks it) from
// values a test sets, and records how many queries each call carried.
type CloudWatch struct {
	mu      sync.Mutex
	values  map[string]float64 // by MetricKey
	batches []int
	maxQ    int
}

// NewCloudWatch installs a CloudWatch GetMetricData handler on s.
func NewCloudWatch(s *Server) *CloudWatch {
	cw := &CloudWatch{values: map[string]float64{}, maxQ: 500}
	s.Handle("monitoring", "GetMetricData", cw.getMetricData)
	return cw
}

// MetricKey identifies one metric statistic.
func MetricKey(namespace, metric string, dims map[string]string, stat string, period time.Duration) string {
	keys := make([]string, 0, len(dims))
	for k := range dims {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "%s|%s|%s|%d", namespace, metric, stat, int(period/time.Second))
	for _, k := range keys {
		fmt.Fprintf(&b, "|%s=%s", k, dims[k])
	}
	return b.String()
}

// Set makes the metric's latest datapoint v.
func (cw *CloudWatch) Set(namespace, metric string, dims map[string]string, stat string, period time.Duration, v float64) {
	cw.mu.Lock()
	defer cw.mu.Unlock()
	cw.values[MetricKey(namespace, metric, dims, stat, period)] = v
}

// Unset removes a metric's data (the query then returns no datapoints).
func (cw *CloudWatch) Unset(namespace, metric string, dims map[string]string, stat string, period time.Duration) {
	cw.mu.Lock()
	defer cw.mu.Unlock()
	delete(cw.values, MetricKey(namespace, metric, dims, stat, period))
}

// Batches lists the number of queries of every GetMetricData call so far.
func (cw *CloudWatch) Batches() []int {
	cw.mu.Lock()
	defer cw.mu.Unlock()
	return append([]int(nil), cw.batches...)
}

func (cw *CloudWatch) getMetricData(r *Request) (any, error) {
	qs, _ := r.Input["MetricDataQueries"].([]any)
	start, ok1 := Time(r.Input["StartTime"])
	end, ok2 := Time(r.Input["EndTime"])
	if !ok1 || !ok2 || !end.After(start) {
		return nil, &Error{Status: 400, Code: "InvalidParameterValue", Message: "StartTime must be before EndTime"}
	}
	if len(qs) == 0 || len(qs) > cw.maxQ {
		return nil, &Error{Status: 400, Code: "InvalidParameterValue", Message: fmt.Sprintf("between 1 and %d MetricDataQueries, got %d", cw.maxQ, len(qs))}
	}
	cw.mu.Lock()
	defer cw.mu.Unlock()
	cw.batches = append(cw.batches, len(qs))
	results := make([]any, 0, len(qs))
	seen := map[string]bool{}
	for _, q := range qs {
		qm, _ := q.(map[string]any)
		id := Field(qm, "Id")
		if id == "" || seen[id] {
			return nil, &Error{Status: 400, Code: "ValidationError", Message: "duplicate or missing query Id " + id}
		}
		seen[id] = true
		key, period, err := statKey(qm)
		if err != nil {
			return nil, err
		}
		res := map[string]any{"Id": id, "StatusCode": "Complete", "Timestamps": []any{}, "Values": []any{}}
		if v, ok := cw.values[key]; ok {
			// The latest complete period before EndTime, newest first.
			ts := end.Truncate(period).Add(-period)
			if !ts.Before(start) {
				res["Timestamps"] = []any{ts.UTC()}
				res["Values"] = []any{v}
			}
		}
		results = append(results, res)
	}
	return map[string]any{"MetricDataResults": results}, nil
}

func statKey(q map[string]any) (string, time.Duration, error) {
	ms, _ := q["MetricStat"].(map[string]any)
	m, _ := ms["Metric"].(map[string]any)
	if ms == nil || m == nil {
		return "", 0, &Error{Status: 400, Code: "ValidationError", Message: "the fake answers MetricStat queries only"}
	}
	dims := map[string]string{}
	list, _ := m["Dimensions"].([]any)
	for _, d := range list {
		dm, _ := d.(map[string]any)
		dims[Field(dm, "Name")] = Field(dm, "Value")
	}
	var period time.Duration
	switch p := ms["Period"].(type) {
	case uint64:
		period = time.Duration(p) * time.Second
	case int64:
		period = time.Duration(p) * time.Second
	}
	if period <= 0 {
		return "", 0, &Error{Status: 400, Code: "ValidationError", Message: "MetricStat.Period must be positive"}
	}
	return MetricKey(Field(m, "Namespace"), Field(m, "MetricName"), dims, Field(ms, "Stat"), period), period, nil
}
