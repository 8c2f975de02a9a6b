package metrics

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
)

// joinedChunkSamples is the most samples compaction puts into one float
// chunk when it joins a series' consecutive chunks.
//
// The head cuts a series' chunk at every 2-hour block boundary: at the
// agent's 60 s interval a chunk holds 120 samples, and each costs ~30
// bytes beside its samples (the first timestamp and value in full, the
// chunk's length, encoding and checksum, its entry in the index). When
// blocks are merged, the compactor joins consecutive chunks of a series
// into one of up to this many samples (a day at 60 s), so compacted data
// pays that cost once a day instead of every 2 hours (docs/metrics.md). A
// query reading a compacted block decodes at most this many samples for
// one chunk — a few microseconds.
//
// Only XOR chunks are joined: the library's XOR2 encoding records a start
// timestamp delta for every sample after the 127th (~3 bytes a sample
// even when no sample has one), so XOR2 suits the head's 120-sample
// chunks only.
const joinedChunkSamples = 1440

// newCompactor is the library's leveled compactor, with the default
// merging of overlapping chunks followed by the joining of consecutive
// float chunks (joinChunks).
func newCompactor(ctx context.Context, r prometheus.Registerer, l *slog.Logger, ranges []int64, pool chunkenc.Pool, o *tsdb.Options) (tsdb.Compactor, error) {
	merge := storage.NewCompactingChunkSeriesMerger(storage.ChainedSeriesMerge)
	return tsdb.NewLeveledCompactorWithOptions(ctx, r, l, ranges, pool, tsdb.LeveledCompactorOptions{
		MaxBlockChunkSegmentSize:    o.MaxBlockChunkSegmentSize,
		EnableOverlappingCompaction: o.EnableOverlappingCompaction,
		PD:                          o.PostingsDecoderFactory,
		UseUncachedIO:               o.UseUncachedIO,
		BlockExcludeFilter:          o.BlockCompactionExcludeFunc,
		MergeFunc: func(series ...storage.ChunkSeries) storage.ChunkSeries {
			s := merge(series...)
			if s == nil {
				return nil
			}
			return &storage.ChunkSeriesEntry{Lset: s.Labels(), ChunkIteratorFn: func(chunks.Iterator) chunks.Iterator {
				return &joinIterator{src: s.Iterator(nil), max: joinedChunkSamples}
			}}
		},
	})
}

// joinIterator yields the chunks of src, time-ordered and not
// overlapping, with runs of consecutive float (XOR) chunks re-encoded
// (encodeXOR) into chunks of up to max samples. Other chunks pass as they
// are.
type joinIterator struct {
	src     chunks.Iterator
	max     int
	pending *chunks.Meta // read from src, not yet yielded
	cur     chunks.Meta
	ts      []int64 // samples of the chunks being joined
	vs      []float64
	err     error
}

func (j *joinIterator) At() chunks.Meta { return j.cur }
func (j *joinIterator) Err() error {
	if j.err != nil {
		return j.err
	}
	return j.src.Err()
}

// take returns the next chunk of src.
func (j *joinIterator) take() (chunks.Meta, bool) {
	if j.pending != nil {
		m := *j.pending
		j.pending = nil
		return m, true
	}
	if !j.src.Next() {
		return chunks.Meta{}, false
	}
	return j.src.At(), true
}

func (j *joinIterator) Next() bool {
	if j.err != nil {
		return false
	}
	first, ok := j.take()
	if !ok {
		return false
	}
	j.cur = first
	if !isXOR(first) {
		return true
	}
	j.ts, j.vs = j.ts[:0], j.vs[:0]
	n := first.Chunk.NumSamples()
	for {
		next, ok := j.take()
		if !ok {
			break
		}
		if !isXOR(next) || next.MinTime <= j.cur.MaxTime || n+next.Chunk.NumSamples() > j.max {
			j.pending = &next
			break
		}
		if len(j.ts) == 0 {
			if j.err = j.read(first.Chunk); j.err != nil {
				return false
			}
		}
		if j.err = j.read(next.Chunk); j.err != nil {
			return false
		}
		n += next.Chunk.NumSamples()
		j.cur.MaxTime = next.MaxTime
	}
	if len(j.ts) > 0 {
		c, err := encodeXOR(j.ts, j.vs)
		if err != nil {
			j.err = err
			return false
		}
		j.cur = chunks.Meta{Chunk: c, MinTime: first.MinTime, MaxTime: j.cur.MaxTime}
	}
	return true
}

func isXOR(m chunks.Meta) bool { return m.Chunk != nil && m.Chunk.Encoding() == chunkenc.EncXOR }

// read appends the samples of the float chunk c (bit for bit, stale
// markers included) to j.ts and j.vs.
func (j *joinIterator) read(c chunkenc.Chunk) error {
	it := c.Iterator(nil)
	for vt := it.Next(); vt != chunkenc.ValNone; vt = it.Next() {
		if vt != chunkenc.ValFloat {
			return fmt.Errorf("metrics: %v sample in a float chunk", vt)
		}
		t, v := it.At()
		j.ts, j.vs = append(j.ts, t), append(j.vs, v)
	}
	return it.Err()
}
