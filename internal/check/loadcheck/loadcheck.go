// Package loadcheck is the agent-side "load" check type: the system load
// average (by default the 5-minute one, as the resource monitoring of the
// seed service watches it), optionally divided by the number of CPUs.
package loadcheck

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/load"
)

// Defaults. The seed names the 5-minute load average but no number; these
// are check_load's customary values for the 5-minute column.
const (
	DefaultMinutes  = 5
	DefaultWarning  = 5.0
	DefaultCritical = 10.0
)

func init() {
	check.Register(&check.Kind{
		Name:    "load",
		Label:   "LOAD",
		Summary: "load average of the agent's host (5-minute by default), optionally per CPU",
		Scope:   check.ScopeAgent,
		Timeout: 10 * time.Second,
		New: func() check.Spec {
			return &Spec{Minutes: DefaultMinutes, Warning: DefaultWarning, Critical: DefaultCritical}
		},
	})
}

// Spec is the load check's configuration.
type Spec struct {
	Minutes  int     `yaml:"minutes" help:"which load average to grade: 1, 5 or 15 (minutes)"`
	PerCPU   bool    `yaml:"per_cpu" help:"divide the load by the number of logical CPUs before comparing"`
	Warning  float64 `yaml:"warning" help:"load above this is WARNING (0: none)"`
	Critical float64 `yaml:"critical" help:"load above this is CRITICAL (0: none)"`
}

// Validate reports every problem.
func (s *Spec) Validate() []check.FieldError {
	var errs []check.FieldError
	if s.Minutes != 1 && s.Minutes != 5 && s.Minutes != 15 {
		errs = append(errs, check.Errf("minutes", "must be 1, 5 or 15, not %d", s.Minutes))
	}
	if s.Warning < 0 {
		errs = append(errs, check.Errf("warning", "cannot be negative"))
	}
	if s.Critical < 0 {
		errs = append(errs, check.Errf("critical", "cannot be negative"))
	}
	if s.Warning > 0 && s.Critical > 0 && s.Warning > s.Critical {
		errs = append(errs, check.Errf("warning", "%g is above critical %g", s.Warning, s.Critical))
	}
	return errs
}

// Sample is what the checker reads from the system.
type Sample struct {
	Load1, Load5, Load15 float64
	CPUs                 int
}

// readSystem reads the load averages and the CPU count; tests replace it.
var readSystem = func(ctx context.Context) (Sample, error) {
	avg, err := load.AvgWithContext(ctx)
	if err != nil {
		return Sample{}, err
	}
	n, err := cpu.CountsWithContext(ctx, true)
	if err != nil || n < 1 {
		n = 1
	}
	return Sample{avg.Load1, avg.Load5, avg.Load15, n}, nil
}

// New builds the checker.
func (s *Spec) New(check.Env) (check.Checker, error) {
	sp := *s
	return check.CheckerFunc(func(ctx context.Context) check.Result {
		smp, err := readSystem(ctx)
		if err != nil {
			return check.Resultf(check.Unknown, "cannot read the load average: %v", err)
		}
		return Evaluate(&sp, smp)
	}), nil
}

// Evaluate grades a sample against the spec.
func Evaluate(s *Spec, smp Sample) check.Result {
	v := smp.Load5
	switch s.Minutes {
	case 1:
		v = smp.Load1
	case 15:
		v = smp.Load15
	}
	graded := v
	what := fmt.Sprintf("load average (%d min) %s", s.Minutes, f2(v))
	if s.PerCPU && smp.CPUs > 0 {
		graded = v / float64(smp.CPUs)
		what = fmt.Sprintf("load average per CPU (%d min) %s on %d CPUs", s.Minutes, f2(graded), smp.CPUs)
	}
	st := Over(graded, s.Warning, s.Critical)
	r := check.Resultf(st, "%s [%s, %s, %s]%s", what, f2(smp.Load1), f2(smp.Load5), f2(smp.Load15), limitText(st, s.Warning, s.Critical))
	for _, m := range []struct {
		label string
		min   int
		v     float64
	}{{"load1", 1, smp.Load1}, {"load5", 5, smp.Load5}, {"load15", 15, smp.Load15}} {
		mt := check.M(m.label, m.v, "")
		mt.Min = 0
		if m.min == s.Minutes {
			scale := 1.0
			if s.PerCPU && smp.CPUs > 0 {
				scale = float64(smp.CPUs)
			}
			if s.Warning > 0 {
				mt.Warn = s.Warning * scale
			}
			if s.Critical > 0 {
				mt.Crit = s.Critical * scale
			}
		}
		r.Perf = append(r.Perf, mt)
	}
	return r
}

// Over grades v: above crit (when > 0) is CRITICAL, above warn is WARNING.
func Over(v, warn, crit float64) check.Status {
	switch {
	case crit > 0 && v > crit:
		return check.Critical
	case warn > 0 && v > warn:
		return check.Warning
	}
	return check.OK
}

func limitText(st check.Status, warn, crit float64) string {
	switch st {
	case check.Critical:
		return " > critical " + f2(crit)
	case check.Warning:
		return " > warning " + f2(warn)
	}
	return ""
}

func f2(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
