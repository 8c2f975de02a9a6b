package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"

	"github.com/mamori/mamori/internal/check"
)

// Incident statuses.
const (
	IncidentOpen         = "open"
	IncidentAcknowledged = "acknowledged"
	IncidentResolved     = "resolved"
	IncidentClosed       = "closed"
)

// Incident is a tracked problem: one per check, or one per host when the
// host itself is down (its dependent checks attached).
type Incident struct {
	ID             int64        `json:"id"`
	Check          string       `json:"check"`
	Host           string       `json:"host,omitempty"`
	Tenant         string       `json:"tenant,omitempty"`
	Scope          string       `json:"scope"` // "check" or "host"
	Status         string       `json:"status"`
	State          check.Status `json:"state"`
	Title          string       `json:"title"`
	Output         string       `json:"output"`
	DetectedAt     time.Time    `json:"detected_at"` // the first failing result
	OpenedAt       time.Time    `json:"opened_at"`   // the hard state: the alert
	AckedAt        *time.Time   `json:"acknowledged_at"`
	AckedBy        string       `json:"acknowledged_by,omitempty"`
	RecoveredAt    *time.Time   `json:"recovered_at"`
	ReportedAt     *time.Time   `json:"recovery_reported_at"` // first delivered recovery notification
	ResolvedAt     *time.Time   `json:"resolved_at"`
	ClosedAt       *time.Time   `json:"closed_at"`
	Runbook        string       `json:"runbook,omitempty"`
	Notify         []string     `json:"notify,omitempty"` // channels and policies of the check
	Attached       []string     `json:"attached"`         // dependent checks attached to a host incident
	EscLevel       int          `json:"escalation_level"` // last level fired (-1 none)
	EscRound       int          `json:"escalation_round"`
	EscNextAt      *time.Time   `json:"escalation_next_at"`
	Timeline       []Timeline   `json:"timeline"`
	MaintenanceHit bool         `json:"-"`
}

// Timeline is one step in an incident's or ticket's history.
type Timeline struct {
	ID    int64           `json:"id"`
	Time  time.Time       `json:"time"`
	Kind  string          `json:"kind"` // detected, notified, notify_failed, acknowledged, comment, state, attached, recovered, resolved, closed, escalated, flapping, action, reported
	Actor string          `json:"actor,omitempty"`
	Text  string          `json:"text"`
	Data  json.RawMessage `json:"data,omitempty"`
}

// IncidentQuery filters incidents.
type IncidentQuery struct {
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

// Tx is the transaction handle alerting code writes through.
type Tx = *sql.Tx

// Alerts is the persistence of the alerting pipeline.
type Alerts interface {
	// Cursor is the last event the incident processor applied.
	Cursor(ctx context.Context, name string) (int64, error)
	// Apply runs fn in one transaction; fn's writes and the new cursor
	// value commit together.
	Apply(ctx context.Context, cursorName string, cursor int64, fn func(tx Tx) error) error
	Incident(ctx context.Context, id int64) (*Incident, error)
	Incidents(ctx context.Context, q IncidentQuery) ([]*Incident, error)
	// IncidentTx reads an incident inside a transaction (no timeline).
	IncidentTx(ctx context.Context, tx Tx, id int64) (*Incident, error)
	// NotifiedTargets lists the distinct channel/contact/recipient triples
	// that problem notifications of an incident were queued for.
	NotifiedTargets(ctx context.Context, tx Tx, incidentID int64) ([]Notification, error)
	// OpenIncident finds the open (or acknowledged) incident of a check.
	OpenIncident(ctx context.Context, tx Tx, check string) (*Incident, error)
	CreateIncident(ctx context.Context, tx Tx, in *Incident) error
	UpdateIncident(ctx context.Context, tx Tx, in *Incident) error
	AddTimeline(ctx context.Context, tx Tx, incidentID int64, e Timeline) error
	Enqueue(ctx context.Context, tx Tx, n *Notification) (bool, error)
	// DueEscalations lists open incidents whose next escalation is due.
	DueEscalations(ctx context.Context, now time.Time) ([]*Incident, error)
	// NextNotification returns the oldest pending notification of a
	// channel (head of its FIFO), or nil.
	NextNotification(ctx context.Context, channel string) (*Notification, error)
	// PendingChannels lists channels with pending notifications.
	PendingChannels(ctx context.Context) ([]string, error)
	RecordDelivery(ctx context.Context, n *Notification, d Delivery, fn func(tx Tx) error) error
	Notifications(ctx context.Context, incidentID int64, status string, limit int) ([]*Notification, error)
	Deliveries(ctx context.Context, notificationID int64) ([]Delivery, error)
	// Write runs fn in one transaction.
	Write(ctx context.Context, fn func(tx Tx) error) error
}
