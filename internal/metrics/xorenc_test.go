package metrics

import (
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// TestEncodeXOR: the library's XOR iterator reads encodeXOR's chunks back
// bit for bit, and they are not larger than the library appender's by more
// than a few bytes (encodeXOR's choice of window is greedy: on a random
// series it can lose a byte or two where it wins elsewhere).
func TestEncodeXOR(t *testing.T) {
	var r *rand.Rand
	gens := map[string]func(i int, prev float64) float64{
		"ticks":    func(_ int, p float64) float64 { return math.Round(p*100+float64(r.IntN(6000))) / 100 },
		"decimals": func(_ int, p float64) float64 { return math.Round((p+r.NormFloat64()*0.1)*100) / 100 },
		"constant": func(int, float64) float64 { return 42 },
		"specials": func(i int, p float64) float64 {
			return [...]float64{math.NaN(), math.Float64frombits(value.StaleNaN), math.Inf(1), -0.0, 0, 1e300, p + 1, -3.5}[i%8]
		},
		"spike": func(i int, p float64) float64 {
			if i%100 == 50 {
				return 1e9
			}
			return float64(i) * 1024
		},
	}
	names := slices.Sorted(maps.Keys(gens))
	for gi, name := range names {
		gen := gens[name]
		r = rand.New(rand.NewPCG(1, uint64(gi))) // the same series every run
		for _, n := range []int{1, 2, 3, 120, 1440} {
			ts, vs := make([]int64, n), make([]float64, n)
			tm, v := int64(1_700_000_000_000), 100.0
			for i := range n {
				tm += 60_000
				switch i % 37 {
				case 5:
					tm += int64(r.IntN(20)) // jitter
				case 11:
					tm += 3_600_000 // gap
				case 23:
					tm += 1 << 40 // huge gap
				}
				v = gen(i, v)
				ts[i], vs[i] = tm, v
			}
			c, err := encodeXOR(ts, vs)
			if err != nil {
				t.Fatal(err)
			}
			lib := chunkenc.NewXORChunk()
			app, _ := lib.Appender()
			for i := range n {
				app.Append(0, ts[i], vs[i])
			}
			if c.NumSamples() != n || len(c.Bytes()) > len(lib.Bytes())+len(lib.Bytes())/100+2 {
				t.Fatalf("%s/%d: %d samples in %d bytes, library %d bytes", name, n, c.NumSamples(), len(c.Bytes()), len(lib.Bytes()))
			}
			it := c.Iterator(nil)
			for i := range n {
				if it.Next() != chunkenc.ValFloat {
					t.Fatalf("%s/%d: sample %d missing: %v", name, n, i, it.Err())
				}
				gt, gv := it.At()
				if gt != ts[i] || math.Float64bits(gv) != math.Float64bits(vs[i]) {
					t.Fatalf("%s/%d: sample %d = %d %v, want %d %v", name, n, i, gt, gv, ts[i], vs[i])
				}
			}
			if it.Next() != chunkenc.ValNone || it.Err() != nil {
				t.Fatalf("%s/%d: extra sample or error %v", name, n, it.Err())
			}
		}
	}
}
