package metrics

import (
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/promql/parser"
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
