package metrics

import (
	"context"
	"errors"
	"math"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/wire"
)

func openTest(t testing.TB, opt ...Option) *Store {
	t.Helper()
	st, err := Open(t.TempDir(), 0, nil, opt...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func TestAppendValidation(t *testing.T) {
	now := time.Now().Truncate(time.Second)
	cases := []struct {
		name     string
		samples  []wire.Sample
		accepted int
		reasons  map[string]int
	}{
		{"ok", []wire.Sample{{Name: "node_load1", Time: ms(now), Value: 0.5}, {Name: "node:cpu_rate", Labels: map[string]string{"cpu": "0", "mode": "idle"}, Time: ms(now), Value: 1}}, 2, nil},
		{"empty label value is no label", []wire.Sample{{Name: "node_load5", Labels: map[string]string{"x": ""}, Time: ms(now), Value: 1}}, 1, nil},
		{"bad metric name", []wire.Sample{{Name: "1load", Time: ms(now)}, {Name: "", Time: ms(now)}, {Name: "node-load", Time: ms(now)}, {Name: "nöde", Time: ms(now)}}, 0, map[string]int{ReasonBadName: 4}},
		{"bad label name", []wire.Sample{{Name: "a", Labels: map[string]string{"a-b": "1"}, Time: ms(now)}, {Name: "a", Labels: map[string]string{"1a": "1"}, Time: ms(now)}, {Name: "a", Labels: map[string]string{"a:b": "1"}, Time: ms(now)}}, 0, map[string]int{ReasonBadLabel: 3}},
		{"bad label value", []wire.Sample{{Name: "a", Labels: map[string]string{"x": "\xff"}, Time: ms(now)}, {Name: "a", Labels: map[string]string{"x": strings.Repeat("v", MaxLabelValueLen+1)}, Time: ms(now)}}, 0, map[string]int{ReasonBadLabel: 2}},
		{"reserved labels", []wire.Sample{
			{Name: "a", Labels: map[string]string{"host": "other"}, Time: ms(now)},
			{Name: "a", Labels: map[string]string{"tenant": "other"}, Time: ms(now)},
			{Name: "a", Labels: map[string]string{"__name__": "b"}, Time: ms(now)},
			{Name: "a", Labels: map[string]string{"__x": "b"}, Time: ms(now)},
		}, 0, map[string]int{ReasonReserved: 4}},
		{"future", []wire.Sample{{Name: "a", Time: ms(now.Add(time.Hour))}, {Name: "a", Time: ms(now.Add(time.Minute)), Value: 2}}, 1, map[string]int{ReasonFuture: 1}},
		{"duplicate in one batch", []wire.Sample{{Name: "dup", Time: ms(now), Value: 1}, {Name: "dup", Time: ms(now), Value: 2}}, 1, map[string]int{ReasonDuplicate: 1}},
		{"duplicate, three times", []wire.Sample{{Name: "dup", Time: ms(now), Value: 1}, {Name: "dup", Time: ms(now), Value: 2}, {Name: "dup", Time: ms(now), Value: 3}}, 1, map[string]int{ReasonDuplicate: 2}},
		{"same value again is not an error", []wire.Sample{{Name: "same", Time: ms(now), Value: 1}, {Name: "same", Time: ms(now), Value: 1}}, 2, nil},
		{"mixed", []wire.Sample{{Name: "ok_one", Time: ms(now)}, {Name: "bad name", Time: ms(now)}, {Name: "ok_two", Labels: map[string]string{"host": "x"}, Time: ms(now)}}, 1, map[string]int{ReasonBadName: 1, ReasonReserved: 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := openTest(t)
			got, err := st.Append("web1", tc.samples)
			if got != tc.accepted {
				t.Errorf("accepted = %d, want %d (err %v)", got, tc.accepted, err)
			}
			var rej *Rejections
			if tc.reasons == nil {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if !errors.As(err, &rej) {
				t.Fatalf("err = %v, want *Rejections", err)
			}
			if len(rej.Counts) != len(tc.reasons) {
				t.Errorf("reasons = %v, want %v", rej.Counts, tc.reasons)
			}
			for k, v := range tc.reasons {
				if rej.Counts[k] != v {
					t.Errorf("reasons = %v, want %v", rej.Counts, tc.reasons)
				}
			}
			if len(rej.Examples) == 0 || rej.Error() == "" {
				t.Error("no example message")
			}
		})
	}
}

func TestAppendHostRequired(t *testing.T) {
	st := openTest(t)
	if _, err := st.Append("", []wire.Sample{{Name: "a", Time: ms(time.Now())}}); err == nil {
		t.Fatal("empty host accepted")
	}
}

func TestOutOfOrderWindow(t *testing.T) {
	st := openTest(t, WithOutOfOrderWindow(2*time.Hour))
	now := time.Now().Truncate(time.Minute)
	if n, err := st.Append("h", []wire.Sample{{Name: "m", Time: ms(now), Value: 1}}); n != 1 || err != nil {
		t.Fatal(n, err)
	}
	// An agent replaying its spool: older than the head, within the window.
	var replay []wire.Sample
	for i := 90; i > 0; i-- {
		replay = append(replay, wire.Sample{Name: "m", Labels: map[string]string{"agent": "late"}, Time: ms(now.Add(-time.Duration(i) * time.Minute)), Value: float64(i)})
	}
	if n, err := st.Append("h2", replay); n != 90 || err != nil {
		t.Fatalf("replay: %d %v", n, err)
	}
	// Beyond the window: refused and counted.
	n, err := st.Append("h3", []wire.Sample{{Name: "m", Time: ms(now.Add(-3 * time.Hour))}})
	var rej *Rejections
	if n != 0 || !errors.As(err, &rej) || rej.Counts[ReasonTooOld] != 1 {
		t.Fatalf("too old: %d %v", n, err)
	}
	res, err := st.Query(context.Background(), `count_over_time(m{agent="late"}[2h])`, now, "")
	if err != nil {
		t.Fatal(err)
	}
	if v := res.Value.(promql.Vector); len(v) != 1 || v[0].F != 90 {
		t.Fatalf("replayed samples = %v", v)
	}
}

func TestOutOfOrderDisabled(t *testing.T) {
	st := openTest(t, WithOutOfOrderWindow(0))
	now := time.Now().Truncate(time.Minute)
	if _, err := st.Append("h", []wire.Sample{{Name: "m", Time: ms(now), Value: 1}}); err != nil {
		t.Fatal(err)
	}
	_, err := st.Append("h", []wire.Sample{{Name: "m", Time: ms(now.Add(-time.Minute)), Value: 1}})
	var rej *Rejections
	if !errors.As(err, &rej) || rej.Counts[ReasonOutOfOrder] != 1 {
		t.Fatalf("err = %v", err)
	}
}

// seedTenants writes a series per host: web1 and web2 of tenant acme, db1
// of tenant globex, ops1 of no tenant.
func seedTenants(t testing.TB, st *Store, at time.Time) {
	t.Helper()
	st.SetHostTenants(map[string]string{"web1": "acme", "web2": "acme", "db1": "globex"})
	for _, h := range []string{"web1", "web2", "db1", "ops1"} {
		var ss []wire.Sample
		for i := 0; i < 30; i++ {
			ts := ms(at.Add(-time.Duration(29-i) * time.Minute))
			ss = append(ss,
				wire.Sample{Name: "node_load1", Time: ts, Value: float64(i)},
				wire.Sample{Name: "secret_" + h, Labels: map[string]string{"k": "v"}, Time: ts, Value: 42},
			)
		}
		if n, err := st.Append(h, ss); err != nil || n != len(ss) {
			t.Fatalf("seed %s: %d %v", h, n, err)
		}
	}
	if _, err := st.AppendPerf("db1/mysql", "db1", "", at, []check.Metric{check.M("time", 0.01, "s")}); err != nil {
		t.Fatal(err)
	}
}

func seriesOf(v parser.Value) []string {
	var out []string
	switch v := v.(type) {
	case promql.Vector:
		for _, s := range v {
			out = append(out, s.Metric.String())
		}
	case promql.Matrix:
		for _, s := range v {
			out = append(out, s.Metric.String())
		}
	}
	sort.Strings(out)
	return out
}

func TestTenantEnforcement(t *testing.T) {
	st := openTest(t)
	now := time.Now().Truncate(time.Minute)
	seedTenants(t, st, now)
	ctx := context.Background()

	queries := []string{
		`{__name__=~".+"}`,
		`{__name__=~".+", tenant="globex"}`,
		`{__name__=~".+", tenant!="acme"}`,
		`node_load1 or {__name__=~"secret_.*"}`,
		`node_load1 or on() {tenant="globex"}`,
		`{__name__=~"secret_db1|secret_ops1"}`,
		`max_over_time({__name__=~".+"}[10m:1m])`,
		`rate({__name__=~".+"}[5m])`,
		`sum by (host, tenant, __name__) ({__name__=~".+"})`,
		`label_replace({__name__=~".+"}, "tenant", "acme", "", "")`,
		`{__name__=~".+"} offset 5m`,
		`last_over_time(mamori_check_perf[1h])`,
		`count_values("x", {__name__=~".+"})`,
		`topk(100, {__name__=~".+"} @ end())`,
	}
	for _, q := range queries {
		t.Run(q, func(t *testing.T) {
			inst, err := st.Query(ctx, q, now, "acme")
			if err != nil {
				t.Fatal(err)
			}
			rng, err := st.QueryRange(ctx, q, now.Add(-20*time.Minute), now, time.Minute, "acme")
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range append(seriesOf(inst.Value), seriesOf(rng.Value)...) {
				if strings.Contains(s, "globex") || strings.Contains(s, "db1") || strings.Contains(s, "ops1") {
					t.Errorf("tenant acme sees %s", s)
				}
			}
		})
	}

	// What acme does see, and what an operator sees.
	res, err := st.Query(ctx, `{__name__=~".+"}`, now, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if got := len(res.Value.(promql.Vector)); got != 4 {
		t.Errorf("acme sees %d series, want 4: %v", got, seriesOf(res.Value))
	}
	res, err = st.Query(ctx, `{__name__=~".+"}`, now, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := len(res.Value.(promql.Vector)); got != 9 {
		t.Errorf("operator sees %d series, want 9: %v", got, seriesOf(res.Value))
	}
	// An unknown tenant sees nothing.
	res, err = st.Query(ctx, `{__name__=~".+"}`, now, "nobody")
	if err != nil {
		t.Fatal(err)
	}
	if got := len(res.Value.(promql.Vector)); got != 0 {
		t.Errorf("unknown tenant sees %v", seriesOf(res.Value))
	}

	// Labels and series.
	vals, err := st.LabelValues(ctx, "host", time.Time{}, time.Time{}, nil, "acme")
	if err != nil || strings.Join(vals, ",") != "web1,web2" {
		t.Errorf("acme host values = %v %v", vals, err)
	}
	vals, err = st.LabelValues(ctx, "tenant", time.Time{}, time.Time{}, nil, "")
	if err != nil || strings.Join(vals, ",") != "acme,globex" {
		t.Errorf("operator tenant values = %v %v", vals, err)
	}
	sets, err := st.ParseMatchers([]string{`{__name__=~".+"}`})
	if err != nil {
		t.Fatal(err)
	}
	ser, err := st.Series(ctx, time.Time{}, time.Time{}, sets, "globex", 0)
	if err != nil || len(ser) != 3 {
		t.Errorf("globex series = %v %v", ser, err)
	}
}

// Each line of defence holds on its own.
func TestTenantLayers(t *testing.T) {
	st := openTest(t)
	now := time.Now().Truncate(time.Minute)
	seedTenants(t, st, now)
	ctx := context.Background()

	// 1. The AST rewrite alone, over the unrestricted database.
	expr, err := st.parser.ParseExpr(`sum(rate({__name__=~".+"}[5m])) or max_over_time(node_load1[10m:1m])`)
	if err != nil {
		t.Fatal(err)
	}
	if err := EnforceTenant(expr, "acme"); err != nil {
		t.Fatal(err)
	}
	if s := expr.String(); strings.Count(s, `tenant="acme"`) != 2 {
		t.Fatalf("rewritten: %s", s)
	}
	q, err := st.engine.NewInstantQuery(ctx, st.db, nil, `{__name__=~".+",tenant="acme"}`, now)
	if err != nil {
		t.Fatal(err)
	}
	if r := q.Exec(ctx); r.Err != nil || len(r.Value.(promql.Vector)) != 4 {
		t.Fatalf("rewritten query: %v %v", r.Value, r.Err)
	}
	q.Close()

	// 2. The storage filter alone, with an unrewritten query.
	q, err = st.engine.NewInstantQuery(ctx, st.queryable("acme"), nil, `{__name__=~".+"} or {tenant="globex"}`, now)
	if err != nil {
		t.Fatal(err)
	}
	r := q.Exec(ctx)
	if r.Err != nil {
		t.Fatal(r.Err)
	}
	for _, s := range seriesOf(r.Value) {
		if !strings.Contains(s, `tenant="acme"`) {
			t.Errorf("storage filter lets through %s", s)
		}
	}
	q.Close()
}

func TestAppendPerf(t *testing.T) {
	st := openTest(t)
	st.SetHostTenants(map[string]string{"web1": "acme"})
	now := time.Now().Truncate(time.Second)
	perf := []check.Metric{check.Seconds("time", 123*time.Millisecond, time.Second, 2*time.Second), check.M("size", 5120, "B"), check.M("'odd label'", 1, "")}
	n, err := st.AppendPerf("web1/http", "web1", "", now, perf)
	if err != nil || n != 3 {
		t.Fatal(n, err)
	}
	res, err := st.Query(context.Background(), `mamori_check_perf`, now, "acme")
	if err != nil {
		t.Fatal(err)
	}
	got := seriesOf(res.Value)
	want := []string{
		`{__name__="mamori_check_perf", check="web1/http", host="web1", perf="'odd label'", tenant="acme"}`,
		`{__name__="mamori_check_perf", check="web1/http", host="web1", perf="size", tenant="acme", unit="B"}`,
		`{__name__="mamori_check_perf", check="web1/http", host="web1", perf="time", tenant="acme", unit="s"}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("series:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, s := range res.Value.(promql.Vector) {
		if s.Metric.Get("perf") == "time" && s.F != 0.123 {
			t.Errorf("time = %v", s.F)
		}
	}
	// Explicit tenant wins; empty check name refused.
	if n, err := st.AppendPerf("", "web1", "x", now, perf[:1]); n != 0 || err == nil {
		t.Errorf("empty check: %d %v", n, err)
	}
}

func TestRestart(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(dir, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Minute)
	var ss []wire.Sample
	for i := 0; i < 100; i++ {
		ss = append(ss, wire.Sample{Name: "node_memory_used_bytes", Time: ms(now.Add(-time.Duration(99-i) * time.Minute)), Value: float64(1000 + i)})
	}
	if n, err := st.Append("h", ss); err != nil || n != 100 {
		t.Fatal(n, err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil { // idempotent
		t.Fatal(err)
	}

	// Reopen: the WAL is replayed.
	st, err = Open(dir, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	check := func(st *Store) {
		t.Helper()
		res, err := st.Query(context.Background(), `count_over_time(node_memory_used_bytes[2h])`, now, "")
		if err != nil {
			t.Fatal(err)
		}
		if v := res.Value.(promql.Vector); len(v) != 1 || v[0].F != 100 {
			t.Fatalf("after restart: %v", v)
		}
	}
	check(st)
	// Persist as a block, reopen again: read from the block.
	if err := st.db.CompactHead(tsdbRangeHead(st, now)); err != nil {
		t.Fatal(err)
	}
	if st.Stats().Blocks != 1 {
		t.Fatalf("blocks = %d", st.Stats().Blocks)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = Open(dir, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	check(st)
	if st.Stats().BlockSample != 100 {
		t.Errorf("stats = %+v", st.Stats())
	}
}

func TestValidNames(t *testing.T) {
	for _, c := range []struct {
		s            string
		metric, labl bool
	}{
		{"node_load1", true, true}, {"a:b", true, false}, {"_x", true, true}, {"1a", false, false},
		{"", false, false}, {"a b", false, false}, {"é", false, false}, {strings.Repeat("a", MaxNameLength+1), false, false},
	} {
		if ValidMetricName(c.s) != c.metric || ValidLabelName(c.s) != c.labl {
			t.Errorf("%q: metric %v label %v", c.s, ValidMetricName(c.s), ValidLabelName(c.s))
		}
	}
	_ = math.NaN
}

func TestDuplicateAcrossBatches(t *testing.T) {
	st := openTest(t)
	now := time.Now().Truncate(time.Second)
	if _, err := st.Append("h", []wire.Sample{{Name: "m", Time: ms(now), Value: 1}}); err != nil {
		t.Fatal(err)
	}
	// A resend of the same sample (at-least-once delivery) is fine.
	if n, err := st.Append("h", []wire.Sample{{Name: "m", Time: ms(now), Value: 1}}); n != 1 || err != nil {
		t.Fatal(n, err)
	}
	n, err := st.Append("h", []wire.Sample{{Name: "m", Time: ms(now), Value: 2}})
	var rej *Rejections
	if n != 0 || !errors.As(err, &rej) || rej.Counts[ReasonDuplicate] != 1 {
		t.Fatalf("%d %v", n, err)
	}
}

func TestPerfSink(t *testing.T) {
	st := openTest(t)
	var errs atomic.Int64
	p := NewPerfSink(st, 2, func(error) { errs.Add(1) })
	now := time.Now().Truncate(time.Second)
	if !p.Offer("", "web1", "", now, []check.Metric{check.M("x", 1, "")}) { // refused by the store: no check name
		t.Fatal("queue full at once")
	}
	offered, dropped := 0, 0
	for i := 0; i < 1000; i++ {
		if p.Offer("web1/http", "web1", "", now.Add(time.Duration(i)*time.Millisecond), []check.Metric{check.M("time", float64(i), "s")}) {
			offered++
		} else {
			dropped++
		}
	}
	if err := p.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if uint64(dropped) != p.Dropped() {
		t.Errorf("dropped %d, counted %d", dropped, p.Dropped())
	}
	res, err := st.Query(context.Background(), `count_over_time(mamori_check_perf[1m])`, now.Add(2*time.Second), "")
	if err != nil {
		t.Fatal(err)
	}
	if v := res.Value.(promql.Vector); len(v) != 1 || int(v[0].F) != offered {
		t.Errorf("stored %v, offered %d", v, offered)
	}
	if p.Failed() != 1 || errs.Load() != 1 {
		t.Errorf("failed %d, errs %d", p.Failed(), errs.Load())
	}
}
