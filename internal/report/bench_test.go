package report_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	_ "github.com/mamori/mamori/internal/check/all"
	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/metrics"
	"github.com/mamori/mamori/internal/report"
	"github.com/mamori/mamori/internal/state"
	"github.com/mamori/mamori/internal/store"
	"github.com/mamori/mamori/internal/store/sqlite"
	"github.com/mamori/mamori/internal/wire"
)

const (
	benchHosts       = 100
	benchChecksEach  = 10
	benchSampleEvery = 5 * time.Minute
)

// BenchmarkReportMonth100Hosts1000Checks: a tenant with 100 hosts and
// 1,000 checks, a month of state history (two outages per check, one of
// them soft only) and of agent metrics (every 5 minutes: CPU, load, memory,
// two file systems, network), the whole report built and rendered as JSON,
// HTML and PDF. peak-heap-MB is the largest heap seen while generating;
// heap-before-MB is the heap before (the stores' own memory); cpu-s/op is
// the CPU time (user + system) the process used per report, which a
// loaded machine does not inflate as it does the wall time (ns/op).
func BenchmarkReportMonth100Hosts1000Checks(b *testing.B) {
	if !report.FontAvailable("") {
		b.Skip("no Japanese TrueType font (fonts-ipaexfont-gothic)")
	}
	ctx := context.Background()
	// MAMORI_REPORT_BENCH_DIR keeps the generated history there and uses
	// it again on the next run (the setup takes minutes; the report is
	// what is measured).
	dir, keep := os.LookupEnv("MAMORI_REPORT_BENCH_DIR")
	if !keep {
		dir = b.TempDir()
	}
	ready := filepath.Join(dir, "ready")
	_, err := os.Stat(ready)
	fresh := err != nil
	loc, _ := time.LoadLocation("Asia/Tokyo")
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, loc)
	to := from.AddDate(0, 1, 0)
	cfg := benchConfig(b, dir)
	st, err := sqlite.Open(ctx, filepath.Join(dir, "data"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if fresh {
		benchHistory(b, st, cfg, from)
	}
	tsdb, err := metrics.Open(filepath.Join(dir, "tsdb"), 400*24*time.Hour, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer tsdb.Close()
	if fresh {
		benchMetrics(b, tsdb, from, to)
		if keep {
			if err := os.WriteFile(ready, nil, 0o600); err != nil {
				b.Fatal(err)
			}
		}
	}
	src := report.Sources{Config: cfg, History: st, Alerts: st, Tickets: st, Windows: cfg.Maintenance, Metrics: tsdb}

	var peak atomic.Uint64
	stop := make(chan struct{})
	go func() {
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
				runtime.ReadMemStats(&ms)
				if ms.HeapAlloc > peak.Load() {
					peak.Store(ms.HeapAlloc)
				}
			}
		}
	}()
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	cpu0 := cpuTime(b)
	b.ResetTimer()
	var pdfBytes int
	for b.Loop() {
		r, files, err := report.Render(ctx, src, report.Options{Tenant: "acme", From: from, To: to, Now: to})
		if err != nil {
			b.Fatal(err)
		}
		if len(r.Checks) != benchHosts*benchChecksEach || len(r.Trends) != benchHosts {
			b.Fatalf("%d checks, %d hosts with trends", len(r.Checks), len(r.Trends))
		}
		pdfBytes = len(files.PDF)
	}
	b.StopTimer()
	b.ReportMetric((cpuTime(b)-cpu0).Seconds()/float64(b.N), "cpu-s/op")
	close(stop)
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MB")
	b.ReportMetric(float64(base.HeapAlloc)/(1<<20), "heap-before-MB")
	b.ReportMetric(float64(pdfBytes)/(1<<20), "pdf-MB")
}

func benchConfig(b *testing.B, dir string) *config.Config {
	var y strings.Builder
	fmt.Fprintf(&y, "data_dir: %s\ntenants:\n  - {name: acme, availability_target: 99.9}\nhosts:\n", filepath.Join(dir, "data"))
	for h := 0; h < benchHosts; h++ {
		fmt.Fprintf(&y, "  - name: h%03d\n    address: 127.0.0.1\n    tenant: acme\n    checks:\n", h)
		for c := 0; c < benchChecksEach; c++ {
			fmt.Fprintf(&y, "      - {name: c%d, type: tcp, host: 127.0.0.1, port: %d}\n", c, 10000+c)
		}
	}
	cfg, err := config.Parse(filepath.Join(dir, "mamori.yaml"), []byte(y.String()))
	if err != nil {
		b.Fatal(err)
	}
	return cfg
}

// benchHistory stores, per check, a first result before the month, a
// soft blip and a 20-minute hard outage.
func benchHistory(b *testing.B, st *sqlite.Store, cfg *config.Config, from time.Time) {
	ctx := context.Background()
	var ws []store.Write
	tr := func(c string, t time.Time, s check.Status, typ state.Type) {
		ws = append(ws, store.Write{Check: c, Result: check.Result{Status: s, Time: t}, State: state.State{Status: s, Type: typ},
			Transition: &state.Transition{Time: t, To: s, ToType: typ, Hard: typ == state.Hard}})
	}
	for i, c := range cfg.Checks {
		ws = append(ws, store.Write{Check: c.Name, Result: check.Result{Status: check.OK, Time: from.Add(-time.Hour)}})
		t := from.Add(time.Duration(i%600) * time.Hour)
		tr(c.Name, t, check.Critical, state.Soft)
		tr(c.Name, t.Add(2*time.Minute), check.OK, state.Hard)
		tr(c.Name, t.Add(100*time.Hour), check.Critical, state.Soft)
		tr(c.Name, t.Add(100*time.Hour+5*time.Minute), check.Critical, state.Hard)
		tr(c.Name, t.Add(100*time.Hour+25*time.Minute), check.OK, state.Hard)
		if len(ws) > 400 {
			if _, err := st.Commit(ctx, ws); err != nil {
				b.Fatal(err)
			}
			ws = ws[:0]
		}
	}
	if _, err := st.Commit(ctx, ws); err != nil {
		b.Fatal(err)
	}
}

// benchMetrics appends a month of agent metrics, a day of a host at a
// time (older days of the other hosts go through the store's out-of-order
// path), and compacts the store as the server does in the background once
// a minute, so that the report reads persisted blocks, as it does on the
// 1st of a month.
func benchMetrics(b *testing.B, tsdb *metrics.Store, from, to time.Time) {
	tenants := map[string]string{}
	for h := 0; h < benchHosts; h++ {
		tenants[fmt.Sprintf("h%03d", h)] = "acme"
	}
	tsdb.SetHostTenants(tenants)
	counters := make([]float64, benchHosts*4)
	var ss []wire.Sample
	for day := from; day.Before(to); day = day.AddDate(0, 0, 1) {
		for h := 0; h < benchHosts; h++ {
			ss = ss[:0]
			for t := day; t.Before(day.AddDate(0, 0, 1)); t = t.Add(benchSampleEvery) {
				ms := t.UnixMilli()
				x := float64(t.Unix()%86400) / 86400 * 2 * math.Pi
				add := func(name string, v float64, kv ...string) {
					l := map[string]string{}
					for i := 0; i+1 < len(kv); i += 2 {
						l[kv[i]] = kv[i+1]
					}
					ss = append(ss, wire.Sample{Name: name, Labels: l, Time: ms, Value: v})
				}
				c := counters[h*4 : h*4+4]
				c[0] += 300 * (0.6 + 0.3*math.Sin(x)) // idle seconds of one CPU
				c[1] += 300 * 1e5 * (1.5 + math.Sin(x))
				c[2] += 300 * 4e4 * (1.2 + math.Cos(x))
				add("node_cpu_seconds_total", c[0], "cpu", "0", "mode", "idle")
				add("node_load1", 1+math.Sin(x))
				add("node_memory_MemTotal_bytes", 8e9)
				add("node_memory_MemAvailable_bytes", 4e9+1e9*math.Sin(x))
				for _, m := range []string{"/", "/var"} {
					add("node_filesystem_size_bytes", 1e11, "mountpoint", m)
					add("node_filesystem_avail_bytes", 5e10+1e9*math.Cos(x), "mountpoint", m)
				}
				add("node_network_receive_bytes_total", c[1], "device", "eth0")
				add("node_network_transmit_bytes_total", c[2], "device", "eth0")
			}
			if _, err := tsdb.Append(fmt.Sprintf("h%03d", h), ss); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := tsdb.Compact(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.Logf("time-series store: %+v", tsdb.Stats())
}
