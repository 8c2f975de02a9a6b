package awssvc

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/check"
)

// Event is a service event (RDS, ElastiCache, Redshift DescribeEvents) in
// one shape.
type Event struct {
	Source     string // source identifier (cluster, instance, node)
	Time       time.Time
	Message    string
	Categories []string // lower case
	Severity   string   // Redshift: INFO or ERROR
}

// EventRule says which events raise which status: an event is WARNING when
// one of its categories is in Warn, its severity in Severities, or its
// message contains one of Words (case-insensitive); CRITICAL when one of
// its categories is in Crit.
type EventRule struct {
	Warn, Crit []string
	Severities []string
	Words      []string
}

// Grade returns the worst status of the events that match the rule and a
// short text naming the newest of them.
func (r EventRule) Grade(events []Event) (check.Status, []string) {
	sort.Slice(events, func(i, j int) bool { return events[i].Time.After(events[j].Time) })
	st := check.OK
	var lines []string
	for _, e := range events {
		s := r.status(e)
		if s == check.OK {
			continue
		}
		st = check.Worst(st, s)
		lines = append(lines, fmt.Sprintf("%s %s: %s", e.Time.UTC().Format("2006-01-02 15:04 MST"), e.Source, e.Message))
	}
	return st, lines
}

func (r EventRule) status(e Event) check.Status {
	st := check.OK
	for _, c := range e.Categories {
		if slices.Contains(r.Crit, c) {
			return check.Critical
		}
		if slices.Contains(r.Warn, c) {
			st = check.Warning
		}
	}
	if e.Severity != "" && slices.Contains(r.Severities, strings.ToLower(e.Severity)) {
		st = check.Warning
	}
	low := strings.ToLower(e.Message)
	for _, w := range r.Words {
		if strings.Contains(low, strings.ToLower(w)) {
			st = check.Warning
		}
	}
	return st
}

// Within keeps the events of the given sources no older than window.
func Within(events []Event, sources map[string]bool, window time.Duration) []Event {
	var out []Event
	for _, e := range events {
		if sources[e.Source] && time.Since(e.Time) <= window {
			out = append(out, e)
		}
	}
	return out
}

// Summary joins status parts and event lines into one output line.
func Summary(parts []string, events []string) string {
	if len(events) > 0 {
		more := ""
		if len(events) > 3 {
			more = fmt.Sprintf(" (+%d more)", len(events)-3)
			events = events[:3]
		}
		parts = append(parts, "events: "+strings.Join(events, "; ")+more)
	}
	return check.OneLine(strings.Join(parts, "; "))
}
