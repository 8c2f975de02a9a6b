// Package storetest is the conformance suite of mamori's stores: every
// store (SQLite, PostgreSQL) runs the same tests through Run, so that they
// behave alike. It is test code compiled into the stores' tests.
package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/auth"
	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/incident"
	"github.com/mamori/mamori/internal/store"
)

// Store is the surface of a mamori store the suite covers: the engine's
// store, the event log, the auth store, reports, and the incident, ticket,
// outbox, agent, maintenance and runbook methods the server uses.
type Store interface {
	store.Store
	event.Log
	auth.Store
	store.Reports
	Fencer
	SchemaVersion(ctx context.Context) (int64, error)

	Cursor(ctx context.Context, name string) (int64, error)
	Apply(ctx context.Context, name string, cursor int64, fn func(tx incident.Tx) error) error
	Write(ctx context.Context, fn func(tx incident.Tx) error) error
	Incident(ctx context.Context, id int64) (*incident.Incident, error)
	Incidents(ctx context.Context, q incident.Query) ([]*incident.Incident, error)
	DueEscalations(ctx context.Context, now time.Time) ([]*incident.Incident, error)
	NextNotification(ctx context.Context, channel string) (*incident.Notification, error)
	PendingChannels(ctx context.Context) ([]string, error)
	RecordDelivery(ctx context.Context, n *incident.Notification, d incident.Delivery, fn func(tx incident.Tx) error) error
	Notifications(ctx context.Context, incidentID int64, status string, limit int) ([]*incident.Notification, error)
	Deliveries(ctx context.Context, id int64) ([]incident.Delivery, error)
	LoadActions(ctx context.Context, since, now time.Time) ([]*incident.Action, error)

	CreateTicket(ctx context.Context, t *incident.Ticket, then ...func(incident.Tx) error) error
	Ticket(ctx context.Context, id int64) (*incident.Ticket, error)
	Tickets(ctx context.Context, q incident.TicketQuery) ([]*incident.Ticket, error)
	UpdateTicket(ctx context.Context, id int64, fn func(*incident.Ticket) error, actor string) (*incident.Ticket, error)
	AddTicketComment(ctx context.Context, id int64, actor, text, visibility string, then ...func(incident.Tx) error) error

	EnrollAgent(ctx context.Context, host, tenant string, hash []byte, replace bool) error
	RevokeAgent(ctx context.Context, host string) (bool, error)
	AgentTokens(ctx context.Context) (map[string][]byte, error)
	AgentHosts(ctx context.Context) ([]store.AgentHost, error)
	SetAgentSeen(ctx context.Context, host string, seen time.Time, info string) error
	StoreAgentBatch(ctx context.Context, host string, seq, droppedResults, droppedSamples uint64, seen time.Time) error
	SavePush(ctx context.Context, checkName string, r check.Result, at time.Time) error
	WatchPush(ctx context.Context, checkName string, since time.Time) error
	Pushes(ctx context.Context) ([]store.PushRecord, error)
	ForgetPush(ctx context.Context, checkName string) error
	ResetAgentSeq(ctx context.Context, host string, seq uint64) error

	CreateMaintenance(ctx context.Context, body []byte, createdBy string) (int64, error)
	Maintenances(ctx context.Context) ([]store.MaintenanceRow, error)
	DeleteMaintenance(ctx context.Context, id int64) error
	SuppressedList(ctx context.Context) ([]store.Suppressed, error)

	SaveRunbook(ctx context.Context, name, markdown, author string) (int, error)
	RunbookVersions(ctx context.Context, name string) ([]store.RunbookVersion, error)
	SharedKey(ctx context.Context, name string) ([]byte, error)
	RunbookVersion(ctx context.Context, name string, version int) (*store.RunbookVersion, error)
	LatestRunbooks(ctx context.Context) ([]store.RunbookVersion, error)
}

// Opener opens the test's store: the first call of a test creates an
// empty database for it, later calls of the same test open that database
// again (a restart). The opener closes what it opened when the test ends.
type Opener func(t testing.TB) Store

// Run runs every conformance test against the stores open opens.
func Run(t *testing.T, open Opener) {
	for _, c := range []struct {
		name string
		fn   func(*testing.T, Opener)
	}{
		{"RoundTrip", testRoundTrip},
		{"KeptStateRow", testKeptStateRow},
		{"PruneEveryCheck", testPruneEveryCheck},
		{"BatchCommit", testBatchCommit},
		{"LoginAttempts", testLoginAttempts},
		{"AuthStore", testAuthStore},
		{"AuthService", testAuthService},
		{"TicketCreateAndGet", testTicketCreateAndGet},
		{"TicketCreateValidation", testTicketCreateValidation},
		{"TicketList", testTicketList},
		{"TicketUpdateTimeline", testTicketUpdateTimeline},
		{"TicketCloseReopen", testTicketCloseReopen},
		{"TicketComments", testTicketComments},
		{"TicketConcurrentUpdates", testTicketConcurrentUpdates},
		{"TicketReopenDatabase", testTicketReopenDatabase},
		{"IncidentOutbox", testIncidentOutbox},
		{"TicketOutbox", testTicketOutbox},
		{"EverythingElse", testEverythingElse},
		{"SharedKey", testSharedKey},
		{"Fence", testFence},
	} {
		t.Run(c.name, func(t *testing.T) { c.fn(t, open) })
	}
}
