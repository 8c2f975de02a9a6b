package wineventcheck

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mamori/mamori/internal/check"
)

// ErrNotWindows is what the collector answers on other systems.
var ErrNotWindows = errors.New("Windows event log checks run only on Windows")

func init() {
	check.Register(&check.Kind{
		Name:    "windows_event",
		Label:   "EVENTLOG",
		Summary: "new Windows event log entries matching channel, source, event IDs, levels and a message regex",
		Scope:   check.ScopeAgent,
		Timeout: 60 * time.Second,
		New:     func() check.Spec { return &Spec{Channel: "System", MaxLines: 10} },
	})
}

// Spec is the windows_event check's configuration.
type Spec struct {
	Channel      string   `yaml:"channel" help:"event log channel: System, Application, Security, or a full channel path"`
	Source       string   `yaml:"source" help:"event source (provider) name; several separated by commas"`
	EventIDs     []int    `yaml:"event_ids" help:"event IDs to match (default: any)"`
	Levels       []string `yaml:"levels" help:"levels to match: critical, error, warning, information, verbose (default: any)"`
	MessageRegex string   `yaml:"message_regex" help:"regular expression the event message must match"`
	Status       string   `yaml:"status" help:"status of a match: by_level (critical/error: CRITICAL, others: WARNING), warning or critical"`
	FromStart    bool     `yaml:"from_start" help:"on the first run, look at the whole channel instead of only new events"`
	MaxLines     int      `yaml:"max_lines" help:"matching events shown in the output (the rest are counted)"`
	StateFile    string   `yaml:"state_file" help:"where the last record id is kept (default: in the agent's state dir)"`
}

// SetStateFile sets where the position is kept unless the spec names a file.
func (s *Spec) SetStateFile(path string) {
	if s.StateFile == "" {
		s.StateFile = path
	}
}

// Validate reports every problem.
func (s *Spec) Validate() []check.FieldError {
	var errs []check.FieldError
	if strings.TrimSpace(s.Channel) == "" {
		errs = append(errs, check.Errf("channel", "is required (e.g. System or Application)"))
	}
	for _, l := range s.Levels {
		if _, err := ParseLevel(l); err != nil {
			errs = append(errs, check.Errf("levels", "%v", err))
		}
	}
	if _, err := NewFilter(s.Source, s.EventIDs, nil, s.MessageRegex); err != nil {
		errs = append(errs, check.Errf("message_regex", "%v", err))
	}
	for _, id := range s.EventIDs {
		if id < 0 || id > 65535 {
			errs = append(errs, check.Errf("event_ids", "%d is not an event ID (0..65535)", id))
		}
	}
	switch s.Status {
	case "", "by_level", "warning", "critical":
	default:
		errs = append(errs, check.Errf("status", "%q is not by_level, warning or critical", s.Status))
	}
	if s.MaxLines < 0 || s.MaxLines > 100 {
		errs = append(errs, check.Errf("max_lines", "must be between 0 and 100"))
	}
	return errs
}

// New builds the checker.
func (s *Spec) New(check.Env) (check.Checker, error) {
	f, err := NewFilter(s.Source, s.EventIDs, s.Levels, s.MessageRegex)
	if err != nil {
		return nil, err
	}
	return &checker{spec: *s, filter: f}, nil
}

type checker struct {
	spec   Spec
	filter *Filter

	mu     sync.Mutex
	loaded bool
	st     position
}

type position struct {
	Channel      string `json:"channel"`
	LastRecordID uint64 `json:"last_record_id"`
	Started      bool   `json:"started"`
}

// collector reads the events of channel after record id `after` that match
// the filter's XPath; with started=false it only reports the newest record
// id (a first run that skips history). Implemented in collect_windows.go.
type collector func(ctx context.Context, channel, xpath string, after uint64, started bool) (events []Event, last uint64, err error)

var collect collector = collectEvents

func (c *checker) Check(ctx context.Context) check.Result {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.loaded {
		c.st = loadPosition(c.spec.StateFile)
		if c.st.Channel != c.spec.Channel {
			c.st = position{Channel: c.spec.Channel}
		}
		c.loaded = true
	}
	started := c.st.Started || c.spec.FromStart
	events, last, err := collect(ctx, c.spec.Channel, c.filter.XPath(c.st.LastRecordID), c.st.LastRecordID, started)
	if err != nil {
		if errors.Is(err, ErrNotWindows) {
			return check.Resultf(check.Unknown, "%v", err)
		}
		return check.Resultf(check.Unknown, "reading channel %s: %v", c.spec.Channel, err)
	}
	if last > c.st.LastRecordID {
		c.st.LastRecordID = last
	}
	c.st.Started = true
	r := Evaluate(&c.spec, c.filter, events)
	if err := savePosition(c.spec.StateFile, c.st); err != nil {
		r.Long = strings.TrimSpace(r.Long + "\ncannot save position: " + err.Error())
	}
	return r
}

// Evaluate grades the new events of one run.
func Evaluate(s *Spec, f *Filter, events []Event) check.Result {
	var matched []Event
	for _, e := range events {
		if f.Match(e) {
			matched = append(matched, e)
		}
	}
	perf := check.M("events", float64(len(matched)), "")
	if len(matched) == 0 {
		return check.Resultf(check.OK, "no new matching events in %s (%d new)", s.Channel, len(events)).With(perf)
	}
	st := check.Warning
	for _, e := range matched {
		switch s.Status {
		case "critical":
			st = check.Critical
		case "warning":
		default:
			if e.Level == 1 || e.Level == 2 {
				st = check.Critical
			}
		}
	}
	sort.SliceStable(matched, func(i, j int) bool { return matched[i].RecordID < matched[j].RecordID })
	first := matched[len(matched)-1]
	r := check.Resultf(st, "%d matching event%s in %s, latest: %s", len(matched), plural(len(matched)), s.Channel, describe(first))
	var long []string
	max := s.MaxLines
	for i := len(matched) - 1; i >= 0 && len(long) < max; i-- {
		long = append(long, describe(matched[i]))
	}
	if more := len(matched) - len(long); more > 0 && max > 0 {
		long = append(long, fmt.Sprintf("… and %d more", more))
	}
	r.Long = strings.Join(long, "\n")
	return r.With(perf)
}

func describe(e Event) string {
	msg := check.OneLine(e.Message)
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	ts := ""
	if !e.Time.IsZero() {
		ts = e.Time.UTC().Format(time.RFC3339) + " "
	}
	return fmt.Sprintf("%s%s %s %d: %s", ts, LevelName(e.Level), e.Provider, e.EventID, msg)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func loadPosition(path string) position {
	var p position
	if path == "" {
		return p
	}
	if b, err := os.ReadFile(path); err == nil {
		_ = json.Unmarshal(b, &p)
	}
	return p
}

func savePosition(path string, p position) error {
	if path == "" {
		return nil
	}
	b, _ := json.Marshal(p)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
