package event

import (
	"context"
	"fmt"
	"time"
)

// Log is the durable event log and the named cursors kept with it. A
// store implements it.
type Log interface {
	// Cursor is the ID of the last event the consumer named name applied
	// (0 if none).
	Cursor(ctx context.Context, name string) (int64, error)
	// EventsAfter returns up to limit state changes with an ID above
	// after, oldest first.
	EventsAfter(ctx context.Context, after int64, limit int) ([]Event, error)
}

// Durable delivers every state change of the log, in order, exactly once
// in effect, to a handler: a durable subscription. The handler must set
// the cursor Name to the event's ID in the same transaction as its own
// writes (stores offer an Apply that does both), so a crash replays
// exactly the events whose writes did not commit. Durable reads the
// cursor back before each batch; it never writes it.
type Durable struct {
	Name    string
	Log     Log
	Handler Handler
	// Wake, when it delivers, makes Durable look at the log at once
	// (a Bus subscription to StateChange); without it, Poll alone paces.
	Wake <-chan struct{}
	// Poll is how often the log is read when nothing wakes Durable
	// (default 2s).
	Poll time.Duration
	// Batch is how many events are read at a time (default 200).
	Batch int
	// OnError reports a batch that stopped on an error; it is retried
	// from the cursor at the next wake or poll.
	OnError func(error)
}

// Run applies the log until ctx ends.
func (d *Durable) Run(ctx context.Context) {
	poll := d.Poll
	if poll <= 0 {
		poll = 2 * time.Second
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		n, err := d.Step(ctx)
		if err != nil && ctx.Err() == nil && d.OnError != nil {
			d.OnError(err)
		}
		if n > 0 && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-d.Wake:
		case <-t.C:
		}
	}
}

// Step applies the next batch of events after the cursor and reports how
// many were applied.
func (d *Durable) Step(ctx context.Context) (int, error) {
	batch := d.Batch
	if batch <= 0 {
		batch = 200
	}
	cur, err := d.Log.Cursor(ctx, d.Name)
	if err != nil {
		return 0, err
	}
	evs, err := d.Log.EventsAfter(ctx, cur, batch)
	if err != nil {
		return 0, err
	}
	for i, e := range evs {
		if err := d.Handler.Handle(ctx, e); err != nil {
			return i, fmt.Errorf("event %d (%s): %w", e.ID, e.Check, err)
		}
	}
	return len(evs), nil
}

// Wake turns a bus subscription into a wake-up channel for Durable: it
// coalesces events into at most one pending wake. It returns when sub's
// channel closes.
func Wake(sub *Sub) <-chan struct{} {
	w := make(chan struct{}, 1)
	go func() {
		for range sub.C {
			select {
			case w <- struct{}{}:
			default:
			}
		}
	}()
	return w
}
