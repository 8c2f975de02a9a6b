// Package wineventcheck is the agent-side "windows_event" check type: new
// events of a Windows event log channel matching a source, event IDs,
// levels and a message regex. The collection (Windows Event Log API) is in
// collect_windows.go; the XML parsing and matching here are portable and
// unit-tested on every OS. On other systems the check is UNKNOWN.
package wineventcheck

import (
	"encoding/xml"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Event is one rendered event (the fields of its XML the check uses).
type Event struct {
	Provider string
	EventID  int
	Level    int // 1 critical, 2 error, 3 warning, 4 information, 5 verbose (0: LogAlways)
	RecordID uint64
	Channel  string
	Computer string
	Time     time.Time
	Message  string
}

// Levels by name, as the Event Viewer shows them.
var levelNames = map[string]int{"critical": 1, "error": 2, "warning": 3, "information": 4, "info": 4, "verbose": 5}

// LevelName names a level number.
func LevelName(l int) string {
	switch l {
	case 1:
		return "Critical"
	case 2:
		return "Error"
	case 3:
		return "Warning"
	case 0, 4:
		return "Information"
	case 5:
		return "Verbose"
	}
	return "Level " + strconv.Itoa(l)
}

type xmlEvent struct {
	System struct {
		Provider struct {
			Name            string `xml:"Name,attr"`
			EventSourceName string `xml:"EventSourceName,attr"`
		} `xml:"Provider"`
		EventID     string `xml:"EventID"`
		Level       string `xml:"Level"`
		TimeCreated struct {
			SystemTime string `xml:"SystemTime,attr"`
		} `xml:"TimeCreated"`
		EventRecordID string `xml:"EventRecordID"`
		Channel       string `xml:"Channel"`
		Computer      string `xml:"Computer"`
	} `xml:"System"`
	EventData struct {
		Data []struct {
			Name  string `xml:"Name,attr"`
			Value string `xml:",chardata"`
		} `xml:"Data"`
	} `xml:"EventData"`
	UserData struct {
		Inner []byte `xml:",innerxml"`
	} `xml:"UserData"`
	RenderingInfo struct {
		Message string `xml:"Message"`
	} `xml:"RenderingInfo"`
}

// ParseEventXML reads an event as EvtRender(EvtRenderEventXml) or
// EvtFormatMessage(EvtFormatMessageXml) returns it. The message is the
// rendered one when present, else the event data values joined.
func ParseEventXML(b []byte) (Event, error) {
	var x xmlEvent
	if err := xml.Unmarshal(b, &x); err != nil {
		return Event{}, fmt.Errorf("event XML: %w", err)
	}
	e := Event{Provider: x.System.Provider.Name, Channel: x.System.Channel, Computer: x.System.Computer}
	if e.Provider == "" {
		e.Provider = x.System.Provider.EventSourceName
	}
	var err error
	if e.EventID, err = strconv.Atoi(strings.TrimSpace(x.System.EventID)); err != nil {
		return Event{}, fmt.Errorf("event XML: EventID %q is not a number", x.System.EventID)
	}
	if lv := strings.TrimSpace(x.System.Level); lv != "" {
		if e.Level, err = strconv.Atoi(lv); err != nil {
			return Event{}, fmt.Errorf("event XML: Level %q is not a number", lv)
		}
	}
	if id := strings.TrimSpace(x.System.EventRecordID); id != "" {
		if e.RecordID, err = strconv.ParseUint(id, 10, 64); err != nil {
			return Event{}, fmt.Errorf("event XML: EventRecordID %q is not a number", id)
		}
	}
	if ts := x.System.TimeCreated.SystemTime; ts != "" {
		if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
			e.Time = t
		}
	}
	e.Message = strings.TrimSpace(x.RenderingInfo.Message)
	if e.Message == "" {
		var parts []string
		for _, d := range x.EventData.Data {
			if v := strings.TrimSpace(d.Value); v != "" {
				parts = append(parts, v)
			}
		}
		e.Message = strings.Join(parts, "; ")
	}
	return e, nil
}

// Filter selects events.
type Filter struct {
	Sources  []string // provider names (any case); empty: any
	EventIDs []int    // empty: any
	Levels   []int    // empty: any
	Message  *regexp.Regexp
}

// NewFilter builds a filter from the spec's fields.
func NewFilter(source string, ids []int, levels []string, messageRegex string) (*Filter, error) {
	f := &Filter{EventIDs: ids}
	for _, s := range strings.Split(source, ",") {
		if s = strings.TrimSpace(s); s != "" {
			f.Sources = append(f.Sources, s)
		}
	}
	for _, l := range levels {
		n, err := ParseLevel(l)
		if err != nil {
			return nil, err
		}
		f.Levels = append(f.Levels, n)
	}
	if messageRegex != "" {
		re, err := regexp.Compile(messageRegex)
		if err != nil {
			return nil, err
		}
		f.Message = re
	}
	return f, nil
}

// ParseLevel reads a level name or number.
func ParseLevel(s string) (int, error) {
	if n, ok := levelNames[strings.ToLower(strings.TrimSpace(s))]; ok {
		return n, nil
	}
	if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && n >= 0 && n <= 255 {
		return n, nil
	}
	return 0, fmt.Errorf("%q is not an event level (critical, error, warning, information, verbose)", s)
}

// Match reports whether the filter selects e.
func (f *Filter) Match(e Event) bool {
	if len(f.Sources) > 0 && !slices.ContainsFunc(f.Sources, func(s string) bool { return strings.EqualFold(s, e.Provider) }) {
		return false
	}
	if len(f.EventIDs) > 0 && !slices.Contains(f.EventIDs, e.EventID) {
		return false
	}
	if len(f.Levels) > 0 {
		lv := e.Level
		if lv == 0 {
			lv = 4 // LogAlways shows as Information
		}
		if !slices.Contains(f.Levels, lv) && !slices.Contains(f.Levels, e.Level) {
			return false
		}
	}
	if f.Message != nil && !f.Message.MatchString(e.Message) {
		return false
	}
	return true
}

// XPath is the query selecting events after a record id, with the filter's
// source, ids and levels pushed down to the event log service (the message
// regex is applied afterwards).
func (f *Filter) XPath(after uint64) string {
	var conds []string
	if after > 0 {
		conds = append(conds, fmt.Sprintf("EventRecordID>%d", after))
	}
	if len(f.Sources) > 0 {
		var p []string
		for _, s := range f.Sources {
			p = append(p, fmt.Sprintf("@Name='%s'", strings.ReplaceAll(s, "'", "")))
		}
		conds = append(conds, "Provider["+strings.Join(p, " or ")+"]")
	}
	if len(f.EventIDs) > 0 {
		var p []string
		for _, id := range f.EventIDs {
			p = append(p, fmt.Sprintf("EventID=%d", id))
		}
		conds = append(conds, "("+strings.Join(p, " or ")+")")
	}
	if len(f.Levels) > 0 {
		var p []string
		for _, l := range f.Levels {
			p = append(p, fmt.Sprintf("Level=%d", l))
			if l == 4 {
				p = append(p, "Level=0")
			}
		}
		conds = append(conds, "("+strings.Join(p, " or ")+")")
	}
	if len(conds) == 0 {
		return "*"
	}
	return "*[System[" + strings.Join(conds, " and ") + "]]"
}
