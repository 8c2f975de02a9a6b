package main

import (
	"io"
	"sync"
	"time"

	"github.com/prometheus/common/expfmt"

	"github.com/mamori/mamori/internal/engine"
)

// countWriter counts what is written to it.
type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// scrape writes, every `every`, what a Prometheus scrape of the server's
// /metrics gets — the registry's families and the checks' series in the
// text format — so that a scrape's CPU and memory are inside the figures,
// as they are in production. The returned function stops it and notes
// the scrapes in res.
func scrape(eng *engine.Engine, every time.Duration) (stop func(*result)) {
	if every <= 0 {
		return func(*result) {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	var n int
	var last int64
	var longest time.Duration
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			start := time.Now()
			last = scrapeOnce(eng)
			n++
			longest = max(longest, time.Since(start))
		}
	}()
	return func(res *result) {
		close(done)
		wg.Wait()
		res.Scrapes, res.ScrapeBytes, res.ScrapeMaxSeconds = n, last, longest.Seconds()
	}
}

func scrapeOnce(eng *engine.Engine) int64 {
	var w countWriter
	format := expfmt.NewFormat(expfmt.TypeTextPlain)
	enc := expfmt.NewEncoder(&w, format)
	fams, _ := eng.Metrics.Registry.Gather()
	for _, f := range fams {
		enc.Encode(f)
	}
	eng.WriteCheckMetrics(io.Writer(&w))
	return w.n
}
