// Package event carries committed state changes from the engine to their
// consumers (the SSE stream now; incidents, notifications and recovery
// later). Each subscriber has a bounded queue: a subscriber that falls
// behind is dropped (its channel closed) rather than slowing the engine; it
// resumes from the store by event ID.
package event

import (
	"sync"

	"github.com/mamori/mamori/internal/store"
)

// Bus fans events out to subscribers.
type Bus struct {
	mu   sync.Mutex
	subs map[*Sub]struct{}
}

// Sub is one subscription.
type Sub struct {
	C       chan store.Event
	dropped bool
}

// Dropped reports whether the subscription was closed for falling behind.
func (s *Sub) Dropped() bool { return s.dropped }

// NewBus makes a bus.
func NewBus() *Bus { return &Bus{subs: map[*Sub]struct{}{}} }

// Subscribe returns a subscription with a queue of n events.
func (b *Bus) Subscribe(n int) *Sub {
	s := &Sub{C: make(chan store.Event, n)}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s
}

// Unsubscribe ends a subscription.
func (b *Bus) Unsubscribe(s *Sub) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.subs[s]; ok {
		delete(b.subs, s)
		close(s.C)
	}
}

// Publish delivers an event to every subscriber without blocking.
func (b *Bus) Publish(e store.Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		select {
		case s.C <- e:
		default:
			s.dropped = true
			delete(b.subs, s)
			close(s.C)
		}
	}
}
