// Package alerting turns committed state changes into incidents and
// notifications, escalates unacknowledged incidents, and delivers the
// durable outbox.
//
// Nothing is lost: the event log (synced on every state change) is the
// queue. The processor applies events in order after a persisted cursor;
// the incident changes, the queued notifications and the new cursor commit
// in one transaction, so a crash replays at most the events whose
// transaction did not commit. Deliveries read the outbox: a notification is
// marked delivered in the same transaction that records the provider's
// answer, and a notification confirmed delivered is never sent again.
package alerting

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mamori/mamori/internal/auth"
	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/incident"
	"github.com/mamori/mamori/internal/notify"
	"github.com/mamori/mamori/internal/runbook"
	"github.com/mamori/mamori/internal/store"
)

// Store is what alerting needs from the store.
type Store interface {
	// Cursor is the last event the incident processor applied.
	Cursor(ctx context.Context, name string) (int64, error)
	// EventsAfter returns the state changes after an event ID.
	EventsAfter(ctx context.Context, after int64, limit int) ([]event.Event, error)
	// Apply runs fn in one transaction; fn's writes and the new cursor
	// value commit together.
	Apply(ctx context.Context, cursorName string, cursor int64, fn func(tx incident.Tx) error) error
	// Write runs fn in one transaction.
	Write(ctx context.Context, fn func(tx incident.Tx) error) error
	// Incident reads an incident with its timeline.
	Incident(ctx context.Context, id int64) (*incident.Incident, error)
	// Incidents lists incidents, newest first.
	Incidents(ctx context.Context, q incident.Query) ([]*incident.Incident, error)
	// DueEscalations lists open incidents whose next escalation is due.
	DueEscalations(ctx context.Context, now time.Time) ([]*incident.Incident, error)
	// NextNotification returns the oldest pending notification of a
	// channel (head of its FIFO), or nil.
	NextNotification(ctx context.Context, channel string) (*incident.Notification, error)
	// PendingChannels lists channels with pending notifications.
	PendingChannels(ctx context.Context) ([]string, error)
	// RecordDelivery records an attempt and the notification's new status,
	// with fn's writes, in one transaction.
	RecordDelivery(ctx context.Context, n *incident.Notification, d incident.Delivery, fn func(tx incident.Tx) error) error
	MaintenanceStore
	// SuppressedList lists the problems windows kept quiet.
	SuppressedList(ctx context.Context) ([]store.Suppressed, error)
	// LatestRunbooks returns the latest stored version of every runbook;
	// SaveRunbook stores a new version and returns its number.
	LatestRunbooks(ctx context.Context) ([]store.RunbookVersion, error)
	SaveRunbook(ctx context.Context, name, markdown, author string) (int, error)
}

// CheckStates tells a check's current state (the engine).
type CheckStates interface {
	CheckState(name string) (store.CheckState, bool)
}

// ActionLister describes the recovery actions taken for an incident, for
// its notifications (the recovery runner).
type ActionLister interface {
	ActionNotesFor(incidentID int64) []notify.ActionNote
}

// Deps is what the service is built on.
type Deps struct {
	Config      *config.Config
	Store       Store
	States      CheckStates
	Events      *event.Bus   // wakes the incident processor on state changes
	Maintenance *Maintenance // shared with recovery and the API
	Actions     ActionLister // nil: messages list no recovery actions
	Log         *slog.Logger
	// Secret signs the acknowledgement links; nil keeps one in
	// DATA_DIR/secret.key. Servers sharing a database share it.
	Secret []byte
}

// Service runs the alerting pipeline.
type Service struct {
	log    *slog.Logger
	st     Store
	states CheckStates
	bus    *event.Bus
	maint  *Maintenance
	secret []byte
	now    func() time.Time
	client *http.Client

	mu        sync.RWMutex
	skip      skipper // cursor writes of ignorable events (process.go)
	cfg       *config.Config
	notifiers map[string]notify.Notifier
	library   *runbook.Library
	readers   readersCache // who may read each runbook

	outboxCh chan struct{} // new notifications
	Hooks    Hooks
	actions  ActionLister
}

// Hooks let tests and the server observe the pipeline.
type Hooks struct {
	// Delivered is called after each delivery attempt is recorded.
	Delivered func(n *incident.Notification, ok bool)
}

// New builds the service. The signing secret for acknowledgement links is
// d.Secret, or else kept in DATA_DIR/secret.key (created on first start,
// mode 0600).
func New(d Deps) (*Service, error) {
	cfg := d.Config
	secret := d.Secret
	if secret == nil {
		var err error
		if secret, err = auth.LoadOrCreateKey(cfg.DataDir); err != nil {
			return nil, err
		}
	}
	s := &Service{log: d.Log, st: d.Store, states: d.States, bus: d.Events, maint: d.Maintenance, actions: d.Actions,
		secret: secret, now: time.Now, client: &http.Client{Timeout: 30 * time.Second}, outboxCh: make(chan struct{}, 1)}
	if s.maint == nil {
		s.maint = NewMaintenance(cfg, d.Store, d.Log)
	}
	if err := s.SetConfig(cfg); err != nil {
		return nil, err
	}
	return s, nil
}

// SetConfig builds the channels of a (new) configuration.
func (s *Service) SetConfig(cfg *config.Config) error {
	env := notify.Env{Logger: s.log, HTTPClient: s.client, PublicURL: cfg.PublicURL}
	ns := map[string]notify.Notifier{}
	var errs []error
	for _, ch := range cfg.Channels {
		n, err := ch.Spec.New(env)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s:%d: channel %q: %w", ch.Pos.File, ch.Pos.Line, ch.Name, err))
			continue
		}
		ns[ch.Name] = n
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	lib, err := s.loadRunbooks(context.Background(), cfg)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.cfg, s.notifiers, s.library = cfg, ns, lib
	s.mu.Unlock()
	s.maint.SetConfig(cfg)
	if err := s.refreshRunbooks(context.Background()); err != nil {
		s.log.Warn("link runbooks to open incidents", "err", err)
	}
	s.kick(s.outboxCh)
	return nil
}

func (s *Service) config() *config.Config {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cfg
}

func (s *Service) notifier(name string) notify.Notifier {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.notifiers[name]
}

func (s *Service) kick(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Run processes events, escalations and the outbox until ctx ends.
func (s *Service) Run(ctx context.Context) {
	var wake <-chan struct{}
	if s.bus != nil {
		sub := s.bus.Subscribe(1024, event.StateChange)
		defer s.bus.Unsubscribe(sub)
		wake = event.Wake(sub)
	}
	incidents := &event.Durable{Name: cursorName, Log: s.st, Handler: s, Wake: wake,
		OnError: func(err error) { s.log.Error("process state changes", "err", err) }}
	var wg sync.WaitGroup
	if err := s.RefreshMaintenance(ctx); err != nil {
		s.log.Error("maintenance windows", "err", err)
	}
	wg.Add(4)
	go func() { defer wg.Done(); s.maintenanceLoop(ctx) }()
	go func() { defer wg.Done(); incidents.Run(ctx) }()
	go func() { defer wg.Done(); s.escalationLoop(ctx) }()
	go func() { defer wg.Done(); s.outboxLoop(ctx) }()
	wg.Wait()
}

// sign makes an HMAC over parts with the service secret.
func (s *Service) sign(parts ...string) string {
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(m.Sum(nil))[:32]
}

func (s *Service) url(path string) string {
	base := strings.TrimRight(s.config().PublicURL, "/")
	if base == "" {
		base = "http://" + s.config().Listen
	}
	return base + path
}
