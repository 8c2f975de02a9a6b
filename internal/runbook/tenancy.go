package runbook

import (
	"slices"
)

// Binds reports whether r applies to t through any of its bindings (not
// necessarily as the best match).
func (r *Runbook) Binds(t Target) bool { return r.score(t).level != levelNone }

// Readers lists the tenants whose customers and viewers may read r
// (operators and admins read every runbook), given targets, every check and
// host of the configuration:
//
//   - the tenants its front matter lists (tenants: opens the runbook to
//     them, and it binds only their checks);
//   - else the tenant whose checks and hosts it binds, if it binds only
//     that one tenant's;
//   - else nobody: a runbook bound to no check or host, to several
//     tenants' or to checks of no tenant (the operator's own systems) is
//     for operators only.
//
// So a runbook follows the tenancy of what it binds, and a new version
// without front matter (no bindings) can only narrow who reads it.
func (r *Runbook) Readers(targets []Target) []string {
	if len(r.Tenants) > 0 {
		out := slices.Clone(r.Tenants)
		slices.Sort(out)
		return slices.Compact(out)
	}
	tenant, bound := "", false
	for _, t := range targets {
		if !r.Binds(t) {
			continue
		}
		if t.Tenant == "" || (bound && t.Tenant != tenant) {
			return nil
		}
		tenant, bound = t.Tenant, true
	}
	if !bound {
		return nil
	}
	return []string{tenant}
}
