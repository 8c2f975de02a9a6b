// Package incident holds mamori's domain records of trouble and work: the
// incident (one per failing check, or per host when the host itself is
// down), the ticket (work opened by hand), their timelines, and the
// notifications queued for an incident. It knows no storage: stores keep
// these records, alerting and the API change them.
package incident

import (
	"context"
	"encoding/json"
	"time"

	"github.com/mamori/mamori/internal/check"
)

// Incident statuses.
const (
	Open         = "open"
	Acknowledged = "acknowledged"
	Resolved     = "resolved"
	Closed       = "closed"
)

// Incident is a tracked problem: one per check, or one per host when the
// host itself is down (its dependent checks attached).
type Incident struct {
	ID          int64        `json:"id"`
	Check       string       `json:"check"`
	Host        string       `json:"host,omitempty"`
	Tenant      string       `json:"tenant,omitempty"`
	Scope       string       `json:"scope"` // "check" or "host"
	Status      string       `json:"status"`
	State       check.Status `json:"state"`
	Title       string       `json:"title"`
	Output      string       `json:"output"`
	DetectedAt  time.Time    `json:"detected_at"` // the first failing result
	OpenedAt    time.Time    `json:"opened_at"`   // the hard state: the alert
	AckedAt     *time.Time   `json:"acknowledged_at"`
	AckedBy     string       `json:"acknowledged_by,omitempty"`
	RecoveredAt *time.Time   `json:"recovered_at"`
	ReportedAt  *time.Time   `json:"recovery_reported_at"` // first delivered recovery notification
	ResolvedAt  *time.Time   `json:"resolved_at"`
	ClosedAt    *time.Time   `json:"closed_at"`
	Runbook     string       `json:"runbook,omitempty"`
	Notify      []string     `json:"notify,omitempty"` // channels and policies of the check
	Attached    []string     `json:"attached"`         // dependent checks attached to a host incident
	EscLevel    int          `json:"escalation_level"` // last level fired (-1 none)
	EscRound    int          `json:"escalation_round"`
	EscNextAt   *time.Time   `json:"escalation_next_at"`
	// Level is the incident level (障害対応レベル) 1..3, taken from its
	// check (or host) at opening and changeable by an operator: it
	// selects which escalation steps and targets are notified (min_level).
	Level int `json:"level"`
	// RootCause and Remediation are the operator's account of why it
	// happened and what was (or will be) done about it (障害根本解決策):
	// shown to the customer and listed in the monthly report.
	RootCause      string     `json:"root_cause"`
	Remediation    string     `json:"remediation"`
	Timeline       []Timeline `json:"timeline"`
	MaintenanceHit bool       `json:"-"`
}

// Timeline is one step in an incident's or ticket's history.
type Timeline struct {
	ID    int64           `json:"id"`
	Time  time.Time       `json:"time"`
	Kind  string          `json:"kind"` // detected, notified, notify_failed, acknowledged, comment, state, attached, recovered, resolved, closed, escalated, flapping, action, reported
	Actor string          `json:"actor,omitempty"`
	Text  string          `json:"text"`
	Data  json.RawMessage `json:"data,omitempty"`
	// Visibility of a comment: internal (operators only) or customer
	// (the customer portal too). Other entries have none: their kind
	// decides (see CustomerTimeline).
	Visibility string `json:"visibility,omitempty"`
}

// Query filters incidents.
type Query struct {
	Statuses []string
	Check    string
	Host     string
	Tenant   string
	Text     string // substring of title or output
	Since    time.Time
	Until    time.Time
	Limit    int
	Offset   int
}

// Notification is one outbox row: a message to one recipient on one channel.
type Notification struct {
	ID          int64      `json:"id"`
	IncidentID  int64      `json:"incident_id"`
	TicketID    int64      `json:"ticket_id,omitempty"` // a ticket's notification (IncidentID 0)
	Channel     string     `json:"channel"`
	Contact     string     `json:"contact,omitempty"`
	Recipient   string     `json:"recipient,omitempty"`
	Kind        string     `json:"kind"`
	Level       int        `json:"level"`
	Status      string     `json:"status"` // pending, delivered, failed
	Attempts    int        `json:"attempts"`
	NextAt      time.Time  `json:"next_attempt_at"`
	CreatedAt   time.Time  `json:"created_at"`
	DeliveredAt *time.Time `json:"delivered_at"`
	LastError   string     `json:"last_error,omitempty"`
	ProviderID  string     `json:"provider_id,omitempty"`
	Payload     []byte     `json:"-"` // the notify.Message as JSON, unrendered
	Dedup       string     `json:"-"`
}

// Notification statuses.
const (
	NotifyPending   = "pending"
	NotifyDelivered = "delivered"
	NotifyFailed    = "failed"
)

// Delivery is one attempt at a notification.
type Delivery struct {
	Attempt  int       `json:"attempt"`
	Time     time.Time `json:"time"`
	OK       bool      `json:"ok"`
	Error    string    `json:"error,omitempty"`
	Duration float64   `json:"duration_seconds"`
}

// Tx is one transaction over incidents and their notifications: every
// write made through it commits together or not at all. Stores implement
// it; the code that changes incidents (alerting, recovery) receives it in
// the callback of its store's Write.
type Tx interface {
	// Incident reads an incident (without its timeline) or returns the
	// store's not-found error.
	Incident(ctx context.Context, id int64) (*Incident, error)
	// OpenIncident finds the open (or acknowledged) incident of a check, or nil.
	OpenIncident(ctx context.Context, check string) (*Incident, error)
	CreateIncident(ctx context.Context, in *Incident) error
	UpdateIncident(ctx context.Context, in *Incident) error
	AddTimeline(ctx context.Context, incidentID int64, e Timeline) error
	// AddTicketTimeline adds an entry to a ticket's timeline (the
	// delivery of its notifications).
	AddTicketTimeline(ctx context.Context, ticketID int64, e Timeline) error
	// NotifiedTargets lists the distinct channel/contact/recipient triples
	// that problem notifications of an incident were queued for.
	NotifiedTargets(ctx context.Context, incidentID int64) ([]Notification, error)
	// Enqueue adds a notification to the outbox unless one with the same
	// dedup key exists; it reports whether it added one.
	Enqueue(ctx context.Context, n *Notification) (bool, error)
	// Suppress records a hard problem a maintenance window kept quiet;
	// Unsuppress forgets it.
	Suppress(ctx context.Context, check string, eventID int64, t time.Time) error
	Unsuppress(ctx context.Context, check string) error
	// InsertAction adds a row to the recovery audit log and sets a.ID;
	// UpdateAction rewrites its outcome.
	InsertAction(ctx context.Context, a *Action) error
	UpdateAction(ctx context.Context, a *Action) error
}

// Action is one row of the first-response audit log: an automatic or
// manual recovery action (or the decision to give up), who or what
// triggered it, its outcome and its verification. It also serves as the
// memory of the recovery budgets, so a restart does not reset them.
type Action struct {
	ID         int64      `json:"id"`
	Kind       string     `json:"kind"` // action, exhausted
	Time       time.Time  `json:"time"`
	Check      string     `json:"check"`
	Host       string     `json:"host,omitempty"`
	Incident   int64      `json:"incident_id,omitempty"`
	Problem    string     `json:"problem"` // which problem of the check (its first failing result)
	Step       int        `json:"step"`    // 1-based
	Action     string     `json:"action,omitempty"`
	Service    string     `json:"service,omitempty"`
	What       string     `json:"what"`    // description of what ran / would run
	Trigger    string     `json:"trigger"` // "automatic: CRITICAL hard for 20m" / "manual"
	Who        string     `json:"who"`     // "mamori" or the operator
	DryRun     bool       `json:"dry_run,omitempty"`
	Refused    bool       `json:"refused,omitempty"`
	ExitCode   int        `json:"exit_code"`
	Output     string     `json:"output,omitempty"`
	Error      string     `json:"error,omitempty"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	Verified   string     `json:"verified,omitempty"` // ok, failed, skipped
	VerifyText string     `json:"verify_text,omitempty"`
	Counted    bool       `json:"-"` // counts against the budgets
}
