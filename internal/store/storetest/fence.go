package storetest

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/incident"
	"github.com/mamori/mamori/internal/state"
	"github.com/mamori/mamori/internal/store"
)

// Fencer is a store's leadership epoch (docs/ha.md).
type Fencer interface {
	TakeLead(ctx context.Context) (int64, error)
	Epoch(ctx context.Context) (int64, error)
	OnFenced(fn func(ours, theirs int64))
}

// testFence: a write under an epoch another leadership has replaced is
// refused with store.ErrFenced and stores nothing; the current epoch's
// writes and writes outside the leader's work (no epoch) go through.
func testFence(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	old, err := s.TakeLead(ctx)
	must(t, err)
	cur, err := s.TakeLead(ctx)
	must(t, err)
	if got, err := s.Epoch(ctx); err != nil || cur <= old || got != cur {
		t.Fatalf("epochs %d then %d, database's %d (%v): want increasing, the last one", old, cur, got, err)
	}
	var fenced atomic.Int64
	s.OnFenced(func(ours, theirs int64) { fenced.Store(ours*1000 + theirs) })
	stale, lead := store.WithEpoch(ctx, old), store.WithEpoch(ctx, cur)
	w := store.Write{Check: "web/http", Result: check.Result{Status: check.Critical, Output: "down", Time: time.Now()},
		State: state.State{Status: check.Critical, Attempt: 1}}
	if _, err := s.Commit(stale, []store.Write{w}); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("stale commit: %v, want ErrFenced", err)
	}
	if rs, err := s.Results(ctx, "web/http", time.Time{}, 10); err != nil || len(rs) != 0 {
		t.Fatalf("a fenced commit stored %d results (%v)", len(rs), err)
	}
	if fenced.Load() != old*1000+cur {
		t.Errorf("OnFenced got %d, want ours %d theirs %d", fenced.Load(), old, cur)
	}
	in := &incident.Incident{Check: "web/http", Host: "web", Status: incident.Open, Title: "down", DetectedAt: time.Now(), OpenedAt: time.Now()}
	err = s.Write(stale, func(tx incident.Tx) error { return tx.CreateIncident(ctx, in) })
	if !errors.Is(err, store.ErrFenced) {
		t.Fatalf("stale incident write: %v, want ErrFenced", err)
	}
	if got, err := s.Incidents(ctx, incident.Query{}); err != nil || len(got) != 0 {
		t.Fatalf("a fenced write stored %d incidents (%v)", len(got), err)
	}
	if err := s.Forget(stale, "web/http"); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("stale forget: %v, want ErrFenced", err)
	}
	if _, _, err := s.Prune(stale, time.Now(), time.Now()); !errors.Is(err, store.ErrFenced) {
		t.Fatalf("stale prune: %v, want ErrFenced", err)
	}
	_, err = s.Commit(lead, []store.Write{w})
	must(t, err)
	must(t, s.Write(ctx, func(tx incident.Tx) error { return tx.CreateIncident(ctx, in) }))
}
