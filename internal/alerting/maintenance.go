package alerting

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/incident"
	"github.com/mamori/mamori/internal/maintenance"
	"github.com/mamori/mamori/internal/state"
	"github.com/mamori/mamori/internal/store"
)

// Maintenance is the set of maintenance windows in force: the
// configuration's and the store's. Alerting, recovery and the API share
// one.
type Maintenance struct {
	st  MaintenanceStore
	log *slog.Logger

	mu      sync.RWMutex
	cfg     *config.Config
	windows maintenance.Set
}

// MaintenanceStore lists the windows created through the API or CLI.
type MaintenanceStore interface {
	Maintenances(ctx context.Context) ([]store.MaintenanceRow, error)
}

// NewMaintenance builds the set on a configuration; call Refresh to read
// the store's windows.
func NewMaintenance(cfg *config.Config, st MaintenanceStore, log *slog.Logger) *Maintenance {
	return &Maintenance{st: st, log: log, cfg: cfg}
}

// SetConfig puts a new configuration's windows and checks in force (at
// the next Refresh for the windows).
func (m *Maintenance) SetConfig(cfg *config.Config) {
	m.mu.Lock()
	m.cfg = cfg
	m.mu.Unlock()
}

func (m *Maintenance) config() *config.Config {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.cfg
}

// Windows is the maintenance set in force.
func (m *Maintenance) Windows() maintenance.Set {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.windows
}

// Refresh reloads the windows from config and the store (the CLI writes
// the store directly; the server picks them up within seconds).
func (m *Maintenance) Refresh(ctx context.Context) error {
	set := append(maintenance.Set(nil), m.config().Maintenance...)
	rows, err := m.st.Maintenances(ctx)
	if err != nil {
		return err
	}
	for _, r := range rows {
		var w maintenance.Window
		if err := json.Unmarshal(r.Body, &w); err != nil {
			m.log.Warn("unreadable maintenance window skipped", "id", r.ID, "err", err)
			continue
		}
		w.ID, w.CreatedBy = r.ID, r.CreatedBy
		set = append(set, &w)
	}
	m.mu.Lock()
	m.windows = set
	m.mu.Unlock()
	return nil
}

// InMaintenance reports whether a check is covered by a window at a time.
func (m *Maintenance) InMaintenance(checkName string, at time.Time) bool {
	cfg := m.config()
	c := cfg.Check(checkName)
	if c == nil {
		return false
	}
	return m.Windows().Suppressed(Target(cfg, c), at)
}

// Target describes a configured check for maintenance scopes.
func Target(cfg *config.Config, c *config.Check) maintenance.Target {
	t := maintenance.Target{Check: c.Name, Host: c.Host, Tenant: c.Tenant, Tags: c.Tags}
	for _, h := range cfg.Hosts {
		if h.Name == c.Host {
			t.Groups = h.Groups
		}
	}
	return t
}

// Windows is the maintenance set in force.
func (s *Service) Windows() maintenance.Set { return s.maint.Windows() }

// RefreshMaintenance rereads the windows from config and the store.
func (s *Service) RefreshMaintenance(ctx context.Context) error { return s.maint.Refresh(ctx) }

// InMaintenance reports whether a check is covered by a window at a time.
func (s *Service) InMaintenance(checkName string, at time.Time) bool {
	return s.maint.InMaintenance(checkName, at)
}

func (s *Service) inMaintenance(checkName string, at time.Time) bool {
	return s.maint.InMaintenance(checkName, at)
}

// maintenanceLoop refreshes the windows and, whenever one ends, alerts the
// problems it kept quiet that are still there.
func (s *Service) maintenanceLoop(ctx context.Context) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		if err := s.RefreshMaintenance(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("maintenance windows", "err", err)
		}
		if err := s.sweepSuppressed(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("maintenance sweep", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sweepSuppressed alerts every problem a window suppressed once no window
// covers its check any more, if the check is still in a hard problem.
func (s *Service) sweepSuppressed(ctx context.Context) error {
	list, err := s.st.SuppressedList(ctx)
	if err != nil {
		return err
	}
	now := s.now()
	for _, sup := range list {
		if s.inMaintenance(sup.Check, now) {
			continue
		}
		var queued bool
		err := s.st.Write(ctx, func(tx incident.Tx) error {
			if err := tx.Unsuppress(ctx, sup.Check); err != nil {
				return err
			}
			v, ok := s.states.CheckState(sup.Check)
			cfg := s.config()
			c := cfg.Check(sup.Check)
			if !ok || c == nil || v.Type != state.Hard || !v.Status.Problem() {
				return nil // recovered during the window, or gone
			}
			e := event.Event{ID: sup.EventID, Check: sup.Check}
			e.Time, e.From, e.To, e.ToType, e.Hard = now, check.OK, v.Status, state.Hard, true
			e.Notify, e.Unreachable, e.Output, e.Attempt = !v.Flapping, v.Unreachable, v.Output, v.Attempt
			var err error
			queued, err = s.problem(ctx, tx, cfg, c, e)
			if err != nil {
				return err
			}
			in, err := tx.OpenIncident(ctx, c.Name)
			if err != nil || in == nil {
				return err
			}
			return tx.AddTimeline(ctx, in.ID, incident.Line(now, "maintenance", "maintenance.ended",
				fmt.Sprintf("maintenance ended; the problem is still there (since %s)", sup.Time.UTC().Format(time.RFC3339)), incident.At(sup.Time)))
		})
		if err != nil {
			return err
		}
		if queued {
			s.kick(s.outboxCh)
		}
	}
	return nil
}
