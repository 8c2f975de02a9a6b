//go:build linux

package agent

import (
	"context"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestLoadAvgExact: the load averages are the kernel's fixed-point values
// (multiples of 1/2048) and agree with /proc/loadavg's two decimals.
func TestLoadAvgExact(t *testing.T) {
	var diff float64
	for range 3 { // the kernel updates the averages every 5 s: a read may straddle an update
		l1, l5, l15, err := loadAvg(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile("/proc/loadavg")
		if err != nil {
			t.Skip(err)
		}
		f := strings.Fields(string(b))
		diff = 0
		for i, v := range []float64{l1, l5, l15} {
			if v*2048 != math.Trunc(v*2048) {
				t.Fatalf("load %d = %v, not a multiple of 1/2048", i, v)
			}
			p, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				t.Fatal(err)
			}
			diff = max(diff, math.Abs(v-p))
		}
		if diff <= 0.0051 {
			return
		}
	}
	t.Fatalf("sysinfo and /proc/loadavg differ by %v", diff)
}
