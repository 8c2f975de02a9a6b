package api

import (
	"context"
	"time"

	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/incident"
	"github.com/mamori/mamori/internal/store"
)

// Store is what the API reads and writes in the store.
type Store interface {
	// Results returns a check's newest results, newest first, before a
	// time (zero: now).
	Results(ctx context.Context, check string, before time.Time, limit int) ([]store.ResultRow, error)
	// Events returns state changes matching q.
	Events(ctx context.Context, q store.EventQuery) ([]event.Event, error)
	Incidents
	Maintenances
	RunbookVersions
}

// Incidents reads incidents and their notifications.
type Incidents interface {
	// Incident reads an incident with its timeline (store.ErrNotFound).
	Incident(ctx context.Context, id int64) (*incident.Incident, error)
	// Incidents lists incidents matching q, newest first.
	Incidents(ctx context.Context, q incident.Query) ([]*incident.Incident, error)
	// Notifications lists outbox rows, newest first.
	Notifications(ctx context.Context, incidentID int64, status string, limit int) ([]*incident.Notification, error)
	// Deliveries lists the attempts at a notification.
	Deliveries(ctx context.Context, notificationID int64) ([]incident.Delivery, error)
}

// Tickets is the persistence of tickets.
type Tickets interface {
	// CreateTicket stores a new ticket (ID, and defaults for an empty
	// status, priority, kind and creation time, are filled in) with its
	// "created" timeline entry.
	// then runs in the same transaction (the notifications the new
	// ticket queues: alerting.Service.TicketNotices).
	CreateTicket(ctx context.Context, t *incident.Ticket, then ...func(incident.Tx) error) error
	// Ticket returns a ticket with its timeline, or store.ErrNotFound.
	Ticket(ctx context.Context, id int64) (*incident.Ticket, error)
	// Tickets lists tickets matching q, newest first, without timelines.
	Tickets(ctx context.Context, q incident.TicketQuery) ([]*incident.Ticket, error)
	// UpdateTicket reads the ticket, lets fn change it and writes it back
	// in one transaction, recording a timeline entry by actor for each
	// changed field. An error from fn (returned as is) changes nothing.
	// It returns the ticket as stored, with its timeline.
	UpdateTicket(ctx context.Context, id int64, fn func(*incident.Ticket) error, actor string) (*incident.Ticket, error)
	// AddTicketComment appends a comment to the timeline.
	// then runs in the same transaction, as for CreateTicket.
	AddTicketComment(ctx context.Context, id int64, actor, text, visibility string, then ...func(incident.Tx) error) error
}

// Maintenances keeps the maintenance windows created through the API.
type Maintenances interface {
	CreateMaintenance(ctx context.Context, body []byte, createdBy string) (int64, error)
	DeleteMaintenance(ctx context.Context, id int64) error
}

// RunbookVersions reads the versions of runbooks edited through the API.
type RunbookVersions interface {
	// RunbookVersions lists a runbook's versions, newest first, without text.
	RunbookVersions(ctx context.Context, name string) ([]store.RunbookVersion, error)
	// RunbookVersion reads one version (0 = the latest).
	RunbookVersion(ctx context.Context, name string, version int) (*store.RunbookVersion, error)
}
