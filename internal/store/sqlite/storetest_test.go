package sqlite

import (
	"context"
	"sync"
	"testing"

	"github.com/mamori/mamori/internal/store/storetest"
)

// opener opens the test's data directory (one per test, reused when the
// test opens its store again).
func opener() storetest.Opener {
	var mu sync.Mutex
	dirs := map[testing.TB]string{}
	return func(t testing.TB) storetest.Store {
		t.Helper()
		mu.Lock()
		dir, ok := dirs[t]
		if !ok {
			dir = t.TempDir()
			dirs[t] = dir
		}
		mu.Unlock()
		s, err := Open(context.Background(), dir)
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
func BenchmarkMoveStaged(b *testing.B)         { storetest.BenchMoveStaged(b, opener()) }
