package metrics

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// BenchmarkEncodeXOR: a day of a 60 s CPU-seconds counter, by encodeXOR
// and by the library's appender (compaction's cost of joining).
func BenchmarkEncodeXOR(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	ts, vs := make([]int64, 1440), make([]float64, 1440)
	v := 12345.67
	for i := range ts {
		v = math.Round(v*100+float64(r.IntN(6000))) / 100
		ts[i], vs[i] = 1_700_000_000_000+int64(i)*60_000, v
	}
	b.Run("encodeXOR", func(b *testing.B) {
		for range b.N {
			if _, err := encodeXOR(ts, vs); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("library", func(b *testing.B) {
		for range b.N {
			c := chunkenc.NewXORChunk()
			app, _ := c.Appender()
			for i := range ts {
				app.Append(0, ts[i], vs[i])
			}
		}
	})
}
