// Package chatwork implements the chatwork channel: ChatWork API v2
// "post a message to a room".
//
// Request: POST {base_url}/v2/rooms/{room_id}/messages with the header
// X-ChatWorkToken and an application/x-www-form-urlencoded body: body (the
// message in ChatWork notation, [info][title]SUBJECT[/title]TEXT[/info],
// preceded by [To:ACCOUNT_ID] mentions) and self_unread (0 or 1). ChatWork
// answers 200 {"message_id":"…"}, or an error status with {"errors":[…]}; 429
// when the rate limit (300 requests per 5 minutes) is exhausted.
package chatwork

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/notify"
	"github.com/mamori/mamori/internal/notify/tmpl"
)

// DefaultBaseURL is ChatWork's API host.
const DefaultBaseURL = "https://api.chatwork.com"

func init() {
	notify.Register(&notify.Kind{
		Name:    "chatwork",
		Summary: "ChatWork: API v2 message to a room ([info] notation, [To:] mentions)",
		New:     func() notify.Spec { return &Spec{BaseURL: DefaultBaseURL} },
	})
}

// Spec is the configuration of a chatwork channel.
type Spec struct {
	Token        check.Secret `yaml:"token" help:"API token (X-ChatWorkToken); ${ENV} or file:PATH" required:"true"`
	RoomID       string       `yaml:"room_id" help:"ID of the room the messages are posted to" required:"true"`
	ToAccountIDs []string     `yaml:"to_account_ids" help:"account IDs mentioned with [To:ID] in every message"`
	SelfUnread   bool         `yaml:"self_unread" help:"leave the message unread for the token's own account"`
	BaseURL      string       `yaml:"base_url" help:"ChatWork API base URL (for tests and proxies)"`
}

var digits = regexp.MustCompile(`^[0-9]+$`)

// Validate implements notify.Spec.
func (s *Spec) Validate() []check.FieldError {
	var errs []check.FieldError
	if s.Token.Reveal() == "" {
		errs = append(errs, check.Errf("token", "is required"))
	}
	if !digits.MatchString(s.RoomID) {
		errs = append(errs, check.Errf("room_id", "%q is not a room ID (digits)", s.RoomID))
	}
	for _, id := range s.ToAccountIDs {
		if !digits.MatchString(id) {
			errs = append(errs, check.Errf("to_account_ids", "%q is not an account ID (digits)", id))
		}
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
		url:    strings.TrimRight(s.BaseURL, "/") + "/v2/rooms/" + url.PathEscape(s.RoomID) + "/messages",
		token:  s.Token.Reveal(),
		to:     s.ToAccountIDs,
		unread: s.SelfUnread,
		client: c,
	}, nil
}

// Notifier posts to one ChatWork room.
type Notifier struct {
	url, token string
	to         []string
	unread     bool
	client     *http.Client
}

// tagRE finds ChatWork notation in untrusted text: [toall], [To:1], [info],
// [/code], [rp aid=…], ...
var tagRE = regexp.MustCompile(`(?i)\[(/?)(toall|to:|rp |info|title|code|hr|qt|qtmeta|pname|piconname|picon|preview|download|task|dtext)`)

// neutralise turns ChatWork tags inside text into look-alikes (a full-width
// bracket), so output from a monitored system cannot mention everyone or
// break the [info] frame.
func neutralise(s string) string {
	return tagRE.ReplaceAllStringFunc(s, func(t string) string { return "［" + t[1:] })
}

// Body is the message in ChatWork notation.
func Body(m *notify.Message, to []string) string {
	var b strings.Builder
	for _, id := range to {
		b.WriteString("[To:" + id + "]")
	}
	if len(to) > 0 {
		b.WriteString("\n")
	}
	b.WriteString("[info][title]" + neutralise(m.Subject) + "[/title]")
	b.WriteString(neutralise(strings.TrimRight(m.Text, "\n")))
	b.WriteString("[/info]")
	return b.String()
}

// Notify implements notify.Notifier.
func (n *Notifier) Notify(ctx context.Context, m notify.Message) (notify.Receipt, error) {
	if m.Subject == "" && m.Text == "" {
		if err := tmpl.Render(&m); err != nil {
			return notify.Receipt{}, notify.Permanent(err)
		}
	}
	form := url.Values{"body": {Body(&m, n.to)}, "self_unread": {"0"}}
	if n.unread {
		form.Set("self_unread", "1")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.url, strings.NewReader(form.Encode()))
	if err != nil {
		return notify.Receipt{}, notify.Permanent(err)
	}
	req.Header.Set("X-ChatWorkToken", n.token)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "mamori")
	resp, err := n.client.Do(req)
	if err != nil {
		return notify.Receipt{}, fmt.Errorf("chatwork: %w", err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return notify.Receipt{}, fmt.Errorf("chatwork: reading the answer: %w", err)
	}
	rc := notify.Receipt{Status: resp.StatusCode}
	if resp.StatusCode/100 != 2 {
		excerpt := string(answer)
		var e struct {
			Errors []string `json:"errors"`
		}
		if json.Unmarshal(answer, &e) == nil && len(e.Errors) > 0 {
			excerpt = strings.Join(e.Errors, "; ")
		}
		return rc, withRetryAfter(resp, notify.HTTPStatusError("chatwork", resp.StatusCode, excerpt))
	}
	var a struct {
		MessageID json.RawMessage `json:"message_id"`
	}
	if err := json.Unmarshal(answer, &a); err != nil || len(a.MessageID) == 0 {
		// Posted (2xx), but the answer is not what the API documents: do not
		// post again.
		return rc, nil
	}
	var id string
	if json.Unmarshal(a.MessageID, &id) != nil {
		id = string(a.MessageID) // a number
	}
	rc.ProviderID = id
	return rc, nil
}

// withRetryAfter is notify.WithRetryAfter plus ChatWork's own
// X-RateLimit-Reset (unix time) on a 429 answer.
func withRetryAfter(resp *http.Response, err error) error {
	err = notify.WithRetryAfter(resp, err)
	var ra *notify.RetryAfterError
	if err == nil || notify.IsPermanent(err) || errors.As(err, &ra) || resp.StatusCode != http.StatusTooManyRequests {
		return err
	}
	if reset, perr := strconv.ParseInt(strings.TrimSpace(resp.Header.Get("X-RateLimit-Reset")), 10, 64); perr == nil {
		return &notify.RetryAfterError{Err: err, After: max(time.Until(time.Unix(reset, 0)), 0)}
	}
	return err
}
