// Package maintenance models maintenance windows: a customer's or
// operator's "temporary suspension" of monitoring. While a window covers a
// check, the check still runs and its results are recorded, but nothing
// notifies, escalates or runs recovery actions; when the window ends,
// monitoring resumes by itself.
//
// The package is pure: it does no I/O apart from loading time zones
// (embedded tzdata is the fallback) and never reads the clock — every time
// is passed in.
//
// A window is one-off (Start, End — or Start and Duration) or recurring:
// a cron expression (Cron + Duration) or a weekly rule (Weekly), evaluated
// in wall-clock time of TimeZone (default Asia/Tokyo) and optionally
// bounded by From/Until. Occurrences are half-open intervals [start, end).
package maintenance

import (
	"fmt"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // windows must work on hosts without a zoneinfo database
)

// DefaultTimeZone is used when a window names none.
const DefaultTimeZone = "Asia/Tokyo"

// MaxRecurringDuration bounds the length of one occurrence of a recurring
// window.
const MaxRecurringDuration = 366 * 24 * time.Hour

// Lookahead bounds NextChange; NextStart looks up to StartLookahead ahead
// (long enough for a window on February 29).
const (
	Lookahead      = 400 * 24 * time.Hour
	StartLookahead = 5 * 366 * 24 * time.Hour
)

// Window is a maintenance window: a scope (what it covers) and a schedule
// (when). JSON and YAML use the tags below; durations are written as text
// ("2h", "90m", "1d12h"; a bare number is seconds) and times as RFC 3339 —
// on input a time without an offset ("2025-04-01 02:00") is read in the
// window's TimeZone.
type Window struct {
	ID        int64  `json:"id,omitempty" yaml:"id,omitempty"`
	Name      string `json:"name,omitempty" yaml:"name,omitempty"`
	Reason    string `json:"reason,omitempty" yaml:"reason,omitempty"`
	CreatedBy string `json:"created_by,omitempty" yaml:"created_by,omitempty"`

	// Scope. Every non-empty field must match (AND between fields, OR
	// within a list). A window with no scope field at all must set All.
	Tenant string   `json:"tenant,omitempty" yaml:"tenant,omitempty"`
	Hosts  []string `json:"hosts,omitempty" yaml:"hosts,omitempty"`   // names or path.Match patterns
	Groups []string `json:"groups,omitempty" yaml:"groups,omitempty"` // host groups
	Checks []string `json:"checks,omitempty" yaml:"checks,omitempty"` // full names "HOST/NAME", top-level "NAME", or patterns "HOST/*"
	Tags   []string `json:"tags,omitempty" yaml:"tags,omitempty"`
	All    bool     `json:"all,omitempty" yaml:"all,omitempty"`

	// One-off schedule.
	Start time.Time `json:"start,omitzero" yaml:"start,omitempty"`
	End   time.Time `json:"end,omitzero" yaml:"end,omitempty"`

	// Recurring schedule: Cron with Duration, or Weekly.
	Cron     string        `json:"cron,omitempty" yaml:"cron,omitempty"`
	Duration time.Duration `json:"duration,omitempty" yaml:"duration,omitempty"`
	Weekly   *Weekly       `json:"weekly,omitempty" yaml:"weekly,omitempty"`

	// TimeZone is an IANA name; empty means DefaultTimeZone.
	TimeZone string `json:"time_zone,omitempty" yaml:"time_zone,omitempty"`

	// From and Until bound a recurring window: its occurrences are clipped
	// to [From, Until). Zero means unbounded.
	From  time.Time `json:"from,omitzero" yaml:"from,omitempty"`
	Until time.Time `json:"until,omitzero" yaml:"until,omitempty"`
}

// Weekly is a weekly rule: at At on each of Days, for Duration (0 means the
// window's Duration).
type Weekly struct {
	// Days: "mon".."sun", "monday".., or 月 火 水 木 金 土 日 (also 月曜,
	// 月曜日, several in one item such as "月水金", and 平日 / weekdays
	// for Monday to Friday, 土日 / weekend).
	Days     []string      `json:"days" yaml:"days"`
	At       string        `json:"at" yaml:"at"` // "HH:MM", 24-hour wall clock
	Duration time.Duration `json:"duration,omitempty" yaml:"duration,omitempty"`
}

// Recurring reports whether the window has a recurring schedule.
func (w *Window) Recurring() bool { return w.Cron != "" || w.Weekly != nil }

// Location returns the window's time zone.
func (w *Window) Location() (*time.Location, error) {
	return loadLocation(w.TimeZone)
}

var locCache sync.Map // name -> *time.Location

func loadLocation(name string) (*time.Location, error) {
	if name == "" {
		name = DefaultTimeZone
	}
	if v, ok := locCache.Load(name); ok {
		return v.(*time.Location), nil
	}
	if strings.EqualFold(name, "local") {
		return nil, fmt.Errorf("time zone %q: name an IANA zone such as Asia/Tokyo", name)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q (want an IANA name such as Asia/Tokyo)", name)
	}
	locCache.Store(name, loc)
	return loc, nil
}

var dayWords = map[string][]time.Weekday{
	"sun": {time.Sunday}, "mon": {time.Monday}, "tue": {time.Tuesday}, "wed": {time.Wednesday},
	"thu": {time.Thursday}, "fri": {time.Friday}, "sat": {time.Saturday},
	"sunday": {time.Sunday}, "monday": {time.Monday}, "tuesday": {time.Tuesday},
	"wednesday": {time.Wednesday}, "thursday": {time.Thursday}, "friday": {time.Friday},
	"saturday": {time.Saturday},
	"tues":     {time.Tuesday}, "thur": {time.Thursday}, "thurs": {time.Thursday},
	"weekdays": {time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday},
	"weekday":  {time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday},
	"平日":       {time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday},
	"weekend":  {time.Saturday, time.Sunday},
	"weekends": {time.Saturday, time.Sunday},
	"daily":    {time.Sunday, time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday},
	"毎日":       {time.Sunday, time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday},
}

var kanjiDays = map[rune]time.Weekday{
	'日': time.Sunday, '月': time.Monday, '火': time.Tuesday, '水': time.Wednesday,
	'木': time.Thursday, '金': time.Friday, '土': time.Saturday,
}

// ParseDay parses one item of Weekly.Days into the weekdays it names.
func ParseDay(s string) ([]time.Weekday, error) {
	k := strings.ToLower(strings.TrimSpace(s))
	if d, ok := dayWords[k]; ok {
		return d, nil
	}
	// Japanese: 月, 月曜, 月曜日, 月水金, 土日, 月曜日・水曜日 …
	k = strings.NewReplacer("曜日", "", "曜", "", "・", "", "、", "", ",", "", " ", "", "　", "").Replace(k)
	var out []time.Weekday
	for _, r := range k {
		d, ok := kanjiDays[r]
		if !ok {
			out = nil
			break
		}
		out = append(out, d)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("unknown day %q (want mon..sun or 月火水木金土日)", s)
	}
	return out, nil
}

func parseHHMM(s string) (h, m int, err error) {
	t, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil {
		return 0, 0, fmt.Errorf("at %q is not a time of day HH:MM", s)
	}
	return t.Hour(), t.Minute(), nil
}

// weeklySpec turns a weekly rule into a cron schedule with a fixed hour.
func (wk *Weekly) spec() (*cronSpec, error) {
	if len(wk.Days) == 0 {
		return nil, fmt.Errorf("weekly rule has no days")
	}
	c := &cronSpec{domStar: true, dom: ^uint64(0), month: ^uint64(0)}
	for _, d := range wk.Days {
		days, err := ParseDay(d)
		if err != nil {
			return nil, err
		}
		for _, wd := range days {
			c.dow |= 1 << uint(wd)
		}
	}
	h, m, err := parseHHMM(wk.At)
	if err != nil {
		return nil, err
	}
	c.hour = 1 << uint(h)
	c.minute = 1 << uint(m)
	c.finish()
	return c, nil
}

// schedule is a window's compiled schedule.
type schedule struct {
	oneOff      bool
	start, end  time.Time // one-off
	cron        *cronSpec
	dur         time.Duration
	loc         *time.Location
	from, until time.Time
}

func (w *Window) compile() (*schedule, error) {
	loc, err := w.Location()
	if err != nil {
		return nil, err
	}
	s := &schedule{loc: loc, from: w.From, until: w.Until}
	switch {
	case w.Weekly != nil:
		if s.cron, err = w.Weekly.spec(); err != nil {
			return nil, err
		}
		s.dur = w.Weekly.Duration
		if s.dur == 0 {
			s.dur = w.Duration
		}
	case w.Cron != "":
		if s.cron, err = parseCron(w.Cron); err != nil {
			return nil, err
		}
		s.dur = w.Duration
	default:
		s.oneOff = true
		s.start, s.end = w.Start, w.End
		if s.end.IsZero() && w.Duration > 0 {
			s.end = s.start.Add(w.Duration)
		}
		s.dur = s.end.Sub(s.start)
		if s.start.IsZero() {
			return nil, fmt.Errorf("no schedule")
		}
	}
	if s.dur <= 0 {
		return nil, fmt.Errorf("empty occurrence")
	}
	if !s.oneOff && s.dur > MaxRecurringDuration {
		return nil, fmt.Errorf("duration too long")
	}
	return s, nil
}

// each calls yield with the occurrences whose unclipped start lies in
// [from, to], ascending by start, clipped to [From, Until); empty ones are
// skipped.
func (s *schedule) each(from, to time.Time, yield func(start, end time.Time) bool) {
	if s.oneOff {
		if !s.start.Before(from) && !s.start.After(to) {
			yield(s.start, s.end)
		}
		return
	}
	if !s.from.IsZero() && from.Before(s.from.Add(-s.dur)) {
		from = s.from.Add(-s.dur)
	}
	if !s.until.IsZero() && to.After(s.until) {
		to = s.until
	}
	s.cron.each(s.loc, from, to, func(st time.Time) bool {
		en := st.Add(s.dur)
		if !s.from.IsZero() && st.Before(s.from) {
			st = s.from.In(s.loc)
		}
		if !s.until.IsZero() && en.After(s.until) {
			en = s.until.In(s.loc)
		}
		if !st.Before(en) {
			return true
		}
		return yield(st, en)
	})
}

// occurrence returns the occurrence containing t that started last (with
// overlapping occurrences, the one that ends last).
func (s *schedule) occurrence(t time.Time) (start, end time.Time, ok bool) {
	s.each(t.Add(-s.dur).Add(time.Nanosecond), t, func(st, en time.Time) bool {
		if !st.After(t) && t.Before(en) {
			start, end, ok = st, en, true
		}
		return true
	})
	return
}

// ActiveAt reports whether an occurrence of the window contains t. An
// invalid window is never active.
func (w *Window) ActiveAt(t time.Time) bool {
	_, _, ok := w.Occurrence(t)
	return ok
}

// Occurrence returns the occurrence [start, end) that contains t,
// including one that began before t (a 3-hour window from 23:00 contains
// 01:00 the next day). When recurring occurrences overlap, it is the one
// that started last, and so ends last. Times are in the window's zone.
func (w *Window) Occurrence(t time.Time) (start, end time.Time, ok bool) {
	s, err := w.compile()
	if err != nil {
		return time.Time{}, time.Time{}, false
	}
	return s.occurrence(t)
}

// NextStart returns the first start of an occurrence strictly after
// after, looking up to StartLookahead ahead. A recurring window clipped by
// From starts at From if an occurrence spans it.
func (w *Window) NextStart(after time.Time) (time.Time, bool) {
	s, err := w.compile()
	if err != nil {
		return time.Time{}, false
	}
	var next time.Time
	var ok bool
	s.each(after.Add(-s.dur), after.Add(StartLookahead), func(st, en time.Time) bool {
		if st.After(after) {
			next, ok = st, true
			return false
		}
		return true
	})
	return next, ok
}

// nextChange returns the first start or end of an occurrence after at,
// within horizon.
func (s *schedule) nextChange(at time.Time, horizon time.Duration) (time.Time, bool) {
	var next time.Time
	var ok bool
	consider := func(c time.Time) {
		if c.After(at) && (!ok || c.Before(next)) {
			next, ok = c, true
		}
	}
	s.each(at.Add(-s.dur), at.Add(horizon), func(st, en time.Time) bool {
		if st.After(at) {
			consider(st)
			return false // later occurrences start and end later still
		}
		consider(en)
		return true
	})
	if ok && next.After(at.Add(horizon)) {
		return time.Time{}, false
	}
	return next, ok
}

// Occurrences returns the occurrences [start, end) that overlap [from,
// to), ascending by start (an invalid window has none). Reports list them.
func (w *Window) Occurrences(from, to time.Time) [][2]time.Time {
	s, err := w.compile()
	if err != nil {
		return nil
	}
	var out [][2]time.Time
	s.each(from.Add(-s.dur), to, func(st, en time.Time) bool {
		if en.After(from) && st.Before(to) {
			out = append(out, [2]time.Time{st, en})
		}
		return true
	})
	return out
}
