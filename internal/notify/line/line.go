// Package line implements the line channel: a LINE Messaging API push
// message. (LINE Notify was shut down in 2025 and is not supported.)
//
// Request: POST {base_url}/v2/bot/message/push with Authorization: Bearer
// CHANNEL_ACCESS_TOKEN, Content-Type: application/json, the body
// {"to": ID, "messages": [{"type": "text", "text": …}]} (text at most 5000
// characters) and X-Line-Retry-Key: a UUID derived from the message id, so
// that a retry after a lost answer is not delivered twice: LINE answers 409
// with X-Line-Accepted-Request-Id when a request with that key was already
// accepted, which counts as delivered. 200 {"sentMessages":[{"id":…}]} is a
// delivery; 429 and 5xx are retried; other 4xx are permanent.
package line

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/google/uuid"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/notify"
	"github.com/mamori/mamori/internal/notify/tmpl"
)

// DefaultBaseURL is the Messaging API host.
const DefaultBaseURL = "https://api.line.me"

// MaxText is the longest text message the Messaging API accepts.
const MaxText = 5000

func init() {
	notify.Register(&notify.Kind{
		Name:      "line",
		Summary:   "LINE Messaging API push message (bot channel access token)",
		Recipient: "line_user_id",
		New:       func() notify.Spec { return &Spec{BaseURL: DefaultBaseURL} },
	})
}

// Spec is the configuration of a line channel.
type Spec struct {
	ChannelAccessToken   check.Secret `yaml:"channel_access_token" help:"Messaging API channel access token; ${ENV} or file:PATH" required:"true"`
	To                   string       `yaml:"to" help:"default recipient: user ID (U…), group ID (C…) or room ID (R…), when the contact has no line_user_id"`
	NotificationDisabled bool         `yaml:"notification_disabled" help:"deliver without a push notification sound"`
	BaseURL              string       `yaml:"base_url" help:"Messaging API base URL (for tests and proxies)"`
}

var recipientRE = regexp.MustCompile(`^[UCR][0-9a-f]{32}$`)

// Validate implements notify.Spec.
func (s *Spec) Validate() []check.FieldError {
	var errs []check.FieldError
	if s.ChannelAccessToken.Reveal() == "" {
		errs = append(errs, check.Errf("channel_access_token", "is required"))
	}
	if s.To != "" && !recipientRE.MatchString(s.To) {
		errs = append(errs, check.Errf("to", "%q is not a LINE user, group or room ID (U, C or R and 32 hex digits)", s.To))
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
	return &Notifier{
		url:    strings.TrimRight(s.BaseURL, "/") + "/v2/bot/message/push",
		token:  s.ChannelAccessToken.Reveal(),
		to:     s.To,
		silent: s.NotificationDisabled,
		client: c,
	}, nil
}

// Notifier pushes messages through one LINE bot.
type Notifier struct {
	url, token, to string
	silent         bool
	client         *http.Client
}

// RetryKey is the X-Line-Retry-Key of a message: the UUIDv5 of
// "mamori:line:" + id in the URL name space, the same on every retry.
func RetryKey(id string) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte("mamori:line:"+id)).String()
}

// Truncate cuts s to at most max characters as LINE counts them (UTF-16
// code units, so an emoji outside the BMP counts twice), on a character
// boundary, ending it with "…" when cut.
func Truncate(s string, max int) string {
	if len(utf16.Encode([]rune(s))) <= max {
		return s
	}
	n := 0
	for i, r := range s {
		w := utf16.RuneLen(r)
		if w < 0 {
			w = 1
		}
		if n+w > max-1 {
			return s[:i] + "…"
		}
		n += w
	}
	return s
}

type textMessage struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type pushRequest struct {
	To                   string        `json:"to"`
	Messages             []textMessage `json:"messages"`
	NotificationDisabled bool          `json:"notificationDisabled,omitempty"`
}

// Notify implements notify.Notifier.
func (n *Notifier) Notify(ctx context.Context, m notify.Message) (notify.Receipt, error) {
	if m.Subject == "" && m.Text == "" {
		if err := tmpl.Render(&m); err != nil {
			return notify.Receipt{}, notify.Permanent(err)
		}
	}
	to := m.To
	if to == "" {
		to = n.to
	}
	if to == "" {
		return notify.Receipt{}, notify.Permanent(fmt.Errorf("line: no recipient (the contact has no line_user_id and the channel no default to)"))
	}
	if m.ID == "" {
		return notify.Receipt{}, notify.Permanent(fmt.Errorf("line: message without id (needed for X-Line-Retry-Key)"))
	}
	text := Truncate(m.Subject+"\n\n"+strings.TrimRight(m.Text, "\n"), MaxText)
	body, err := json.Marshal(pushRequest{To: to, Messages: []textMessage{{Type: "text", Text: text}}, NotificationDisabled: n.silent})
	if err != nil {
		return notify.Receipt{}, notify.Permanent(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.url, bytes.NewReader(body))
	if err != nil {
		return notify.Receipt{}, notify.Permanent(err)
	}
	req.Header.Set("Authorization", "Bearer "+n.token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "mamori")
	req.Header.Set("X-Line-Retry-Key", RetryKey(m.ID))
	resp, err := n.client.Do(req)
	if err != nil {
		return notify.Receipt{}, fmt.Errorf("line: %w", err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return notify.Receipt{}, fmt.Errorf("line: reading the answer: %w", err)
	}
	rc := notify.Receipt{Status: resp.StatusCode, ProviderID: resp.Header.Get("X-Line-Request-Id")}
	switch {
	case resp.StatusCode == http.StatusOK:
		var a struct {
			SentMessages []struct {
				ID string `json:"id"`
			} `json:"sentMessages"`
		}
		if json.Unmarshal(answer, &a) == nil && len(a.SentMessages) > 0 && a.SentMessages[0].ID != "" {
			rc.ProviderID = a.SentMessages[0].ID
		}
		return rc, nil
	case resp.StatusCode == http.StatusConflict && resp.Header.Get("X-Line-Accepted-Request-Id") != "":
		// An earlier try with this retry key was accepted: delivered.
		rc.ProviderID = resp.Header.Get("X-Line-Accepted-Request-Id")
		return rc, nil
	}
	excerpt := string(answer)
	var e struct {
		Message string `json:"message"`
		Details []struct {
			Message  string `json:"message"`
			Property string `json:"property"`
		} `json:"details"`
	}
	if json.Unmarshal(answer, &e) == nil && e.Message != "" {
		excerpt = e.Message
		for _, d := range e.Details {
			excerpt += "; " + d.Property + ": " + d.Message
		}
	}
	return rc, notify.WithRetryAfter(resp, notify.HTTPStatusError("line", resp.StatusCode, excerpt))
}
