// Package report computes availability from the state history and builds
// the monthly report a provider hands its customer: availability per host
// and check, resource trends, incidents against the response targets,
// tickets and maintenance windows, rendered as HTML and PDF.
//
// The computation (this file) is pure: no clock, no I/O.
package report

import (
	"slices"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/state"
)

// Class is what a stretch of time counts as.
type Class int

// Classes, in the order a host's combined timeline prefers them (the
// worst of its checks wins; see Combine).
const (
	NoData      Class = iota // before the check existed, or no result known
	Maintenance              // inside a maintenance window: excluded
	Up                       // OK, or a soft problem (not yet confirmed)
	Unknown                  // a hard UNKNOWN: the check could not tell
	Down                     // a hard WARNING or CRITICAL
)

func (c Class) String() string {
	return [...]string{"no_data", "maintenance", "up", "unknown", "down"}[c]
}

// Interval is a half-open stretch of time [From, To).
type Interval struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
}

// Duration is the interval's length.
func (i Interval) Duration() time.Duration { return i.To.Sub(i.From) }

// Change is the state a check entered at Time.
type Change struct {
	Time   time.Time
	Status check.Status
	Type   state.Type
}

// classOf: a hard non-OK state is down (UNKNOWN is unknown); a soft one
// is up, since the problem is not confirmed yet.
func classOf(st check.Status, typ state.Type) Class {
	switch {
	case st == check.OK || typ == state.Soft:
		return Up
	case st == check.Unknown:
		return Unknown
	default:
		return Down
	}
}

// Segment is a stretch of one class.
type Segment struct {
	Interval
	Class Class
}

// History is what is known of one check over a period.
type History struct {
	// Initial is the state at the start of the period (the last change
	// before it); nil when nothing was known then.
	Initial *Change
	// Changes within the period, in time order.
	Changes []Change
	// Since is when the check's history starts (its first result); zero
	// when it has none at all. Time before it is NoData.
	Since time.Time
	// Gaps are stretches without data (the server was not running).
	Gaps []Interval
	// Maintenance windows covering the check, possibly overlapping and
	// reaching outside the period.
	Maintenance []Interval
}

// Timeline classifies every instant of [from, to) for one check.
// Maintenance overrides everything; a gap or the time before the first
// result is NoData; otherwise the state in force decides.
func Timeline(from, to time.Time, h History) []Segment {
	if !from.Before(to) {
		return nil
	}
	var base []Segment
	cur := NoData
	if h.Initial != nil {
		cur = classOf(h.Initial.Status, h.Initial.Type)
	}
	at := from
	for _, c := range h.Changes {
		if c.Time.Before(from) {
			cur = classOf(c.Status, c.Type)
			continue
		}
		if !c.Time.Before(to) {
			break
		}
		base = appendSeg(base, at, c.Time, cur)
		at, cur = c.Time, classOf(c.Status, c.Type)
	}
	base = appendSeg(base, at, to, cur)
	// The check's history starts at Since: before it there is no data.
	var overlays []Interval
	if h.Since.IsZero() {
		overlays = append(overlays, Interval{from, to})
	} else if h.Since.After(from) {
		overlays = append(overlays, Interval{from, h.Since})
	}
	base = overlay(base, append(overlays, h.Gaps...), NoData)
	return overlay(base, h.Maintenance, Maintenance)
}

// appendSeg adds [a, b) of class c, merging with the previous segment.
func appendSeg(segs []Segment, a, b time.Time, c Class) []Segment {
	if !a.Before(b) {
		return segs
	}
	if n := len(segs); n > 0 && segs[n-1].Class == c && segs[n-1].To.Equal(a) {
		segs[n-1].To = b
		return segs
	}
	return append(segs, Segment{Interval{a, b}, c})
}

// overlay paints the intervals over segs with class c.
func overlay(segs []Segment, ivs []Interval, c Class) []Segment {
	ivs = Merge(ivs)
	if len(ivs) == 0 {
		return segs
	}
	var out []Segment
	for _, s := range segs {
		at := s.From
		for _, iv := range ivs {
			if !iv.To.After(at) || !iv.From.Before(s.To) {
				continue
			}
			a, b := maxT(iv.From, at), minT(iv.To, s.To)
			out = appendSeg(out, at, a, s.Class)
			out = appendSeg(out, a, b, c)
			at = b
		}
		out = appendSeg(out, at, s.To, s.Class)
	}
	return out
}

// Merge sorts intervals and joins overlapping or touching ones.
func Merge(ivs []Interval) []Interval {
	var s []Interval
	for _, iv := range ivs {
		if iv.To.After(iv.From) {
			s = append(s, iv)
		}
	}
	slices.SortFunc(s, func(a, b Interval) int { return a.From.Compare(b.From) })
	var out []Interval
	for _, iv := range s {
		if n := len(out); n > 0 && !iv.From.After(out[n-1].To) {
			out[n-1].To = maxT(out[n-1].To, iv.To)
			continue
		}
		out = append(out, iv)
	}
	return out
}

// Clip restricts intervals to [from, to), dropping empty ones.
func Clip(ivs []Interval, from, to time.Time) []Interval {
	var out []Interval
	for _, iv := range ivs {
		a, b := maxT(iv.From, from), minT(iv.To, to)
		if a.Before(b) {
			out = append(out, Interval{a, b})
		}
	}
	return out
}

// Combine merges several checks' timelines into one (a host's): at each
// instant the highest class wins (down over unknown over up over
// maintenance over no data).
func Combine(from, to time.Time, lines [][]Segment) []Segment {
	if len(lines) == 1 {
		return lines[0]
	}
	cuts := []time.Time{from, to}
	for _, l := range lines {
		for _, s := range l {
			cuts = append(cuts, s.From, s.To)
		}
	}
	slices.SortFunc(cuts, time.Time.Compare)
	cuts = slices.CompactFunc(cuts, time.Time.Equal)
	idx := make([]int, len(lines))
	var out []Segment
	for i := 0; i+1 < len(cuts); i++ {
		a, b := cuts[i], cuts[i+1]
		if a.Before(from) || b.After(to) {
			continue
		}
		c := NoData
		for li, l := range lines {
			for idx[li] < len(l) && !l[idx[li]].To.After(a) {
				idx[li]++
			}
			if idx[li] < len(l) && !l[idx[li]].From.After(a) && l[idx[li]].Class > c {
				c = l[idx[li]].Class
			}
		}
		out = appendSeg(out, a, b, c)
	}
	return out
}

// Usage sums a timeline by class.
type Usage struct {
	Period      time.Duration
	Up          time.Duration
	Down        time.Duration
	Unknown     time.Duration
	NoData      time.Duration
	Maintenance time.Duration
}

// Sum adds up a timeline.
func Sum(segs []Segment) Usage {
	var u Usage
	for _, s := range segs {
		d := s.Duration()
		u.Period += d
		switch s.Class {
		case Up:
			u.Up += d
		case Down:
			u.Down += d
		case Unknown:
			u.Unknown += d
		case NoData:
			u.NoData += d
		case Maintenance:
			u.Maintenance += d
		}
	}
	return u
}

// Percent is the availability: up time over the time the state was known
// outside maintenance (up + down). Unknown and no-data time count neither
// way and are reported on their own; ok is false when nothing was known.
func (u Usage) Percent() (pct float64, ok bool) {
	known := u.Up + u.Down
	if known <= 0 {
		return 0, false
	}
	return 100 * float64(u.Up) / float64(known), true
}

// Downs lists the down stretches of a timeline.
func Downs(segs []Segment) []Interval {
	var out []Interval
	for _, s := range segs {
		if s.Class == Down {
			out = append(out, s.Interval)
		}
	}
	return out
}

func maxT(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minT(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
