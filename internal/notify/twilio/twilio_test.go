package twilio

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/xml"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
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

const (
	sid   = "AC0123456789abcdef0123456789abcdef"
	token = "authtoken0123456789"
)

func message(t *testing.T, kind, lang string) notify.Message {
	t.Helper()
	m := notify.Message{
		ID: "ob-42-1", Kind: kind, Lang: lang, To: "+819012345678", Check: "http", Host: "web1",
		State: "CRITICAL", PreviousState: "OK", StateType: "hard", Output: `HTTP CRITICAL - <"timeout"> & more`,
		Time: time.Date(2025, 1, 2, 18, 4, 5, 0, time.UTC), IncidentID: 42,
		GatherURL: "https://mamori.example.jp/api/v1/twilio/gather?incident=42&sig=abc",
	}
	if kind == notify.KindRecovery {
		m.State, m.PreviousState, m.Output, m.ProblemFor, m.GatherURL = "OK", "CRITICAL", "HTTP OK", 12*time.Minute, ""
	}
	if err := tmpl.Render(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

// twiml is the structure of the documents mamori sends.
type twiml struct {
	XMLName xml.Name `xml:"Response"`
	Gather  *struct {
		NumDigits string    `xml:"numDigits,attr"`
		Action    string    `xml:"action,attr"`
		Method    string    `xml:"method,attr"`
		Timeout   string    `xml:"timeout,attr"`
		Says      []sayElem `xml:"Say"`
		Pauses    []struct {
			Length string `xml:"length,attr"`
		} `xml:"Pause"`
	} `xml:"Gather"`
	Says []sayElem `xml:"Say"`
}

type sayElem struct {
	Language string `xml:"language,attr"`
	Text     string `xml:",chardata"`
}

// fakeTwilio checks requests against the Calls API reference.
type fakeTwilio struct {
	t      *testing.T
	status int
	answer string
	mu     sync.Mutex
	reqs   []string
	docs   []twiml
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

func (f *fakeTwilio) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t := f.t
	raw, _ := io.ReadAll(r.Body)
	if r.Method != http.MethodPost || r.URL.Path != "/2010-04-01/Accounts/"+sid+"/Calls.json" {
		t.Errorf("%s %s", r.Method, r.URL.Path)
	}
	if u, p, ok := r.BasicAuth(); !ok || u != sid || p != token {
		t.Errorf("basic auth %q %q %v", u, p, ok)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		t.Errorf("Content-Type %q", ct)
	}
	form, err := url.ParseQuery(string(raw))
	if err != nil {
		t.Errorf("form: %v", err)
	}
	for _, k := range []string{"To", "From"} {
		if !e164.MatchString(form.Get(k)) {
			t.Errorf("%s %q is not E.164", k, form.Get(k))
		}
	}
	x := form.Get("Twiml")
	if len(x) == 0 || len(x) > 4000 {
		t.Errorf("Twiml of %d characters", len(x))
	}
	var doc twiml
	if err := xml.Unmarshal([]byte(x), &doc); err != nil {
		t.Errorf("Twiml is not well-formed XML: %v\n%s", err, x)
	}
	var keys []string
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s\nAuthorization: %s\nContent-Type: %s\n\n", r.Method, r.URL.Path, r.Header.Get("Authorization"), r.Header.Get("Content-Type"))
	for _, k := range keys {
		fmt.Fprintf(&b, "[%s]\n%s\n", k, form.Get(k))
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, b.String())
	f.docs = append(f.docs, doc)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.status)
	io.WriteString(w, f.answer)
}

func notifier(t *testing.T, base string, mod func(*Spec)) notify.Notifier {
	t.Helper()
	k, _ := notify.Lookup("twilio")
	s := k.New().(*Spec)
	s.AccountSID, s.AuthToken, s.From, s.BaseURL = sid, check.NewSecret(token), "+815012345678", base
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

const created = `{"sid":"CAaaaabbbbccccddddeeeeffff00001111","account_sid":"` + sid + `","status":"queued","to":"+819012345678","from":"+815012345678","api_version":"2010-04-01"}`

func TestRequestGolden(t *testing.T) {
	for _, tt := range []struct {
		name, kind, lang string
		mod              func(*Spec)
		says             int
		language         string
	}{
		{"problem_ja", notify.KindProblem, "ja", nil, 3, "ja-JP"},
		{"problem_en_repeat2", notify.KindProblem, "en", func(s *Spec) { s.Repeat = 2 }, 2, "en-US"},
		{"recovery_ja_no_gather", notify.KindRecovery, "ja", nil, 3, "ja-JP"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeTwilio{t: t, status: 201, answer: created}
			srv := httptest.NewServer(f)
			defer srv.Close()
			m := message(t, tt.kind, tt.lang)
			r, err := notifier(t, srv.URL, tt.mod).Notify(context.Background(), m)
			if err != nil || r.ProviderID != "CAaaaabbbbccccddddeeeeffff00001111" || r.Status != 201 {
				t.Fatalf("receipt %+v, error %v", r, err)
			}
			golden(t, tt.name, f.reqs[0])
			doc := f.docs[0]
			says := doc.Says
			if m.GatherURL != "" {
				g := doc.Gather
				if g == nil || g.NumDigits != "1" || g.Action != m.GatherURL || g.Method != "POST" || g.Timeout != "10" {
					t.Fatalf("gather %+v", g)
				}
				if len(g.Pauses) != tt.says-1 || len(doc.Says) != 1 {
					t.Errorf("%d pauses, %d says after the gather", len(g.Pauses), len(doc.Says))
				}
				says = g.Says
			}
			if len(says) != tt.says {
				t.Fatalf("%d says, want %d", len(says), tt.says)
			}
			for _, s := range says {
				if s.Language != tt.language || s.Text != m.Speech {
					t.Errorf("say %+v, want %s %q", s, tt.language, m.Speech)
				}
			}
		})
	}
}

func TestAnswers(t *testing.T) {
	for _, tt := range []struct {
		name      string
		status    int
		answer    string
		permanent bool
	}{
		{"400 invalid number", 400, `{"code":21211,"message":"The 'To' number +81 is not a valid phone number.","more_info":"https://www.twilio.com/docs/errors/21211","status":400}`, true},
		{"401", 401, `{"code":20003,"message":"Authenticate","more_info":"https://www.twilio.com/docs/errors/20003","status":401}`, true},
		{"404", 404, `{"code":20404,"message":"The requested resource was not found","status":404}`, true},
		{"429", 429, `{"code":20429,"message":"Too Many Requests","status":429}`, false},
		{"500", 500, `{"code":20500,"message":"Internal Server Error","status":500}`, false},
		{"503", 503, ``, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeTwilio{t: t, status: tt.status, answer: tt.answer}
			srv := httptest.NewServer(f)
			defer srv.Close()
			_, err := notifier(t, srv.URL, nil).Notify(context.Background(), message(t, notify.KindProblem, "ja"))
			if err == nil || notify.IsPermanent(err) != tt.permanent {
				t.Fatalf("error %v (permanent %v), want permanent %v", err, notify.IsPermanent(err), tt.permanent)
			}
		})
	}
	t.Run("bad recipient", func(t *testing.T) {
		m := message(t, notify.KindProblem, "ja")
		m.To = "090-1234-5678"
		if _, err := notifier(t, "http://127.0.0.1:1", nil).Notify(context.Background(), m); !notify.IsPermanent(err) {
			t.Errorf("error %v, want permanent", err)
		}
	})
}

func TestTwiMLEscapesAndFits(t *testing.T) {
	x := TwiML("ja", "", `a <b> & "c" 'd'`, "https://h/g?a=1&b=2", 3)
	if !strings.Contains(x, `a &lt;b&gt; &amp; &quot;c&quot; &apos;d&apos;`) || !strings.Contains(x, `action="https://h/g?a=1&amp;b=2"`) {
		t.Errorf("not escaped: %s", x)
	}
	var doc twiml
	if err := xml.Unmarshal([]byte(x), &doc); err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("障害が発生しました。", 200)
	fit := fitTwiML("ja", "", long, "https://h/g", 3)
	if len(fit) > MaxTwiML {
		t.Errorf("TwiML of %d bytes", len(fit))
	}
	if err := xml.Unmarshal([]byte(fit), &doc); err != nil {
		t.Fatal(err)
	}
	if v := TwiML("en", "Polly.Joanna", "hi", "", 1); v != `<Response><Say language="en-US" voice="Polly.Joanna">hi</Say></Response>` {
		t.Errorf("voice: %s", v)
	}
}

func TestGatherTwiML(t *testing.T) {
	got := GatherTwiML("ja", "確認しました。ありがとうございました。")
	want := `<?xml version="1.0" encoding="UTF-8"?><Response><Say language="ja-JP">確認しました。ありがとうございました。</Say><Hangup/></Response>`
	if got != want {
		t.Errorf("GatherTwiML = %s", got)
	}
	var doc twiml
	if err := xml.Unmarshal([]byte(GatherTwiML("en", "Thanks <you>")), &doc); err != nil || doc.Says[0].Text != "Thanks <you>" || doc.Says[0].Language != "en-US" {
		t.Errorf("%+v %v", doc, err)
	}
}

// referenceSignature is a second, straightforward implementation of
// Twilio's documented scheme, for single-valued parameters.
func referenceSignature(token, u string, params map[string]string) string {
	names := make([]string, 0, len(params))
	for n := range params {
		names = append(names, n)
	}
	sort.Strings(names)
	s := u
	for _, n := range names {
		s += n + params[n]
	}
	m := hmac.New(sha1.New, []byte(token))
	io.WriteString(m, s)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestValidSignature(t *testing.T) {
	// The example of Twilio's security documentation; the expected value was
	// computed independently (Python hmac/hashlib/base64).
	const docURL = "https://mycompany.com/myapp.php?foo=1&bar=2"
	params := map[string]string{"CallSid": "CA1234567890ABCDE", "Caller": "+12349013030", "Digits": "1234", "From": "+12349013030", "To": "+18005551212"}
	form := url.Values{}
	for k, v := range params {
		form.Set(k, v)
	}
	const want = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
	if ref := referenceSignature("12345", docURL, params); ref != want {
		t.Fatalf("reference implementation: %s", ref)
	}
	for _, tt := range []struct {
		name  string
		token string
		url   string
		form  url.Values
		sig   string
		ok    bool
	}{
		{"documented example", "12345", docURL, form, want, true},
		{"with the default port", "12345", "https://mycompany.com:443/myapp.php?foo=1&bar=2", form, want, true},
		{"wrong token", "54321", docURL, form, want, false},
		{"other URL", "12345", "https://mycompany.com/myapp.php?foo=1&bar=3", form, want, false},
		{"tampered digit", "12345", docURL, url.Values{"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+12349013030"}, "Digits": {"1"}, "From": {"+12349013030"}, "To": {"+18005551212"}}, want, false},
		{"empty signature", "12345", docURL, form, "", false},
		{"keypress callback", token, "https://mamori.example.jp/api/v1/twilio/gather?incident=42", url.Values{"Digits": {"1"}, "CallSid": {"CAx"}, "AccountSid": {sid}},
			referenceSignature(token, "https://mamori.example.jp/api/v1/twilio/gather?incident=42", map[string]string{"Digits": "1", "CallSid": "CAx", "AccountSid": sid}), true},
	} {
		if got := ValidSignature(tt.token, tt.url, tt.form, tt.sig); got != tt.ok {
			t.Errorf("%s: ValidSignature = %v, want %v", tt.name, got, tt.ok)
		}
	}
}

func TestValidate(t *testing.T) {
	k, ok := notify.Lookup("twilio")
	if !ok || k.Recipient != "phone" {
		t.Fatalf("kind %+v", k)
	}
	fieldset.Of(k.New())
	s := k.New().(*Spec)
	s.AccountSID, s.From, s.To, s.Repeat = "x", "0312345678", "x", 0
	got := fmt.Sprint(s.Validate())
	for _, f := range []string{"account_sid:", "auth_token:", "from:", "to:", "repeat:"} {
		if !strings.Contains(got, f) {
			t.Errorf("errors %s lack %s", got, f)
		}
	}
}
