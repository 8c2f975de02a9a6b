package incident

import (
	"strings"
	"testing"
	"time"
)

func TestLineRoundTrip(t *testing.T) {
	at := time.Date(2026, 12, 3, 7, 30, 0, 0, time.UTC)
	l := Line(at, "recovered", "recovered", "web recovered after 5m0s", Str("web"), Dur(5*time.Minute+400*time.Millisecond), At(at), Word("incident.status.resolved"))
	m, ok := l.Message()
	if !ok || m.Key != "recovered" || len(m.Args) != 4 {
		t.Fatalf("message: %+v %v", m, ok)
	}
	if m.Args[0].S != "web" || *m.Args[1].D != 300 || !m.Args[2].T.Equal(at) || m.Args[3].K != "incident.status.resolved" {
		t.Errorf("args: %+v", m.Args)
	}
	if l.Text != "web recovered after 5m0s" || l.Kind != "recovered" {
		t.Errorf("line: %+v", l)
	}
	for _, data := range []string{"", `{"from":1,"to":3}`, `not json`, `[1]`} {
		if _, ok := (Timeline{Data: []byte(data)}).Message(); ok {
			t.Errorf("%q read as a message", data)
		}
	}
}

func TestLineWithKeepsTheMessage(t *testing.T) {
	l := Line(time.Now(), "call", "call", "phone call to ops: not answered", Str("ops"), Word("call.no-answer")).With("call_status", "no-answer")
	if m, ok := l.Message(); !ok || m.Key != "call" || len(m.Args) != 2 {
		t.Errorf("message lost: %+v %v", m, ok)
	}
	if !strings.Contains(string(l.Data), `"call_status":"no-answer"`) {
		t.Errorf("data lacks call_status: %s", l.Data)
	}
}
