package webhook

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

func message(t *testing.T, kind string) notify.Message {
	t.Helper()
	m := notify.Message{
		ID: "ob-42-1", Kind: kind, Lang: "ja", Check: "http", Host: "web1", Tenant: "acme",
		State: "CRITICAL", PreviousState: "OK", StateType: "hard",
		Output: "HTTP CRITICAL - <b>connection refused</b>",
		Time:   time.Date(2025, 1, 2, 18, 4, 5, 0, time.UTC), IncidentID: 42,
		IncidentURL: "https://mamori.example.jp/incidents/42", RunbookURL: "https://mamori.example.jp/runbooks/http",
		AckURL: "https://mamori.example.jp/ack/42?sig=abc",
	}
	if kind == notify.KindRecovery {
		m.State, m.PreviousState, m.Output, m.ProblemFor = "OK", "CRITICAL", "HTTP OK - 200 OK", 12*time.Minute
	}
	if err := tmpl.Render(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// receiver is a webhook endpoint that checks each request against the
// documented format and records it.
type receiver struct {
	t      *testing.T
	secret string
	status int
	header map[string]string
	answer string

	mu   sync.Mutex
	reqs []string
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t := rc.t
	body, _ := io.ReadAll(r.Body)
	if r.Method != http.MethodPost {
		t.Errorf("method %s, want POST", r.Method)
	}
	for h, want := range map[string]string{"Content-Type": "application/json", "User-Agent": "mamori"} {
		if got := r.Header.Get(h); got != want {
			t.Errorf("%s: %q, want %q", h, got, want)
		}
	}
	if r.Header.Get("X-Mamori-Delivery") == "" || r.Header.Get("X-Mamori-Timestamp") == "" {
		t.Errorf("missing X-Mamori-Delivery or X-Mamori-Timestamp: %v", r.Header)
	}
	if rc.secret != "" && !Verify(rc.secret, r.Header.Get("X-Mamori-Timestamp"), string(body), r.Header.Get("X-Mamori-Signature")) {
		t.Errorf("bad signature %q", r.Header.Get("X-Mamori-Signature"))
	}
	var p map[string]any
	if err := json.Unmarshal(body, &p); err != nil {
		t.Errorf("body is not JSON: %v", err)
	}
	// SPEC section 8: these fields, with these JSON types.
	for k, typ := range map[string]string{"check": "string", "state": "string", "previous_state": "string",
		"state_type": "string", "output": "string", "time": "string", "incident_id": "float64",
		"kind": "string", "id": "string", "problem_duration_seconds": "float64", "level": "float64"} {
		v, ok := p[k]
		if !ok {
			t.Errorf("field %s missing", k)
		} else if fmt.Sprintf("%T", v) != typ {
			t.Errorf("field %s is %T, want %s", k, v, typ)
		}
	}
	if s, _ := p["time"].(string); s != "" {
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			t.Errorf("time %q is not RFC 3339", s)
		}
	}
	var keys []string
	for k := range r.Header {
		switch k {
		case "Accept-Encoding", "Content-Length":
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\n", r.Method, r.URL.RequestURI())
	for _, k := range keys {
		fmt.Fprintf(&b, "%s: %s\n", k, r.Header.Get(k))
	}
	var pretty bytes.Buffer
	json.Indent(&pretty, body, "", "  ")
	b.WriteString("\n" + pretty.String() + "\n")
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, b.String())
	rc.mu.Unlock()
	for k, v := range rc.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(rc.status)
	io.WriteString(w, rc.answer)
}

func newNotifier(t *testing.T, s *Spec) *Notifier {
	t.Helper()
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	n, err := s.New(notify.Env{})
	if err != nil {
		t.Fatal(err)
	}
	nn := n.(*Notifier)
	nn.now = func() time.Time { return time.Unix(1735841045, 0) }
	return nn
}

func TestRequestGolden(t *testing.T) {
	for _, tt := range []struct {
		name   string
		kind   string
		secret string
	}{
		{"problem_signed", notify.KindProblem, "s3cret"},
		{"recovery_unsigned", notify.KindRecovery, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rc := &receiver{t: t, secret: tt.secret, status: http.StatusNoContent}
			srv := httptest.NewServer(rc)
			defer srv.Close()
			n := newNotifier(t, &Spec{URL: srv.URL + "/hooks/mamori?x=1", Secret: check.NewSecret(tt.secret), Headers: map[string]string{"X-Env": "test"}})
			r, err := n.Notify(context.Background(), message(t, tt.kind))
			if err != nil || r.Status != http.StatusNoContent {
				t.Fatalf("receipt %+v, error %v", r, err)
			}
			if len(rc.reqs) != 1 {
				t.Fatalf("%d requests", len(rc.reqs))
			}
			golden(t, tt.name, rc.reqs[0])
		})
	}
}

func TestAnswers(t *testing.T) {
	for _, tt := range []struct {
		name       string
		status     int
		header     map[string]string
		wantErr    bool
		permanent  bool
		retryAfter time.Duration
	}{
		{"200", 200, nil, false, false, 0},
		{"202", 202, nil, false, false, 0},
		{"400 bad request", 400, nil, true, true, 0},
		{"401 unauthorized", 401, nil, true, true, 0},
		{"404 not found", 404, nil, true, true, 0},
		{"408 timeout", 408, nil, true, false, 0},
		{"429 with Retry-After", 429, map[string]string{"Retry-After": "30"}, true, false, 30 * time.Second},
		{"500", 500, nil, true, false, 0},
		{"503", 503, nil, true, false, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rc := &receiver{t: t, status: tt.status, header: tt.header, answer: "nope"}
			srv := httptest.NewServer(rc)
			defer srv.Close()
			n := newNotifier(t, &Spec{URL: srv.URL})
			_, err := n.Notify(context.Background(), message(t, notify.KindProblem))
			if (err != nil) != tt.wantErr || notify.IsPermanent(err) != tt.permanent {
				t.Fatalf("error %v (permanent %v), want error %v permanent %v", err, notify.IsPermanent(err), tt.wantErr, tt.permanent)
			}
			var ra interface{ RetryAfter() time.Duration }
			if tt.retryAfter > 0 && (!errors.As(err, &ra) || ra.RetryAfter() != tt.retryAfter) {
				t.Errorf("error %v does not carry Retry-After %v", err, tt.retryAfter)
			}
		})
	}
}

func TestUnreachableAndDeadline(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(500 * time.Millisecond)
	}))
	defer srv.Close()
	n := newNotifier(t, &Spec{URL: srv.URL})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := n.Notify(ctx, message(t, notify.KindProblem)); err == nil || notify.IsPermanent(err) {
		t.Errorf("deadline: error %v, want a temporary error", err)
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	n = newNotifier(t, &Spec{URL: closed.URL})
	if _, err := n.Notify(context.Background(), message(t, notify.KindProblem)); err == nil || notify.IsPermanent(err) {
		t.Errorf("connection refused: error %v, want a temporary error", err)
	}
}

func TestVerify(t *testing.T) {
	body := `{"check":"http"}`
	// Computed independently: printf '1700000000.{"check":"http"}' | openssl dgst -sha256 -hmac key
	const sig = "sha256=d3d3b9d6328bf54072ab506f9a3697917ac2c43a59cd489fdc72ec60c56c36fe"
	if got := Sign("key", "1700000000", []byte(body)); got != sig {
		t.Errorf("Sign = %s, want %s", got, sig)
	}
	if !Verify("key", "1700000000", body, sig) {
		t.Error("known signature not verified")
	}
	for _, tt := range []struct{ secret, ts, body, sig string }{
		{"other", "1700000000", body, sig},
		{"key", "1700000001", body, sig},
		{"key", "1700000000", body + " ", sig},
		{"key", "1700000000", body, strings.TrimPrefix(sig, "sha256=")},
		{"", "1700000000", body, sig},
	} {
		if Verify(tt.secret, tt.ts, tt.body, tt.sig) {
			t.Errorf("Verify(%q, %q, %q, %q) = true", tt.secret, tt.ts, tt.body, tt.sig)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, tt := range []struct {
		spec Spec
		want string
	}{
		{Spec{URL: "https://example.com/h"}, ""},
		{Spec{}, "url: is required"},
		{Spec{URL: "ftp://x/"}, "url:"},
		{Spec{URL: "https://e/", Headers: map[string]string{"x-mamori-signature": "x"}}, "headers:"},
	} {
		errs := tt.spec.Validate()
		got := fmt.Sprint(errs)
		if (tt.want == "") != (len(errs) == 0) || !strings.Contains(got, tt.want) {
			t.Errorf("%+v: %v, want %q", tt.spec, errs, tt.want)
		}
	}
	k, ok := notify.Lookup("webhook")
	if !ok || k.Recipient != "" {
		t.Fatalf("kind %+v", k)
	}
	fieldset.Of(k.New()) // panics on an unsupported field type
}
