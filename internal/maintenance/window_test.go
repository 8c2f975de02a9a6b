package maintenance

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// at parses "2006-01-02 15:04" in zone.
func at(t *testing.T, zone, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, mustLoc(t, zone))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func utc(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

const tokyo = "Asia/Tokyo"

func TestActiveAndOccurrence(t *testing.T) {
	weekdays2am := &Window{All: true, Cron: "0 2 * * 1-5", Duration: 2 * time.Hour}
	every15 := &Window{All: true, Cron: "*/15 * * * *", Duration: 5 * time.Minute}
	overnight := &Window{All: true, Cron: "0 23 * * *", Duration: 3 * time.Hour}
	jpWeekly := &Window{All: true, Weekly: &Weekly{Days: []string{"月", "水曜日", "金"}, At: "22:30", Duration: 90 * time.Minute}}
	oneOff := &Window{All: true, Start: at(t, tokyo, "2025-04-01 10:00"), End: at(t, tokyo, "2025-04-01 12:00")}
	oneOffDur := &Window{All: true, Start: at(t, tokyo, "2025-04-01 10:00"), Duration: time.Hour}
	bounded := &Window{All: true, Cron: "@daily", Duration: 6 * time.Hour,
		From: at(t, tokyo, "2025-04-02 03:00"), Until: at(t, tokyo, "2025-04-04 02:00")}
	nameDays := &Window{All: true, Cron: "30 1 1,15 jan-mar sun", Duration: time.Hour} // Vixie: dom OR dow
	ny := &Window{All: true, Cron: "30 1 * * *", Duration: time.Hour, TimeZone: "America/New_York"}

	tests := []struct {
		name       string
		w          *Window
		zone, t    string
		want       bool
		start, end string // in zone, when want
	}{
		{"weekday 02:00 inside", weekdays2am, tokyo, "2025-04-01 03:59", true, "2025-04-01 02:00", "2025-04-01 04:00"},
		{"weekday 02:00 start inclusive", weekdays2am, tokyo, "2025-04-01 02:00", true, "2025-04-01 02:00", "2025-04-01 04:00"},
		{"weekday 02:00 end exclusive", weekdays2am, tokyo, "2025-04-01 04:00", false, "", ""},
		{"weekday 02:00 before", weekdays2am, tokyo, "2025-04-01 01:59", false, "", ""},
		{"weekday 02:00 saturday", weekdays2am, tokyo, "2025-04-05 02:30", false, "", ""},
		{"weekday 02:00 other zone instant", weekdays2am, "UTC", "2025-03-31 18:30", true, "2025-03-31 17:00", "2025-03-31 19:00"},
		{"*/15 inside", every15, tokyo, "2025-04-01 10:34", true, "2025-04-01 10:30", "2025-04-01 10:35"},
		{"*/15 gap", every15, tokyo, "2025-04-01 10:36", false, "", ""},
		{"*/15 at :00", every15, tokyo, "2025-04-01 00:00", true, "2025-04-01 00:00", "2025-04-01 00:05"},
		{"overnight next day", overnight, tokyo, "2025-04-02 01:00", true, "2025-04-01 23:00", "2025-04-02 02:00"},
		{"overnight over month end", overnight, tokyo, "2025-05-01 00:10", true, "2025-04-30 23:00", "2025-05-01 02:00"},
		{"overnight after", overnight, tokyo, "2025-04-02 02:00", false, "", ""},
		{"weekly 月 overnight", jpWeekly, tokyo, "2025-03-31 23:59", true, "2025-03-31 22:30", "2025-04-01 00:00"},
		{"weekly 水曜日", jpWeekly, tokyo, "2025-04-02 22:30", true, "2025-04-02 22:30", "2025-04-03 00:00"},
		{"weekly 火 not", jpWeekly, tokyo, "2025-04-01 22:45", false, "", ""},
		{"weekly 金", jpWeekly, tokyo, "2025-04-04 23:00", true, "2025-04-04 22:30", "2025-04-05 00:00"},
		{"one-off inside", oneOff, tokyo, "2025-04-01 11:00", true, "2025-04-01 10:00", "2025-04-01 12:00"},
		{"one-off end", oneOff, tokyo, "2025-04-01 12:00", false, "", ""},
		{"one-off with duration", oneOffDur, tokyo, "2025-04-01 10:59", true, "2025-04-01 10:00", "2025-04-01 11:00"},
		{"bounded clipped by from", bounded, tokyo, "2025-04-02 03:30", true, "2025-04-02 03:00", "2025-04-02 06:00"},
		{"bounded before from", bounded, tokyo, "2025-04-02 02:59", false, "", ""},
		{"bounded full", bounded, tokyo, "2025-04-03 01:00", true, "2025-04-03 00:00", "2025-04-03 06:00"},
		{"bounded clipped by until", bounded, tokyo, "2025-04-04 01:59", true, "2025-04-04 00:00", "2025-04-04 02:00"},
		{"bounded after until", bounded, tokyo, "2025-04-04 02:00", false, "", ""},
		{"dom or dow: 15th", nameDays, tokyo, "2025-02-15 01:45", true, "2025-02-15 01:30", "2025-02-15 02:30"},
		{"dom or dow: sunday", nameDays, tokyo, "2025-02-16 01:45", true, "2025-02-16 01:30", "2025-02-16 02:30"},
		{"dom or dow: neither", nameDays, tokyo, "2025-02-17 01:45", false, "", ""},
		{"dom or dow: april", nameDays, tokyo, "2025-04-01 01:45", false, "", ""},
		{"overlapping: latest start", &Window{All: true, Cron: "0 * * * *", Duration: 2 * time.Hour}, tokyo, "2025-04-01 10:30", true, "2025-04-01 10:00", "2025-04-01 12:00"},
		{"new york zone", ny, "America/New_York", "2025-07-01 02:00", true, "2025-07-01 01:30", "2025-07-01 02:30"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			when := at(t, tc.zone, tc.t)
			if got := tc.w.ActiveAt(when); got != tc.want {
				t.Fatalf("ActiveAt(%s) = %v, want %v", when, got, tc.want)
			}
			s, e, ok := tc.w.Occurrence(when)
			if ok != tc.want {
				t.Fatalf("Occurrence ok = %v", ok)
			}
			if !ok {
				return
			}
			if ws, we := at(t, tc.zone, tc.start), at(t, tc.zone, tc.end); !s.Equal(ws) || !e.Equal(we) {
				t.Fatalf("Occurrence = %s – %s, want %s – %s", s, e, ws, we)
			}
		})
	}
}

func TestNextStart(t *testing.T) {
	tests := []struct {
		name   string
		w      *Window
		zone   string
		after  string
		want   string // in zone; "" for none
		wantOK bool
	}{
		{"weekday from friday", &Window{All: true, Cron: "0 2 * * mon-fri", Duration: 2 * time.Hour}, tokyo, "2025-04-04 02:00", "2025-04-07 02:00", true},
		{"strictly after", &Window{All: true, Cron: "0 2 * * *", Duration: time.Hour}, tokyo, "2025-04-04 01:59", "2025-04-04 02:00", true},
		{"every 15", &Window{All: true, Cron: "*/15 * * * *", Duration: 5 * time.Minute}, tokyo, "2025-04-04 23:50", "2025-04-05 00:00", true},
		{"feb 29", &Window{All: true, Cron: "0 0 29 2 *", Duration: time.Hour}, tokyo, "2025-03-01 00:00", "2028-02-29 00:00", true},
		{"weekly 土日", &Window{All: true, Weekly: &Weekly{Days: []string{"土日"}, At: "09:00"}, Duration: time.Hour}, tokyo, "2025-04-01 00:00", "2025-04-05 09:00", true},
		{"one-off future", &Window{All: true, Start: at(t, tokyo, "2025-05-01 10:00"), End: at(t, tokyo, "2025-05-01 11:00")}, tokyo, "2025-04-01 00:00", "2025-05-01 10:00", true},
		{"one-off past", &Window{All: true, Start: at(t, tokyo, "2025-05-01 10:00"), End: at(t, tokyo, "2025-05-01 11:00")}, tokyo, "2025-05-01 10:00", "", false},
		{"until passed", &Window{All: true, Cron: "@daily", Duration: time.Hour, Until: at(t, tokyo, "2025-04-01 00:00")}, tokyo, "2025-04-02 00:00", "", false},
		{"from clips", &Window{All: true, Cron: "@daily", Duration: 6 * time.Hour, From: at(t, tokyo, "2025-04-10 03:00")}, tokyo, "2025-04-01 00:00", "2025-04-10 03:00", true},
		{"invalid", &Window{All: true, Cron: "61 * * * *", Duration: time.Hour}, tokyo, "2025-04-01 00:00", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := tc.w.NextStart(at(t, tc.zone, tc.after))
			if ok != tc.wantOK {
				t.Fatalf("ok = %v (%s)", ok, got)
			}
			if ok && !got.Equal(at(t, tc.zone, tc.want)) {
				t.Fatalf("NextStart = %s, want %s", got, tc.want)
			}
		})
	}
}

// DST: wall-clock schedules keep their local time; a skipped wall time is
// moved forward by the gap; a repeated one happens once for a fixed hour
// and twice for a wildcard hour.
func TestDST(t *testing.T) {
	tests := []struct {
		name  string
		w     *Window
		after string // RFC 3339
		want  []string
	}{
		{"NY daily 01:00 across spring forward keeps local time",
			&Window{All: true, Cron: "0 1 * * *", Duration: 2 * time.Hour, TimeZone: "America/New_York"},
			"2025-03-08T00:00:00-05:00",
			[]string{"2025-03-08T01:00:00-05:00", "2025-03-09T01:00:00-05:00", "2025-03-10T01:00:00-04:00"}},
		{"NY 02:30 skipped on spring forward day moves to 03:30 EDT",
			&Window{All: true, Cron: "30 2 * * *", Duration: time.Hour, TimeZone: "America/New_York"},
			"2025-03-08T12:00:00-05:00",
			[]string{"2025-03-09T03:30:00-04:00", "2025-03-10T02:30:00-04:00"}},
		{"NY 01:30 repeated on fall back happens once",
			&Window{All: true, Cron: "30 1 * * *", Duration: 10 * time.Minute, TimeZone: "America/New_York"},
			"2025-11-02T00:00:00-04:00",
			[]string{"2025-11-02T01:30:00-04:00", "2025-11-03T01:30:00-05:00"}},
		{"NY hourly wildcard repeats in the repeated hour",
			&Window{All: true, Cron: "30 * * * *", Duration: 10 * time.Minute, TimeZone: "America/New_York"},
			"2025-11-02T00:00:00-04:00",
			[]string{"2025-11-02T00:30:00-04:00", "2025-11-02T01:30:00-04:00", "2025-11-02T01:30:00-05:00", "2025-11-02T02:30:00-05:00"}},
		{"NY every 15 minutes over spring forward gap",
			&Window{All: true, Cron: "*/15 * * * *", Duration: 5 * time.Minute, TimeZone: "America/New_York"},
			"2025-03-09T01:40:00-05:00",
			[]string{"2025-03-09T01:45:00-05:00", "2025-03-09T03:00:00-04:00", "2025-03-09T03:15:00-04:00", "2025-03-09T03:30:00-04:00", "2025-03-09T03:45:00-04:00", "2025-03-09T04:00:00-04:00"}},
		{"Berlin weekly Sunday 02:30 on spring forward day",
			&Window{All: true, Weekly: &Weekly{Days: []string{"sun"}, At: "02:30", Duration: time.Hour}, TimeZone: "Europe/Berlin"},
			"2025-03-29T00:00:00+01:00",
			[]string{"2025-03-30T03:30:00+02:00", "2025-04-06T02:30:00+02:00"}},
		{"Berlin 02:30 on fall back day once",
			&Window{All: true, Cron: "30 2 * * *", Duration: time.Hour, TimeZone: "Europe/Berlin"},
			"2025-10-25T12:00:00+02:00",
			[]string{"2025-10-26T02:30:00+02:00", "2025-10-27T02:30:00+01:00"}},
		{"Tokyo has no DST",
			&Window{All: true, Cron: "30 2 * * *", Duration: time.Hour},
			"2025-03-08T00:00:00+09:00",
			[]string{"2025-03-08T02:30:00+09:00", "2025-03-09T02:30:00+09:00"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cur := utc(t, tc.after)
			for i, w := range tc.want {
				got, ok := tc.w.NextStart(cur)
				if !ok || !got.Equal(utc(t, w)) {
					t.Fatalf("start %d = %s (%v), want %s", i, got.Format(time.RFC3339), ok, w)
				}
				cur = got
			}
		})
	}

	// A window from 01:00 for 2h on the spring-forward day lasts 2 real
	// hours: 01:00 EST to 04:00 EDT.
	w := &Window{All: true, Cron: "0 1 * * *", Duration: 2 * time.Hour, TimeZone: "America/New_York"}
	s, e, ok := w.Occurrence(utc(t, "2025-03-09T03:30:00-04:00"))
	if !ok || !s.Equal(utc(t, "2025-03-09T01:00:00-05:00")) || !e.Equal(utc(t, "2025-03-09T04:00:00-04:00")) {
		t.Fatalf("occurrence = %s – %s %v", s, e, ok)
	}
	if w.ActiveAt(utc(t, "2025-03-09T04:00:00-04:00")) {
		t.Fatal("active at end")
	}
	// Berlin overnight window across fall back: 23:00 + 3h = 01:00 (CET) the
	// same as any day as the transition is later.
	b := &Window{All: true, Cron: "0 1 * * *", Duration: 3 * time.Hour, TimeZone: "Europe/Berlin"}
	if !b.ActiveAt(utc(t, "2025-10-26T02:30:00+01:00")) || b.ActiveAt(utc(t, "2025-10-26T03:00:00+01:00")) {
		t.Fatal("Berlin fall-back occurrence should be 01:00 CEST – 03:00 CET (3 real hours)")
	}
}

func TestCovers(t *testing.T) {
	target := Target{Check: "web1/http", Host: "web1", Tenant: "acme", Groups: []string{"web", "prod"}, Tags: []string{"customer-a"}}
	top := Target{Check: "dns-root", Tenant: "acme"}
	tests := []struct {
		name string
		w    Window
		t    Target
		want bool
	}{
		{"no scope no all", Window{}, target, false},
		{"all", Window{All: true}, target, true},
		{"tenant", Window{Tenant: "acme"}, target, true},
		{"other tenant", Window{Tenant: "other"}, target, false},
		{"host", Window{Hosts: []string{"db1", "web1"}}, target, true},
		{"host pattern", Window{Hosts: []string{"web*"}}, target, true},
		{"host no", Window{Hosts: []string{"db1"}}, target, false},
		{"host on top-level check", Window{Hosts: []string{"web1"}}, top, false},
		{"group", Window{Groups: []string{"prod"}}, target, true},
		{"group no", Window{Groups: []string{"stg"}}, target, false},
		{"check full", Window{Checks: []string{"web1/http"}}, target, true},
		{"check host pattern", Window{Checks: []string{"web1/*"}}, target, true},
		{"check any host", Window{Checks: []string{"*/http"}}, target, true},
		{"check short name does not match host check", Window{Checks: []string{"http"}}, target, false},
		{"top-level check", Window{Checks: []string{"dns-root"}}, top, true},
		{"star matches only top-level", Window{Checks: []string{"*"}}, target, false},
		{"tag", Window{Tags: []string{"customer-a"}}, target, true},
		{"tag no", Window{Tags: []string{"customer-b"}}, target, false},
		{"AND of fields", Window{Tenant: "acme", Hosts: []string{"web1"}, Tags: []string{"customer-b"}}, target, false},
		{"AND all match", Window{Tenant: "acme", Groups: []string{"web"}, Checks: []string{"*/http"}}, target, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.w.Covers(tc.t); got != tc.want {
				t.Fatalf("Covers = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	start := at(t, tokyo, "2025-04-01 10:00")
	tests := []struct {
		name string
		w    Window
		want []string // substrings, one per expected error, in order
	}{
		{"ok one-off", Window{Hosts: []string{"web1"}, Start: start, End: start.Add(time.Hour)}, nil},
		{"ok cron", Window{All: true, Cron: "*/15 * * * *", Duration: 5 * time.Minute}, nil},
		{"ok weekly jp", Window{Tenant: "acme", Weekly: &Weekly{Days: []string{"月", "金曜日"}, At: "02:00", Duration: time.Hour}}, nil},
		{"ok descriptor", Window{All: true, Cron: "@weekly", Duration: time.Hour, TimeZone: "Europe/Berlin"}, nil},
		{"no scope", Window{Start: start, End: start.Add(time.Hour)}, []string{"scope:"}},
		{"all with scope", Window{All: true, Hosts: []string{"x"}, Start: start, End: start.Add(time.Hour)}, []string{"all:"}},
		{"end before start", Window{All: true, Start: start, End: start.Add(-time.Hour)}, []string{"end: "}},
		{"end equal start", Window{All: true, Start: start, End: start}, []string{"end: "}},
		{"end without start", Window{All: true, End: start}, []string{"start: is required"}},
		{"no schedule", Window{All: true}, []string{"schedule:"}},
		{"two schedules", Window{All: true, Start: start, End: start.Add(time.Hour), Cron: "@daily", Duration: time.Hour}, []string{"schedule:"}},
		{"bad cron field count", Window{All: true, Cron: "* * * *", Duration: time.Hour}, []string{"cron: cron expression \"* * * *\" has 4 fields"}},
		{"bad cron value", Window{All: true, Cron: "0 24 * * *", Duration: time.Hour}, []string{"out of range 0-23"}},
		{"bad cron name", Window{All: true, Cron: "0 0 * foo *", Duration: time.Hour}, []string{"month field"}},
		{"bad cron step", Window{All: true, Cron: "*/0 * * * *", Duration: time.Hour}, []string{"bad step"}},
		{"backwards range", Window{All: true, Cron: "0 0 * * fri-mon", Duration: time.Hour}, []string{"goes backwards"}},
		{"bad descriptor", Window{All: true, Cron: "@fortnightly", Duration: time.Hour}, []string{"unknown cron descriptor"}},
		{"cron no duration", Window{All: true, Cron: "@daily"}, []string{"duration: a cron window needs a duration > 0"}},
		{"cron negative duration", Window{All: true, Cron: "@daily", Duration: -time.Minute}, []string{"duration > 0"}},
		{"unknown zone", Window{All: true, Cron: "@daily", Duration: time.Hour, TimeZone: "Asia/Nowhere"}, []string{"time_zone: unknown time zone"}},
		{"weekly bad day and time", Window{All: true, Weekly: &Weekly{Days: []string{"月", "funday"}, At: "25:00"}}, []string{"weekly.days[1]", "weekly.at", "weekly.duration"}},
		{"weekly no days", Window{All: true, Weekly: &Weekly{At: "02:00", Duration: time.Hour}}, []string{"weekly.days: is empty"}},
		{"until before from", Window{All: true, Cron: "@daily", Duration: time.Hour, From: start, Until: start}, []string{"until:"}},
		{"from on one-off", Window{All: true, Start: start, End: start.Add(time.Hour), From: start}, []string{"from:"}},
		{"empty host and bad pattern", Window{Hosts: []string{""}, Checks: []string{"web[/x"}, Start: start, End: start.Add(time.Hour)}, []string{"hosts[0]: is empty", "checks[0]"}},
		{"several problems", Window{Cron: "bad", TimeZone: "Mars/Base"}, []string{"scope:", "time_zone:", "cron:", "duration:"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			errs := tc.w.Validate()
			if len(errs) != len(tc.want) {
				t.Fatalf("got %d errors %v, want %d %q", len(errs), errs, len(tc.want), tc.want)
			}
			for i, e := range errs {
				if !strings.Contains(e.Error(), tc.want[i]) {
					t.Errorf("error %d = %q, want it to contain %q", i, e, tc.want[i])
				}
			}
		})
	}
}

func TestSet(t *testing.T) {
	web := &Window{Name: "web nightly", Hosts: []string{"web*"}, Cron: "0 2 * * *", Duration: 2 * time.Hour}
	acme := &Window{Name: "acme move", Tenant: "acme", Start: at(t, tokyo, "2025-04-01 10:00"), End: at(t, tokyo, "2025-04-01 12:00")}
	jp := &Window{Name: "jp weekly", Tags: []string{"batch"}, Weekly: &Weekly{Days: []string{"土"}, At: "23:00", Duration: 3 * time.Hour}}
	broken := &Window{Name: "broken", All: true, Cron: "nope", Duration: time.Hour}
	set := Set{web, acme, jp, broken, nil}

	target := Target{Check: "web1/http", Host: "web1", Tenant: "acme", Tags: []string{"batch"}}
	names := func(ws []*Window) string {
		var n []string
		for _, w := range ws {
			n = append(n, w.Name)
		}
		return strings.Join(n, ",")
	}
	activeTests := []struct {
		at   string
		t    Target
		want string
	}{
		{"2025-04-01 02:30", target, "web nightly"},
		{"2025-04-01 11:00", target, "acme move"},
		{"2025-04-01 11:00", Target{Check: "x/y", Host: "x", Tenant: "other"}, ""},
		{"2025-04-06 01:00", target, "jp weekly"},
		{"2025-04-06 01:59", target, "jp weekly"},
		{"2025-04-06 02:00", target, "web nightly"},
		{"2025-04-01 05:00", target, ""},
	}
	for _, tc := range activeTests {
		if got := names(set.Active(tc.t, at(t, tokyo, tc.at))); got != tc.want {
			t.Errorf("Active at %s = %q, want %q", tc.at, got, tc.want)
		}
		if got := set.Suppressed(tc.t, at(t, tokyo, tc.at)); got != (tc.want != "") {
			t.Errorf("Suppressed at %s = %v", tc.at, got)
		}
	}

	changeTests := []struct {
		name string
		set  Set
		at   string
		want string
	}{
		{"next start", set, "2025-03-31 05:00", "2025-04-01 02:00"},
		{"end of current", set, "2025-04-01 02:00", "2025-04-01 04:00"},
		{"one-off start", set, "2025-04-01 04:00", "2025-04-01 10:00"},
		{"one-off end", set, "2025-04-01 10:30", "2025-04-01 12:00"},
		{"after one-off", set, "2025-04-01 12:00", "2025-04-02 02:00"},
		{"overnight weekly end", Set{jp}, "2025-04-06 01:00", "2025-04-06 02:00"},
		{"overlap: nearest", set, "2025-04-06 01:00", "2025-04-06 02:00"},
		{"overlap: web start then jp end", set, "2025-04-06 02:00", "2025-04-06 04:00"},
		{"nothing: bounded", Set{acme, broken}, "2025-05-01 00:00", "2026-06-05 00:00"},
		{"empty", nil, "2025-05-01 00:00", "2026-06-05 00:00"},
	}
	for _, tc := range changeTests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.set.NextChange(at(t, tokyo, tc.at)); !got.Equal(at(t, tokyo, tc.want)) {
				t.Fatalf("NextChange = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestEncoding(t *testing.T) {
	y := `
name: monthly patching
reason: OS updates
hosts: [web1, web2]
cron: "0 2 * * sun"
duration: 1d2h
time_zone: Europe/Berlin
from: 2025-04-01 00:00
until: 2025-12-31T00:00:00+09:00
`
	var w Window
	if err := yaml.Unmarshal([]byte(y), &w); err != nil {
		t.Fatal(err)
	}
	if w.Duration != 26*time.Hour || w.Cron != "0 2 * * sun" || len(w.Hosts) != 2 {
		t.Fatalf("decoded %+v", w)
	}
	if want := time.Date(2025, 4, 1, 0, 0, 0, 0, mustLoc(t, "Europe/Berlin")); !w.From.Equal(want) {
		t.Fatalf("from = %s, want %s (local time in the window's zone)", w.From, want)
	}
	if want := utc(t, "2025-12-30T15:00:00Z"); !w.Until.Equal(want) {
		t.Fatalf("until = %s", w.Until)
	}
	if errs := w.Validate(); errs != nil {
		t.Fatal(errs)
	}

	b, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"duration":"26h"`, `"from":"2025-04-01T00:00:00+02:00"`, `"hosts":["web1","web2"]`, `"time_zone":"Europe/Berlin"`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON %s lacks %s", b, want)
		}
	}
	var back Window
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if !back.From.Equal(w.From) || back.Duration != w.Duration || !back.Until.Equal(w.Until) {
		t.Fatalf("round trip %+v", back)
	}

	var jw Window
	if err := json.Unmarshal([]byte(`{"all":true,"weekly":{"days":["月","水"],"at":"01:00","duration":5400},"start":""}`), &jw); err != nil {
		t.Fatal(err)
	}
	if jw.Weekly == nil || jw.Weekly.Duration != 90*time.Minute || !jw.Start.IsZero() {
		t.Fatalf("weekly %+v", jw.Weekly)
	}
	var one Window
	if err := json.Unmarshal([]byte(`{"hosts":["db1"],"start":"2025-04-01 10:00","end":"2025-04-01T12:00:00+09:00"}`), &one); err != nil {
		t.Fatal(err)
	}
	if !one.Start.Equal(at(t, tokyo, "2025-04-01 10:00")) || one.End.Sub(one.Start) != 2*time.Hour {
		t.Fatalf("one-off %s %s (default zone Asia/Tokyo)", one.Start, one.End)
	}

	bad := []struct{ name, doc, want string }{
		{"unknown key", "all: true\ncorn: '@daily'\n", `unknown maintenance window field "corn"`},
		{"bad duration", "all: true\ncron: '@daily'\nduration: soon\n", "duration:"},
		{"bad time", "all: true\nstart: tomorrow\n", "start:"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			var w Window
			err := yaml.Unmarshal([]byte(tc.doc), &w)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
		})
	}
}

func TestParseDay(t *testing.T) {
	tests := []struct {
		in   string
		want []time.Weekday
	}{
		{"mon", []time.Weekday{time.Monday}},
		{"Sunday", []time.Weekday{time.Sunday}},
		{"日", []time.Weekday{time.Sunday}},
		{"火曜", []time.Weekday{time.Tuesday}},
		{"水曜日", []time.Weekday{time.Wednesday}},
		{"月水金", []time.Weekday{time.Monday, time.Wednesday, time.Friday}},
		{"平日", []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday}},
		{"土日", []time.Weekday{time.Saturday, time.Sunday}},
	}
	for _, tc := range tests {
		got, err := ParseDay(tc.in)
		if err != nil || len(got) != len(tc.want) {
			t.Errorf("ParseDay(%q) = %v, %v", tc.in, got, err)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("ParseDay(%q) = %v", tc.in, got)
			}
		}
	}
	for _, bad := range []string{"", "funday", "月x", "曜日"} {
		if _, err := ParseDay(bad); err == nil {
			t.Errorf("ParseDay(%q) accepted", bad)
		}
	}
}
