package logscheck

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awscheck/awsfake"
	"github.com/mamori/mamori/internal/check/awssvc/svctest"
)

type logEvent struct {
	id, msg string
	at      time.Time
}

// logs is a log group in the fake: FilterLogEvents answers the events in
// the asked time range, two per page.
type logs struct {
	mu     sync.Mutex
	events []logEvent
}

func (l *logs) add(id, msg string, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, logEvent{id, msg, at})
}

func (l *logs) handler(t *testing.T) awsfake.Handler {
	return func(r *awsfake.Request) (any, error) {
		l.mu.Lock()
		defer l.mu.Unlock()
		if r.Input["logGroupName"] != "/aws/lambda/orders" {
			return nil, &awsfake.Error{Status: 400, Code: "ResourceNotFoundException", Message: "The specified log group does not exist."}
		}
		if r.Input["filterPattern"] != "?ERROR ?Exception" {
			t.Errorf("filterPattern = %v", r.Input["filterPattern"])
		}
		start, _ := r.Input["startTime"].(json.Number).Int64()
		end, _ := r.Input["endTime"].(json.Number).Int64()
		skip := 0
		if tok, ok := r.Input["nextToken"].(string); ok {
			skip = len(tok)
		}
		var out []map[string]any
		for _, e := range l.events {
			if ms := e.at.UnixMilli(); ms >= start && ms <= end {
				out = append(out, map[string]any{"eventId": e.id, "message": e.msg, "timestamp": ms, "logStreamName": "2026/12/02/[$LATEST]abc"})
			}
		}
		out = out[min(skip, len(out)):]
		ans := map[string]any{"events": out[:min(2, len(out))]}
		if len(out) > 2 {
			ans["nextToken"] = strings.Repeat("x", skip+2)
		}
		return ans, nil
	}
}

func newSpec(f *awsfake.Server, state string) *Spec {
	return &Spec{Target: svctest.Target(f), LogGroup: "/aws/lambda/orders", FilterPattern: "?ERROR ?Exception",
		MatchStatus: "critical", Lookback: 10 * time.Minute, MaxLines: DefaultMaxLines, StateFile: state}
}

func TestLogsEachEventOnce(t *testing.T) {
	f, env := svctest.Fake(t)
	l := &logs{}
	f.Handle("logs", "FilterLogEvents", l.handler(t))
	state := filepath.Join(t.TempDir(), "logs.json")
	k, _ := check.Lookup("aws_logs")
	c, err := newSpec(f, state).New(env)
	if err != nil {
		t.Fatal(err)
	}
	run := func() check.Result {
		r := check.Run(t.Context(), k, c, 0)
		t.Logf("%s: %s\n%s", r.Status, r.Output, r.Long)
		return r
	}
	now := time.Now()
	l.add("e1", "ERROR payment declined for order 42", now.Add(-2*time.Minute))
	l.add("e0", "ERROR too old to count", now.Add(-time.Hour))
	if r := run(); r.Status != check.Critical || !strings.Contains(r.Output, "1 new events") || !strings.Contains(r.Output, "payment declined") {
		t.Fatalf("first run: %s %q", r.Status, r.Output)
	}
	// e1 is still inside the overlap and returned again: it must not alert
	// again; e2..e4 arrive late, with timestamps before the last run, and
	// span two pages.
	for _, id := range []string{"e2", "e3", "e4"} {
		l.add(id, "Exception in handler "+id, now.Add(-time.Minute))
	}
	if r := run(); r.Status != check.Critical || !strings.Contains(r.Output, "3 new events") || strings.Contains(r.Long, "payment declined") {
		t.Fatalf("second run: %s %q %q", r.Status, r.Output, r.Long)
	}
	if r := run(); r.Status != check.OK || !strings.Contains(r.Output, "no new events") {
		t.Fatalf("third run: %s %q", r.Status, r.Output)
	}
	// A restarted server reads its position and alerts on nothing old.
	c2, _ := newSpec(f, state).New(env)
	if r := check.Run(t.Context(), k, c2, 0); r.Status != check.OK {
		t.Fatalf("after restart: %s %q", r.Status, r.Output)
	}
}

func TestLogsAPIErrors(t *testing.T) {
	f, env := svctest.Fake(t)
	l := &logs{}
	f.Fail("logs", "FilterLogEvents", &awsfake.Error{Status: 400, Code: "ThrottlingException", Message: "Rate exceeded"})
	f.Handle("logs", "FilterLogEvents", l.handler(t))
	if r := svctest.Check(t, env, "aws_logs", newSpec(f, "")); r.Status != check.OK || f.Calls("logs", "FilterLogEvents") != 2 {
		t.Fatalf("throttled once: %s %q", r.Status, r.Output)
	}
	s := newSpec(f, "")
	s.LogGroup = "/aws/lambda/order"
	if r := svctest.Check(t, env, "aws_logs", s); r.Status != check.Critical || !strings.Contains(r.Output, "log group /aws/lambda/order not found in region ap-northeast-1") {
		t.Fatalf("not found: %s %q", r.Status, r.Output)
	}
	f.Handle("logs", "FilterLogEvents", func(*awsfake.Request) (any, error) {
		return nil, &awsfake.Error{Status: 400, Code: "AccessDeniedException", Message: "not authorized to perform: logs:FilterLogEvents"}
	})
	if r := svctest.Check(t, env, "aws_logs", newSpec(f, "")); r.Status != check.Unknown || !strings.Contains(r.Output, "lack the IAM permission logs:FilterLogEvents") {
		t.Fatalf("access denied: %s %q", r.Status, r.Output)
	}
}

func TestLogsValidate(t *testing.T) {
	s := &Spec{MatchStatus: "ok", MaxLines: 500}
	if errs := s.Validate(); len(errs) != 4 {
		t.Fatalf("want log_group, filter_pattern, match_status, max_lines: %v", errs)
	}
}
