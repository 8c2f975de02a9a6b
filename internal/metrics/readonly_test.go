package metrics

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql"

	"github.com/mamori/mamori/internal/wire"
)

// A store opened read-only answers concurrent queries (the report runs its
// trend queries on several workers), with data from blocks and from the
// write-ahead log.
func TestReadOnlyConcurrentQueries(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(dir, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	st.SetHostTenants(map[string]string{"h1": "acme"})
	now := time.Now().Truncate(time.Minute)
	from := now.Add(-6 * time.Hour)
	var ss []wire.Sample
	for ts := from; !ts.After(now); ts = ts.Add(time.Minute) {
		ss = append(ss, wire.Sample{Name: "node_load1", Time: ms(ts), Value: 1})
	}
	if _, err := st.Append("h1", ss); err != nil {
		t.Fatal(err)
	}
	if err := st.Compact(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := OpenReadOnly(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if err := ro.Compact(context.Background()); err != ErrReadOnly {
		t.Errorf("Compact on a read-only store: %v, want ErrReadOnly", err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 5 {
				res, err := ro.QueryRange(context.Background(), "node_load1", from, now, 10*time.Minute, "acme")
				if err != nil {
					t.Error(err)
					return
				}
				m, _ := res.Value.(promql.Matrix)
				if len(m) != 1 || len(m[0].Floats) != 37 {
					t.Errorf("got %v, want one series of 37 points", res.Value)
					return
				}
				if _, err := ro.LabelValues(context.Background(), "host", from, now, nil, "acme"); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
}
