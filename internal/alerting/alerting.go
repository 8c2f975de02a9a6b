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
	"github.com/mamori/mamori/internal/engine"
	"github.com/mamori/mamori/internal/incident"
	"github.com/mamori/mamori/internal/maintenance"
	"github.com/mamori/mamori/internal/notify"
	"github.com/mamori/mamori/internal/runbook"
	"github.com/mamori/mamori/internal/store"
)

// Store is what alerting needs from the store.
type Store interface {
	// Cursor is the last event the incident processor applied.
	Cursor(ctx context.Context, name string) (int64, error)
	// Events returns state changes matching q.
	Events(ctx context.Context, q store.EventQuery) ([]store.Event, error)
	// Apply runs fn in one transaction; fn's writes and the new cursor
	// value commit together.
	Apply(ctx context.Context, cursorName string, cursor int64, fn func(tx incident.Tx) error) error
	// Write runs fn in one transaction.
	Write(ctx context.Context, fn func(tx incident.Tx) error) error
	// Incident reads an incident with its timeline.
	Incident(ctx context.Context, id int64) (*incident.Incident, error)
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
	// Maintenances lists the windows created through the API or CLI.
	Maintenances(ctx context.Context) ([]store.MaintenanceRow, error)
	// SuppressedList lists the problems windows kept quiet.
	SuppressedList(ctx context.Context) ([]store.Suppressed, error)
	// LatestRunbooks returns the latest stored version of every runbook;
	// SaveRunbook stores a new version and returns its number.
	LatestRunbooks(ctx context.Context) ([]store.RunbookVersion, error)
	SaveRunbook(ctx context.Context, name, markdown, author string) (int, error)
}

// Service runs the alerting pipeline.
type Service struct {
	log    *slog.Logger
	eng    *engine.Engine
	st     Store
	secret []byte
	now    func() time.Time
	client *http.Client

	mu        sync.RWMutex
	cfg       *config.Config
	notifiers map[string]notify.Notifier
	library   *runbook.Library

	wake     chan struct{} // new events
	outboxCh chan struct{} // new notifications
	Hooks    Hooks
	actions  func(incidentID int64) []string // recovery actions taken, for messages
	maintMu  sync.RWMutex
	windows  maintenance.Set
}

// Hooks let tests and the server observe the pipeline.
type Hooks struct {
	// Delivered is called after each delivery attempt is recorded.
	Delivered func(n *incident.Notification, ok bool)
}

// New builds the service. The signing secret for acknowledgement links is
// kept in DATA_DIR/secret.key (created on first start, mode 0600).
func New(eng *engine.Engine, st Store, log *slog.Logger) (*Service, error) {
	cfg := eng.Config()
	secret, err := auth.LoadOrCreateKey(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	s := &Service{log: log, eng: eng, st: st, secret: secret, now: time.Now,
		client: &http.Client{Timeout: 30 * time.Second}, wake: make(chan struct{}, 1), outboxCh: make(chan struct{}, 1)}
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
	sub := s.eng.Bus().Subscribe(1024)
	go func() {
		for range sub.C {
			s.kick(s.wake)
		}
	}()
	defer s.eng.Bus().Unsubscribe(sub)
	var wg sync.WaitGroup
	if err := s.RefreshMaintenance(ctx); err != nil {
		s.log.Error("maintenance windows", "err", err)
	}
	wg.Add(4)
	go func() { defer wg.Done(); s.maintenanceLoop(ctx) }()
	go func() { defer wg.Done(); s.processLoop(ctx) }()
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

// SetActions gives the recovery actions taken for an incident to its
// notifications (recovery.Runner.ActionsFor). Call before Run.
func (s *Service) SetActions(f func(incidentID int64) []string) { s.actions = f }
