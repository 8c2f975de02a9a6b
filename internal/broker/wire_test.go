package broker

import (
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	_ "github.com/mamori/mamori/internal/check/tcpcheck"
)

func TestJobRoundTrip(t *testing.T) {
	due := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	j := Job{Check: "web01/http", Type: "tcp", Zone: "z1", Host: "web01", Address: "10.0.0.5", Spec: "port: 80\n", Digest: "d1", Interval: 60, Timeout: 10, Due: due}
	b, err := EncodeJob(j)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeJob(b)
	if err != nil {
		t.Fatal(err)
	}
	j.V = Version
	if got != j {
		t.Fatalf("got %+v, want %+v", got, j)
	}
	if got.IntervalDuration() != time.Minute || got.TimeoutDuration() != 10*time.Second {
		t.Fatalf("durations %v %v", got.IntervalDuration(), got.TimeoutDuration())
	}
}

func TestJobRefused(t *testing.T) {
	for name, raw := range map[string]string{
		"not json":     `{`,
		"old version":  `{"v":0,"check":"a","type":"tcp","zone":"z1","interval_s":60,"due":"2026-01-01T00:00:00Z"}`,
		"unknown type": `{"v":1,"check":"a","type":"nope","zone":"z1","interval_s":60,"due":"2026-01-01T00:00:00Z"}`,
		"bad zone":     `{"v":1,"check":"a","type":"tcp","zone":"z.>","interval_s":60,"due":"2026-01-01T00:00:00Z"}`,
		"no interval":  `{"v":1,"check":"a","type":"tcp","zone":"z1","due":"2026-01-01T00:00:00Z"}`,
		"no due":       `{"v":1,"check":"a","type":"tcp","zone":"z1","interval_s":60}`,
		"no check":     `{"v":1,"type":"tcp","zone":"z1","interval_s":60,"due":"2026-01-01T00:00:00Z"}`,
	} {
		if _, err := DecodeJob([]byte(raw)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := DecodeJob([]byte(`{"v":1,"check":"a","type":"tcp","zone":"z1","interval_s":60,"due":"2026-01-01T00:00:00Z","spec":"` + strings.Repeat("x", 2<<20) + `"}`)); err == nil {
		t.Error("oversized job accepted")
	}
}

func TestBatchRoundTrip(t *testing.T) {
	run := time.Date(2026, 12, 2, 10, 0, 1, 0, time.UTC)
	j := Job{Check: "a", Type: "tcp", Zone: "z1", Interval: 60, Due: run.Add(-time.Second)}
	r := check.Result{Status: check.Critical, Output: "TCP CRITICAL - refused", Long: "detail", Time: run, Duration: 1500 * time.Millisecond,
		Perf: []check.Metric{{Label: "time", Value: 0.5, Unit: "s"}}}
	res := NewResult(j, "p1", r, true)
	res.Output += strings.Repeat("y", maxOutput) // cut to the limit
	b, err := EncodeBatch(ResultBatch{Zone: "z1", Poller: "p1", Seq: 7, Dropped: 3, Results: []Result{res}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeBatch(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Seq != 7 || got.Dropped != 3 || len(got.Results) != 1 {
		t.Fatalf("batch %+v", got)
	}
	g := got.Results[0]
	if !g.Offline || g.Poller != "p1" || !g.Due.Equal(j.Due) || len(g.Output) != maxOutput {
		t.Fatalf("result %+v", g)
	}
	cr := g.CheckResult()
	if cr.Status != check.Critical || !cr.Time.Equal(run) || cr.Duration != 1500*time.Millisecond || cr.Long != "detail" || len(cr.Perf) != 1 || cr.Perf[0].Value != 0.5 {
		t.Fatalf("check result %+v", cr)
	}
}

func TestBatchRefused(t *testing.T) {
	ok := Result{V: 1, Check: "a", Zone: "z1", Poller: "p1", Time: time.Now(), Status: 0}
	for name, b := range map[string]ResultBatch{
		"other zone inside":   {V: 1, Zone: "z2", Poller: "p1", Results: []Result{ok}},
		"other poller inside": {V: 1, Zone: "z1", Poller: "p2", Results: []Result{ok}},
		"bad status":          {V: 1, Zone: "z1", Poller: "p1", Results: []Result{{V: 1, Check: "a", Zone: "z1", Poller: "p1", Time: time.Now(), Status: 9}}},
		"no time":             {V: 1, Zone: "z1", Poller: "p1", Results: []Result{{V: 1, Check: "a", Zone: "z1", Poller: "p1"}}},
		"no poller":           {V: 1, Zone: "z1", Results: []Result{ok}},
	} {
		raw, _ := EncodeBatch(b) // may refuse already
		if raw == nil {
			continue
		}
		if _, err := DecodeBatch(raw); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestJobSubjectPerCheck(t *testing.T) {
	a, b := JobSubject("z1", "web01/http"), JobSubject("z1", "web01/ping")
	if a == b || !strings.HasPrefix(a, "mamori.jobs.z1.") || strings.Count(a, ".") != 3 {
		t.Fatalf("subjects %q %q", a, b)
	}
}
