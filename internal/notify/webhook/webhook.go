// Package webhook implements the webhook channel: a signed JSON POST to a
// URL (SPEC section 8), for receivers of the operator's own.
//
// Request: POST url with the JSON Payload; headers Content-Type:
// application/json, User-Agent: mamori, X-Mamori-Delivery: the message id
// (stable across retries: receivers dedupe on it), X-Mamori-Timestamp: unix
// seconds and, when a secret is set, X-Mamori-Signature: sha256=HEX where HEX
// is the HMAC-SHA256 of "TIMESTAMP.BODY" keyed with the secret (Verify).
// Any 2xx answer is a delivery; 408, 429 and 5xx are retried; other answers
// are permanent failures.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/notify"
	"github.com/mamori/mamori/internal/notify/tmpl"
)

func init() {
	notify.Register(&notify.Kind{
		Name:    "webhook",
		Summary: "signed JSON POST to a URL (X-Mamori-Signature: HMAC-SHA256)",
		New:     func() notify.Spec { return &Spec{} },
	})
}

// Spec is the configuration of a webhook channel.
type Spec struct {
	URL     string            `yaml:"url" help:"URL the JSON is POSTed to (http or https)" required:"true"`
	Secret  check.Secret      `yaml:"secret" help:"HMAC-SHA256 key signing each request (X-Mamori-Signature); ${ENV} or file:PATH"`
	Headers map[string]string `yaml:"headers" help:"extra request headers"`
}

// Validate implements notify.Spec.
func (s *Spec) Validate() []check.FieldError {
	var errs []check.FieldError
	if s.URL == "" {
		errs = append(errs, check.Errf("url", "is required"))
	} else if u, err := url.Parse(s.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, check.Errf("url", "%q is not an http(s) URL", s.URL))
	}
	for k := range s.Headers {
		switch http.CanonicalHeaderKey(k) {
		case "Content-Type", "Content-Length", "Host", "X-Mamori-Delivery", "X-Mamori-Timestamp", "X-Mamori-Signature":
			errs = append(errs, check.Errf("headers", "%s is set by mamori", k))
		}
	}
	return errs
}

// New implements notify.Spec.
func (s *Spec) New(env notify.Env) (notify.Notifier, error) {
	c := env.HTTPClient
	if c == nil {
		c = &http.Client{Timeout: 30 * time.Second}
	}
	return &Notifier{url: s.URL, secret: s.Secret.Reveal(), headers: s.Headers, client: c, now: time.Now}, nil
}

// Notifier posts messages to one URL.
type Notifier struct {
	url     string
	secret  string
	headers map[string]string
	client  *http.Client
	now     func() time.Time
}

// Payload is the JSON body. The first seven fields are the contract of SPEC
// section 8.
type Payload struct {
	Check          string   `json:"check"`
	State          string   `json:"state"`
	PreviousState  string   `json:"previous_state"`
	StateType      string   `json:"state_type"`
	Output         string   `json:"output"`
	Time           string   `json:"time"` // RFC 3339
	IncidentID     int64    `json:"incident_id"`
	ID             string   `json:"id"`   // delivery id, as X-Mamori-Delivery
	Kind           string   `json:"kind"` // problem, recovery, acknowledge, reminder, test
	Host           string   `json:"host"`
	Tenant         string   `json:"tenant"`
	IncidentURL    string   `json:"incident_url"`
	RunbookURL     string   `json:"runbook_url"`
	AckURL         string   `json:"ack_url"`
	ProblemSeconds int64    `json:"problem_duration_seconds"` // on recovery
	Level          int      `json:"level"`                    // escalation level, 0 = first
	AcknowledgedBy string   `json:"acknowledged_by"`
	Attached       []string `json:"attached"`
	Actions        []string `json:"actions"`
	Subject        string   `json:"subject"`
	Text           string   `json:"text"`
	// Ticket is a ticket message's ticket and event (kind "ticket").
	Ticket *notify.TicketInfo `json:"ticket,omitempty"`
	// IncidentLevel is the incident level 1..3 (障害対応レベル), when said.
	IncidentLevel int `json:"incident_level,omitempty"`
}

// NewPayload builds the JSON body of m.
func NewPayload(m *notify.Message) Payload {
	p := Payload{
		Check: m.Check, State: m.State, PreviousState: m.PreviousState, StateType: m.StateType,
		Output: m.Output, IncidentID: m.IncidentID, ID: m.ID, Kind: m.Kind, Host: m.Host, Tenant: m.Tenant,
		IncidentURL: m.IncidentURL, RunbookURL: m.RunbookURL, AckURL: m.AckURL,
		ProblemSeconds: int64(m.ProblemFor / time.Second), Level: m.Level, AcknowledgedBy: m.AckedBy,
		Attached: m.Attached, Actions: m.Actions, Subject: m.Subject, Text: m.Text, Ticket: m.Ticket, IncidentLevel: m.IncidentLevel,
	}
	if !m.Time.IsZero() {
		p.Time = m.Time.UTC().Format(time.RFC3339)
	}
	if p.Attached == nil {
		p.Attached = []string{}
	}
	if p.Actions == nil {
		p.Actions = []string{}
	}
	return p
}

// Sign returns the X-Mamori-Signature value for a body sent at timestamp
// (unix seconds, as in X-Mamori-Timestamp).
func Sign(secret, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(timestamp))
	mac.Write([]byte("."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Verify reports whether signatureHeader (the X-Mamori-Signature value) is
// the signature of body sent at timestamp (X-Mamori-Timestamp) with secret.
// Receivers should also reject old timestamps (replays).
func Verify(secret, timestamp, body, signatureHeader string) bool {
	if secret == "" || timestamp == "" || !strings.HasPrefix(signatureHeader, "sha256=") {
		return false
	}
	want := Sign(secret, timestamp, []byte(body))
	return hmac.Equal([]byte(want), []byte(signatureHeader))
}

// Notify implements notify.Notifier.
func (n *Notifier) Notify(ctx context.Context, m notify.Message) (notify.Receipt, error) {
	if m.Subject == "" && m.Text == "" {
		if err := tmpl.Render(&m); err != nil {
			return notify.Receipt{}, notify.Permanent(err)
		}
	}
	body, err := marshal(NewPayload(&m))
	if err != nil {
		return notify.Receipt{}, notify.Permanent(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.url, bytes.NewReader(body))
	if err != nil {
		return notify.Receipt{}, notify.Permanent(err)
	}
	for k, v := range n.headers {
		req.Header.Set(k, v)
	}
	ts := strconv.FormatInt(n.now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "mamori")
	req.Header.Set("X-Mamori-Delivery", m.ID)
	req.Header.Set("X-Mamori-Timestamp", ts)
	if n.secret != "" {
		req.Header.Set("X-Mamori-Signature", Sign(n.secret, ts, body))
	}
	resp, err := n.client.Do(req)
	if err != nil {
		return notify.Receipt{}, fmt.Errorf("webhook: %w", err)
	}
	defer resp.Body.Close()
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	rc := notify.Receipt{Status: resp.StatusCode, ProviderID: resp.Header.Get("X-Request-Id")}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return rc, nil
	}
	return rc, notify.WithRetryAfter(resp, notify.HTTPStatusError("webhook", resp.StatusCode, string(excerpt)))
}

// marshal encodes v as JSON without escaping <, > and & (as \u003c…).
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}
