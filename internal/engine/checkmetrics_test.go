package engine

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/mamori/mamori/internal/check"
)

// The checks' series are valid text exposition, one family each, and carry
// each check's state; a check that has not run has none.
func TestWriteCheckMetrics(t *testing.T) {
	e, _, _ := newEngine(t, twoChecks)
	var empty bytes.Buffer
	if err := e.WriteCheckMetrics(&empty); err != nil || empty.Len() != 0 {
		t.Fatalf("no check has run: %q %v", empty.String(), err)
	}
	at := time.Date(2026, 12, 3, 7, 0, 0, 0, time.UTC)
	if _, err := e.Record(context.Background(), "parent", check.Result{Status: check.Critical, Output: "down", Time: at, Duration: 1500 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := e.WriteCheckMetrics(&buf); err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(&buf)
	if err != nil {
		t.Fatalf("not valid exposition: %v", err)
	}
	want := map[string]float64{"mamori_check_state": 2, "mamori_check_hard_state": 1,
		"mamori_check_last_duration_seconds": 1.5, "mamori_check_last_run_timestamp_seconds": float64(at.Unix())}
	for name, v := range want {
		f := fams[name]
		if f == nil || len(f.Metric) != 1 {
			t.Fatalf("%s: %v", name, f)
		}
		m := f.Metric[0]
		if got := m.GetGauge().GetValue(); got != v {
			t.Errorf("%s = %v, want %v", name, got, v)
		}
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["check"] != "parent" || len(labels) != 4 {
			t.Errorf("%s labels %v", name, labels)
		}
	}
	if len(fams) != len(want) {
		t.Errorf("%d families, want %d", len(fams), len(want))
	}
}

// Label values are escaped as the text format requires.
func TestCheckMetricLabelEscaping(t *testing.T) {
	odd := "a\"b\\c\nd"
	line := appendLabel([]byte("x"), `{check="`, odd)
	line = append(line, "\"} 1\n"...)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(string(line)))
	if err != nil {
		t.Fatalf("%q: %v", line, err)
	}
	if got := fams["x"].Metric[0].Label[0].GetValue(); got != odd {
		t.Fatalf("round trip: %q, want %q", got, odd)
	}
}
