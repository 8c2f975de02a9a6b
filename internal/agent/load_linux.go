//go:build linux

package agent

import (
	"context"

	"golang.org/x/sys/unix"
)

// loadAvg reads the load averages from sysinfo(2): the kernel's values
// exactly (fixed point in 1/2048, shifted to 1/65536). /proc/loadavg
// prints the same values rounded to two decimals, and a decimal fraction
// costs the time-series store ~7 bytes a sample where the exact binary
// fraction costs ~3 (docs/metrics.md).
func loadAvg(context.Context) (l1, l5, l15 float64, err error) {
	var si unix.Sysinfo_t
	if err := unix.Sysinfo(&si); err != nil {
		return 0, 0, 0, err
	}
	const one = 1 << 16 // SI_LOAD_SHIFT
	return float64(si.Loads[0]) / one, float64(si.Loads[1]) / one, float64(si.Loads[2]) / one, nil
}
