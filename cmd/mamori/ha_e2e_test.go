package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/store/postgres/pgtest"
)

type apiStatus struct {
	Role     string `json:"role"`
	Leader   bool   `json:"leader"`
	Database string `json:"database"`
}

func (s *server) status() apiStatus {
	var st apiStatus
	if code := s.get("/api/v1/status", &st); code != 200 {
		s.t.Fatalf("GET /api/v1/status: %d", code)
	}
	return st
}

type haEvent struct {
	Time      time.Time `json:"time"`
	State     string    `json:"state"`
	StateType string    `json:"state_type"`
	PrevState string    `json:"previous_state"`
	PrevType  string    `json:"previous_state_type"`
	Hard      bool      `json:"hard"`
}

type haHistory struct {
	Results []struct {
		Time time.Time `json:"time"`
	} `json:"results"`
	Events []haEvent `json:"events"`
}

func (s *server) history(check string) haHistory {
	var h haHistory
	if code := s.get("/api/v1/checks/"+check+"?results=5000&events=1000", &h); code != 200 {
		s.t.Fatalf("GET history of %s: %d", check, code)
	}
	sort.Slice(h.Events, func(i, j int) bool { return h.Events[i].Time.Before(h.Events[j].Time) })
	sort.Slice(h.Results, func(i, j int) bool { return h.Results[i].Time.Before(h.Results[j].Time) })
	return h
}

// stream reads the server's event stream at path (server-sent events).
func (s *server) stream(t *testing.T, path string) <-chan apiEvent {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", s.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := s.httpClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan apiEvent, 100)
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			var e apiEvent
			if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok && json.Unmarshal([]byte(d), &e) == nil {
				select {
				case out <- e:
				default:
				}
			}
		}
	}()
	return out
}

// haServers starts two servers on one fresh PostgreSQL database, each
// with its own data_dir and port: down fails (a closed port), up and flip
// answer; a webhook channel receives the problems. dsn is the database.
func haServers(t *testing.T, hook *hookReceiver, up, flip *target) (a, b *server, dsn string) {
	dsn = pgtest.DSN(t)
	closed := freePort(t)
	start := func(name string) *server {
		dir := t.TempDir()
		port := freePort(t)
		cfg := writeFile(t, filepath.Join(dir, "mamori.yaml"), fmt.Sprintf(`listen: 127.0.0.1:%d
data_dir: %s
database: %s
defaults:
  interval: 1s
  attempts: 2
channels:
  - {name: ops, type: webhook, url: "%s/hook"}
checks:
  - {name: down, type: tcp, host: 127.0.0.1, port: %d, timeout: 1s, notify: [ops]}
  - {name: up, type: tcp, host: 127.0.0.1, port: %d, timeout: 1s}
  - {name: flip, type: tcp, host: 127.0.0.1, port: %d, timeout: 1s, notify: [ops]}
`, port, filepath.Join(dir, "data"), dsn, hook.srv.URL, closed, up.port, flip.port))
		s := startServer(t, cfg, port)
		t.Logf("server %s on port %d", name, port)
		return s
	}
	a = start("a")
	waitUntil(t, "server a leads", 20*time.Second, func() bool { return a.status().Leader })
	b = start("b")
	return a, b, dsn
}

// TestTwoServersOnePostgres: two servers on one database; one leads, the
// other follows and serves the leader's states and incidents. kill -9 of
// the leader: the follower takes over within 30 s, keeps checking, decides
// a new problem and opens its incident; the failing check has exactly one
// incident and one message, and every check's state history is continuous.
func TestTwoServersOnePostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	hook := newHookReceiver(t)
	up, flip := &target{port: freePort(t)}, &target{port: freePort(t)}
	up.up(t)
	flip.up(t)
	a, b, _ := haServers(t, hook, up, flip)
	in := a.waitIncident(20*time.Second, "for down", func(in apiIncident) bool { return in.Check == "down" })
	time.Sleep(3 * time.Second) // b has read the states at least once
	if st := b.status(); st.Leader || st.Role != "follower" || st.Database != "postgres" {
		t.Fatalf("b: %+v, want a follower", st)
	}
	if c := b.check("down"); c.State != "CRITICAL" || c.StateType != "hard" {
		t.Fatalf("the follower shows down as %+v, want the leader's hard CRITICAL", c)
	}
	if c := b.check("up"); c.State != "OK" {
		t.Fatalf("the follower shows up as %+v", c)
	}
	// Writes through the store work on the follower; a run is the leader's.
	if code, body := b.post(fmt.Sprintf("/api/v1/incidents/%d/comments", in.ID), `{"text":"seen from b"}`); code != 200 {
		t.Fatalf("comment on the follower: %d %s", code, body)
	}
	if code, body := b.post("/api/v1/run/up", ""); code != 503 {
		t.Fatalf("run-now on the follower: %d %s, want 503", code, body)
	}
	// The follower's event stream shows the leader's state changes.
	sse := b.stream(t, "/api/v1/events/stream?check=up")
	up.down()
	changed := time.Now()
	waitUntil(t, "b's stream shows up CRITICAL", 15*time.Second, func() bool {
		for {
			select {
			case e := <-sse:
				if e.Check == "up" && e.State == "CRITICAL" {
					t.Logf("the follower streamed up's change to CRITICAL %s after the check went down", time.Since(changed).Round(10*time.Millisecond))
					return true
				}
			default:
				return false
			}
		}
	})
	up.up(t)

	a.kill9()
	killed := time.Now()
	waitUntil(t, "b leads", 30*time.Second, func() bool { return b.status().Leader })
	takeover := time.Since(killed)
	t.Logf("takeover after kill -9 of the leader: %s", takeover.Round(10*time.Millisecond))
	flip.down()
	b.waitFor("up", 10*time.Second, "a result after the takeover", func(c apiCheck) bool {
		lc, _ := time.Parse(time.RFC3339Nano, c.LastCheck)
		return lc.After(killed.Add(takeover))
	})
	b.waitFor("flip", 20*time.Second, "hard CRITICAL decided by b", func(c apiCheck) bool { return c.State == "CRITICAL" && c.StateType == "hard" })
	b.waitIncident(20*time.Second, "for flip", func(in apiIncident) bool { return in.Check == "flip" })
	time.Sleep(3 * time.Second)
	assertOneIncidentEach(t, b, hook, "down", "flip")
	for _, name := range []string{"down", "up", "flip"} {
		assertContinuous(t, b.history(name), name, killed, takeover)
	}
}

// assertOneIncidentEach: exactly one incident, and one problem message,
// per failing check: the new leader re-decided nothing.
func assertOneIncidentEach(t *testing.T, s *server, hook *hookReceiver, checks ...string) {
	t.Helper()
	for _, name := range checks {
		if ins := s.incidents("?check=" + name + "&status=open,acknowledged,resolved,closed"); len(ins) != 1 {
			t.Errorf("%s: %d incidents, want exactly one: %+v", name, len(ins), ins)
		}
		var n int
		for _, m := range hook.messages() {
			if m["check"] == name && m["state"] == "CRITICAL" {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s: %d problem messages, want one: %v", name, n, hook.messages())
		}
	}
}

// assertContinuous: each state change starts from the state the previous
// one ended in, and the results have no gap longer than the takeover.
func assertContinuous(t *testing.T, h haHistory, name string, killed time.Time, takeover time.Duration) {
	t.Helper()
	for i := 1; i < len(h.Events); i++ {
		p, e := h.Events[i-1], h.Events[i]
		if e.PrevState != p.State || e.PrevType != p.StateType {
			t.Errorf("%s: state change %d at %s goes from %s/%s, but the one before ended in %s/%s", name, i,
				e.Time.Format(time.TimeOnly), e.PrevState, e.PrevType, p.State, p.StateType)
		}
	}
	hard := 0
	for _, e := range h.Events {
		if e.Hard && e.State == "CRITICAL" {
			hard++
		}
	}
	if name != "up" && hard != 1 {
		t.Errorf("%s: %d hard CRITICAL changes, want one: %+v", name, hard, h.Events)
	}
	var after int
	for i, r := range h.Results {
		if r.Time.After(killed) {
			after++
		}
		if i > 0 {
			if gap := r.Time.Sub(h.Results[i-1].Time); gap > takeover+3*time.Second {
				t.Errorf("%s: no result from %s to %s (%s; takeover %s)", name, h.Results[i-1].Time.Format(time.TimeOnly),
					r.Time.Format(time.TimeOnly), gap, takeover)
			}
		}
	}
	if after == 0 {
		t.Errorf("%s: no result committed after the leader was killed", name)
	}
	t.Logf("%s: %d results (%d after the kill), %d state changes", name, len(h.Results), after, len(h.Events))
}
