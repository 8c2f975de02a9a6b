package metrics

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"

	"github.com/mamori/mamori/internal/wire"
)

// xorChunk makes a float chunk of n samples from t0, 60 s apart.
func xorChunk(t *testing.T, t0 int64, n int, v func(i int) float64) chunks.Meta {
	t.Helper()
	c := chunkenc.NewXORChunk()
	app, err := c.Appender()
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		app.Append(0, t0+int64(i)*60_000, v(i))
	}
	return chunks.Meta{Chunk: c, MinTime: t0, MaxTime: t0 + int64(n-1)*60_000}
}

type tv struct {
	t int64
	v uint64 // the value's bits
}

func chunkSamples(t *testing.T, metas []chunks.Meta) (out []tv) {
	t.Helper()
	for _, m := range metas {
		it := m.Chunk.Iterator(nil)
		for it.Next() == chunkenc.ValFloat {
			ts, v := it.At()
			out = append(out, tv{ts, math.Float64bits(v)})
		}
	}
	return out
}

func TestJoinIterator(t *testing.T) {
	v := func(i int) float64 {
		if i == 50 {
			return math.Float64frombits(value.StaleNaN)
		}
		return float64(i) / 100
	}
	in := []chunks.Meta{
		xorChunk(t, 0, 100, v),
		xorChunk(t, 6_000_000, 100, v),
		xorChunk(t, 12_000_000, 100, v),
		xorChunk(t, 12_000_000+99*60_000, 10, v), // overlaps the one before: passes as it is
	}
	j := &joinIterator{src: storage.NewListChunkSeriesIterator(in...), max: 250}
	var out []chunks.Meta
	for j.Next() {
		out = append(out, j.At())
	}
	if err := j.Err(); err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for _, m := range out {
		sizes = append(sizes, m.Chunk.NumSamples())
	}
	if len(sizes) != 3 || sizes[0] != 200 || sizes[1] != 100 || sizes[2] != 10 {
		t.Fatalf("chunk sizes %v, want [200 100 10]", sizes)
	}
	if out[0].MinTime != 0 || out[0].MaxTime != in[1].MaxTime {
		t.Fatalf("joined chunk spans %d..%d, want 0..%d", out[0].MinTime, out[0].MaxTime, in[1].MaxTime)
	}
	want, got := chunkSamples(t, in), chunkSamples(t, out)
	if len(got) != len(want) {
		t.Fatalf("%d samples, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("sample %d: %v, want %v (bit for bit)", i, got[i], want[i])
		}
	}
}

// TestCompactionJoinsChunks: 30 hours of one 60 s series, with a late
// (out-of-order) batch, compacted: the merged blocks hold chunks of more
// than the head's 120 samples and every sample reads back unchanged.
func TestCompactionJoinsChunks(t *testing.T) {
	st := openTest(t)
	t0 := time.Now().Add(-30 * time.Hour).Truncate(2 * time.Hour)
	n := 30 * 60
	late := func(i int) bool { return i%7 == 3 && i >= n-20*60 } // inside the out-of-order window
	want := map[int64]float64{}
	for i := range n {
		if late(i) { // sent late, below
			continue
		}
		ts := t0.Add(time.Duration(i) * time.Minute)
		v := float64(1_000_000+i*5917) / 100
		want[ts.UnixMilli()] = v
		if _, err := st.Append("h1", []wire.Sample{{Name: "node_cpu_seconds_total", Time: ts.UnixMilli(), Value: v}}); err != nil {
			t.Fatal(err)
		}
		if i%360 == 0 {
			if err := st.compact(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := range n {
		if !late(i) {
			continue
		}
		ts := t0.Add(time.Duration(i) * time.Minute)
		v := float64(1_000_000+i*5917) / 100
		want[ts.UnixMilli()] = v
		if _, err := st.Append("h1", []wire.Sample{{Name: "node_cpu_seconds_total", Time: ts.UnixMilli(), Value: v}}); err != nil {
			t.Fatal(err)
		}
	}
	for range 3 {
		if err := st.compact(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	maxSamples := 0
	for _, b := range st.db.Blocks() {
		maxSamples = max(maxSamples, int(b.Meta().Stats.NumSamples/max(1, b.Meta().Stats.NumChunks)))
	}
	if maxSamples <= 120 {
		t.Fatalf("largest block has %d samples per chunk, want > 120 (joined)", maxSamples)
	}
	q, err := st.db.Querier(math.MinInt64, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	ss := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchEqual, "__name__", "node_cpu_seconds_total"))
	got := 0
	for ss.Next() {
		it := ss.At().Iterator(nil)
		for it.Next() == chunkenc.ValFloat {
			ts, v := it.At()
			if want[ts] != v {
				t.Fatalf("at %d: %v, want %v", ts, v, want[ts])
			}
			got++
		}
	}
	if err := ss.Err(); err != nil {
		t.Fatal(err)
	}
	if got != len(want) {
		t.Fatalf("%d samples read, want %d", got, len(want))
	}
}
