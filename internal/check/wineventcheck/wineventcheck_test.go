package wineventcheck

import (
	"context"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/check"
)

const scmCrash = `<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Service Control Manager' Guid='{555908d1-a6d7-4695-8e1e-26931d2012f4}' EventSourceName='Service Control Manager'/><EventID Qualifiers='49152'>7034</EventID><Version>0</Version><Level>2</Level><Task>0</Task><Opcode>0</Opcode><Keywords>0x8080000000000000</Keywords><TimeCreated SystemTime='2024-05-01T03:04:05.1234567Z'/><EventRecordID>81234</EventRecordID><Correlation/><Execution ProcessID='788' ThreadID='5432'/><Channel>System</Channel><Computer>WEB01</Computer><Security/></System><EventData><Data Name='param1'>Print Spooler</Data><Data Name='param2'>1</Data><Binary>530070006F006F006C00</Binary></EventData></Event>`

const appInfo = `<?xml version="1.0" encoding="utf-8"?>
<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event">
  <System>
    <Provider Name="MSSQLSERVER"/>
    <EventID Qualifiers="16384">17137</EventID>
    <Level>4</Level>
    <TimeCreated SystemTime="2024-05-01T03:05:00.000Z"/>
    <EventRecordID>5001</EventRecordID>
    <Channel>Application</Channel>
    <Computer>DB01</Computer>
  </System>
  <EventData><Data>shop</Data></EventData>
  <RenderingInfo Culture="en-US">
    <Message>Starting up database 'shop'.</Message>
    <Level>Information</Level>
  </RenderingInfo>
</Event>`

const diskWarn = `<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><Provider Name="disk"/><EventID>153</EventID><Level>3</Level><EventRecordID>81240</EventRecordID><Channel>System</Channel></System><EventData><Data>\Device\Harddisk0\DR0</Data></EventData><RenderingInfo><Message>The IO operation at logical block address 0x1234 for Disk 0 was retried.</Message></RenderingInfo></Event>`

func parse(t *testing.T, x string) Event {
	t.Helper()
	e, err := ParseEventXML([]byte(x))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestParseEventXML(t *testing.T) {
	e := parse(t, scmCrash)
	if e.Provider != "Service Control Manager" || e.EventID != 7034 || e.Level != 2 || e.RecordID != 81234 || e.Channel != "System" || e.Computer != "WEB01" || e.Message != "Print Spooler; 1" || e.Time.Year() != 2024 {
		t.Fatalf("%+v", e)
	}
	e = parse(t, appInfo)
	if e.Provider != "MSSQLSERVER" || e.EventID != 17137 || e.Level != 4 || e.Message != "Starting up database 'shop'." {
		t.Fatalf("%+v", e)
	}
	for _, bad := range []string{"", "<Event><System><EventID>x</EventID></System></Event>", "<Event><System><EventID>1</EventID><Level>high</Level></System></Event>", "<Event>"} {
		if _, err := ParseEventXML([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestFilterAndEvaluate(t *testing.T) {
	events := []Event{parse(t, scmCrash), parse(t, appInfo), parse(t, diskWarn)}
	tests := []struct {
		name  string
		spec  Spec
		want  check.Status
		out   string
		xpath string
	}{
		{"any event", Spec{Channel: "System"}, check.Critical, "3 matching events in System, latest: Warning disk 153", "*[System[EventRecordID>10]]"},
		{"source", Spec{Channel: "System", Source: "service control manager"}, check.Critical, "1 matching event in System, latest: 2024-05-01T03:04:05Z Error Service Control Manager 7034: Print Spooler; 1", "Provider[@Name='service control manager']"},
		{"ids", Spec{Channel: "System", EventIDs: []int{153, 7}}, check.Warning, "Warning disk 153", "(EventID=153 or EventID=7)"},
		{"levels by name", Spec{Channel: "System", Levels: []string{"warning", "critical"}}, check.Warning, "1 matching event", "(Level=3 or Level=1)"},
		{"information includes level 0", Spec{Channel: "Application", Levels: []string{"information"}}, check.Warning, "MSSQLSERVER 17137", "(Level=4 or Level=0)"},
		{"message regex", Spec{Channel: "System", MessageRegex: `(?i)spooler`}, check.Critical, "7034", ""},
		{"status warning", Spec{Channel: "System", EventIDs: []int{7034}, Status: "warning"}, check.Warning, "7034", ""},
		{"status critical", Spec{Channel: "System", EventIDs: []int{153}, Status: "critical"}, check.Critical, "153", ""},
		{"no match", Spec{Channel: "System", EventIDs: []int{1}}, check.OK, "no new matching events in System (3 new)", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.spec.MaxLines = 2
			if errs := tt.spec.Validate(); len(errs) > 0 {
				t.Fatal(errs)
			}
			f, err := NewFilter(tt.spec.Source, tt.spec.EventIDs, tt.spec.Levels, tt.spec.MessageRegex)
			if err != nil {
				t.Fatal(err)
			}
			r := Evaluate(&tt.spec, f, events)
			if r.Status != tt.want || !strings.Contains(r.Output, tt.out) {
				t.Fatalf("got %v %q, want %v with %q", r.Status, r.Output, tt.want, tt.out)
			}
			if x := f.XPath(10); !strings.Contains(x, tt.xpath) {
				t.Fatalf("xpath %q lacks %q", x, tt.xpath)
			}
			if n := strings.Count(r.Long, "\n"); n > 2 {
				t.Fatalf("long not bounded: %q", r.Long)
			}
		})
	}
}

func TestCheckerPositions(t *testing.T) {
	old := collect
	t.Cleanup(func() { collect = old })
	var channel []Event
	collect = func(ctx context.Context, ch, xpath string, after uint64, started bool) ([]Event, uint64, error) {
		var last uint64
		var out []Event
		for _, e := range channel {
			last = max(last, e.RecordID)
			if started && e.RecordID > after {
				out = append(out, e)
			}
		}
		return out, last, nil
	}
	state := filepath.Join(t.TempDir(), "pos.json")
	spec := Spec{Channel: "System", EventIDs: []int{7034}, MaxLines: 5, StateFile: state}
	newC := func() check.Checker { c, _ := spec.New(check.Env{}); return c }
	k, _ := check.Lookup("windows_event")
	c := newC()
	channel = append(channel, parse(t, scmCrash)) // history
	if r := check.Run(context.Background(), k, c, 0); r.Status != check.OK {
		t.Fatalf("first run must skip history: %v %q", r.Status, r.Output)
	}
	ev := parse(t, scmCrash)
	ev.RecordID = 90000
	channel = append(channel, ev)
	if r := check.Run(context.Background(), k, c, 0); r.Status != check.Critical {
		t.Fatalf("new event: %v %q", r.Status, r.Output)
	}
	// Restart: the position survives, the event is not reported again.
	if r := check.Run(context.Background(), k, newC(), 0); r.Status != check.OK {
		t.Fatalf("after restart: %v %q", r.Status, r.Output)
	}
}

func TestOnThisOS(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("real event log")
	}
	k, _ := check.Lookup("windows_event")
	sp := k.New().(*Spec)
	c, err := sp.New(check.Env{})
	if err != nil {
		t.Fatal(err)
	}
	r := check.Run(context.Background(), k, c, 0)
	if r.Status != check.Unknown || !strings.Contains(r.Output, "Windows event log checks run only on Windows") {
		t.Fatalf("%v %q", r.Status, r.Output)
	}
}

func TestValidate(t *testing.T) {
	for _, tt := range []struct {
		spec Spec
		bad  string
	}{
		{Spec{Channel: "System"}, ""},
		{Spec{}, "channel"},
		{Spec{Channel: "System", Levels: []string{"loud"}}, "levels"},
		{Spec{Channel: "System", MessageRegex: "("}, "message_regex"},
		{Spec{Channel: "System", EventIDs: []int{70000}}, "event_ids"},
		{Spec{Channel: "System", Status: "meh"}, "status"},
	} {
		errs := tt.spec.Validate()
		if (tt.bad == "") != (len(errs) == 0) || (tt.bad != "" && errs[0].Field != tt.bad) {
			t.Errorf("%+v: %v", tt.spec, errs)
		}
	}
}
