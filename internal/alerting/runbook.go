package alerting

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/incident"
	"github.com/mamori/mamori/internal/runbook"
)

// Runbooks is the library in force: the config's runbooks_dir, with the
// latest version of every runbook edited through the API on top.
func (s *Service) Runbooks() *runbook.Library {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.library
}

// loadRunbooks merges the config's library with the stored versions.
func (s *Service) loadRunbooks(ctx context.Context, cfg *config.Config) (*runbook.Library, error) {
	lib := runbook.NewLibrary()
	if cfg.Runbooks != nil {
		for _, r := range cfg.Runbooks.List() {
			// Never show the server's file paths to the console's viewers.
			r.Source = "runbooks_dir"
			if err := lib.Put(r); err != nil {
				return nil, err
			}
		}
	}
	latest, err := s.st.LatestRunbooks(ctx)
	if err != nil {
		return nil, err
	}
	for _, v := range latest {
		r, err := runbook.Parse(v.Name, []byte(v.Markdown))
		if err != nil {
			s.log.Warn("stored runbook version unreadable; skipped", "runbook", v.Name, "version", v.Version, "err", err)
			continue
		}
		r.Source = fmt.Sprintf("api v%d", v.Version)
		if err := lib.Put(r); err != nil {
			return nil, err
		}
	}
	return lib, nil
}

// SaveRunbook validates and stores a new version of a runbook and puts it
// in force.
func (s *Service) SaveRunbook(ctx context.Context, name, markdown, author string) (*runbook.Runbook, int, error) {
	r, err := runbook.Parse(name, []byte(markdown))
	if err != nil {
		return nil, 0, err
	}
	v, err := s.st.SaveRunbook(ctx, name, markdown, author)
	if err != nil {
		return nil, 0, err
	}
	r.Source = fmt.Sprintf("api v%d", v)
	s.mu.Lock()
	err = s.library.Put(r)
	s.mu.Unlock()
	if err == nil {
		if rerr := s.refreshRunbooks(ctx); rerr != nil {
			s.log.Warn("link the new runbook to open incidents", "runbook", name, "err", rerr)
		}
	}
	return r, v, err
}

// runbookFor names the runbook that matches a check ("" if none).
func (s *Service) runbookFor(c *config.Check) string {
	cfg := s.config()
	t := Target(cfg, c)
	r := s.Runbooks().Match(runbook.Target{Check: c.Name, Type: c.Type, Host: c.Host, Tenant: c.Tenant, Groups: t.Groups, Tags: c.Tags})
	if r == nil {
		return ""
	}
	return r.Name
}

// runbookTargets lists every check and host of cfg as a runbook target.
func runbookTargets(cfg *config.Config) []runbook.Target {
	out := make([]runbook.Target, 0, len(cfg.Checks)+len(cfg.Hosts))
	groups := make(map[string][]string, len(cfg.Hosts))
	for _, h := range cfg.Hosts {
		groups[h.Name] = h.Groups
		out = append(out, runbook.Target{Host: h.Name, Tenant: h.Tenant, Groups: h.Groups, Tags: h.Tags})
	}
	for _, c := range cfg.Checks {
		out = append(out, runbook.Target{Check: c.Name, Type: c.Type, Host: c.Host, Tenant: c.Tenant, Groups: groups[c.Host], Tags: c.Tags})
	}
	return out
}

// readersCache holds runbook.Readers of every runbook for one config and
// one generation of the library.
type readersCache struct {
	mu  sync.Mutex
	cfg *config.Config
	lib *runbook.Library
	gen uint64
	m   map[string][]string
}

// RunbookReaders returns the tenants whose customers and viewers may read
// the runbook named name in force (see runbook.Readers); operators and
// admins read every runbook.
func (s *Service) RunbookReaders(name string) []string {
	cfg, lib := s.config(), s.Runbooks()
	gen := lib.Generation()
	c := &s.readers
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cfg != cfg || c.lib != lib || c.gen != gen || c.m == nil {
		targets := runbookTargets(cfg)
		c.m = map[string][]string{}
		for _, r := range lib.List() {
			c.m[r.Name] = r.Readers(targets)
		}
		c.cfg, c.lib, c.gen = cfg, lib, gen
	}
	return c.m[name]
}

// RunbookReadable reports whether a customer or viewer of tenant may read
// the runbook named name ("" tenant: nobody's; operators need no check).
func (s *Service) RunbookReadable(name, tenant string) bool {
	return tenant != "" && slices.Contains(s.RunbookReaders(name), tenant)
}

// refreshRunbooks links the runbook now in force to every active incident
// that had none (its runbook_missing flag then clears) and says so on its
// timeline.
func (s *Service) refreshRunbooks(ctx context.Context) error {
	ins, err := s.st.Incidents(ctx, incident.Query{Statuses: []string{incident.Open, incident.Acknowledged}, Limit: 1000})
	if err != nil {
		return err
	}
	cfg := s.config()
	for _, in := range ins {
		c := cfg.Check(in.Check)
		if in.Runbook != "" || c == nil {
			continue
		}
		name := s.runbookFor(c)
		if name == "" {
			continue
		}
		err := s.st.Write(ctx, func(tx incident.Tx) error {
			cur, err := tx.Incident(ctx, in.ID)
			if err != nil || cur.Runbook != "" {
				return err
			}
			cur.Runbook = name
			if err := tx.UpdateIncident(ctx, cur); err != nil {
				return err
			}
			return tx.AddTimeline(ctx, cur.ID, incident.Line(s.now(), "runbook", "runbook", "runbook "+name+" now matches this incident", incident.Str(name)))
		})
		if err != nil {
			return err
		}
	}
	return nil
}
