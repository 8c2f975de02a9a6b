// Package memcheck is the agent-side "memory" check type: the share of real
// memory in use (total minus what the kernel reports as available, so page
// cache does not count as used) and the share of swap in use.
package memcheck

import (
	"context"
	"fmt"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/shirou/gopsutil/v4/mem"
)

// Defaults. The seed watches "real memory usage" without a number; these
// follow the common "high memory utilization" limits (Zabbix: 90 %).
const (
	DefaultWarning      = 90.0
	DefaultCritical     = 95.0
	DefaultSwapWarning  = 50.0
	DefaultSwapCritical = 80.0
)

func init() {
	check.Register(&check.Kind{
		Name:    "memory",
		Label:   "MEMORY",
		Summary: "real memory and swap used (%) on the agent's host",
		Scope:   check.ScopeAgent,
		Timeout: 10 * time.Second,
		New: func() check.Spec {
			return &Spec{Warning: DefaultWarning, Critical: DefaultCritical, SwapWarning: DefaultSwapWarning, SwapCritical: DefaultSwapCritical}
		},
	})
}

// Spec is the memory check's configuration.
type Spec struct {
	Warning      float64 `yaml:"warning" help:"memory used % above this is WARNING (0: none)"`
	Critical     float64 `yaml:"critical" help:"memory used % above this is CRITICAL (0: none)"`
	SwapWarning  float64 `yaml:"swap_warning" help:"swap used % above this is WARNING (0: none; ignored without swap)"`
	SwapCritical float64 `yaml:"swap_critical" help:"swap used % above this is CRITICAL (0: none; ignored without swap)"`
}

// Validate reports every problem.
func (s *Spec) Validate() []check.FieldError {
	var errs []check.FieldError
	pct := func(key string, v float64) {
		if v < 0 || v > 100 {
			errs = append(errs, check.Errf(key, "must be a percentage between 0 and 100, not %g", v))
		}
	}
	pct("warning", s.Warning)
	pct("critical", s.Critical)
	pct("swap_warning", s.SwapWarning)
	pct("swap_critical", s.SwapCritical)
	if s.Warning > 0 && s.Critical > 0 && s.Warning > s.Critical {
		errs = append(errs, check.Errf("warning", "%g is above critical %g", s.Warning, s.Critical))
	}
	if s.SwapWarning > 0 && s.SwapCritical > 0 && s.SwapWarning > s.SwapCritical {
		errs = append(errs, check.Errf("swap_warning", "%g is above swap_critical %g", s.SwapWarning, s.SwapCritical))
	}
	return errs
}

// Sample is what the checker reads (bytes).
type Sample struct {
	Total, Available    uint64
	SwapTotal, SwapFree uint64
}

var readSystem = func(ctx context.Context) (Sample, error) {
	vm, err := mem.VirtualMemoryWithContext(ctx)
	if err != nil {
		return Sample{}, err
	}
	s := Sample{Total: vm.Total, Available: vm.Available}
	if sw, err := mem.SwapMemoryWithContext(ctx); err == nil {
		s.SwapTotal, s.SwapFree = sw.Total, sw.Free
	}
	return s, nil
}

// New builds the checker.
func (s *Spec) New(check.Env) (check.Checker, error) {
	sp := *s
	return check.CheckerFunc(func(ctx context.Context) check.Result {
		smp, err := readSystem(ctx)
		if err != nil {
			return check.Resultf(check.Unknown, "cannot read memory statistics: %v", err)
		}
		return Evaluate(&sp, smp)
	}), nil
}

// Evaluate grades a sample.
func Evaluate(s *Spec, smp Sample) check.Result {
	if smp.Total == 0 {
		return check.Resultf(check.Unknown, "total memory reported as 0")
	}
	avail := min(smp.Available, smp.Total)
	used := smp.Total - avail
	usedPct := 100 * float64(used) / float64(smp.Total)
	st := over(usedPct, s.Warning, s.Critical)
	text := fmt.Sprintf("memory %.1f%% used (%s of %s)", usedPct, Bytes(used), Bytes(smp.Total))
	perf := []check.Metric{pctMetric("mem_used", usedPct, s.Warning, s.Critical)}
	var swapPct float64
	if smp.SwapTotal > 0 {
		sfree := min(smp.SwapFree, smp.SwapTotal)
		sused := smp.SwapTotal - sfree
		swapPct = 100 * float64(sused) / float64(smp.SwapTotal)
		sst := over(swapPct, s.SwapWarning, s.SwapCritical)
		text += fmt.Sprintf(", swap %.1f%% used (%s of %s)", swapPct, Bytes(sused), Bytes(smp.SwapTotal))
		if sst.Severity() > st.Severity() {
			text = fmt.Sprintf("swap %.1f%% used is above %s: ", swapPct, limit(sst, s.SwapWarning, s.SwapCritical)) + text
		}
		st = check.Worst(st, sst)
		perf = append(perf, pctMetric("swap_used", swapPct, s.SwapWarning, s.SwapCritical))
	} else {
		text += ", no swap"
	}
	r := check.Resultf(st, "%s", text)
	usedB := check.M("mem_used_bytes", float64(used), "B")
	usedB.Min, usedB.Max = 0, float64(smp.Total)
	r.Perf = append(perf, usedB)
	return r
}

func limit(st check.Status, w, c float64) string {
	if st == check.Critical {
		return fmt.Sprintf("critical %g%%", c)
	}
	return fmt.Sprintf("warning %g%%", w)
}

func over(v, warn, crit float64) check.Status {
	switch {
	case crit > 0 && v > crit:
		return check.Critical
	case warn > 0 && v > warn:
		return check.Warning
	}
	return check.OK
}

func pctMetric(label string, v, w, c float64) check.Metric {
	m := check.M(label, float64(int64(v*100+0.5))/100, "%")
	if w > 0 {
		m.Warn = w
	}
	if c > 0 {
		m.Crit = c
	}
	m.Min, m.Max = 0, 100
	return m
}

// Bytes renders a byte count in binary units ("1.5 GiB").
func Bytes(b uint64) string {
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%d B", b)
	}
	div, exp := uint64(unit), 0
	for n := b / unit; n >= unit && exp < 5; n /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(b)/float64(div), "KMGTPE"[exp])
}
