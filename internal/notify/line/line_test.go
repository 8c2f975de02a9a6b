package line

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/google/uuid"

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

const (
	token    = "ChAnNeLaCcEsStOkEn="
	userID   = "U4af4980629abcdef0123456789abcdef"
	defaultT = "Cdeadbeefdeadbeefdeadbeefdeadbeef"
)

func message(t *testing.T, kind, lang string) notify.Message {
	t.Helper()
	m := notify.Message{
		ID: "ob-42-1", Kind: kind, Lang: lang, To: userID, Check: "http", Host: "web1",
		State: "CRITICAL", PreviousState: "OK", StateType: "hard", Output: "HTTP CRITICAL - connection refused",
		Time: time.Date(2025, 1, 2, 18, 4, 5, 0, time.UTC), IncidentID: 42,
		IncidentURL: "https://mamori.example.jp/incidents/42", AckURL: "https://mamori.example.jp/ack/42?sig=abc",
	}
	if kind == notify.KindRecovery {
		m.State, m.PreviousState, m.Output, m.ProblemFor = "OK", "CRITICAL", "HTTP OK - 200 OK", 12*time.Minute
	}
	if err := tmpl.Render(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

// fakeLINE checks push requests against the Messaging API reference and
// behaves like it for retry keys: a key already accepted answers 409 with
// X-Line-Accepted-Request-Id.
type fakeLINE struct {
	t        *testing.T
	status   int
	answer   string
	header   map[string]string
	dropOnce bool // accept the first request, then drop the connection without answering

	mu       sync.Mutex
	reqs     []string
	accepted map[string]string // retry key → request id
	sent     int
}

func (f *fakeLINE) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t := f.t
	raw, _ := io.ReadAll(r.Body)
	if r.Method != http.MethodPost || r.URL.Path != "/v2/bot/message/push" {
		t.Errorf("%s %s, want POST /v2/bot/message/push", r.Method, r.URL.Path)
	}
	if a := r.Header.Get("Authorization"); a != "Bearer "+token {
		t.Errorf("Authorization %q", a)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	key := r.Header.Get("X-Line-Retry-Key")
	if !uuidRE.MatchString(key) {
		t.Errorf("X-Line-Retry-Key %q is not a UUID", key)
	}
	var p struct {
		To       string `json:"to"`
		Messages []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"messages"`
		NotificationDisabled *bool `json:"notificationDisabled"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Errorf("body: %v", err)
	}
	if !regexp.MustCompile(`^[UCR][0-9a-f]{32}$`).MatchString(p.To) {
		t.Errorf("to %q", p.To)
	}
	if len(p.Messages) < 1 || len(p.Messages) > 5 {
		t.Errorf("%d messages, want 1 to 5", len(p.Messages))
	}
	for _, m := range p.Messages {
		if n := len(utf16.Encode([]rune(m.Text))); m.Type != "text" || n == 0 || n > 5000 || !utf8.ValidString(m.Text) {
			t.Errorf("message type %q, %d characters", m.Type, n)
		}
	}
	var pretty bytes.Buffer
	json.Indent(&pretty, raw, "", "  ")
	f.mu.Lock()
	f.reqs = append(f.reqs, fmt.Sprintf("%s %s\nAuthorization: %s\nContent-Type: %s\nX-Line-Retry-Key: %s\n\n%s\n",
		r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Content-Type"), key, pretty.String()))
	if f.accepted == nil {
		f.accepted = map[string]string{}
	}
	if id, dup := f.accepted[key]; dup {
		f.mu.Unlock()
		w.Header().Set("X-Line-Accepted-Request-Id", id)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusConflict)
		io.WriteString(w, `{"message":"The retry key is already accepted"}`)
		return
	}
	reqID := fmt.Sprintf("req-%d", len(f.reqs))
	if f.status == http.StatusOK {
		f.accepted[key] = reqID
		f.sent++
	}
	drop := f.dropOnce
	f.dropOnce = false
	f.mu.Unlock()
	if drop {
		c, _, _ := w.(http.Hijacker).Hijack()
		c.Close()
		return
	}
	w.Header().Set("X-Line-Request-Id", reqID)
	for k, v := range f.header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.status)
	io.WriteString(w, f.answer)
}

func notifier(t *testing.T, base string, mod func(*Spec)) notify.Notifier {
	t.Helper()
	k, _ := notify.Lookup("line")
	s := k.New().(*Spec)
	s.ChannelAccessToken, s.BaseURL = check.NewSecret(token), base
	if mod != nil {
		mod(s)
	}
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	n, err := s.New(notify.Env{})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

const okAnswer = `{"sentMessages":[{"id":"461230966842064897","quoteToken":"IStG5h1Tz7b..."}]}`

func TestRequestGolden(t *testing.T) {
	for _, tt := range []struct {
		name, kind, lang string
		to               string
		mod              func(*Spec)
	}{
		{"problem_ja", notify.KindProblem, "ja", userID, nil},
		{"recovery_en_default_to_silent", notify.KindRecovery, "en", "", func(s *Spec) { s.To = defaultT; s.NotificationDisabled = true }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeLINE{t: t, status: 200, answer: okAnswer}
			srv := httptest.NewServer(f)
			defer srv.Close()
			m := message(t, tt.kind, tt.lang)
			m.To = tt.to
			r, err := notifier(t, srv.URL, tt.mod).Notify(context.Background(), m)
			if err != nil || r.ProviderID != "461230966842064897" {
				t.Fatalf("receipt %+v, error %v", r, err)
			}
			golden(t, tt.name, f.reqs[0])
		})
	}
}

func TestRetryAfterLostAnswerIsNotDeliveredTwice(t *testing.T) {
	f := &fakeLINE{t: t, status: 200, answer: okAnswer, dropOnce: true}
	srv := httptest.NewServer(f)
	defer srv.Close()
	n := notifier(t, srv.URL, nil)
	m := message(t, notify.KindProblem, "ja")
	if _, err := n.Notify(context.Background(), m); err == nil || notify.IsPermanent(err) {
		t.Fatalf("lost answer: error %v, want a temporary error", err)
	}
	r, err := n.Notify(context.Background(), m) // the outbox's retry
	if err != nil || r.Status != http.StatusConflict || r.ProviderID != "req-1" {
		t.Fatalf("retry: receipt %+v, error %v; want delivered (409 accepted)", r, err)
	}
	if f.sent != 1 || len(f.reqs) != 2 {
		t.Errorf("sent %d times in %d requests", f.sent, len(f.reqs))
	}
}

func TestAnswers(t *testing.T) {
	for _, tt := range []struct {
		name      string
		status    int
		header    map[string]string
		answer    string
		permanent bool
	}{
		{"400", 400, nil, `{"message":"The request body has 1 error(s)","details":[{"message":"May not be empty","property":"messages[0].text"}]}`, true},
		{"401", 401, nil, `{"message":"Authentication failed. Confirm that the access token in the authorization header is valid."}`, true},
		{"403", 403, nil, `{"message":"Access to this API is not available for your account"}`, true},
		{"409 without accepted id", 409, nil, `{"message":"Conflict"}`, true},
		{"429", 429, map[string]string{"Retry-After": "60"}, `{"message":"Too Many Requests"}`, false},
		{"429 monthly limit", 429, nil, `{"message":"You have reached your monthly limit."}`, false},
		{"500", 500, nil, `{"message":"Internal server error"}`, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeLINE{t: t, status: tt.status, header: tt.header, answer: tt.answer}
			srv := httptest.NewServer(f)
			defer srv.Close()
			_, err := notifier(t, srv.URL, nil).Notify(context.Background(), message(t, notify.KindProblem, "ja"))
			if err == nil || notify.IsPermanent(err) != tt.permanent {
				t.Fatalf("error %v (permanent %v), want permanent %v", err, notify.IsPermanent(err), tt.permanent)
			}
		})
	}
	t.Run("no recipient", func(t *testing.T) {
		m := message(t, notify.KindProblem, "ja")
		m.To = ""
		if _, err := notifier(t, "http://127.0.0.1:1", nil).Notify(context.Background(), m); !notify.IsPermanent(err) {
			t.Errorf("error %v, want permanent", err)
		}
	})
}

func TestLongTextTruncated(t *testing.T) {
	f := &fakeLINE{t: t, status: 200, answer: okAnswer}
	srv := httptest.NewServer(f)
	defer srv.Close()
	m := message(t, notify.KindProblem, "ja")
	m.Text = strings.Repeat("障害😀", 3000)
	if _, err := notifier(t, srv.URL, nil).Notify(context.Background(), m); err != nil {
		t.Fatal(err)
	}
}

func TestTruncate(t *testing.T) {
	for _, tt := range []struct {
		s    string
		max  int
		want string
	}{
		{"abc", 3, "abc"},
		{"abcd", 3, "ab…"},
		{"日本語テキスト", 4, "日本語…"},
		{"a😀b", 3, "a…"}, // 😀 is two UTF-16 units
		{"a😀b", 4, "a😀b"},
	} {
		if got := Truncate(tt.s, tt.max); got != tt.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tt.s, tt.max, got, tt.want)
		}
	}
}

func TestRetryKey(t *testing.T) {
	// Known vectors, computed independently with Python's uuid module:
	// uuid.uuid5(uuid.NAMESPACE_DNS, "python.org") and
	// uuid.uuid5(uuid.NAMESPACE_URL, "mamori:line:ob-42-1").
	if got := uuid.NewSHA1(uuid.NameSpaceDNS, []byte("python.org")).String(); got != "886313e1-3b8a-5372-9b90-0c9aee199e5d" {
		t.Errorf("uuid v5 = %s", got)
	}
	if got := RetryKey("ob-42-1"); got != "d987778e-de11-541a-b767-cb8ca9d0132f" {
		t.Errorf("RetryKey = %s", got)
	}
	if RetryKey("ob-42-1") == RetryKey("ob-42-2") {
		t.Error("different ids, same key")
	}
}

func TestValidate(t *testing.T) {
	k, ok := notify.Lookup("line")
	if !ok || k.Recipient != "line_user_id" {
		t.Fatalf("kind %+v", k)
	}
	fieldset.Of(k.New())
	s := k.New().(*Spec)
	s.To = "someone"
	got := fmt.Sprint(s.Validate())
	for _, f := range []string{"channel_access_token:", "to:"} {
		if !strings.Contains(got, f) {
			t.Errorf("errors %s lack %s", got, f)
		}
	}
}
