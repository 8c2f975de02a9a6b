package web

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/alerting"
	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/engine"
	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/server/specs"
	"github.com/mamori/mamori/internal/store/sqlite"
)

// BenchmarkOverview100k renders the overview (the whole page, as an
// operator) on a real engine holding 100,000 checks on 10,000 hosts, a few
// thousand of them in a problem state. Target: < 200 ms per page.
func BenchmarkOverview100k(b *testing.B) {
	benchOnce.Do(func() { benchH, benchErr = buildBench(b) })
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		rec := httptest.NewRecorder()
		benchH.ServeHTTP(rec, benchReq())
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), `id="n-critical">2200<`) {
			b.Fatalf("overview: %d", rec.Code)
		}
	}
}

// The 100,000-check fixture is built once per test binary: config.Parse
// alone takes minutes at that size (its duplicate-name check is quadratic).
var (
	benchOnce sync.Once
	benchH    http.Handler
	benchErr  error
	benchReq  func() *http.Request
)

func buildBench(b *testing.B) (http.Handler, error) {
	const hosts, perHost = 10000, 10
	ctx := context.Background() // the engine runs until the test binary exits
	dir, err := os.MkdirTemp("", "mamori-web-bench")
	if err != nil {
		return nil, err
	}
	var y strings.Builder
	fmt.Fprintf(&y, "listen: 127.0.0.1:0\ndata_dir: %s\ndefaults: {interval: 24h, attempts: 1}\nhosts:\n", dir)
	for h := 0; h < hosts; h++ {
		fmt.Fprintf(&y, "  - name: h%05d\n    address: 10.%d.%d.%d\n    tenant: t%02d\n    host_check: alive\n    checks:\n      - {name: alive, type: webtest, disabled: true}\n",
			h, h/65536, (h/256)%256, h%256, h%100)
		for c := 1; c < perHost; c++ {
			fmt.Fprintf(&y, "      - {name: svc%d, type: webtest, disabled: true}\n", c)
		}
	}
	t0 := time.Now()
	cfg, err := config.Parse("bench.yaml", []byte(y.String()))
	b.Logf("config.Parse: %v", time.Since(t0))
	if err != nil {
		return nil, err
	}
	st, err := sqlite.Open(ctx, dir)
	if err != nil {
		return nil, err
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	t0 = time.Now()
	bus := event.NewBus()
	eng, err := engine.New(ctx, specs.Plan(cfg), st, log, engine.WithEvents(bus))
	b.Logf("engine.New: %v", time.Since(t0))
	if err != nil {
		return nil, err
	}
	go eng.Run(ctx)
	alert, err := alerting.New(alerting.Deps{Config: cfg, Store: st, States: eng, Events: bus, Log: log})
	if err != nil {
		return nil, err
	}
	t0 = time.Now()
	// 3,000 problems: 2,000 CRITICAL, 800 WARNING, 200 hosts down.
	var wg sync.WaitGroup
	jobs := make(chan int)
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				name, status := fmt.Sprintf("h%05d/svc%d", i*3, 1+i%9), check.Critical
				switch {
				case i >= 2800:
					name = fmt.Sprintf("h%05d/alive", i*3)
				case i >= 2000:
					status = check.Warning
				}
				if _, err := eng.Record(ctx, name, check.Result{Status: status, Output: "problem " + name, Time: time.Now()}); err != nil {
					b.Error(err)
				}
			}
		}()
	}
	for i := 0; i < 3000; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	b.Logf("records: %v", time.Since(t0))

	auth := newFakeAuth()
	sid := auth.session(uOperator)
	con := New(Deps{Engine: eng, Config: func() *config.Config { return cfg }, Alerting: alert, Events: bus, Store: st, Auth: auth, Log: log})
	h := con.Handler()
	env := &testEnv{auth: auth, sid: map[string]string{"ops": sid}, h: h}
	benchReq = func() *http.Request { return env.req("ops", "GET", "/", nil) }
	return h, nil
}
