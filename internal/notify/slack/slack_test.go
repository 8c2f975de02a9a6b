package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/fieldset"
	"github.com/mamori/mamori/internal/notify"
	"github.com/mamori/mamori/internal/notify/tmpl"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from golden file:\n--- got ---\n%s\n--- want ---\n%s", name, got, want)
	}
}

func message(t *testing.T, kind, lang string) notify.Message {
	t.Helper()
	m := notify.Message{
		ID: "ob-42-1", Kind: kind, Lang: lang, Check: "http", Host: "web1", Tenant: "acme",
		State: "CRITICAL", PreviousState: "OK", StateType: "hard",
		Output: "HTTP CRITICAL - <b>connection refused</b> & more",
		Time:   time.Date(2025, 1, 2, 18, 4, 5, 0, time.UTC), IncidentID: 42,
		IncidentURL: "https://mamori.example.jp/incidents/42", RunbookURL: "https://mamori.example.jp/runbooks/http",
		AckURL: "https://mamori.example.jp/ack/42?sig=abc&exp=1", Attached: []string{"web1/https"},
	}
	if kind == notify.KindRecovery {
		m.State, m.PreviousState, m.Output, m.ProblemFor = "OK", "CRITICAL", "HTTP OK - 200 OK", 12*time.Minute
		m.Actions = []string{"nginx restarted at 03:12"}
	}
	if err := tmpl.Render(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// fakeSlack answers like Slack and checks every request against the
// documented format of incoming webhooks and chat.postMessage.
type fakeSlack struct {
	t      *testing.T
	status int
	header map[string]string
	answer string

	mu   sync.Mutex
	reqs []string
}

const hookPath = "/services/T000/B000/XXXXXXXX"

func (f *fakeSlack) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t := f.t
	body, _ := io.ReadAll(r.Body)
	if r.Method != http.MethodPost {
		t.Errorf("method %s, want POST", r.Method)
	}
	api := r.URL.Path == "/api/chat.postMessage"
	if !api && r.URL.Path != hookPath {
		t.Errorf("path %s", r.URL.Path)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	if api {
		if ct := r.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("Content-Type %q, want application/json; charset=utf-8", ct)
		}
		if a := r.Header.Get("Authorization"); !strings.HasPrefix(a, "Bearer xoxb-") {
			t.Errorf("Authorization %q", a)
		}
	} else if r.Header.Get("Authorization") != "" {
		t.Errorf("incoming webhook request with Authorization")
	}
	checkPayload(t, body, api)
	var pretty bytes.Buffer
	json.Indent(&pretty, body, "", "  ")
	rec := fmt.Sprintf("%s %s\nAuthorization: %s\nContent-Type: %s\n\n%s\n", r.Method, r.URL.Path,
		r.Header.Get("Authorization"), r.Header.Get("Content-Type"), pretty.String())
	f.mu.Lock()
	f.reqs = append(f.reqs, rec)
	f.mu.Unlock()
	for k, v := range f.header {
		w.Header().Set(k, v)
	}
	if api {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "text/html")
	}
	w.WriteHeader(f.status)
	io.WriteString(w, f.answer)
}

// checkPayload checks the Block Kit limits (header ≤ 150 characters, section
// text ≤ 3000, ≤ 10 fields of ≤ 2000, context ≤ 10 elements, button text ≤ 75,
// ≤ 50 blocks) and mrkdwn escaping.
func checkPayload(t *testing.T, body []byte, api bool) {
	t.Helper()
	var p struct {
		Channel *string           `json:"channel"`
		Text    string            `json:"text"`
		Blocks  []json.RawMessage `json:"blocks"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		t.Errorf("body is not the expected JSON: %v", err)
		return
	}
	if api && (p.Channel == nil || *p.Channel == "") {
		t.Errorf("chat.postMessage without channel")
	}
	if !api && p.Channel != nil {
		t.Errorf("incoming webhook with channel (ignored by Slack)")
	}
	if p.Text == "" || len(p.Blocks) == 0 || len(p.Blocks) > 50 {
		t.Errorf("text %q, %d blocks", p.Text, len(p.Blocks))
	}
	type text struct{ Type, Text string }
	n := func(s string) int { return utf8.RuneCountInString(s) }
	for _, raw := range p.Blocks {
		var b struct {
			Type     string `json:"type"`
			Text     *text  `json:"text"`
			Fields   []text `json:"fields"`
			Elements []struct {
				Type string          `json:"type"`
				Text json.RawMessage `json:"text"`
				URL  string          `json:"url"`
			} `json:"elements"`
		}
		if err := json.Unmarshal(raw, &b); err != nil {
			t.Errorf("block %s: %v", raw, err)
			continue
		}
		switch b.Type {
		case "header":
			if b.Text == nil || b.Text.Type != "plain_text" || n(b.Text.Text) > 150 || b.Text.Text == "" {
				t.Errorf("bad header %s", raw)
			}
		case "section":
			if b.Text == nil && len(b.Fields) == 0 {
				t.Errorf("empty section %s", raw)
			}
			if b.Text != nil && (b.Text.Type != "mrkdwn" || n(b.Text.Text) > 3000) {
				t.Errorf("bad section text %s", raw)
			}
			if len(b.Fields) > 10 {
				t.Errorf("%d fields", len(b.Fields))
			}
			for _, f := range b.Fields {
				if f.Type != "mrkdwn" || n(f.Text) > 2000 {
					t.Errorf("bad field %+v", f)
				}
			}
		case "context":
			if len(b.Elements) == 0 || len(b.Elements) > 10 {
				t.Errorf("context with %d elements", len(b.Elements))
			}
		case "actions":
			for _, e := range b.Elements {
				var tx text
				json.Unmarshal(e.Text, &tx)
				if e.Type != "button" || tx.Type != "plain_text" || n(tx.Text) > 75 || e.URL == "" || len(e.URL) > 3000 {
					t.Errorf("bad button %s", raw)
				}
			}
		default:
			t.Errorf("unexpected block type %q", b.Type)
		}
		if strings.Contains(string(raw), "<b>") || strings.Contains(string(raw), "& more") {
			t.Errorf("output not escaped for Slack in %s", raw)
		}
	}
}

func notifier(t *testing.T, s *Spec) notify.Notifier {
	t.Helper()
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	n, err := s.New(notify.Env{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func apiSpec(base string) *Spec {
	return &Spec{Token: check.NewSecret("xoxb-1234-5678-abcdef"), Channel: "C0123ABCD", BaseURL: base}
}

func hookSpec(base string) *Spec {
	return &Spec{WebhookURL: check.NewSecret(base + hookPath), BaseURL: DefaultBaseURL}
}

func TestRequestGolden(t *testing.T) {
	for _, tt := range []struct {
		name, kind, lang string
		spec             func(string) *Spec
		answer           string
		wantID           string
	}{
		{"api_problem_ja", notify.KindProblem, "ja", apiSpec, `{"ok":true,"channel":"C0123ABCD","ts":"1503435956.000247","message":{}}`, "1503435956.000247"},
		{"api_recovery_en", notify.KindRecovery, "en", apiSpec, `{"ok":true,"channel":"C0123ABCD","ts":"1503435957.000100"}`, "1503435957.000100"},
		{"webhook_problem_en", notify.KindProblem, "en", hookSpec, "ok", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeSlack{t: t, status: 200, answer: tt.answer}
			srv := httptest.NewServer(f)
			defer srv.Close()
			r, err := notifier(t, tt.spec(srv.URL)).Notify(context.Background(), message(t, tt.kind, tt.lang))
			if err != nil || r.ProviderID != tt.wantID || r.Status != 200 {
				t.Fatalf("receipt %+v, error %v", r, err)
			}
			if len(f.reqs) != 1 {
				t.Fatalf("%d requests", len(f.reqs))
			}
			golden(t, tt.name, f.reqs[0])
		})
	}
}

func TestAnswers(t *testing.T) {
	for _, tt := range []struct {
		name       string
		spec       func(string) *Spec
		status     int
		header     map[string]string
		answer     string
		permanent  bool
		retryAfter time.Duration
	}{
		{"invalid_auth", apiSpec, 200, nil, `{"ok":false,"error":"invalid_auth"}`, true, 0},
		{"channel_not_found", apiSpec, 200, nil, `{"ok":false,"error":"channel_not_found"}`, true, 0},
		{"not_in_channel", apiSpec, 200, nil, `{"ok":false,"error":"not_in_channel"}`, true, 0},
		{"account_inactive", apiSpec, 200, nil, `{"ok":false,"error":"account_inactive"}`, true, 0},
		{"invalid_blocks", apiSpec, 200, nil, `{"ok":false,"error":"invalid_blocks"}`, true, 0},
		{"ratelimited 429", apiSpec, 429, map[string]string{"Retry-After": "30"}, `{"ok":false,"error":"ratelimited"}`, false, 30 * time.Second},
		{"ratelimited 200", apiSpec, 200, nil, `{"ok":false,"error":"ratelimited"}`, false, 0},
		{"internal_error", apiSpec, 200, nil, `{"ok":false,"error":"internal_error"}`, false, 0},
		{"api 500", apiSpec, 500, nil, `oops`, false, 0},
		{"api 503", apiSpec, 503, map[string]string{"Retry-After": "5"}, ``, false, 5 * time.Second},
		{"api 401", apiSpec, 401, nil, `{"ok":false,"error":"not_authed"}`, true, 0},
		{"api not JSON", apiSpec, 200, nil, `<html>proxy</html>`, false, 0},
		{"hook invalid_payload", hookSpec, 400, nil, "invalid_payload", true, 0},
		{"hook action_prohibited", hookSpec, 403, nil, "action_prohibited", true, 0},
		{"hook channel_not_found", hookSpec, 404, nil, "channel_not_found", true, 0},
		{"hook channel_is_archived", hookSpec, 410, nil, "channel_is_archived", true, 0},
		{"hook rollup_error", hookSpec, 500, nil, "rollup_error", false, 0},
		{"hook 429", hookSpec, 429, map[string]string{"Retry-After": "12"}, "", false, 12 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeSlack{t: t, status: tt.status, header: tt.header, answer: tt.answer}
			srv := httptest.NewServer(f)
			defer srv.Close()
			_, err := notifier(t, tt.spec(srv.URL)).Notify(context.Background(), message(t, notify.KindProblem, "ja"))
			if err == nil || notify.IsPermanent(err) != tt.permanent {
				t.Fatalf("error %v (permanent %v), want permanent %v", err, notify.IsPermanent(err), tt.permanent)
			}
			if strings.Contains(err.Error(), "xoxb-") || strings.Contains(err.Error(), hookPath) {
				t.Errorf("error reveals a credential: %v", err)
			}
			var ra interface{ RetryAfter() time.Duration }
			if tt.retryAfter > 0 && (!errors.As(err, &ra) || ra.RetryAfter() != tt.retryAfter) {
				t.Errorf("error %v does not carry Retry-After %v", err, tt.retryAfter)
			}
		})
	}
}

func TestUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	for _, s := range []*Spec{apiSpec(srv.URL), hookSpec(srv.URL)} {
		_, err := notifier(t, s).Notify(context.Background(), message(t, notify.KindProblem, "ja"))
		if err == nil || notify.IsPermanent(err) {
			t.Errorf("error %v, want temporary", err)
		}
		if err != nil && strings.Contains(err.Error(), hookPath) {
			t.Errorf("error reveals the webhook URL: %v", err)
		}
	}
}

func TestLongOutputWithinLimits(t *testing.T) {
	f := &fakeSlack{t: t, status: 200, answer: `{"ok":true,"ts":"1.2"}`}
	srv := httptest.NewServer(f)
	defer srv.Close()
	m := message(t, notify.KindProblem, "ja")
	m.Output = strings.Repeat("<&>", 2000)
	m.Subject = strings.Repeat("長い件名", 60)
	if _, err := notifier(t, apiSpec(srv.URL)).Notify(context.Background(), m); err != nil {
		t.Fatal(err)
	}
}

func TestEscape(t *testing.T) {
	if got := Escape("a<b>&c"); got != "a&lt;b&gt;&amp;c" {
		t.Errorf("Escape = %q", got)
	}
	got := truncateEscaped(strings.Repeat("&", 10), 12)
	if utf8.RuneCountInString(got) > 12 || strings.Count(got, "&amp;") != 2 || !strings.HasSuffix(got, "…") {
		t.Errorf("truncateEscaped = %q", got)
	}
}

func TestValidate(t *testing.T) {
	k, ok := notify.Lookup("slack")
	if !ok || k.Recipient != "" {
		t.Fatalf("kind %+v", k)
	}
	fieldset.Of(k.New())
	for _, tt := range []struct {
		mod  func(*Spec)
		want string
	}{
		{func(s *Spec) { s.WebhookURL = check.NewSecret("https://hooks.slack.com/services/T/B/X") }, ""},
		{func(s *Spec) { s.Token = check.NewSecret("xoxb-1"); s.Channel = "C1" }, ""},
		{func(s *Spec) {}, "webhook_url"},
		{func(s *Spec) { s.Token = check.NewSecret("xoxb-1") }, "channel"},
		{func(s *Spec) { s.Token = check.NewSecret("xoxb-1"); s.WebhookURL = check.NewSecret("https://h/") }, "token"},
		{func(s *Spec) { s.Token = check.NewSecret("xoxb-1"); s.Channel = "C1"; s.BaseURL = "slack.com" }, "base_url"},
	} {
		s := k.New().(*Spec)
		tt.mod(s)
		errs := s.Validate()
		if (tt.want == "") != (len(errs) == 0) || !strings.Contains(fmt.Sprint(errs), tt.want) {
			t.Errorf("%+v: %v, want %q", s, errs, tt.want)
		}
	}
}
