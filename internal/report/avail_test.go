package report

import (
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/state"
)

var tokyo = mustZone("Asia/Tokyo")

func mustZone(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

func at(day, h, m, s int) time.Time { return time.Date(2026, 11, day, h, m, s, 0, tokyo) }

func ch(t time.Time, st check.Status, typ state.Type) Change {
	return Change{Time: t, Status: st, Type: typ}
}

// A month with a 30-minute hard outage, a soft blip that never became hard,
// and a 1-hour maintenance window during which the check was also down:
// availability is exact to the second.
func TestTimelineScriptedMonth(t *testing.T) {
	from, to := at(1, 0, 0, 0), time.Date(2026, 12, 1, 0, 0, 0, 0, tokyo)
	h := History{
		Initial: &Change{Status: check.OK, Type: state.Hard},
		Since:   from.AddDate(0, -3, 0),
		Changes: []Change{
			// soft blip: two soft CRITICALs, then OK again
			ch(at(3, 10, 0, 0), check.Critical, state.Soft),
			ch(at(3, 10, 5, 0), check.OK, state.Hard),
			// the outage: soft at 14:00:00, hard at 14:15:00, recovered at 14:45:00
			ch(at(10, 14, 0, 0), check.Critical, state.Soft),
			ch(at(10, 14, 15, 0), check.Critical, state.Hard),
			ch(at(10, 14, 45, 0), check.OK, state.Hard),
			// down inside the maintenance window: not counted
			ch(at(20, 2, 10, 0), check.Critical, state.Hard),
			ch(at(20, 2, 40, 0), check.OK, state.Hard),
		},
		Maintenance: []Interval{{at(20, 2, 0, 0), at(20, 3, 0, 0)}},
	}
	segs := Timeline(from, to, h)
	u := Sum(segs)
	month := 30 * 24 * time.Hour
	if u.Period != month {
		t.Fatalf("period %v, want %v", u.Period, month)
	}
	if u.Down != 30*time.Minute {
		t.Errorf("down %v, want 30m", u.Down)
	}
	if u.Maintenance != time.Hour {
		t.Errorf("maintenance %v, want 1h", u.Maintenance)
	}
	if u.Unknown != 0 || u.NoData != 0 {
		t.Errorf("unknown %v no data %v, want 0", u.Unknown, u.NoData)
	}
	if u.Up != month-time.Hour-30*time.Minute {
		t.Errorf("up %v", u.Up)
	}
	pct, ok := u.Percent()
	want := 100 * float64(month-time.Hour-30*time.Minute) / float64(month-time.Hour)
	if !ok || pct != want {
		t.Errorf("availability %v%%, want %v%%", pct, want)
	}
	if d := Downs(segs); len(d) != 1 || !d[0].From.Equal(at(10, 14, 15, 0)) || d[0].Duration() != 30*time.Minute {
		t.Errorf("downs %v", d)
	}
}

func TestTimelineNoDataAndUnknown(t *testing.T) {
	from, to := at(1, 0, 0, 0), at(2, 0, 0, 0)
	// Created at 06:00; hard UNKNOWN 12:00-13:00; the server was not
	// running 20:00-21:00.
	h := History{
		Since: at(1, 6, 0, 0),
		Changes: []Change{
			ch(at(1, 6, 0, 0), check.OK, state.Hard),
			ch(at(1, 12, 0, 0), check.Unknown, state.Hard),
			ch(at(1, 13, 0, 0), check.OK, state.Hard),
		},
		Gaps: []Interval{{at(1, 20, 0, 0), at(1, 21, 0, 0)}},
	}
	u := Sum(Timeline(from, to, h))
	if u.NoData != 7*time.Hour || u.Unknown != time.Hour || u.Up != 16*time.Hour || u.Down != 0 {
		t.Fatalf("%+v", u)
	}
	if pct, ok := u.Percent(); !ok || pct != 100 {
		t.Errorf("availability %v %v", pct, ok)
	}
	// Nothing known at all: no figure, never 100 %.
	if _, ok := Sum(Timeline(from, to, History{})).Percent(); ok {
		t.Error("a check without history has an availability")
	}
}

func TestTimelineInitialDownAndOverlappingWindows(t *testing.T) {
	from, to := at(1, 0, 0, 0), at(1, 10, 0, 0)
	h := History{
		Initial: &Change{Status: check.Critical, Type: state.Hard},
		Since:   from.Add(-time.Hour),
		Changes: []Change{ch(at(1, 5, 0, 0), check.OK, state.Hard)},
		Maintenance: []Interval{
			{at(1, 1, 0, 0), at(1, 2, 0, 0)},
			{at(1, 1, 30, 0), at(1, 2, 30, 0)}, // overlaps the first
			{from.Add(-time.Hour), at(1, 0, 30, 0)},
		},
	}
	u := Sum(Timeline(from, to, h))
	if u.Maintenance != 2*time.Hour || u.Down != 3*time.Hour || u.Up != 5*time.Hour {
		t.Fatalf("%+v", u)
	}
}

func TestCombineWorstWins(t *testing.T) {
	from, to := at(1, 0, 0, 0), at(1, 4, 0, 0)
	a := []Segment{{Interval{from, at(1, 2, 0, 0)}, Up}, {Interval{at(1, 2, 0, 0), to}, Down}}
	b := []Segment{{Interval{from, at(1, 1, 0, 0)}, Down}, {Interval{at(1, 1, 0, 0), to}, Up}}
	u := Sum(Combine(from, to, [][]Segment{a, b}))
	if u.Down != 3*time.Hour || u.Up != time.Hour {
		t.Fatalf("%+v", u)
	}
}
