package agent

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestCollect(t *testing.T) {
	c := NewCollector()
	s := c.Collect(context.Background(), time.Now())
	names := map[string]int{}
	for _, x := range s {
		names[x.Name]++
		if _, bad := x.Labels["host"]; bad {
			t.Fatal("client-sent host label")
		}
	}
	for _, n := range []string{"node_load1", "node_load5", "node_load15", "node_cpu_seconds_total", "node_memory_MemTotal_bytes", "node_memory_MemAvailable_bytes", "node_memory_MemFree_bytes", "node_memory_Buffers_bytes", "node_memory_Cached_bytes", "node_memory_SwapTotal_bytes", "node_memory_SwapFree_bytes", "node_network_receive_bytes_total", "node_network_transmit_errs_total", "node_procs_total", "node_boot_time_seconds", "node_time_seconds", "node_uname_info"} {
		if names[n] == 0 {
			t.Errorf("no %s (errors: %v)", n, c.Errors)
		}
	}
	if names["node_filesystem_size_bytes"] == 0 {
		t.Logf("no filesystem metrics here (container?): %v", c.Errors)
	}
	// The label maps are shared between collections (no garbage per run).
	s2 := c.Collect(context.Background(), time.Now())
	if len(s2) != len(s) && !strings.Contains(strings.Join(c.Errors, ""), "") {
		t.Logf("%d then %d samples", len(s), len(s2))
	}
}

func TestTailBuffer(t *testing.T) {
	tb := &tailBuffer{max: 28}
	tb.Write([]byte("0123456789"))
	tb.Write([]byte("abcdefghij"))
	got := tb.String()
	tb.Write([]byte("KLMNOPQRSTUVWXYZ"))
	got = tb.String()
	if len(got) > 28 || !strings.HasSuffix(got, "WXYZ") || !strings.HasPrefix(got, "[") {
		t.Fatalf("%q", got)
	}
	tb2 := &tailBuffer{max: MaxActionOutput}
	tb2.Write([]byte(strings.Repeat("x", 100000)))
	if s := tb2.String(); len(s) > MaxActionOutput || !strings.Contains(s, "bytes before cut") {
		t.Fatalf("%d bytes", len(s))
	}
}

// BenchmarkCollect measures one metrics collection (reported: allocations,
// and CPU time per collection as cpu-ns/op).
func BenchmarkCollect(b *testing.B) {
	c := NewCollector()
	ctx := context.Background()
	c.Collect(ctx, time.Now()) // warm the label cache and boot time
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	n := 0
	for i := 0; i < b.N; i++ {
		n = len(c.Collect(ctx, time.Now()))
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(n), "samples/op")
}

// BenchmarkCollectAndSpool is one metrics tick end to end: collect, encode,
// gzip and fsync into the spool.
func BenchmarkCollectAndSpool(b *testing.B) {
	s, err := OpenSpool(b.TempDir(), 64<<20)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	c := NewCollector()
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	start := cpuTime()
	var bytes int64
	for i := 0; i < b.N; i++ {
		samples := c.Collect(ctx, time.Now())
		s.Append(func(seq, dr, ds uint64) ([]byte, uint32, uint32, error) {
			batch := batchOf(seq, samples)
			gz, err := encodeBatch(&batch)
			bytes = int64(len(gz))
			return gz, 0, uint32(len(samples)), err
		})
		s.Ack(s.LastSeq())
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(bytes), "gzip-bytes/op")
}
