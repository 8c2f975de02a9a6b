package runbook

import (
	"path"
	"slices"
)

// Target is what a runbook is looked up for: a check and what it belongs
// to.
type Target struct {
	Check  string // full name "HOST/NAME", or "NAME" for a top-level check
	Type   string // check type, e.g. "http"
	Host   string
	Tenant string
	Groups []string
	Tags   []string
}

// Binding levels, most specific first.
const (
	levelNone = iota
	levelType
	levelTag
	levelGroup
	levelHost
	levelCheck
)

// LevelName names a binding level for display: "check", "host", "group",
// "tag", "type".
func levelName(l int) string {
	return [...]string{"", "type", "tag", "group", "host", "check"}[l]
}

// score ranks how specifically r binds t: level, then exact (a name, not
// a pattern), then tenant-specific. Zero level: no match.
type score struct {
	level  int
	exact  bool
	tenant bool
}

func (a score) better(b score) bool {
	if a.level != b.level {
		return a.level > b.level
	}
	if a.exact != b.exact {
		return a.exact
	}
	return a.tenant && !b.tenant
}

func matchList(list []string, s string, patterns bool) (ok, exact bool) {
	if s == "" {
		return false, false
	}
	for _, p := range list {
		if p == s {
			return true, true
		}
	}
	if patterns {
		for _, p := range list {
			if m, err := path.Match(p, s); err == nil && m {
				return true, false
			}
		}
	}
	return false, false
}

func intersects(a, b []string) bool {
	for _, x := range b {
		if x != "" && slices.Contains(a, x) {
			return true
		}
	}
	return false
}

func (r *Runbook) score(t Target) score {
	if len(r.Tenants) > 0 && (t.Tenant == "" || !slices.Contains(r.Tenants, t.Tenant)) {
		return score{}
	}
	s := score{tenant: len(r.Tenants) > 0}
	if ok, exact := matchList(r.Checks, t.Check, true); ok {
		s.level, s.exact = levelCheck, exact
		return s
	}
	if ok, exact := matchList(r.Hosts, t.Host, true); ok {
		s.level, s.exact = levelHost, exact
		return s
	}
	s.exact = true
	switch {
	case intersects(r.Groups, t.Groups):
		s.level = levelGroup
	case intersects(r.Tags, t.Tags):
		s.level = levelTag
	case t.Type != "" && slices.Contains(r.Types, t.Type):
		s.level = levelType
	}
	return s
}

// Match returns (a copy of) the runbook that binds t most specifically, or
// nil. Levels: check > host > group > tag > type. Within a level an exact
// name beats a pattern, then a runbook limited to the target's tenant
// beats a general one, then the smaller name wins. A runbook with tenants
// applies only to those tenants.
func (l *Library) Match(t Target) *Runbook {
	r, _ := l.MatchLevel(t)
	return r
}

// MatchLevel is Match that also says through which binding the runbook
// matched: "check", "host", "group", "tag" or "type" ("" if none).
func (l *Library) MatchLevel(t Target) (*Runbook, string) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var best *Runbook
	var bestScore score
	for _, r := range l.books {
		s := r.score(t)
		if s.level == levelNone {
			continue
		}
		if best == nil || s.better(bestScore) || (!bestScore.better(s) && r.Name < best.Name) {
			best, bestScore = r, s
		}
	}
	if best == nil {
		return nil, ""
	}
	return best.clone(), levelName(bestScore.level)
}
