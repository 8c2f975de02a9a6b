package event

import (
	"context"
	"sync"
)

// Bus fans events out to live consumers without ever blocking the
// publisher.
type Bus struct {
	mu     sync.Mutex
	subs   map[*Sub]struct{}
	inline []inline
}

type inline struct {
	kinds Kind
	h     Handler
}

// Sub is a subscription with a bounded queue.
type Sub struct {
	C       chan Event
	kinds   Kind
	dropped bool
}

// Dropped reports whether the subscription was closed for falling behind.
func (s *Sub) Dropped() bool { return s.dropped }

// NewBus makes a bus.
func NewBus() *Bus { return &Bus{subs: map[*Sub]struct{}{}} }

// Attach calls h for every event of the given kinds, on the publisher's
// goroutine, in publication order. h must not block: it records or queues
// and returns (its error is ignored).
func (b *Bus) Attach(kinds Kind, h Handler) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.inline = append(b.inline, inline{kinds, h})
}

// Subscribe returns a subscription to the given kinds with a queue of n
// events. A subscriber that lets its queue fill up is dropped: its channel
// is closed and Dropped reports true.
func (b *Bus) Subscribe(n int, kinds Kind) *Sub {
	s := &Sub{C: make(chan Event, n), kinds: kinds}
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

// Publish delivers an event to every inline handler and subscriber that
// asked for its kind, without blocking.
func (b *Bus) Publish(e Event) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, in := range b.inline {
		if in.kinds&e.Kind != 0 {
			_ = in.h.Handle(context.Background(), e)
		}
	}
	for s := range b.subs {
		if s.kinds&e.Kind == 0 {
			continue
		}
		select {
		case s.C <- e:
		default:
			s.dropped = true
			delete(b.subs, s)
			close(s.C)
		}
	}
}
