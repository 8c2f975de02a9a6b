package maintenance

import (
	"path"
	"slices"
	"time"
)

// Target is what a window may cover: one check and what it belongs to.
type Target struct {
	Check  string // full name: "HOST/NAME", or "NAME" for a top-level check
	Host   string
	Tenant string
	Groups []string // the host's groups
	Tags   []string // the check's and the host's tags
}

// Scoped reports whether the window restricts its scope at all.
func (w *Window) Scoped() bool {
	return w.Tenant != "" || len(w.Hosts) > 0 || len(w.Groups) > 0 || len(w.Checks) > 0 || len(w.Tags) > 0
}

// Covers reports whether t is within the window's scope (whatever the
// time). Every non-empty scope field must match: the tenant is equal; the
// host is one of Hosts (names or path.Match patterns); one of the target's
// groups is in Groups; the check's full name matches one of Checks (names
// or patterns such as "web1/*" or "*/http"; a bare "NAME" is a top-level
// check); one of the target's tags is in Tags. A window without scope
// covers everything only if All is set.
func (w *Window) Covers(t Target) bool {
	if !w.Scoped() {
		return w.All
	}
	if w.Tenant != "" && w.Tenant != t.Tenant {
		return false
	}
	if len(w.Hosts) > 0 && !matchAny(w.Hosts, t.Host) {
		return false
	}
	if len(w.Checks) > 0 && !matchAny(w.Checks, t.Check) {
		return false
	}
	if len(w.Groups) > 0 && !intersects(w.Groups, t.Groups) {
		return false
	}
	if len(w.Tags) > 0 && !intersects(w.Tags, t.Tags) {
		return false
	}
	return true
}

func matchAny(patterns []string, s string) bool {
	if s == "" {
		return false
	}
	for _, p := range patterns {
		if p == s {
			return true
		}
		if ok, err := path.Match(p, s); err == nil && ok {
			return true
		}
	}
	return false
}

func intersects(a, b []string) bool {
	for _, x := range b {
		if x != "" && slices.Contains(a, x) {
			return true
		}
	}
	return false
}

// Set is a collection of windows.
type Set []*Window

// Active returns the windows that cover t and are active at at, in the
// set's order. Invalid windows are ignored.
func (s Set) Active(t Target, at time.Time) []*Window {
	var out []*Window
	for _, w := range s {
		if w != nil && w.Covers(t) && w.ActiveAt(at) {
			out = append(out, w)
		}
	}
	return out
}

// Suppressed reports whether any window covering t is active at at.
func (s Set) Suppressed(t Target, at time.Time) bool {
	for _, w := range s {
		if w != nil && w.Covers(t) && w.ActiveAt(at) {
			return true
		}
	}
	return false
}

// NextChange returns the earliest instant after at at which any window of
// the set starts or ends, so that a caller can sleep until then and
// re-evaluate. The search is bounded: with no change within Lookahead it
// returns at+Lookahead (re-evaluating then is harmless). Invalid windows
// are ignored.
func (s Set) NextChange(at time.Time) time.Time {
	limit := at.Add(Lookahead)
	next := limit
	for _, w := range s {
		if w == nil {
			continue
		}
		sc, err := w.compile()
		if err != nil {
			continue
		}
		if c, ok := sc.nextChange(at, Lookahead); ok && c.Before(next) {
			next = c
		}
	}
	return next
}
