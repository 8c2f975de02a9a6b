package maintenance

import (
	"fmt"
	"math/bits"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// cronSpec is a parsed standard 5-field cron expression (minute hour
// day-of-month month day-of-week), evaluated in wall-clock time.
type cronSpec struct {
	minute uint64 // bits 0..59
	hour   uint64 // bits 0..23
	dom    uint64 // bits 1..31
	month  uint64 // bits 1..12
	dow    uint64 // bits 0..6 (0 = Sunday)
	// Vixie cron: when both day fields are restricted (neither begins
	// with '*'), a day matches if EITHER matches.
	domStar, dowStar bool
	// hourStar: the hour field begins with '*'. Then a wall time repeated
	// by a DST fall-back happens twice (as in Vixie cron); with a fixed
	// hour it happens once, at the first of the two instants.
	hourStar bool

	minutes, hours []int
}

type cronField struct {
	name     string
	min, max int
	names    map[string]int
}

var (
	monthNames = map[string]int{"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
		"jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12}
	dowNames = map[string]int{"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}

	cronFields = [5]cronField{
		{"minute", 0, 59, nil},
		{"hour", 0, 23, nil},
		{"day of month", 1, 31, nil},
		{"month", 1, 12, monthNames},
		{"day of week", 0, 7, dowNames},
	}

	cronDescriptors = map[string]string{
		"@yearly":   "0 0 1 1 *",
		"@annually": "0 0 1 1 *",
		"@monthly":  "0 0 1 * *",
		"@weekly":   "0 0 * * 0",
		"@daily":    "0 0 * * *",
		"@midnight": "0 0 * * *",
		"@hourly":   "0 * * * *",
	}

	cronCache sync.Map // expression -> *cronSpec
)

// parseCron parses a 5-field cron expression or a descriptor such as
// @daily. Parsed expressions are cached (a cronSpec is immutable).
func parseCron(expr string) (*cronSpec, error) {
	if v, ok := cronCache.Load(expr); ok {
		return v.(*cronSpec), nil
	}
	c, err := parseCronUncached(expr)
	if err != nil {
		return nil, err
	}
	cronCache.Store(expr, c)
	return c, nil
}

func parseCronUncached(expr string) (*cronSpec, error) {
	s := strings.TrimSpace(expr)
	if strings.HasPrefix(s, "@") {
		d, ok := cronDescriptors[strings.ToLower(s)]
		if !ok {
			return nil, fmt.Errorf("unknown cron descriptor %q (use @yearly, @monthly, @weekly, @daily, @midnight or @hourly)", s)
		}
		s = d
	}
	parts := strings.Fields(s)
	if len(parts) != 5 {
		return nil, fmt.Errorf("cron expression %q has %d fields, want 5 (minute hour day-of-month month day-of-week)", expr, len(parts))
	}
	var sets [5]uint64
	for i, p := range parts {
		set, err := parseCronField(p, cronFields[i])
		if err != nil {
			return nil, err
		}
		sets[i] = set
	}
	c := &cronSpec{
		minute:   sets[0],
		hour:     sets[1],
		dom:      sets[2],
		month:    sets[3],
		dow:      sets[4],
		domStar:  strings.HasPrefix(parts[2], "*"),
		dowStar:  strings.HasPrefix(parts[4], "*"),
		hourStar: strings.HasPrefix(parts[1], "*"),
	}
	if c.dow&(1<<7) != 0 { // 7 is Sunday too
		c.dow = c.dow&^(1<<7) | 1
	}
	c.finish()
	return c, nil
}

func (c *cronSpec) finish() {
	c.minutes = bitList(c.minute)
	c.hours = bitList(c.hour)
}

func bitList(set uint64) []int {
	var out []int
	for set != 0 {
		b := bits.TrailingZeros64(set)
		out = append(out, b)
		set &^= 1 << b
	}
	return out
}

func parseCronField(s string, f cronField) (uint64, error) {
	if s == "" {
		return 0, fmt.Errorf("empty %s field", f.name)
	}
	var set uint64
	for _, item := range strings.Split(s, ",") {
		lo, hi, step := f.min, f.max, 1
		rng := item
		if i := strings.IndexByte(item, '/'); i >= 0 {
			rng = item[:i]
			n, err := strconv.Atoi(item[i+1:])
			if err != nil || n <= 0 {
				return 0, fmt.Errorf("%s field %q: bad step %q", f.name, s, item[i+1:])
			}
			step = n
		}
		switch {
		case rng == "*":
			if f.name == "day of week" {
				hi = 6
			}
		case rng == "":
			return 0, fmt.Errorf("%s field %q: empty item", f.name, s)
		default:
			a, b, isRange := strings.Cut(rng, "-")
			var err error
			if lo, err = cronValue(a, f); err != nil {
				return 0, fmt.Errorf("%s field %q: %v", f.name, s, err)
			}
			switch {
			case isRange:
				if hi, err = cronValue(b, f); err != nil {
					return 0, fmt.Errorf("%s field %q: %v", f.name, s, err)
				}
				if hi < lo {
					return 0, fmt.Errorf("%s field %q: range %s goes backwards", f.name, s, rng)
				}
			case step > 1 || strings.Contains(item, "/"):
				// "5/15" means 5-max/15
				hi = f.max
				if f.name == "day of week" {
					hi = 6
				}
			default:
				hi = lo
			}
		}
		for v := lo; v <= hi; v += step {
			set |= 1 << v
		}
	}
	return set, nil
}

func cronValue(s string, f cronField) (int, error) {
	if v, ok := f.names[strings.ToLower(s)]; ok {
		return v, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if n < f.min || n > f.max {
		return 0, fmt.Errorf("%d out of range %d-%d", n, f.min, f.max)
	}
	return n, nil
}

func (c *cronSpec) dayMatches(d time.Time) bool {
	if c.month&(1<<uint(d.Month())) == 0 {
		return false
	}
	domOK := c.dom&(1<<uint(d.Day())) != 0
	dowOK := c.dow&(1<<uint(d.Weekday())) != 0
	if c.domStar || c.dowStar {
		return domOK && dowOK
	}
	return domOK || dowOK
}

// maxZoneOffset bounds |UTC offset| of any zone: an instant whose wall clock
// is W lies within W±14h (W read as if it were UTC).
const maxZoneOffset = 14 * time.Hour

func offsetAt(u time.Time, loc *time.Location) time.Duration {
	_, off := u.In(loc).Zone()
	return time.Duration(off) * time.Second
}

// instants returns the instants at which wall clock wall (a civil time held
// in a UTC time.Time) happens in loc: usually one; two when a DST fall-back
// repeats it (only the first unless multi); none when a spring-forward skips
// it — then the wall time is moved forward by the length of the gap (02:30
// on a day that jumps from 02:00 to 03:00 becomes 03:30), so a fixed-time
// window still happens that day.
func instants(wall time.Time, loc *time.Location, multi bool, buf []time.Time) []time.Time {
	offBefore := offsetAt(wall.Add(-maxZoneOffset), loc)
	offAfter := offsetAt(wall.Add(maxZoneOffset), loc)
	n := len(buf)
	for i, off := range [2]time.Duration{offBefore, offAfter} {
		if i == 1 && off == offBefore {
			break
		}
		u := wall.Add(-off)
		if u.Add(offsetAt(u, loc)).Equal(wall) {
			buf = append(buf, u)
		}
	}
	got := buf[n:]
	switch {
	case len(got) == 0:
		buf = append(buf, wall.Add(-offBefore))
	case len(got) == 2:
		if got[1].Before(got[0]) {
			got[0], got[1] = got[1], got[0]
		}
		if !multi {
			buf = buf[:n+1]
		}
	}
	return buf
}

// each calls yield with every start instant in [from, to], ascending, each
// once, until yield returns false.
func (c *cronSpec) each(loc *time.Location, from, to time.Time, yield func(time.Time) bool) {
	if to.Before(from) {
		return
	}
	lf := from.In(loc)
	// civil dates are held as UTC midnights; start a day early so that
	// instants of the previous wall day that fall after from are seen.
	day := time.Date(lf.Year(), lf.Month(), lf.Day()-1, 0, 0, 0, 0, time.UTC)
	var last time.Time
	var buf []time.Time
	for ; !day.Add(-maxZoneOffset).After(to); day = day.AddDate(0, 0, 1) {
		if !c.dayMatches(day) {
			continue
		}
		offA := offsetAt(day.Add(-maxZoneOffset), loc)
		offB := offsetAt(day.Add(24*time.Hour+maxZoneOffset), loc)
		if offA == offB {
			// no transition near this day: wall time maps 1:1
			for _, h := range c.hours {
				for _, m := range c.minutes {
					u := day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute - offA)
					if u.Before(from) || !u.After(last) {
						continue
					}
					if u.After(to) {
						return
					}
					last = u
					if !yield(u.In(loc)) {
						return
					}
				}
			}
			continue
		}
		buf = buf[:0]
		for _, h := range c.hours {
			for _, m := range c.minutes {
				wall := day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
				buf = instants(wall, loc, c.hourStar, buf)
			}
		}
		sort.Slice(buf, func(i, j int) bool { return buf[i].Before(buf[j]) })
		for _, u := range buf {
			if u.Before(from) || !u.After(last) {
				continue
			}
			if u.After(to) {
				return
			}
			last = u
			if !yield(u.In(loc)) {
				return
			}
		}
	}
}
