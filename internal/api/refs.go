package api

import (
	"context"
	"fmt"
	"path"
	"strings"

	"github.com/mamori/mamori/internal/config"
)

// checkRefs says why a tenant's object (maintenance window, ticket) may
// not name these hosts, checks and incidents: every name must be one of
// the tenant's own; a pattern must match at least one of them (what it
// also matches elsewhere has no effect: the object is scoped to the tenant,
// and answering differently would reveal other tenants' names). An unknown
// name and another tenant's name get the same answer. tenant "" (an
// object for every tenant) names anything.
func (s *Server) checkRefs(ctx context.Context, tenant string, hosts, checks []string, incidents []int64) []string {
	if tenant == "" {
		return nil
	}
	cfg := s.cfg()
	var bad []string
	for i, h := range hosts {
		if !refOwned(h, tenant, hostsOf(cfg)) {
			bad = append(bad, fmt.Sprintf("hosts[%d]: no host of tenant %s is named %s", i, tenant, quote(h)))
		}
	}
	for i, c := range checks {
		if !refOwned(c, tenant, checksOf(cfg)) {
			bad = append(bad, fmt.Sprintf("checks[%d]: no check of tenant %s is named %s", i, tenant, quote(c)))
		}
	}
	if len(incidents) > 0 {
		for i, id := range incidents {
			in, err := s.st.Incident(ctx, id)
			if err != nil || in == nil || in.Tenant != tenant {
				bad = append(bad, fmt.Sprintf("incident_ids[%d]: no incident %d of tenant %s", i, id, tenant))
			}
		}
	}
	return bad
}

type named struct{ name, tenant string }

func hostsOf(cfg *config.Config) []named {
	out := make([]named, len(cfg.Hosts))
	for i, h := range cfg.Hosts {
		out[i] = named{h.Name, h.Tenant}
	}
	return out
}

func checksOf(cfg *config.Config) []named {
	out := make([]named, len(cfg.Checks))
	for i, c := range cfg.Checks {
		out[i] = named{c.Name, c.Tenant}
	}
	return out
}

// refOwned: ref names (or, as a pattern, matches) one of tenant's objects,
// and as a plain name no other tenant's.
func refOwned(ref, tenant string, objs []named) bool {
	pattern := strings.ContainsAny(ref, "*?[")
	for _, o := range objs {
		if o.tenant != tenant {
			continue
		}
		if o.name == ref {
			return true
		}
		if ok, err := path.Match(ref, o.name); pattern && err == nil && ok {
			return true
		}
	}
	return false
}
