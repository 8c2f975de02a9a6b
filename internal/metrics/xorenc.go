package metrics

import (
	"encoding/binary"
	"math"
	"math/bits"

	"github.com/prometheus/prometheus/tsdb/chunkenc"
)

// encodeXOR encodes samples (time-ordered) as a standard XOR chunk, which
// any Prometheus TSDB reads. It differs from the library's appender in one
// choice: for a changed value, the appender keeps the previous window of
// significant bits (leading and trailing zeros of the XOR with the value
// before) whenever the value fits in it, however much wider than needed
// the window has grown; encodeXOR opens a new window when that costs fewer
// bits. In long chunks (see joinedChunkSamples) a window widened by one
// large change otherwise costs bits on every sample after it.
func encodeXOR(ts []int64, vs []float64) (chunkenc.Chunk, error) {
	w := bitWriter{b: make([]byte, 2, 2+2*len(ts))} // the sample count, set at the end
	var (
		buf      [binary.MaxVarintLen64]byte
		tDelta   uint64
		leading  = uint8(0xff)
		trailing uint8
	)
	for i, t := range ts {
		switch i {
		case 0:
			for _, b := range buf[:binary.PutVarint(buf[:], t)] {
				w.writeBits(uint64(b), 8)
			}
			w.writeBits(math.Float64bits(vs[0]), 64)
			continue
		case 1:
			tDelta = uint64(t - ts[0])
			for _, b := range buf[:binary.PutUvarint(buf[:], tDelta)] {
				w.writeBits(uint64(b), 8)
			}
		default:
			d := uint64(t - ts[i-1])
			writeDoD(&w, int64(d-tDelta))
			tDelta = d
		}
		writeXORValue(&w, vs[i], vs[i-1], &leading, &trailing)
	}
	binary.BigEndian.PutUint16(w.b, uint16(len(ts)))
	return chunkenc.FromData(chunkenc.EncXOR, w.b)
}

// writeDoD writes a timestamp's delta of delta as the XOR chunk does.
func writeDoD(w *bitWriter, dod int64) {
	in := func(n uint) bool { return -((1<<(n-1))-1) <= dod && dod <= 1<<(n-1) }
	switch {
	case dod == 0:
		w.writeBits(0, 1)
	case in(14):
		w.writeBits(0b10, 2)
		w.writeBits(uint64(dod), 14)
	case in(17):
		w.writeBits(0b110, 3)
		w.writeBits(uint64(dod), 17)
	case in(20):
		w.writeBits(0b1110, 4)
		w.writeBits(uint64(dod), 20)
	default:
		w.writeBits(0b1111, 4)
		w.writeBits(uint64(dod), 64)
	}
}

// writeXORValue writes v against the value before it: 0 if unchanged, 10
// and the XOR's bits in the current window, or 11, a new window (5 bits of
// leading zeros, 6 of length) and the XOR's bits in it.
func writeXORValue(w *bitWriter, v, prev float64, leading, trailing *uint8) {
	delta := math.Float64bits(v) ^ math.Float64bits(prev)
	if delta == 0 {
		w.writeBits(0, 1)
		return
	}
	l := min(uint8(bits.LeadingZeros64(delta)), 31) // 5 bits
	tr := uint8(bits.TrailingZeros64(delta))
	sig := 64 - int(l) - int(tr)
	if *leading != 0xff && l >= *leading && tr >= *trailing {
		if keep := 64 - int(*leading) - int(*trailing); keep <= 11+sig {
			w.writeBits(0b10, 2)
			w.writeBits(delta>>*trailing, keep)
			return
		}
	}
	*leading, *trailing = l, tr
	w.writeBits(0b11, 2)
	w.writeBits(uint64(l), 5)
	w.writeBits(uint64(sig), 6) // 64 is written as 0
	w.writeBits(delta>>tr, sig)
}

// bitWriter appends bits, most significant first.
type bitWriter struct {
	b    []byte
	free uint // unused bits of the last byte
}

// writeBits appends the n low bits of u.
func (w *bitWriter) writeBits(u uint64, n int) {
	for n > 0 {
		if w.free == 0 {
			w.b = append(w.b, 0)
			w.free = 8
		}
		k := min(n, int(w.free))
		w.b[len(w.b)-1] |= byte((u>>(n-k))&(1<<k-1)) << (int(w.free) - k)
		w.free -= uint(k)
		n -= k
	}
}
