package metrics

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"

	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb"
)

// ErrReadOnly is returned when appending to a store opened read-only.
var ErrReadOnly = errors.New("metrics: store opened read-only")

// OpenReadOnly opens the store in dir for queries only, alongside a server
// that may have it open for writing (commands such as `mamori report` use
// it). The head's write-ahead log is replayed into a temporary directory
// that Close removes. Stats, Append and compaction are not available.
func OpenReadOnly(dir string, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	sandbox, err := os.MkdirTemp("", "mamori-tsdb-ro-")
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	ro, err := tsdb.OpenDBReadOnly(dir, sandbox, log.With("component", "tsdb"))
	if err != nil {
		os.RemoveAll(sandbox)
		return nil, fmt.Errorf("metrics: open %s read-only: %w", dir, err)
	}
	p := parser.NewParser(parser.Options{})
	s := &Store{ro: ro, parser: p, log: log, opts: options{timeout: DefaultQueryTimeout, maxSamples: DefaultMaxSamples, lookback: DefaultLookback}}
	s.engine = promql.NewEngine(promql.EngineOpts{
		Logger: log.With("component", "promql"), MaxSamples: DefaultMaxSamples, Timeout: DefaultQueryTimeout,
		LookbackDelta: DefaultLookback, EnableAtModifier: true, EnableNegativeOffset: true, Parser: p,
	})
	empty := map[string]string{}
	s.tenants.Store(&empty)
	s.sandbox = sandbox
	return s, nil
}

// lockRO makes a store opened read-only answer one read at a time, and
// returns the unlock (the shared querier of roQueryable is not shown to be
// safe for concurrent reads).
func (s *Store) lockRO() (unlock func()) {
	if s.ro == nil {
		return func() {}
	}
	s.roMu.Lock()
	return s.roMu.Unlock
}

// roQueryable serves every read of a read-only store from one querier over
// all its data, opened at the first read and closed by Close: for each
// querier it makes, tsdb.DBReadOnly opens the blocks and replays the
// write-ahead log again and closes the previous one's, and once the head
// has chunks on disk it cannot make a second one at all (it links them
// into its sandbox again: "file exists"). The engine passes each
// selection's time range in its hints.
func (s *Store) roQueryable() storage.Queryable {
	return storage.QueryableFunc(func(_, _ int64) (storage.Querier, error) {
		s.roOnce.Do(func() {
			s.roQ, s.roErr = s.ro.Querier(math.MinInt64, math.MaxInt64)
		})
		if s.roErr != nil {
			return nil, s.roErr
		}
		return keepOpen{s.roQ}, nil
	})
}

// keepOpen is a querier whose Close leaves the shared querier open.
type keepOpen struct{ storage.Querier }

func (keepOpen) Close() error { return nil }
