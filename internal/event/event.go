// Package event is the spine between the engine and everything that reacts
// to checks. The engine publishes two kinds of event after each commit:
//
//   - Result: a check's committed result with the state it produced
//     (perfdata, the recovery runner's view of states);
//   - StateChange: a committed state change, already in the store's
//     event log with its ID (incidents and notifications, recovery, the
//     live stream).
//
// Consumers implement Handler. Live consumers attach to the Bus: inline
// handlers that must not block, or bounded queues that are dropped when
// they fall behind (they resume from the log by event ID). A consumer that
// must see every state change exactly once (alerting) runs a Durable
// subscription: it reads the log after its named cursor, which the store
// keeps, and is woken by the bus.
//
// This package knows no storage: a store implements Log.
package event

import (
	"context"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/state"
)

// Kind says what an event reports. Kinds are bits so that a subscription
// can ask for several.
type Kind uint8

// Event kinds.
const (
	StateChange Kind = 1 << iota
	Result
)

// Event is a committed state change or result of one check. The JSON form
// is the state change as the API and the live stream show it.
type Event struct {
	ID    int64  `json:"id"` // position in the event log (state changes; 0 for results)
	Check string `json:"check"`
	state.Transition

	Kind   Kind         `json:"-"`
	Host   string       `json:"-"` // the check's host and tenant (set by the engine)
	Tenant string       `json:"-"`
	State  state.State  `json:"-"` // the check's state after the result (set by the engine)
	Result check.Result `json:"-"` // the result (Result events)
}

// Handler consumes events.
type Handler interface {
	Handle(ctx context.Context, e Event) error
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, e Event) error

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, e Event) error { return f(ctx, e) }

// Publisher is where the engine hands its committed events (the Bus).
type Publisher interface {
	Publish(e Event)
}
