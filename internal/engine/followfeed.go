package engine

import (
	"context"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/store"
)

// A follower decides nothing, so nothing is published on its event bus by
// the engine; its live views (the console's and the API's event streams)
// would stay still. After each re-read of the states, the follower
// publishes the state changes the leader committed since the last re-read
// (the event log after a cursor), as the leader's engine published them.

// feedBatch bounds the state changes one re-read publishes.
const feedBatch = 1000

// followFeed is the follower's cursor in the event log.
type followFeed struct {
	cursor int64
	set    bool // cursor taken (the newest event when following began)
}

// publishCommitted publishes the state changes committed after the
// cursor. The first call after following began only takes the cursor:
// the history is the store's, not news.
func (e *Engine) publishCommitted(ctx context.Context, f *followFeed) error {
	if !f.set {
		newest, err := e.store.Events(ctx, store.EventQuery{Desc: true, Limit: 1})
		if err != nil {
			return err
		}
		if len(newest) > 0 {
			f.cursor = newest[0].ID
		}
		f.set = true
		return nil
	}
	evs, err := e.store.Events(ctx, store.EventQuery{AfterID: f.cursor, Limit: feedBatch})
	if err != nil {
		return err
	}
	for _, ev := range evs {
		f.cursor = max(f.cursor, ev.ID)
		e.publishStored(ev)
	}
	return nil
}

// publishStored publishes a state change read from the event log with the
// check's host, tenant and (re-read) state.
func (e *Engine) publishStored(ev event.Event) {
	e.mu.RLock()
	en, ok := e.checks[ev.Check]
	e.mu.RUnlock()
	if !ok {
		return // a check this server's configuration does not have
	}
	ev.Kind, ev.Host, ev.Tenant = event.StateChange, en.cfg.Host, en.cfg.Tenant
	ev.State = en.snapshot().State
	ev.Result = check.Result{Status: ev.To, Output: ev.Output, Time: ev.Time}
	e.pub.Publish(ev)
}
