package cli

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/mamori/mamori/internal/config"
)

// matchesAny: name equals pattern or matches it as a path.Match pattern.
func matchesAny(pattern string, names []string) bool {
	for _, n := range names {
		if n == pattern {
			return true
		}
		if ok, err := path.Match(pattern, n); err == nil && ok {
			return true
		}
	}
	return false
}

// unknownRefs lists, one error line each, the names or patterns in refs
// that match none of known ("host", "check", ...), so that a typo is refused
// instead of silently covering nothing.
func unknownRefs(what string, refs, known []string, file string) []string {
	var out []string
	for _, r := range refs {
		if !matchesAny(r, known) {
			out = append(out, fmt.Sprintf("--%s %q matches no %s in %s%s", what, r, what, file, knownList(known)))
		}
	}
	return out
}

func knownList(names []string) string {
	if len(names) == 0 {
		return " (there are none)"
	}
	names = slices.Clone(names)
	sort.Strings(names)
	if len(names) > 20 {
		names = append(names[:20], "...")
	}
	return " (known: " + strings.Join(names, ", ") + ")"
}

func hostNames(cfg *config.Config) []string {
	out := make([]string, 0, len(cfg.Hosts))
	for _, h := range cfg.Hosts {
		out = append(out, h.Name)
	}
	return out
}

func checkNames(cfg *config.Config) []string {
	out := make([]string, 0, len(cfg.Checks))
	for _, c := range cfg.Checks {
		out = append(out, c.Name)
	}
	return out
}

func groupNames(cfg *config.Config) []string {
	var out []string
	for _, h := range cfg.Hosts {
		for _, g := range h.Groups {
			if !slices.Contains(out, g) {
				out = append(out, g)
			}
		}
	}
	return out
}

// tenantNames are the tenants the config knows: declared under tenants: or
// named by a host or check.
func tenantNames(cfg *config.Config) []string {
	var out []string
	add := func(t string) {
		if t != "" && !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	for _, t := range cfg.Tenants {
		add(t.Name)
	}
	for _, h := range cfg.Hosts {
		add(h.Tenant)
	}
	for _, c := range cfg.Checks {
		add(c.Tenant)
	}
	return out
}
