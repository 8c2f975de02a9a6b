package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/store/postgres/pgtest"
)

// hookReceiver is a webhook endpoint that records every POST and can be
// told to fail.
type hookReceiver struct {
	srv  *httptest.Server
	mu   sync.Mutex
	got  []map[string]any
	ids  []string
	fail bool
	hits int
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		h.hits++
		if h.fail {
			http.Error(w, "down for maintenance", http.StatusInternalServerError)
			return
		}
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("webhook: bad request %q: %v", body, err)
		}
		h.got = append(h.got, m)
		h.ids = append(h.ids, r.Header.Get("X-Mamori-Delivery"))
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) setFail(v bool) {
	h.mu.Lock()
	h.fail = v
	h.mu.Unlock()
}

func (h *hookReceiver) messages() []map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]map[string]any(nil), h.got...)
}

func (h *hookReceiver) waitCount(t *testing.T, n int, d time.Duration) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if m := h.messages(); len(m) >= n {
			return m
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("webhook received %d messages, want %d: %v", len(h.messages()), n, h.messages())
	return nil
}

type apiIncident struct {
	ID             int64    `json:"id"`
	Check          string   `json:"check"`
	Status         string   `json:"status"`
	Scope          string   `json:"scope"`
	OpenedAt       string   `json:"opened_at"`
	ResolvedAt     *string  `json:"resolved_at"`
	AckedBy        string   `json:"acknowledged_by"`
	Attached       []string `json:"attached"`
	RunbookMissing bool     `json:"runbook_missing"`
	Timeline       []struct {
		Kind string `json:"kind"`
		Text string `json:"text"`
	} `json:"timeline"`
	Targets map[string]struct {
		Met *bool `json:"met"`
	} `json:"targets"`
}

func (s *server) post(path string, body string) (int, string) {
	s.t.Helper()
	req, _ := http.NewRequest("POST", s.base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (s *server) incidents(query string) []apiIncident {
	var out []apiIncident
	if code := s.get("/api/v1/incidents"+query, &out); code != 200 {
		s.t.Fatalf("incidents: %d", code)
	}
	return out
}

func (s *server) waitIncident(d time.Duration, what string, cond func(apiIncident) bool) apiIncident {
	s.t.Helper()
	deadline := time.Now().Add(d)
	var last []apiIncident
	for time.Now().Before(deadline) {
		last = s.incidents("")
		for _, in := range last {
			if cond(in) {
				return in
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("no incident %s within %s; have %+v", what, d, last)
	return apiIncident{}
}

func writeAlertConfig(t *testing.T, dir string, port int, extra string) string {
	path := filepath.Join(dir, "mamori.yaml")
	cfg := fmt.Sprintf("listen: 127.0.0.1:%d\ndata_dir: %s\ndefaults:\n  interval: 1s\n  attempts: 4\n", port, filepath.Join(dir, "data")) + extra
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestAlertOneIncidentOneWebhookAndRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	alertOneIncident(t, "")
}

// The same flow with the state in PostgreSQL (a fresh database).
func TestAlertOneIncidentOneWebhookAndRecoveryOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	alertOneIncident(t, "database: "+pgtest.DSN(t)+"\n")
}

// alertOneIncident: a check goes soft, hard, opens one incident, sends one
// webhook, recovers and resolves; database is the config's database line.
func alertOneIncident(t *testing.T, database string) {
	hook := newHookReceiver(t)
	svc := &target{port: freePort(t)}
	svc.up(t)
	port := freePort(t)
	cfg := writeAlertConfig(t, t.TempDir(), port, database+fmt.Sprintf(`channels:
  - {name: ops, type: webhook, url: "%s/hook", secret: s3cret}
checks:
  - {name: web, type: tcp, host: 127.0.0.1, port: %d, notify: [ops]}
`, hook.srv.URL, svc.port))
	s := startServer(t, cfg, port)
	s.waitFor("web", 5*time.Second, "OK", func(c apiCheck) bool { return c.State == "OK" && c.LastCheck != "" })

	svc.down()
	s.waitFor("web", 15*time.Second, "hard CRITICAL", func(c apiCheck) bool { return c.StateType == "hard" && c.State == "CRITICAL" })
	msgs := hook.waitCount(t, 1, 10*time.Second)
	time.Sleep(1500 * time.Millisecond) // more failing results must not add anything
	if got := hook.messages(); len(got) != 1 {
		t.Fatalf("want exactly one webhook POST, got %d: %v", len(got), got)
	}
	m := msgs[0]
	for _, k := range []string{"check", "state", "previous_state", "state_type", "output", "time", "incident_id"} {
		if _, ok := m[k]; !ok {
			t.Errorf("webhook payload lacks %q: %v", k, m)
		}
	}
	if m["check"] != "web" || m["state"] != "CRITICAL" || m["state_type"] != "hard" || m["previous_state"] != "OK" {
		t.Errorf("webhook payload: %v", m)
	}
	ins := s.incidents("")
	if len(ins) != 1 || ins[0].Status != "open" || ins[0].Check != "web" || !ins[0].RunbookMissing {
		t.Fatalf("want one open incident flagged without runbook, got %+v", ins)
	}
	if fmt.Sprint(m["incident_id"]) != fmt.Sprint(ins[0].ID) {
		t.Errorf("incident_id %v, want %d", m["incident_id"], ins[0].ID)
	}

	svc.up(t)
	in := s.waitIncident(15*time.Second, "resolved", func(in apiIncident) bool { return in.Status == "resolved" })
	rec := hook.waitCount(t, 2, 10*time.Second)[1]
	if rec["state"] != "OK" || rec["kind"] != "recovery" || fmt.Sprint(rec["incident_id"]) != fmt.Sprint(in.ID) {
		t.Errorf("recovery payload: %v", rec)
	}
	in = s.waitIncident(5*time.Second, "with recovery reported", func(in apiIncident) bool {
		return in.Targets["recovery_report"].Met != nil
	})
	kinds := map[string]int{}
	for _, e := range in.Timeline {
		kinds[e.Kind]++
	}
	for _, k := range []string{"detected", "opened", "notified", "recovered", "resolved", "reported"} {
		if kinds[k] == 0 {
			t.Errorf("timeline lacks %q: %+v", k, in.Timeline)
		}
	}
	if !*in.Targets["recovery_report"].Met {
		t.Errorf("recovery report target not met on loopback: %+v", in.Targets)
	}
	var log []struct {
		Status     string `json:"status"`
		Deliveries []any  `json:"deliveries"`
	}
	s.get(fmt.Sprintf("/api/v1/notifications?incident=%d", in.ID), &log)
	if len(log) != 2 || log[0].Status != "delivered" || len(log[0].Deliveries) != 1 {
		t.Errorf("delivery log: %+v", log)
	}
}

func TestAlertRetriesInOrderAndSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	hook := newHookReceiver(t)
	hook.setFail(true)
	var targets []*target
	var checks strings.Builder
	for i := 0; i < 3; i++ {
		tg := &target{port: freePort(t)}
		tg.up(t)
		targets = append(targets, tg)
		fmt.Fprintf(&checks, "  - {name: svc%d, type: tcp, host: 127.0.0.1, port: %d, notify: [ops], attempts: 1}\n", i, tg.port)
	}
	port := freePort(t)
	dir := t.TempDir()
	cfg := writeAlertConfig(t, dir, port, fmt.Sprintf("channels:\n  - {name: ops, type: webhook, url: \"%s/hook\"}\nchecks:\n%s", hook.srv.URL, checks.String()))
	s := startServer(t, cfg, port)
	for i, tg := range targets { // one after the other: a known order
		s.waitFor(fmt.Sprintf("svc%d", i), 5*time.Second, "OK", func(c apiCheck) bool { return c.LastCheck != "" })
		tg.down()
		s.waitIncident(10*time.Second, "for svc"+fmt.Sprint(i), func(in apiIncident) bool { return in.Check == fmt.Sprintf("svc%d", i) })
	}
	// The endpoint is failing: attempts are made and recorded, nothing lost.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		hook.mu.Lock()
		hits := hook.hits
		hook.mu.Unlock()
		if hits >= 2 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.kill9()
	hook.setFail(false)
	s = startServer(t, cfg, port)
	msgs := hook.waitCount(t, 3, 30*time.Second)
	for i, m := range msgs[:3] {
		if m["check"] != fmt.Sprintf("svc%d", i) {
			t.Fatalf("messages out of order or duplicated: %v", msgs)
		}
	}
	time.Sleep(2 * time.Second)
	hook.mu.Lock()
	ids := append([]string(nil), hook.ids...)
	hook.mu.Unlock()
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			t.Fatalf("a delivered message was sent again: %v", ids)
		}
		seen[id] = true
	}
	if len(ids) != 3 {
		t.Fatalf("want 3 deliveries, got %d", len(ids))
	}
	// And one more kill -9 after everything was confirmed: nothing resent.
	s.kill9()
	s = startServer(t, cfg, port)
	time.Sleep(3 * time.Second)
	if n := len(hook.messages()); n != 3 {
		t.Fatalf("confirmed deliveries were sent again after a restart: %d messages", n)
	}
}

func TestAlertEscalationStopsOnAcknowledge(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	first, second := newHookReceiver(t), newHookReceiver(t)
	a, b := &target{port: freePort(t)}, &target{port: freePort(t)}
	b.up(t) // a is down from the start; b goes down later
	port := freePort(t)
	cfg := writeAlertConfig(t, t.TempDir(), port, fmt.Sprintf(`public_url: http://127.0.0.1:%d
channels:
  - {name: chat, type: webhook, url: "%s/hook"}
  - {name: pager, type: webhook, url: "%s/hook"}
escalations:
  - name: night
    levels:
      - {after: 0s, notify: [chat]}
      - {after: 3s, notify: [pager]}
checks:
  - {name: a, type: tcp, host: 127.0.0.1, port: %d, attempts: 1, notify: [night]}
  - {name: b, type: tcp, host: 127.0.0.1, port: %d, attempts: 1, notify: [night]}
`, port, first.srv.URL, second.srv.URL, a.port, b.port))
	s := startServer(t, cfg, port)

	// a: nobody acknowledges → level 2 (pager) fires after its delay.
	inA := s.waitIncident(10*time.Second, "for a", func(in apiIncident) bool { return in.Check == "a" })
	first.waitCount(t, 1, 5*time.Second)
	pageA := second.waitCount(t, 1, 10*time.Second)[0]
	if pageA["check"] != "a" || pageA["level"] != float64(1) {
		t.Fatalf("level 2 message: %v", pageA)
	}
	// Acknowledge through the signed link from the message: GET shows a
	// page, POST acknowledges.
	link, _ := pageA["ack_url"].(string)
	if !strings.HasPrefix(link, "http://127.0.0.1") {
		t.Fatalf("no ack link in %v", pageA)
	}
	resp, err := http.Get(link)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("ack page: %v %v", resp, err)
	}
	resp.Body.Close()
	if in := s.incidents(""); in[len(in)-1].Status != "open" {
		t.Fatalf("a GET of the link must not acknowledge")
	}
	resp, err = http.PostForm(link, url.Values{})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("ack POST: %v %v", resp, err)
	}
	resp.Body.Close()
	s.waitIncident(5*time.Second, "acknowledged via link", func(in apiIncident) bool { return in.ID == inA.ID && in.Status == "acknowledged" })
	if code, _ := s.post("/api/v1/incidents/1/ack", ""); code != http.StatusConflict && inA.ID == 1 {
		t.Errorf("second acknowledgement: %d, want 409", code)
	}
	// A forged link is refused.
	resp, _ = http.PostForm(link[:len(link)-4]+"0000", url.Values{})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("forged link: %d, want 403", resp.StatusCode)
	}
	resp.Body.Close()

	// b: acknowledged through the API before level 2 → the pager is not called.
	b.down()
	inB := s.waitIncident(10*time.Second, "for b", func(in apiIncident) bool { return in.Check == "b" })
	before := len(second.messages())
	code, body := s.post(fmt.Sprintf("/api/v1/incidents/%d/ack", inB.ID), `{"comment": "looking"}`)
	if code != 200 || !strings.Contains(body, `"acknowledged"`) {
		t.Fatalf("ack via API: %d %s", code, body)
	}
	time.Sleep(5 * time.Second)
	for _, m := range second.messages()[before:] {
		if m["check"] == "b" && m["kind"] != "acknowledge" {
			t.Fatalf("escalation went on after the acknowledgement: %v", m)
		}
	}
	var got apiIncident
	s.get(fmt.Sprintf("/api/v1/incidents/%d", inB.ID), &got)
	if got.AckedBy != "MAMORI_ADMIN_TOKEN" || got.Targets["acknowledge"].Met == nil || !*got.Targets["acknowledge"].Met {
		t.Errorf("acknowledged incident: %+v", got)
	}
}

func TestAlertHostDownOneIncident(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	hook := newHookReceiver(t)
	host := &target{port: freePort(t)}
	host.up(t)
	var checks strings.Builder
	var deps []*target
	for i := 0; i < 10; i++ {
		tg := &target{port: freePort(t)}
		tg.up(t)
		deps = append(deps, tg)
		fmt.Fprintf(&checks, "      - {name: svc%d, type: tcp, port: %d, attempts: 3, notify: [ops]}\n", i, tg.port)
	}
	port := freePort(t)
	cfg := writeAlertConfig(t, t.TempDir(), port, fmt.Sprintf(`channels:
  - {name: ops, type: webhook, url: "%s/hook"}
hosts:
  - name: web1
    address: 127.0.0.1
    host_check: up
    checks:
      - {name: up, type: tcp, port: %d, attempts: 1, notify: [ops]}
%s`, hook.srv.URL, host.port, checks.String()))
	s := startServer(t, cfg, port)
	s.waitFor("web1/svc9", 5*time.Second, "a first run", func(c apiCheck) bool { return c.LastCheck != "" })
	host.down()
	for _, d := range deps {
		d.down()
	}
	for i := 0; i < 10; i++ {
		s.waitFor(fmt.Sprintf("web1/svc%d", i), 15*time.Second, "hard", func(c apiCheck) bool { return c.StateType == "hard" && c.State == "CRITICAL" })
	}
	time.Sleep(2 * time.Second)
	ins := s.incidents("")
	if len(ins) != 1 || ins[0].Scope != "host" || len(ins[0].Attached) != 10 {
		t.Fatalf("want one host incident with 10 attached checks, got %+v", ins)
	}
	if got := hook.messages(); len(got) != 1 || got[0]["check"] != "web1/up" {
		t.Fatalf("want one notification for the host, got %d: %v", len(got), got)
	}
}
