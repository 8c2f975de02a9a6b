package postgres

import (
	"context"
	"sync"
	"testing"

	"github.com/mamori/mamori/internal/store/postgres/pgtest"
	"github.com/mamori/mamori/internal/store/storetest"
)

// opener opens the test's database, a fresh mamori_st_<random> created on
// the test's first call and dropped when it ends.
func opener() storetest.Opener {
	var mu sync.Mutex
	dsns := map[testing.TB]string{}
	return func(t testing.TB) storetest.Store {
		t.Helper()
		mu.Lock()
		dsn, ok := dsns[t]
		if !ok {
			dsn = pgtest.DSN(t)
			dsns[t] = dsn
			// A benchmark's function runs more than once on the same B,
			// each run's database dropped after it: the next gets a new one.
			t.Cleanup(func() { mu.Lock(); delete(dsns, t); mu.Unlock() })
		}
		mu.Unlock()
		s, err := Open(context.Background(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
}

func TestConformance(t *testing.T) { storetest.Run(t, opener()) }

func BenchmarkCommit100(b *testing.B)          { storetest.BenchCommit100(b, opener()) }
func BenchmarkCommitSizes(b *testing.B)        { storetest.BenchCommitSizes(b, opener()) }
func BenchmarkCommitAfterHistory(b *testing.B) { storetest.BenchCommitAfterHistory(b, opener()) }
func BenchmarkLoadStates(b *testing.B)         { storetest.BenchLoadStates(b, opener()) }
func BenchmarkCommit100Fenced(b *testing.B)    { storetest.BenchCommit100Fenced(b, opener()) }
