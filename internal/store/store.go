// Package store defines what mamori persists and the small interface the
// engine and the API use. store/sqlite is the embedded default.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/state"
)

// ErrNotFound is returned for a missing row.
var ErrNotFound = errors.New("not found")

// CheckState is a check's persisted current state with its last result.
type CheckState struct {
	Name string
	state.State
	Output   string
	Perf     []check.Metric
	Duration time.Duration
	Poller   string // who ran the last result: "" the server, else a zone's poller
}

// Write is one check result with the state it produced and, if the state
// changed, the transition. The engine commits writes in batches: each batch
// is one transaction, so a result, its state and its state change are
// stored together or not at all.
type Write struct {
	Check      string
	Result     check.Result
	State      state.State
	Transition *state.Transition
	// Poller ran the result ("": the server); stored with the check's state.
	Poller string
	// Late marks a result older than the check's last one (a poller's
	// buffered result delivered after a newer one): only its result row is
	// stored; the check's state and the event log stay as they are.
	Late bool
	// Kept marks a result that left the check's state as it was
	// (state.Kept) and came from the same poller: the store need not
	// rewrite the check's state row, only add the result; LoadStates
	// takes the last result's time, output, perf and duration from the
	// stored results.
	Kept bool
}

// ResultRow is a stored result.
type ResultRow struct {
	Check     string         `json:"check"`
	Time      time.Time      `json:"time"`
	Status    check.Status   `json:"state"`
	StateType state.Type     `json:"state_type"`
	Attempt   int            `json:"attempt"`
	Duration  float64        `json:"duration_seconds"`
	Output    string         `json:"output"`
	Perf      []check.Metric `json:"perfdata,omitempty"`
}

// EventQuery filters the event log. Zero fields do not filter.
type EventQuery struct {
	Checks   []string
	Since    time.Time
	Until    time.Time
	HardOnly bool
	AfterID  int64 // for paging and SSE resume: events with a larger ID
	Limit    int   // default 100, at most 10000
	Desc     bool  // newest first
}

// Store is the persistence the engine and API need.
type Store interface {
	// LoadStates returns every persisted check state by name.
	LoadStates(ctx context.Context) (map[string]CheckState, error)
	// Commit stores a batch of writes in one transaction; batches holding a
	// transition are flushed to stable storage before Commit returns. It
	// returns the event ID of each write's transition (0 if none).
	Commit(ctx context.Context, ws []Write) ([]int64, error)
	// Results returns a check's newest results, newest first, before a time
	// (zero: now).
	Results(ctx context.Context, check string, before time.Time, limit int) ([]ResultRow, error)
	// Events returns state changes matching q.
	Events(ctx context.Context, q EventQuery) ([]event.Event, error)
	// Forget drops a check's current state (its history stays until pruned).
	Forget(ctx context.Context, check string) error
	// Prune deletes results older than resultsBefore and events older than
	// eventsBefore, returning how many rows went.
	Prune(ctx context.Context, resultsBefore, eventsBefore time.Time) (results, events int64, err error)
	Close() error
}
