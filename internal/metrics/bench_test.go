package metrics

// Benchmarks for docs/metrics.md. Run:
//
//	go test ./internal/metrics -run '^$' -bench . -benchtime=1x     (one-shot figures)
//	go test ./internal/metrics -run '^$' -bench Ingest -benchtime=3s
import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/wire"
)

// hostSeries is the 1,000 series of one host: 20 metric names × 50
// label values, shaped like node_exporter's.
func hostSeries() []wire.Sample {
	out := make([]wire.Sample, 0, 1000)
	for m := 0; m < 20; m++ {
		for d := 0; d < 50; d++ {
			out = append(out, wire.Sample{
				Name:   fmt.Sprintf("node_metric_%02d_total", m),
				Labels: map[string]string{"device": fmt.Sprintf("dev%02d", d), "mode": "user"},
			})
		}
	}
	return out
}

// BenchmarkIngest appends batches of 1,000 samples (one host's metrics at
// one time) over 10 hosts = 10,000 series, one goroutine.
func BenchmarkIngest(b *testing.B) {
	st := openTest(b)
	tmpl := hostSeries()
	hosts := make([]string, 10)
	for i := range hosts {
		hosts[i] = fmt.Sprintf("host%02d", i)
	}
	t0 := time.Now().Add(-7 * 24 * time.Hour).UnixMilli()
	batch := make([]wire.Sample, len(tmpl))
	copy(batch, tmpl)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ts := t0 + int64(i/len(hosts))*15000
		for j := range batch {
			batch[j].Time = ts
			batch[j].Value = float64(i*7 + j)
		}
		n, err := st.Append(hosts[i%len(hosts)], batch)
		if err != nil || n != len(batch) {
			b.Fatal(n, err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/b.Elapsed().Seconds(), "samples/s")
}

// BenchmarkIngestParallel is BenchmarkIngest with one goroutine per CPU,
// as concurrent agent requests are; each goroutine has its own 10 hosts.
func BenchmarkIngestParallel(b *testing.B) {
	st := openTest(b)
	tmpl := hostSeries()
	t0 := time.Now().Add(-7 * 24 * time.Hour).UnixMilli()
	var gid, total atomic.Int64
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		g := gid.Add(1)
		batch := make([]wire.Sample, len(tmpl))
		copy(batch, tmpl)
		i := 0
		for pb.Next() {
			ts := t0 + int64(i/10)*15000
			for j := range batch {
				batch[j].Time = ts
				batch[j].Value = float64(i*7 + j)
			}
			n, err := st.Append(fmt.Sprintf("g%d-host%02d", g, i%10), batch)
			if err != nil || n != len(batch) {
				b.Error(n, err)
				return
			}
			total.Add(int64(n))
			i++
		}
	})
	b.ReportMetric(float64(total.Load())/b.Elapsed().Seconds(), "samples/s")
}

// Realistic value generators, one per kind of series.
type gen func(r *rand.Rand, prev float64, i int) float64

var kinds = []struct {
	name string
	gen  gen
}{
	// A CPU-seconds counter: /proc/stat has 1/100 s resolution.
	{"counter_cpu_seconds", func(r *rand.Rand, prev float64, _ int) float64 {
		return math.Round((prev+r.Float64()*15*0.3)*100) / 100
	}},
	// A byte counter (network, disk I/O): integer increments.
	{"counter_bytes", func(r *rand.Rand, prev float64, _ int) float64 {
		return prev + math.Floor(r.ExpFloat64()*50000)
	}},
	// Memory in use: pages of 4 KiB, wandering.
	{"gauge_memory_bytes", func(r *rand.Rand, prev float64, _ int) float64 {
		if prev == 0 {
			prev = 4 << 30
		}
		return prev + float64(r.IntN(2001)-1000)*4096
	}},
	// A load average: two decimals, random walk.
	{"gauge_load", func(r *rand.Rand, prev float64, _ int) float64 {
		return math.Max(0, math.Round((prev+r.NormFloat64()*0.1)*100)/100)
	}},
	// A constant (filesystem size, info metrics).
	{"constant", func(r *rand.Rand, prev float64, _ int) float64 {
		if prev == 0 {
			return float64(r.IntN(1000)+1) * (1 << 30)
		}
		return prev
	}},
}

func dirSize(t testing.TB, dir string) int64 {
	var n int64
	err := filepath.Walk(dir, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			n += fi.Size()
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// BenchmarkBytesPerSample writes 4 hours of 15 s-spaced samples, so that
// the head compacts its first 2-hour block, and divides the block's chunk
// bytes (and its whole size, index included) by its samples. "aligned":
// timestamps on whole 15 s steps (as an agent that rounds its collection
// time sends them); "jitter": a few milliseconds off, as a raw clock read
// gives. One shot: run with -benchtime=1x.
func BenchmarkBytesPerSample(b *testing.B) {
	run := func(b *testing.B, series int, pick func(i int) int, jitter bool) {
		for range b.N {
			st := openTest(b)
			r := rand.New(rand.NewPCG(1, 2))
			prev := make([]float64, series)
			start := time.Now().Add(-4 * time.Hour).Truncate(2 * time.Hour)
			batch := make([]wire.Sample, series)
			for i := range batch {
				batch[i] = wire.Sample{Name: "node_" + kinds[pick(i)].name, Labels: map[string]string{"device": fmt.Sprint(i)}}
			}
			for step := 0; step < 4*240; step++ { // 4 h at 15 s: the head compacts once it spans more than 3 h
				ts := start.Add(time.Duration(step) * 15 * time.Second).UnixMilli()
				if jitter { // timestamps as read from the clock, a few ms late
					ts += int64(r.IntN(20))
				}
				for i := range batch {
					prev[i] = kinds[pick(i)].gen(r, prev[i], step)
					batch[i].Time, batch[i].Value = ts, prev[i]
				}
				if _, err := st.Append(fmt.Sprintf("host%d", step%1), batch); err != nil {
					b.Fatal(err)
				}
			}
			if err := st.compact(context.Background()); err != nil {
				b.Fatal(err)
			}
			blocks := st.db.Blocks()
			if len(blocks) != 1 {
				b.Fatalf("%d blocks", len(blocks))
			}
			blk := blocks[0]
			samples := float64(blk.Meta().Stats.NumSamples)
			chunks := dirSize(b, filepath.Join(blk.Dir(), "chunks"))
			b.ReportMetric(float64(chunks)/samples, "chunk-bytes/sample")
			b.ReportMetric(float64(blk.Size())/samples, "block-bytes/sample")
			b.ReportMetric(samples, "samples")
		}
	}
	mix := func(i int) int { return i % len(kinds) }
	b.Run("mix_3000_series/aligned", func(b *testing.B) { run(b, 3000, mix, false) })
	b.Run("mix_3000_series/jitter_0-19ms", func(b *testing.B) { run(b, 3000, mix, true) })
	for k := range kinds {
		b.Run(kinds[k].name+"/aligned", func(b *testing.B) { run(b, 1000, func(int) int { return k }, false) })
	}
}

// BenchmarkRangeQuery30d: 30 days of one sample a minute for 100 series
// (20 hosts × 5 metrics), written in time order into a fresh store and
// compacted as it goes (as the store does by itself), then range queries
// over the 30 days for one series.
func BenchmarkRangeQuery30d(b *testing.B) {
	st := openTest(b)
	end := time.Now().Truncate(time.Minute)
	start := end.Add(-30 * 24 * time.Hour)
	r := rand.New(rand.NewPCG(3, 4))
	type ser struct {
		host, name string
		k          int
		prev       float64
	}
	var all []*ser
	for h := 0; h < 20; h++ {
		for k := range kinds {
			all = append(all, &ser{host: fmt.Sprintf("host%02d", h), name: "node_" + kinds[k].name, k: k})
		}
	}
	tenants := map[string]string{}
	for _, s := range all {
		tenants[s.host] = "acme"
	}
	st.SetHostTenants(tenants)
	setup := time.Now()
	batch := make([]wire.Sample, 0, len(kinds))
	var written int
	for i, t := 0, start; !t.After(end); i, t = i+1, t.Add(time.Minute) {
		for h := 0; h < 20; h++ {
			batch = batch[:0]
			for _, s := range all[h*len(kinds) : (h+1)*len(kinds)] {
				s.prev = kinds[s.k].gen(r, s.prev, i)
				batch = append(batch, wire.Sample{Name: s.name, Time: t.UnixMilli(), Value: s.prev})
			}
			n, err := st.Append(all[h*len(kinds)].host, batch)
			if err != nil {
				b.Fatal(err)
			}
			written += n
		}
		if i%(6*60) == 0 { // every 6 hours of data
			if err := st.compact(context.Background()); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := st.compact(context.Background()); err != nil {
		b.Fatal(err)
	}
	stats := st.Stats()
	b.Logf("setup: %d samples in %v; %d blocks, %.2f bytes/sample on disk (blocks, index included)", written, time.Since(setup).Round(time.Millisecond), stats.Blocks, float64(stats.BlockBytes)/float64(stats.BlockSample))
	ctx := context.Background()
	for _, c := range []struct {
		name, q string
		step    time.Duration
	}{
		{"gauge_step_5m", `node_gauge_load{host="host07"}`, 5 * time.Minute},
		{"gauge_step_1h", `node_gauge_load{host="host07"}`, time.Hour},
		{"rate_5m_step_5m", `rate(node_counter_bytes{host="host07"}[5m])`, 5 * time.Minute},
		{"max_over_time_1h_step_1h", `max_over_time(node_gauge_memory_bytes{host="host07"}[1h])`, time.Hour},
	} {
		b.Run(c.name, func(b *testing.B) {
			var points int
			for range b.N {
				res, err := st.QueryRange(ctx, c.q, start, end, c.step, "")
				if err != nil {
					b.Fatal(err)
				}
				m := res.Value.(interface{ TotalSamples() int })
				points = m.TotalSamples()
			}
			b.ReportMetric(float64(points), "points")
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/query")
		})
	}
	b.Run("raw_samples_instant_30d", func(b *testing.B) {
		var points int
		for range b.N {
			res, err := st.Query(ctx, `node_gauge_load{host="host07"}[30d]`, end, "")
			if err != nil {
				b.Fatal(err)
			}
			points = res.Value.(interface{ TotalSamples() int }).TotalSamples()
		}
		b.ReportMetric(float64(points), "points")
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/query")
	})
	// One hour, 20 days back: the query decodes whole chunks of a
	// compacted block (up to a day of samples each) to return 61 points.
	b.Run("gauge_1h_20d_ago_step_1m", func(b *testing.B) {
		var points int
		from := start.Add(10 * 24 * time.Hour)
		for range b.N {
			res, err := st.QueryRange(ctx, `node_gauge_load{host="host07"}`, from, from.Add(time.Hour), time.Minute, "")
			if err != nil {
				b.Fatal(err)
			}
			points = res.Value.(interface{ TotalSamples() int }).TotalSamples()
		}
		b.ReportMetric(float64(points), "points")
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/query")
	})
	b.Run("tenant_gauge_step_5m", func(b *testing.B) {
		for range b.N {
			if _, err := st.QueryRange(ctx, `node_gauge_load{host="host07"}`, start, end, 5*time.Minute, "acme"); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/query")
	})
}
