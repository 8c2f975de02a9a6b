package chatwork

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

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
		ID: "ob-42-1", Kind: kind, Lang: lang, Check: "http", Host: "web1",
		State: "CRITICAL", PreviousState: "OK", StateType: "hard",
		Output: "HTTP CRITICAL - connection refused [toall] [/info]",
		Time:   time.Date(2025, 1, 2, 18, 4, 5, 0, time.UTC), IncidentID: 42,
		IncidentURL: "https://mamori.example.jp/incidents/42", AckURL: "https://mamori.example.jp/ack/42?sig=abc&exp=1",
	}
	if kind == notify.KindRecovery {
		m.State, m.PreviousState, m.Output, m.ProblemFor = "OK", "CRITICAL", "HTTP OK - 200 OK", 12*time.Minute
	}
	if err := tmpl.Render(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

const token = "0123456789abcdef0123456789abcdef"

// fakeChatWork checks requests against the API v2 documentation of
// POST /rooms/{room_id}/messages.
type fakeChatWork struct {
	t      *testing.T
	status int
	header map[string]string
	answer string
	mu     sync.Mutex
	reqs   []string
}

func (f *fakeChatWork) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t := f.t
	raw, _ := io.ReadAll(r.Body)
	if r.Method != http.MethodPost || r.URL.Path != "/v2/rooms/123456/messages" {
		t.Errorf("%s %s, want POST /v2/rooms/123456/messages", r.Method, r.URL.Path)
	}
	if r.Header.Get("X-ChatWorkToken") != token {
		t.Errorf("X-ChatWorkToken %q", r.Header.Get("X-ChatWorkToken"))
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		t.Errorf("Content-Type %q", ct)
	}
	form, err := url.ParseQuery(string(raw))
	if err != nil {
		t.Errorf("body is not a form: %v", err)
	}
	for k, v := range form {
		if (k != "body" && k != "self_unread") || len(v) != 1 {
			t.Errorf("unexpected form field %s=%q", k, v)
		}
	}
	body := form.Get("body")
	if body == "" || !strings.Contains(body, "[info][title]") || !strings.HasSuffix(body, "[/info]") ||
		strings.Count(body, "[/info]") != 1 || strings.Contains(body, "[toall]") {
		t.Errorf("body not in the expected notation: %q", body)
	}
	if su := form.Get("self_unread"); su != "0" && su != "1" {
		t.Errorf("self_unread %q", su)
	}
	var keys []string
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\nContent-Type: %s\nX-ChatWorkToken: %s\n\n", r.Method, r.URL.Path, r.Header.Get("Content-Type"), r.Header.Get("X-ChatWorkToken"))
	for _, k := range keys {
		fmt.Fprintf(&b, "[%s]\n%s\n", k, form.Get(k))
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, b.String())
	f.mu.Unlock()
	for k, v := range f.header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.status)
	io.WriteString(w, f.answer)
}

func notifier(t *testing.T, base string, mod func(*Spec)) notify.Notifier {
	t.Helper()
	k, _ := notify.Lookup("chatwork")
	s := k.New().(*Spec)
	s.Token, s.RoomID, s.BaseURL = check.NewSecret(token), "123456", base
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

func TestRequestGolden(t *testing.T) {
	for _, tt := range []struct {
		name, kind, lang string
		mod              func(*Spec)
	}{
		{"problem_ja_mentions", notify.KindProblem, "ja", func(s *Spec) { s.ToAccountIDs = []string{"1111", "2222"} }},
		{"recovery_en", notify.KindRecovery, "en", func(s *Spec) { s.SelfUnread = true }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeChatWork{t: t, status: 200, answer: `{"message_id":"1234567890"}`}
			srv := httptest.NewServer(f)
			defer srv.Close()
			r, err := notifier(t, srv.URL, tt.mod).Notify(context.Background(), message(t, tt.kind, tt.lang))
			if err != nil || r.ProviderID != "1234567890" || r.Status != 200 {
				t.Fatalf("receipt %+v, error %v", r, err)
			}
			golden(t, tt.name, f.reqs[0])
		})
	}
}

func TestAnswers(t *testing.T) {
	for _, tt := range []struct {
		name       string
		status     int
		header     map[string]string
		answer     string
		permanent  bool
		retryAfter bool
	}{
		{"400", 400, nil, `{"errors":["Parameter body is required"]}`, true, false},
		{"401", 401, nil, `{"errors":["Invalid API token"]}`, true, false},
		{"403", 403, nil, `{"errors":["You don't have permission to send messages in this room"]}`, true, false},
		{"404", 404, nil, `{"errors":["Resource not found"]}`, true, false},
		{"429", 429, map[string]string{"X-RateLimit-Reset": fmt.Sprint(time.Now().Add(time.Minute).Unix())}, `{"errors":["Rate limit exceeded"]}`, false, true},
		{"500", 500, nil, ``, false, false},
		{"503", 503, map[string]string{"Retry-After": "20"}, ``, false, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeChatWork{t: t, status: tt.status, header: tt.header, answer: tt.answer}
			srv := httptest.NewServer(f)
			defer srv.Close()
			_, err := notifier(t, srv.URL, nil).Notify(context.Background(), message(t, notify.KindProblem, "ja"))
			if err == nil || notify.IsPermanent(err) != tt.permanent {
				t.Fatalf("error %v (permanent %v), want permanent %v", err, notify.IsPermanent(err), tt.permanent)
			}
			var ra interface{ RetryAfter() time.Duration }
			if errors.As(err, &ra) != tt.retryAfter || (tt.retryAfter && ra.RetryAfter() <= 0) {
				t.Errorf("error %v: retry after %v, want %v", err, ra, tt.retryAfter)
			}
		})
	}
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	if _, err := notifier(t, srv.URL, nil).Notify(context.Background(), message(t, notify.KindProblem, "ja")); err == nil || notify.IsPermanent(err) {
		t.Errorf("connection refused: %v, want a temporary error", err)
	}
}

func TestNeutralise(t *testing.T) {
	got := neutralise("a [toall] [To:123] [/info][info] [code] [x]")
	if got != "a ［toall] ［To:123] ［/info]［info] ［code] [x]" {
		t.Errorf("neutralise = %q", got)
	}
}

func TestValidate(t *testing.T) {
	k, ok := notify.Lookup("chatwork")
	if !ok || k.Recipient != "" {
		t.Fatalf("kind %+v", k)
	}
	fieldset.Of(k.New())
	s := k.New().(*Spec)
	s.RoomID, s.ToAccountIDs = "abc", []string{"x"}
	got := fmt.Sprint(s.Validate())
	for _, f := range []string{"token:", "room_id:", "to_account_ids:"} {
		if !strings.Contains(got, f) {
			t.Errorf("errors %s lack %s", got, f)
		}
	}
}
