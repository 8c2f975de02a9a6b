// Package notify defines notification channels: the Message every channel
// receives, the Notifier interface, and the registry of channel types. One
// package per channel type under internal/notify/<type>; internal/notify/all
// links them. Delivery (the durable outbox with retries), escalation and
// templates' selection live in the alerting pipeline; a Notifier only
// speaks its provider's API once per call.
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/registry"
)

// Kind of message.
const (
	KindProblem     = "problem"     // a hard problem (or a hard severity change)
	KindRecovery    = "recovery"    // the problem ended
	KindAcknowledge = "acknowledge" // someone acknowledged the incident
	KindReminder    = "reminder"    // an escalation level fired again, still unacknowledged
	KindTest        = "test"        // `mamori notify test`
	KindReport      = "report"      // a monthly report, already rendered, with its PDF attached
	KindTicket      = "ticket"      // a ticket event: a customer's new ticket or comment, an operator's reply
)

// Ticket events (TicketInfo.Event).
const (
	TicketOpened  = "opened"  // a customer opened a ticket: to the operators
	TicketComment = "comment" // a customer commented: to the operators
	TicketReply   = "reply"   // an operator replied (visible to the customer): to the tenant's contacts
)

// TicketInfo is what a ticket message says.
type TicketInfo struct {
	ID       int64  `json:"id"`
	Event    string `json:"event"` // TicketOpened, TicketComment, TicketReply
	Title    string `json:"title"`
	Kind     string `json:"kind,omitempty"` // inquiry, operation
	Priority string `json:"priority,omitempty"`
	Author   string `json:"author,omitempty"` // who opened, commented or replied
	Text     string `json:"text,omitempty"`   // the body or the comment (an excerpt)
	URL      string `json:"url,omitempty"`
}

// Message is one notification to one recipient over one channel.
type Message struct {
	ID            string        `json:"id"`   // outbox id: unique, stable across retries (idempotency key)
	Kind          string        `json:"kind"` // KindProblem, ...
	Lang          string        `json:"lang"` // "ja" or "en"
	TimeZone      string        `json:"time_zone,omitempty"`
	To            string        `json:"to,omitempty"` // recipient address from a contact (email, phone, LINE id); "" = the channel's default
	Contact       string        `json:"contact,omitempty"`
	Check         string        `json:"check"`
	Host          string        `json:"host,omitempty"`
	Tenant        string        `json:"tenant,omitempty"`
	State         string        `json:"state"`
	PreviousState string        `json:"previous_state"`
	StateType     string        `json:"state_type"`
	Output        string        `json:"output"`
	Time          time.Time     `json:"time"`                       // when the state changed
	ProblemFor    time.Duration `json:"problem_duration,omitempty"` // on recovery: how long it was down
	IncidentID    int64         `json:"incident_id"`
	Thread        string        `json:"thread,omitempty"` // shared by every message of one incident (mail threading)
	IncidentURL   string        `json:"incident_url,omitempty"`
	RunbookURL    string        `json:"runbook_url,omitempty"`
	AckURL        string        `json:"ack_url,omitempty"`        // signed acknowledgement link
	GatherURL     string        `json:"gather_url,omitempty"`     // twilio: where keypresses are posted
	StatusURL     string        `json:"status_url,omitempty"`     // twilio: where call progress (answered, no-answer, busy) is posted
	Level         int           `json:"level,omitempty"`          // escalation level (0 = first)
	IncidentLevel int           `json:"incident_level,omitempty"` // incident level 1..3 (障害対応レベル); 0: not said
	AckedBy       string        `json:"acknowledged_by,omitempty"`
	Attached      []string      `json:"attached,omitempty"`     // dependent checks attached to a host incident
	Actions       []string      `json:"actions,omitempty"`      // recovery actions taken, in English ("nginx restarted automatically at 03:12 (exit 0)")
	ActionNotes   []ActionNote  `json:"action_notes,omitempty"` // the same, for each reader's language and zone
	Ticket        *TicketInfo   `json:"ticket,omitempty"`       // KindTicket: the ticket and its event

	// Rendered by the templates for this channel type and language.
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html,omitempty"`
	Speech  string `json:"speech,omitempty"` // for voice calls
	// Attachments are files sent with the message (email only).
	Attachments []Attachment `json:"attachments,omitempty"`
}

// Attachment is a file attached to a message.
type Attachment struct {
	Name        string `json:"name"`
	ContentType string `json:"content_type"`
	Data        []byte `json:"data"`
}

// Receipt is what a provider answered, kept in the delivery log.
type Receipt struct {
	ProviderID string // e.g. Twilio Call SID, Slack message ts, SMTP queue id
	Status     int    // HTTP status or SMTP code, if any
}

// Notifier sends one message. It must honour ctx's deadline. An error
// wrapped with Permanent is not retried (e.g. 400 Bad Request, 401, an
// invalid recipient); any other error is retried with backoff.
type Notifier interface {
	Notify(ctx context.Context, m Message) (Receipt, error)
}

// CallbackVerifier is implemented by notifiers whose provider calls mamori
// back (Twilio's keypress webhook): it checks the provider's signature over
// the full URL and the posted form.
type CallbackVerifier interface {
	VerifyCallback(fullURL string, form url.Values, signature string) bool
}

// Spec is a channel type's configuration, a tagged struct decoded strictly
// like check specs (see internal/check/fieldset).
type Spec interface {
	Validate() []check.FieldError
	New(env Env) (Notifier, error)
}

// Env is what a channel may use when it is built.
type Env struct {
	Logger *slog.Logger
	// HTTPClient is the client for provider APIs (timeouts set by ctx).
	HTTPClient *http.Client
	// PublicURL is where people reach mamori (for links).
	PublicURL string
}

// Kind describes a channel type.
type Kind struct {
	Name    string // config "type": email, slack, chatwork, line, twilio, webhook
	Summary string
	// Recipient names the contact field that holds this channel's address
	// ("email", "phone", "line_user_id"), or "" for channels with a fixed
	// destination (slack, chatwork, webhook).
	Recipient string
	New       func() Spec
}

var kinds = registry.New("notify", func(k *Kind) string { return k.Name })

// Register adds a channel type; it panics on duplicates (a programming error).
func Register(k *Kind) {
	if k.Name == "" || k.New == nil {
		panic("notify: Register: kind needs Name and New")
	}
	kinds.Register(k)
}

// Lookup finds a channel type.
func Lookup(name string) (*Kind, bool) { return kinds.Lookup(name) }

// Kinds lists channel types by name.
func Kinds() []*Kind { return kinds.All() }

// PermanentError marks a failure that retrying cannot fix.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return "permanent: " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err so that the outbox does not retry it.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// IsPermanent reports whether err (or what it wraps) is permanent.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// HTTPStatusError classifies a provider's HTTP answer: 408, 429 and 5xx are
// temporary; other 4xx are permanent. body is a short excerpt for the log.
func HTTPStatusError(provider string, status int, body string) error {
	err := fmt.Errorf("%s answered HTTP %d: %s", provider, status, check.OneLine(body))
	if status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500 {
		return err
	}
	return Permanent(err)
}

// RetryAfterError is a temporary failure whose answer said when to retry;
// the outbox waits at least that long (it looks for the RetryAfter method).
type RetryAfterError struct {
	Err   error
	After time.Duration
}

func (e *RetryAfterError) Error() string {
	return fmt.Sprintf("%v (retry after %s)", e.Err, e.After)
}

// Unwrap returns the failure.
func (e *RetryAfterError) Unwrap() error { return e.Err }

// RetryAfter is how long the provider asked to wait.
func (e *RetryAfterError) RetryAfter() time.Duration { return e.After }

// WithRetryAfter adds the wait an answer's Retry-After header asks for
// (seconds or an HTTP date) to a temporary error; permanent errors and
// answers without the header are returned as they are.
func WithRetryAfter(resp *http.Response, err error) error {
	if err == nil || IsPermanent(err) {
		return err
	}
	v := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if s, perr := strconv.Atoi(v); perr == nil && s >= 0 {
		return &RetryAfterError{Err: err, After: time.Duration(s) * time.Second}
	}
	if t, perr := http.ParseTime(v); perr == nil {
		return &RetryAfterError{Err: err, After: max(time.Until(t), 0)}
	}
	return err
}
