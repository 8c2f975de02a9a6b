// Package slack implements the slack channel, in one of two modes:
//
//   - webhook_url: an incoming webhook. POST the JSON {"text", "blocks"};
//     Slack answers 200 with the plain text "ok", or 4xx/5xx with an error
//     code as text (invalid_payload, channel_not_found, ...).
//   - token + channel: the Web API method chat.postMessage with a bot token.
//     POST {base_url}/api/chat.postMessage, Authorization: Bearer xoxb-…,
//     Content-Type: application/json; charset=utf-8, body {"channel", "text",
//     "blocks"}. Slack answers HTTP 200 with {"ok":true,"ts":…} or
//     {"ok":false,"error":…}; HTTP 429 with Retry-After when rate limited.
//
// The Block Kit layout: a header with the subject, a section with the
// summary, a section of fields (check, host, state, time), the output in a
// code block, dependent checks and recovery actions, a context with the
// incident and runbook links, and an "acknowledge" link button. text is the
// fallback shown in notifications. Text in mrkdwn is escaped (&, <, >) as
// Slack requires.
package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/notify"
	"github.com/mamori/mamori/internal/notify/tmpl"
)

// DefaultBaseURL is Slack's Web API host.
const DefaultBaseURL = "https://slack.com"

func init() {
	notify.Register(&notify.Kind{
		Name:    "slack",
		Summary: "Slack: incoming webhook, or chat.postMessage with a bot token (Block Kit)",
		New:     func() notify.Spec { return &Spec{BaseURL: DefaultBaseURL} },
	})
}

// Spec is the configuration of a slack channel.
type Spec struct {
	WebhookURL check.Secret `yaml:"webhook_url" help:"incoming webhook URL (https://hooks.slack.com/services/…); or use token and channel"`
	Token      check.Secret `yaml:"token" help:"bot token (xoxb-…) for chat.postMessage; ${ENV} or file:PATH"`
	Channel    string       `yaml:"channel" help:"channel ID or name for chat.postMessage (the bot must be a member)"`
	BaseURL    string       `yaml:"base_url" help:"Slack Web API base URL (for tests and proxies)"`
}

// Validate implements notify.Spec.
func (s *Spec) Validate() []check.FieldError {
	var errs []check.FieldError
	hook, tok := s.WebhookURL.Reveal(), s.Token.Reveal()
	switch {
	case hook == "" && tok == "":
		errs = append(errs, check.Errf("webhook_url", "either webhook_url or token (with channel) is required"))
	case hook != "" && tok != "":
		errs = append(errs, check.Errf("token", "use either webhook_url or token, not both"))
	case hook != "":
		if !isHTTPURL(hook) {
			errs = append(errs, check.Errf("webhook_url", "is not an http(s) URL"))
		}
	default:
		if s.Channel == "" {
			errs = append(errs, check.Errf("channel", "is required with token"))
		}
		if !isHTTPURL(s.BaseURL) {
			errs = append(errs, check.Errf("base_url", "%q is not an http(s) URL", s.BaseURL))
		}
	}
	return errs
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// New implements notify.Spec.
func (s *Spec) New(env notify.Env) (notify.Notifier, error) {
	c := env.HTTPClient
	if c == nil {
		c = &http.Client{Timeout: 30 * time.Second}
	}
	base := strings.TrimRight(s.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	return &Notifier{webhook: s.WebhookURL.Reveal(), token: s.Token.Reveal(), channel: s.Channel, base: base, client: c}, nil
}

// Notifier posts to one Slack channel.
type Notifier struct {
	webhook, token, channel, base string
	client                        *http.Client
}

// Escape escapes &, < and > as Slack requires in text fields.
func Escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// truncate cuts s to at most n runes, marking the cut with "…".
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// truncateEscaped escapes s and keeps the result within n runes without
// cutting an entity.
func truncateEscaped(s string, n int) string {
	e := Escape(s)
	if utf8.RuneCountInString(e) <= n {
		return e
	}
	var b strings.Builder
	used := 0
	for _, r := range s {
		piece := Escape(string(r))
		k := utf8.RuneCountInString(piece)
		if used+k > n-1 {
			break
		}
		b.WriteString(piece)
		used += k
	}
	return b.String() + "…"
}

type obj = map[string]any

func textObj(typ, text string) obj { return obj{"type": typ, "text": text} }

// Blocks builds the Block Kit layout of a rendered message.
func Blocks(m *notify.Message) []obj {
	lang := m.Lang
	blocks := []obj{{
		"type": "header",
		"text": obj{"type": "plain_text", "text": truncate(m.Subject, 150), "emoji": true},
	}}
	if sum, err := tmpl.Summary(m); err == nil && sum != "" {
		blocks = append(blocks, obj{"type": "section", "text": textObj("mrkdwn", truncateEscaped(sum, 3000))})
	}
	if m.Kind != notify.KindTest {
		var fields []obj
		for _, f := range tmpl.Facts(m) {
			if f.Label == tmpl.Word(lang, "tenant") {
				continue
			}
			fields = append(fields, textObj("mrkdwn", "*"+Escape(f.Label)+"*\n"+truncateEscaped(f.Value, 1900)))
		}
		if len(fields) > 0 {
			blocks = append(blocks, obj{"type": "section", "fields": fields})
		}
	}
	if out := check.OneLine(m.Output); out != "" {
		blocks = append(blocks, obj{"type": "section", "text": textObj("mrkdwn", "```"+truncateEscaped(out, 2990)+"```")})
	}
	list := func(key string, items []string) {
		if len(items) == 0 {
			return
		}
		var b strings.Builder
		b.WriteString("*" + Escape(tmpl.Word(lang, key)) + "*")
		for _, it := range items {
			b.WriteString("\n• " + Escape(it))
		}
		blocks = append(blocks, obj{"type": "section", "text": textObj("mrkdwn", truncate(b.String(), 3000))})
	}
	list("attached", m.Attached)
	list("actions", m.Actions)
	var links []obj
	if m.IncidentURL != "" {
		label := tmpl.Word(lang, "incident")
		if m.IncidentID != 0 {
			label += " #" + strconv.FormatInt(m.IncidentID, 10)
		}
		links = append(links, textObj("mrkdwn", "<"+linkURL(m.IncidentURL)+"|"+Escape(label)+">"))
	}
	if m.RunbookURL != "" {
		links = append(links, textObj("mrkdwn", "<"+linkURL(m.RunbookURL)+"|"+Escape(tmpl.Word(lang, "runbook"))+">"))
	}
	if len(links) > 0 {
		blocks = append(blocks, obj{"type": "context", "elements": links})
	}
	if m.AckURL != "" && (m.Kind == notify.KindProblem || m.Kind == notify.KindReminder) && len(m.AckURL) <= 3000 {
		blocks = append(blocks, obj{"type": "actions", "elements": []obj{{
			"type":      "button",
			"action_id": "mamori_ack",
			"text":      obj{"type": "plain_text", "text": truncate(tmpl.Word(lang, "ack"), 75)},
			"url":       m.AckURL,
			"style":     "danger",
		}}})
	}
	return blocks
}

// linkURL makes a URL safe inside <url|label>: Slack escapes, and no '|' or '>'.
func linkURL(u string) string {
	return strings.NewReplacer("&", "&amp;", "<", "%3C", ">", "%3E", "|", "%7C").Replace(u)
}

// Notify implements notify.Notifier.
func (n *Notifier) Notify(ctx context.Context, m notify.Message) (notify.Receipt, error) {
	if m.Subject == "" && m.Text == "" {
		if err := tmpl.Render(&m); err != nil {
			return notify.Receipt{}, notify.Permanent(err)
		}
	}
	payload := obj{"text": truncateEscaped(strings.TrimSpace(m.Text), 3000), "blocks": Blocks(&m)}
	if n.webhook != "" {
		return n.postWebhook(ctx, payload)
	}
	payload["channel"] = n.channel
	return n.postMessage(ctx, payload)
}

func (n *Notifier) do(ctx context.Context, url string, payload obj, auth bool) (*http.Response, []byte, error) {
	body, err := marshal(payload)
	if err != nil {
		return nil, nil, notify.Permanent(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, nil, notify.Permanent(fmt.Errorf("slack: %v", redact(err, n.webhook)))
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "mamori")
	if auth {
		req.Header.Set("Authorization", "Bearer "+n.token)
	}
	resp, err := n.client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("slack: %v", redact(err, n.webhook))
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, nil, fmt.Errorf("slack: reading the answer: %w", err)
	}
	return resp, answer, nil
}

// redact keeps the webhook URL (a credential) out of error messages.
func redact(err error, secret string) string {
	if secret == "" {
		return err.Error()
	}
	return strings.ReplaceAll(err.Error(), secret, "[webhook_url]")
}

func (n *Notifier) postWebhook(ctx context.Context, payload obj) (notify.Receipt, error) {
	resp, answer, err := n.do(ctx, n.webhook, payload, false)
	if err != nil {
		return notify.Receipt{}, err
	}
	rc := notify.Receipt{Status: resp.StatusCode}
	if resp.StatusCode/100 == 2 {
		return rc, nil
	}
	return rc, notify.WithRetryAfter(resp, notify.HTTPStatusError("slack webhook", resp.StatusCode, string(answer)))
}

// temporaryErrors are chat.postMessage error codes worth retrying; Slack's
// other documented errors (invalid_auth, channel_not_found, not_in_channel,
// account_inactive, token_revoked, msg_too_long, invalid_blocks, ...) need a
// change of configuration or message.
var temporaryErrors = map[string]bool{
	"ratelimited": true, "rate_limited": true, "service_unavailable": true,
	"internal_error": true, "fatal_error": true, "request_timeout": true,
}

type apiAnswer struct {
	OK      bool   `json:"ok"`
	Error   string `json:"error"`
	TS      string `json:"ts"`
	Channel string `json:"channel"`
}

func (n *Notifier) postMessage(ctx context.Context, payload obj) (notify.Receipt, error) {
	resp, answer, err := n.do(ctx, n.base+"/api/chat.postMessage", payload, true)
	if err != nil {
		return notify.Receipt{}, err
	}
	rc := notify.Receipt{Status: resp.StatusCode}
	if resp.StatusCode != http.StatusOK {
		return rc, notify.WithRetryAfter(resp, notify.HTTPStatusError("slack chat.postMessage", resp.StatusCode, string(answer)))
	}
	var a apiAnswer
	if err := json.Unmarshal(answer, &a); err != nil {
		return rc, fmt.Errorf("slack chat.postMessage: answer is not JSON: %q", check.OneLine(string(answer)))
	}
	if a.OK {
		rc.ProviderID = a.TS
		return rc, nil
	}
	err = fmt.Errorf("slack chat.postMessage: %s", a.Error)
	if a.Error == "" {
		err = errors.New("slack chat.postMessage: ok=false without an error code")
	}
	if temporaryErrors[a.Error] {
		return rc, notify.WithRetryAfter(resp, err)
	}
	return rc, notify.Permanent(err)
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
