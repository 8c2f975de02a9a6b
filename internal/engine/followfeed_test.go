package engine

import (
	"context"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/event"
)

// A follower publishes on its bus the state changes the leader commits
// (with the event's id and the check's re-read state), and not
// the history that was there when it began following.
func TestFollowerPublishesLeaderStateChanges(t *testing.T) {
	bus := event.NewBus()
	sub := bus.Subscribe(16, event.StateChange)
	lead, fol := leaderAndFollower(t, "f", "feed", WithEvents(bus))
	lctx, lstop := context.WithCancel(context.Background())
	ldone := make(chan struct{})
	go func() { lead.Serve(lctx); close(ldone) }()
	defer func() { lstop(); <-ldone }()
	now := time.Now()
	if _, err := lead.Record(context.Background(), "f", check.Result{Status: check.Critical, Output: "old", Time: now}); err != nil {
		t.Fatal(err)
	}
	fctx, fstop := context.WithCancel(context.Background())
	fdone := make(chan struct{})
	go func() { fol.Serve(fctx); close(fdone) }()
	defer func() { fstop(); <-fdone }()
	time.Sleep(FollowEvery + FollowEvery/2) // the follower's cursor is taken
	if tr, err := lead.Record(context.Background(), "f", check.Result{Status: check.OK, Output: "back", Time: now.Add(time.Second)}); err != nil || tr == nil {
		t.Fatalf("the leader's change: %+v %v", tr, err)
	}
	select {
	case e := <-sub.C:
		if e.ID == 0 || e.Check != "f" || e.To != check.OK || e.Output != "back" || e.State.Status != check.OK {
			t.Fatalf("published %+v, want the leader's change to OK with its id", e)
		}
	case <-time.After(3 * FollowEvery):
		t.Fatal("the follower published nothing for the leader's state change")
	}
	select {
	case e := <-sub.C:
		t.Fatalf("published again: %+v", e)
	case <-time.After(FollowEvery + FollowEvery/2):
	}
}
