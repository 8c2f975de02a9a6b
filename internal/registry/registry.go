// Package registry is the one implementation behind mamori's plug-in
// registries (check types, notification channel types, recovery actions):
// kinds register themselves by name from init and are looked up by name.
package registry

import (
	"slices"
	"sync"
)

// Registry holds kinds of type K by name. It is safe for concurrent use.
type Registry[K any] struct {
	what string // "check", "notify", "action": prefixes panics
	name func(K) string
	mu   sync.RWMutex
	m    map[string]K
}

// New returns an empty registry; name reads a kind's name, what names the
// registry in panics.
func New[K any](what string, name func(K) string) *Registry[K] {
	return &Registry[K]{what: what, name: name, m: map[string]K{}}
}

// Register adds k. It panics on an empty or duplicate name: a programming
// error that every test run finds.
func (r *Registry[K]) Register(k K) {
	n := r.name(k)
	if n == "" {
		panic(r.what + ": Register: kind needs a name")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.m[n]; dup {
		panic(r.what + ": Register: duplicate kind " + n)
	}
	r.m[n] = k
}

// Lookup finds a kind by name.
func (r *Registry[K]) Lookup(name string) (K, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	k, ok := r.m[name]
	return k, ok
}

// Names lists the registered names, sorted.
func (r *Registry[K]) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.m))
	for n := range r.m {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

// All lists the registered kinds sorted by name.
func (r *Registry[K]) All() []K {
	names := r.Names()
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]K, 0, len(names))
	for _, n := range names {
		if k, ok := r.m[n]; ok {
			out = append(out, k)
		}
	}
	return out
}
