// Package twilio implements the twilio channel: an automated voice call
// through Twilio's Calls API that reads the message (Japanese or English
// speech) several times and lets the callee press 1 to acknowledge.
//
// Request: POST {base_url}/2010-04-01/Accounts/{account_sid}/Calls.json with
// HTTP basic authentication account_sid:auth_token and the form fields To
// (E.164), From and Twiml:
//
//	<Response><Gather numDigits="1" action="GATHER_URL" method="POST" timeout="10">
//	<Say language="ja-JP">SPEECH</Say><Pause length="1"/><Say …>SPEECH</Say>…
//	</Gather><Say language="ja-JP">(no input)</Say></Response>
//
// Twilio answers 201 with the call resource ({"sid": "CA…", …}); errors are
// {"code", "message", "more_info", "status"}. The keypress is POSTed to
// m.GatherURL; mamori checks it with ValidSignature and answers GatherTwiML.
// With m.StatusURL the request also carries StatusCallback (POST, events
// answered and completed): Twilio posts CallStatus there (in-progress,
// completed, no-answer, busy, failed, canceled).
package twilio

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/notify"
	"github.com/mamori/mamori/internal/notify/tmpl"
)

// DefaultBaseURL is Twilio's REST API host.
const DefaultBaseURL = "https://api.twilio.com"

// MaxTwiML is the longest Twiml parameter the Calls API accepts.
const MaxTwiML = 4000

func init() {
	notify.Register(&notify.Kind{
		Name:      "twilio",
		Summary:   "Twilio voice call: the message spoken (ja-JP/en-US), press 1 to acknowledge",
		Recipient: "phone",
		New:       func() notify.Spec { return &Spec{BaseURL: DefaultBaseURL, Repeat: 3} },
	})
}

// Spec is the configuration of a twilio channel.
type Spec struct {
	AccountSID string       `yaml:"account_sid" help:"Twilio account SID (AC…)" required:"true"`
	AuthToken  check.Secret `yaml:"auth_token" help:"Twilio auth token (also verifies the keypress callbacks); ${ENV} or file:PATH" required:"true"`
	From       string       `yaml:"from" help:"caller number, E.164 (+81…), a Twilio number of the account" required:"true"`
	To         string       `yaml:"to" help:"default number to call, E.164, when the contact has no phone"`
	Repeat     int          `yaml:"repeat" help:"how many times the message is read"`
	Voice      string       `yaml:"voice" help:"TwiML <Say> voice (e.g. Polly.Mizuki, Google.ja-JP-Standard-A); empty: Twilio's default"`
	BaseURL    string       `yaml:"base_url" help:"Twilio API base URL (for tests and proxies)"`
}

var (
	e164RE = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	sidRE  = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
)

// Validate implements notify.Spec.
func (s *Spec) Validate() []check.FieldError {
	var errs []check.FieldError
	if !sidRE.MatchString(s.AccountSID) {
		errs = append(errs, check.Errf("account_sid", "%q is not an account SID (AC and 32 hex digits)", s.AccountSID))
	}
	if s.AuthToken.Reveal() == "" {
		errs = append(errs, check.Errf("auth_token", "is required"))
	}
	if !e164RE.MatchString(s.From) {
		errs = append(errs, check.Errf("from", "%q is not an E.164 number (+81312345678)", s.From))
	}
	if s.To != "" && !e164RE.MatchString(s.To) {
		errs = append(errs, check.Errf("to", "%q is not an E.164 number (+81312345678)", s.To))
	}
	if s.Repeat < 1 || s.Repeat > 10 {
		errs = append(errs, check.Errf("repeat", "must be 1 to 10"))
	}
	if u, err := url.Parse(s.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, check.Errf("base_url", "%q is not an http(s) URL", s.BaseURL))
	}
	return errs
}

// New implements notify.Spec.
func (s *Spec) New(env notify.Env) (notify.Notifier, error) {
	c := env.HTTPClient
	if c == nil {
		c = &http.Client{Timeout: 30 * time.Second}
	}
	repeat := s.Repeat
	if repeat < 1 {
		repeat = 3
	}
	return &Notifier{
		url:    strings.TrimRight(s.BaseURL, "/") + "/2010-04-01/Accounts/" + url.PathEscape(s.AccountSID) + "/Calls.json",
		sid:    s.AccountSID,
		token:  s.AuthToken.Reveal(),
		from:   s.From,
		to:     s.To,
		repeat: repeat,
		voice:  s.Voice,
		client: c,
	}, nil
}

// Notifier places calls from one Twilio number.
type Notifier struct {
	url, sid, token, from, to string
	repeat                    int
	voice                     string
	client                    *http.Client
}

// Language is the <Say> language of a message language: ja-JP or en-US.
func Language(lang string) string {
	if tmpl.Lang(lang) == tmpl.English {
		return "en-US"
	}
	return "ja-JP"
}

var noInput = map[string]string{
	"ja-JP": "入力が確認できませんでした。通話を終了します。",
	"en-US": "No input was received. Goodbye.",
}

// escape escapes text for XML character data and attribute values.
func escape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		case '\'':
			b.WriteString("&apos;")
		default:
			// Characters XML 1.0 does not allow are dropped.
			if r == '\t' || r == '\n' || r == '\r' || (r >= 0x20 && r != utf8.RuneError && r != 0xFFFE && r != 0xFFFF) {
				b.WriteRune(r)
			}
		}
	}
	return b.String()
}

func say(language, voice, text string) string {
	v := ""
	if voice != "" {
		v = ` voice="` + escape(voice) + `"`
	}
	return `<Say language="` + language + `"` + v + `>` + escape(text) + `</Say>`
}

// TwiML is the document of a call: speech read repeat times inside a
// <Gather> posting one digit to gatherURL (no <Gather> when gatherURL is
// empty), then a goodbye when nothing was pressed.
func TwiML(lang, voice, speech, gatherURL string, repeat int) string {
	language := Language(lang)
	var says []string
	for range max(repeat, 1) {
		says = append(says, say(language, voice, speech))
	}
	body := strings.Join(says, `<Pause length="1"/>`)
	if gatherURL == "" {
		return `<Response>` + body + `</Response>`
	}
	return `<Response><Gather numDigits="1" action="` + escape(gatherURL) + `" method="POST" timeout="10">` +
		body + `</Gather>` + say(language, voice, noInput[language]) + `</Response>`
}

// fitTwiML builds the TwiML within MaxTwiML: fewer repetitions first, then a
// shorter speech.
func fitTwiML(lang, voice, speech, gatherURL string, repeat int) string {
	for r := repeat; r >= 1; r-- {
		if x := TwiML(lang, voice, speech, gatherURL, r); len(x) <= MaxTwiML {
			return x
		}
	}
	runes := []rune(speech)
	for len(runes) > 0 {
		runes = runes[:len(runes)*9/10]
		if x := TwiML(lang, voice, string(runes), gatherURL, 1); len(x) <= MaxTwiML {
			return x
		}
	}
	return TwiML(lang, voice, "", gatherURL, 1)
}

// GatherTwiML is mamori's answer to a keypress callback: text spoken, then
// hang up.
func GatherTwiML(lang, text string) string {
	return `<?xml version="1.0" encoding="UTF-8"?><Response>` + say(Language(lang), "", text) + `<Hangup/></Response>`
}

// VerifyCallback implements notify.CallbackVerifier: Twilio signs its
// webhook requests (the keypress after <Gather>) with the account's auth token.
func (n *Notifier) VerifyCallback(fullURL string, form url.Values, signature string) bool {
	return ValidSignature(n.token, fullURL, form, signature)
}

var _ notify.CallbackVerifier = (*Notifier)(nil)

// ValidSignature reports whether signature (the X-Twilio-Signature header)
// is Twilio's signature of a request to fullURL (scheme, host, path and
// query as Twilio called it) with the POST parameters form: the base64
// HMAC-SHA1, keyed with the auth token, of the URL followed by each
// parameter's name and value, sorted by name. As Twilio's libraries do, the
// URL is also tried with and without its scheme's default port.
func ValidSignature(authToken, fullURL string, form url.Values, signature string) bool {
	if authToken == "" || signature == "" {
		return false
	}
	for _, u := range urlVariants(fullURL) {
		if hmac.Equal([]byte(computeSignature(authToken, u, form)), []byte(signature)) {
			return true
		}
	}
	return false
}

func computeSignature(authToken, fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range keys {
		vals := append([]string(nil), form[k]...)
		sort.Strings(vals)
		for _, v := range vals {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func urlVariants(raw string) []string {
	out := []string{raw}
	u, err := url.Parse(raw)
	if err != nil {
		return out
	}
	def := map[string]string{"https": "443", "http": "80"}[u.Scheme]
	if def == "" {
		return out
	}
	if u.Port() == "" {
		v := *u
		v.Host = u.Host + ":" + def
		out = append(out, v.String())
	} else if u.Port() == def {
		v := *u
		v.Host = u.Hostname()
		out = append(out, v.String())
	}
	return out
}

// Notify implements notify.Notifier.
func (n *Notifier) Notify(ctx context.Context, m notify.Message) (notify.Receipt, error) {
	if m.Speech == "" {
		if err := tmpl.Render(&m); err != nil {
			return notify.Receipt{}, notify.Permanent(err)
		}
	}
	to := m.To
	if to == "" {
		to = n.to
	}
	if !e164RE.MatchString(to) {
		return notify.Receipt{}, notify.Permanent(fmt.Errorf("twilio: %q is not an E.164 phone number", to))
	}
	form := url.Values{
		"To":    {to},
		"From":  {n.from},
		"Twiml": {fitTwiML(m.Lang, n.voice, m.Speech, m.GatherURL, n.repeat)},
	}
	if m.StatusURL != "" {
		// Call progress: answered, and the final status (completed,
		// no-answer, busy, failed) for the incident's timeline.
		form["StatusCallback"] = []string{m.StatusURL}
		form["StatusCallbackMethod"] = []string{http.MethodPost}
		form["StatusCallbackEvent"] = []string{"answered", "completed"}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.url, strings.NewReader(form.Encode()))
	if err != nil {
		return notify.Receipt{}, notify.Permanent(err)
	}
	req.SetBasicAuth(n.sid, n.token)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "mamori")
	resp, err := n.client.Do(req)
	if err != nil {
		return notify.Receipt{}, fmt.Errorf("twilio: %w", err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return notify.Receipt{}, fmt.Errorf("twilio: reading the answer: %w", err)
	}
	rc := notify.Receipt{Status: resp.StatusCode}
	if resp.StatusCode/100 == 2 {
		var a struct {
			SID string `json:"sid"`
		}
		if json.Unmarshal(answer, &a) == nil {
			rc.ProviderID = a.SID
		}
		return rc, nil
	}
	excerpt := string(answer)
	var e struct {
		Code     int    `json:"code"`
		Message  string `json:"message"`
		MoreInfo string `json:"more_info"`
	}
	if json.Unmarshal(answer, &e) == nil && e.Message != "" {
		excerpt = fmt.Sprintf("%d %s", e.Code, e.Message)
	}
	return rc, notify.WithRetryAfter(resp, notify.HTTPStatusError("twilio", resp.StatusCode, excerpt))
}
