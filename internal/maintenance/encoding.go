package maintenance

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/mamori/mamori/internal/check/fieldset"
	"github.com/mamori/mamori/internal/duration"
	"github.com/mamori/mamori/internal/yamlx"
)

const timeLayout = time.RFC3339

// wire is the JSON/YAML form of a Window: durations and times as text.
type wire struct {
	ID        int64    `json:"id,omitempty" yaml:"id,omitempty"`
	Name      string   `json:"name,omitempty" yaml:"name,omitempty"`
	Reason    string   `json:"reason,omitempty" yaml:"reason,omitempty"`
	CreatedBy string   `json:"created_by,omitempty" yaml:"created_by,omitempty"`
	Tenant    string   `json:"tenant,omitempty" yaml:"tenant,omitempty"`
	Hosts     []string `json:"hosts,omitempty" yaml:"hosts,omitempty"`
	Groups    []string `json:"groups,omitempty" yaml:"groups,omitempty"`
	Checks    []string `json:"checks,omitempty" yaml:"checks,omitempty"`
	Tags      []string `json:"tags,omitempty" yaml:"tags,omitempty"`
	All       bool     `json:"all,omitempty" yaml:"all,omitempty"`
	Start     string   `json:"start,omitempty" yaml:"start,omitempty"`
	End       string   `json:"end,omitempty" yaml:"end,omitempty"`
	Cron      string   `json:"cron,omitempty" yaml:"cron,omitempty"`
	Duration  durText  `json:"duration,omitempty" yaml:"duration,omitempty"`
	Weekly    *wireWk  `json:"weekly,omitempty" yaml:"weekly,omitempty"`
	TimeZone  string   `json:"time_zone,omitempty" yaml:"time_zone,omitempty"`
	From      string   `json:"from,omitempty" yaml:"from,omitempty"`
	Until     string   `json:"until,omitempty" yaml:"until,omitempty"`
}

type wireWk struct {
	Days     []string `json:"days" yaml:"days"`
	At       string   `json:"at" yaml:"at"`
	Duration durText  `json:"duration,omitempty" yaml:"duration,omitempty"`
}

// durText is a duration as text; on input a JSON number or bare YAML
// number is seconds.
type durText string

func (d *durText) UnmarshalJSON(b []byte) error {
	var n json.Number
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return err
	}
	switch x := v.(type) {
	case string:
		*d = durText(x)
	case json.Number:
		n = x
		*d = durText(n.String())
	case nil:
		*d = ""
	default:
		return fmt.Errorf("duration must be a string such as \"2h\" or a number of seconds")
	}
	return nil
}

func (d *durText) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: duration must be a string such as 2h or a number of seconds", n.Line)
	}
	*d = durText(n.Value)
	return nil
}

// parseOptionalDuration reads a window's duration: absent (empty) is zero,
// anything else follows duration.Parse.
func parseOptionalDuration(s string) (time.Duration, error) {
	if strings.TrimSpace(s) == "" {
		return 0, nil
	}
	return duration.Parse(s)
}

// formatDuration writes d compactly: "2h", "1h30m", "36h", "45s".
func formatDuration(d time.Duration) string {
	if d == 0 {
		return ""
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

var localLayouts = []string{
	"2006-01-02T15:04:05",
	"2006-01-02T15:04",
	"2006-01-02 15:04:05",
	"2006-01-02 15:04",
	"2006-01-02",
}

// ParseTime parses RFC 3339, or a time without offset read in loc.
func ParseTime(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02 15:04:05Z07:00", s); err == nil {
		return t, nil
	}
	if t, err := time.Parse("2006-01-02 15:04:05.999999999 -0700 MST", s); err == nil {
		return t, nil
	}
	for _, l := range localLayouts {
		if _, err := time.Parse(l, s); err == nil {
			if loc == nil {
				return time.Time{}, fmt.Errorf("time %q has no offset and the time zone is unknown", s)
			}
			return time.ParseInLocation(l, s, loc)
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time (want RFC 3339 or \"2006-01-02 15:04\" in the window's time zone)", s)
}

func (w *Window) toWire() wire {
	loc, _ := w.Location()
	ft := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		if loc != nil {
			t = t.In(loc)
		}
		return t.Format(time.RFC3339Nano)
	}
	v := wire{
		ID: w.ID, Name: w.Name, Reason: w.Reason, CreatedBy: w.CreatedBy,
		Tenant: w.Tenant, Hosts: w.Hosts, Groups: w.Groups, Checks: w.Checks, Tags: w.Tags, All: w.All,
		Start: ft(w.Start), End: ft(w.End), Cron: w.Cron, Duration: durText(formatDuration(w.Duration)),
		TimeZone: w.TimeZone, From: ft(w.From), Until: ft(w.Until),
	}
	if w.Weekly != nil {
		v.Weekly = &wireWk{Days: w.Weekly.Days, At: w.Weekly.At, Duration: durText(formatDuration(w.Weekly.Duration))}
	}
	return v
}

func (w *Window) fromWire(v wire) error {
	nw := Window{
		ID: v.ID, Name: v.Name, Reason: v.Reason, CreatedBy: v.CreatedBy,
		Tenant: v.Tenant, Hosts: v.Hosts, Groups: v.Groups, Checks: v.Checks, Tags: v.Tags, All: v.All,
		Cron: v.Cron, TimeZone: v.TimeZone,
	}
	loc, _ := loadLocation(v.TimeZone) // Validate reports a bad zone
	var err error
	for _, f := range []struct {
		name string
		text string
		dst  *time.Time
	}{{"start", v.Start, &nw.Start}, {"end", v.End, &nw.End}, {"from", v.From, &nw.From}, {"until", v.Until, &nw.Until}} {
		if *f.dst, err = ParseTime(f.text, loc); err != nil {
			return fmt.Errorf("%s: %v", f.name, err)
		}
	}
	if nw.Duration, err = parseOptionalDuration(string(v.Duration)); err != nil {
		return fmt.Errorf("duration: %v", err)
	}
	if v.Weekly != nil {
		nw.Weekly = &Weekly{Days: v.Weekly.Days, At: v.Weekly.At}
		if nw.Weekly.Duration, err = parseOptionalDuration(string(v.Weekly.Duration)); err != nil {
			return fmt.Errorf("weekly.duration: %v", err)
		}
	}
	*w = nw
	return nil
}

// MarshalJSON writes the window with durations as text ("2h") and times in
// RFC 3339 in the window's zone.
func (w Window) MarshalJSON() ([]byte, error) { return json.Marshal(w.toWire()) }

// UnmarshalJSON reads the window; see Window for the accepted forms.
func (w *Window) UnmarshalJSON(b []byte) error {
	var v wire
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	return w.fromWire(v)
}

// MarshalYAML writes the window as MarshalJSON does.
func (w Window) MarshalYAML() (any, error) { return w.toWire(), nil }

// windowKeys are the keys of a window in YAML.
var windowKeys = []string{"id", "name", "reason", "created_by", "tenant", "hosts", "groups", "checks", "tags", "all",
	"start", "end", "cron", "duration", "weekly", "time_zone", "from", "until"}

// UnmarshalYAML reads the window strictly: every unknown or duplicate key
// is reported at once, as yamlx.Errors (with line and key; the caller
// knows the file).
func (w *Window) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.MappingNode {
		var errs yamlx.Errors
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			switch first, dup := seen[k.Value]; {
			case dup:
				errs = append(errs, yamlx.At("", k, k.Value, "duplicate key (first at line %d)", first))
				continue
			case !slices.Contains(windowKeys, k.Value):
				errs = append(errs, yamlx.At("", k, k.Value, "unknown maintenance window field %q%s", k.Value,
					fieldset.SuggestKey(k.Value, slices.Clone(windowKeys))))
			}
			seen[k.Value] = k.Line
		}
		if len(errs) > 0 {
			return errs
		}
	}
	var v wire
	if err := n.Decode(&v); err != nil {
		return err
	}
	if err := w.fromWire(v); err != nil {
		return fmt.Errorf("line %d: %v", n.Line, err)
	}
	return nil
}
