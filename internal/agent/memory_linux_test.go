//go:build linux

package agent

import (
	"bufio"
	"context"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// meminfo reads one /proc/meminfo line, in bytes.
func meminfo(t *testing.T, key string) float64 {
	t.Helper()
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && k == key {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb * 1024
		}
	}
	t.Skipf("no %s in /proc/meminfo", key)
	return 0
}

// TestCachedIsMeminfoCached: node_memory_Cached_bytes is /proc/meminfo's
// Cached line, as Node Exporter sends it (not Cached + SReclaimable).
func TestCachedIsMeminfoCached(t *testing.T) {
	slab := meminfo(t, "SReclaimable")
	if slab < 16<<20 {
		t.Skipf("SReclaimable is only %.0f bytes here: cannot tell the two apart", slab)
	}
	var got float64
	for _, s := range NewCollector().Collect(context.Background(), time.Now()) {
		if s.Name == "node_memory_Cached_bytes" {
			got = s.Value
		}
	}
	want := meminfo(t, "Cached")
	if math.Abs(got-want) > slab/2 {
		t.Fatalf("node_memory_Cached_bytes = %.0f, /proc/meminfo Cached = %.0f (SReclaimable %.0f)", got, want, slab)
	}
}
