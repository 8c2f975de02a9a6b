package maintenance

import (
	"fmt"
	"path"
	"strings"
)

// FieldError is one problem with a window.
type FieldError struct {
	Field string // JSON/YAML name, e.g. "cron" or "weekly.days[1]"
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// Validate returns every problem with the window (nil if it is valid):
// no scope (and not All), All combined with scope fields, empty or bad
// patterns, no or several schedules, end not after start, a bad cron
// expression or weekly rule, a duration ≤ 0 (or over MaxRecurringDuration),
// From/Until on a one-off window or Until not after From, an unknown
// time zone.
func (w *Window) Validate() []error {
	var p problems
	w.validateScope(&p)
	if _, err := w.Location(); err != nil {
		p.add("time_zone", "%v", err)
	}
	w.validateSchedule(&p)
	w.validateRecurrence(&p)
	return p.errs
}

// problems collects the FieldErrors of one validation.
type problems struct{ errs []error }

func (p *problems) add(field, format string, args ...any) {
	p.errs = append(p.errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
}

// validateScope checks what the window covers: a scope or all (not
// both) and well-formed tenant, host, group, check and tag entries.
func (w *Window) validateScope(p *problems) {
	if !w.Scoped() && !w.All {
		p.add("scope", "a window must name a tenant, hosts, groups, checks or tags (or set all: true to cover everything)")
	}
	if w.Scoped() && w.All {
		p.add("all", "all: true cannot be combined with tenant, hosts, groups, checks or tags")
	}
	if w.Tenant != strings.TrimSpace(w.Tenant) {
		p.add("tenant", "%q has surrounding spaces", w.Tenant)
	}
	for _, l := range []struct {
		field    string
		items    []string
		patterns bool
	}{{"hosts", w.Hosts, true}, {"groups", w.Groups, false}, {"checks", w.Checks, true}, {"tags", w.Tags, false}} {
		for i, it := range l.items {
			f := fmt.Sprintf("%s[%d]", l.field, i)
			switch {
			case strings.TrimSpace(it) == "":
				p.add(f, "is empty")
			case it != strings.TrimSpace(it):
				p.add(f, "%q has surrounding spaces", it)
			case l.patterns:
				if _, err := path.Match(it, ""); err != nil {
					p.add(f, "%q is not a valid pattern: %v", it, err)
				}
			}
		}
	}
}

// validateSchedule checks that exactly one schedule is given (one-off,
// cron or weekly) and that the chosen one is complete and consistent.
func (w *Window) validateSchedule(p *problems) {
	oneOff := !w.Start.IsZero() || !w.End.IsZero()
	kinds := 0
	for _, b := range []bool{oneOff, w.Cron != "", w.Weekly != nil} {
		if b {
			kinds++
		}
	}
	switch {
	case kinds == 0:
		p.add("schedule", "a window needs start and end, a cron expression with a duration, or a weekly rule")
	case kinds > 1:
		p.add("schedule", "start/end, cron and weekly are alternatives; give only one")
	}
	if oneOff {
		w.validateOneOff(p)
	}
	if w.Cron != "" {
		if _, err := parseCron(w.Cron); err != nil {
			p.add("cron", "%v", err)
		}
		if w.Duration <= 0 {
			p.add("duration", "a cron window needs a duration > 0")
		}
	}
	if w.Weekly != nil {
		w.validateWeekly(p)
	}
}

// validateOneOff checks start, end and duration of a one-off window.
func (w *Window) validateOneOff(p *problems) {
	switch {
	case w.Start.IsZero():
		p.add("start", "is required with end")
	case w.End.IsZero() && w.Duration <= 0:
		p.add("end", "is required (or give a duration)")
	case !w.End.IsZero() && w.Duration != 0 && w.End.Sub(w.Start) != w.Duration:
		p.add("duration", "disagrees with start and end; give end or duration")
	case !w.End.IsZero() && !w.End.After(w.Start):
		p.add("end", "%s is not after start %s", w.End.Format(timeLayout), w.Start.Format(timeLayout))
	}
	if !w.From.IsZero() || !w.Until.IsZero() {
		p.add("from", "from/until bound recurring windows; a one-off window has start and end")
	}
}

// validateWeekly checks the days, time and duration of a weekly rule.
func (w *Window) validateWeekly(p *problems) {
	wk := w.Weekly
	if len(wk.Days) == 0 {
		p.add("weekly.days", "is empty")
	}
	for i, d := range wk.Days {
		if _, err := ParseDay(d); err != nil {
			p.add(fmt.Sprintf("weekly.days[%d]", i), "%v", err)
		}
	}
	if _, _, err := parseHHMM(wk.At); err != nil {
		p.add("weekly.at", "%v", err)
	}
	d := wk.Duration
	if d == 0 {
		d = w.Duration
	}
	if d <= 0 {
		p.add("weekly.duration", "a weekly window needs a duration > 0")
	}
	if wk.Duration != 0 && w.Duration != 0 && wk.Duration != w.Duration {
		p.add("duration", "disagrees with weekly.duration")
	}
}

// validateRecurrence bounds a recurring window: its duration and the
// from/until range.
func (w *Window) validateRecurrence(p *problems) {
	if !w.Recurring() {
		return
	}
	d := w.Duration
	if w.Weekly != nil && w.Weekly.Duration != 0 {
		d = w.Weekly.Duration
	}
	if d > MaxRecurringDuration {
		p.add("duration", "%s is longer than %s", formatDuration(d), formatDuration(MaxRecurringDuration))
	}
	if !w.From.IsZero() && !w.Until.IsZero() && !w.Until.After(w.From) {
		p.add("until", "is not after from")
	}
}
