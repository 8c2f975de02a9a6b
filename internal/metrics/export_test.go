package metrics

import (
	"time"

	"github.com/prometheus/prometheus/tsdb"
)

// tsdbRangeHead is the part of the head up to t, to persist as a block.
func tsdbRangeHead(st *Store, t time.Time) *tsdb.RangeHead {
	h := st.db.Head()
	return tsdb.NewRangeHead(h, h.MinTime(), t.UnixMilli())
}
