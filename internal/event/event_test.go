package event

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/state"
)

func TestBusKindsInlineAndDrop(t *testing.T) {
	b := NewBus()
	var inlineGot []Kind
	b.Attach(Result, HandlerFunc(func(_ context.Context, e Event) error {
		inlineGot = append(inlineGot, e.Kind)
		return errors.New("ignored")
	}))
	changes := b.Subscribe(2, StateChange)
	both := b.Subscribe(10, StateChange|Result)

	b.Publish(Event{Kind: Result, Check: "a"})
	b.Publish(Event{Kind: StateChange, ID: 1, Check: "a"})
	b.Publish(Event{Kind: Result, Check: "a"})
	if len(inlineGot) != 2 || inlineGot[0] != Result || inlineGot[1] != Result {
		t.Fatalf("inline handler got %v, want two results", inlineGot)
	}
	if len(changes.C) != 1 || len(both.C) != 3 {
		t.Fatalf("queued: state changes %d (want 1), both %d (want 3)", len(changes.C), len(both.C))
	}
	// A subscriber that lets its queue fill up is dropped, not waited for.
	b.Publish(Event{Kind: StateChange, ID: 2})
	b.Publish(Event{Kind: StateChange, ID: 3})
	if !changes.Dropped() {
		t.Fatal("a full subscriber was not dropped")
	}
	n := 0
	for range changes.C { // closed after the queued events
		n++
	}
	if n != 2 {
		t.Fatalf("dropped subscriber kept %d events, want its 2 queued", n)
	}
	if both.Dropped() {
		t.Fatal("a subscriber with room was dropped")
	}
	b.Unsubscribe(both)
	b.Unsubscribe(both) // twice is harmless
}

// memLog is an event log with cursors, as a store keeps them.
type memLog struct {
	mu      sync.Mutex
	events  []Event
	cursors map[string]int64
}

func (l *memLog) Cursor(_ context.Context, name string) (int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cursors[name], nil
}

func (l *memLog) EventsAfter(_ context.Context, after int64, limit int) ([]Event, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Event
	for _, e := range l.events {
		if e.ID > after && len(out) < limit {
			out = append(out, e)
		}
	}
	return out, nil
}

// applier commits its effect and the cursor together, and fails once on
// the event failOn, as a crash between two events would.
type applier struct {
	log     *memLog
	name    string
	applied []int64
	failOn  int64
}

func (a *applier) Handle(_ context.Context, e Event) error {
	if e.ID == a.failOn {
		a.failOn = 0
		return errors.New("disk full")
	}
	a.log.mu.Lock()
	defer a.log.mu.Unlock()
	a.applied = append(a.applied, e.ID)
	a.log.cursors[a.name] = e.ID
	return nil
}

func TestDurableAppliesEveryEventOnceInOrder(t *testing.T) {
	log := &memLog{cursors: map[string]int64{}}
	for i := int64(1); i <= 7; i++ {
		log.events = append(log.events, Event{ID: i, Kind: StateChange, Check: "c", Transition: state.Transition{Hard: i%2 == 0}})
	}
	h := &applier{log: log, name: "incidents", failOn: 5}
	d := &Durable{Name: "incidents", Log: log, Handler: h, Batch: 3}
	ctx := context.Background()
	if n, err := d.Step(ctx); n != 3 || err != nil {
		t.Fatalf("first batch: %d %v", n, err)
	}
	n, err := d.Step(ctx)
	if n != 1 || err == nil {
		t.Fatalf("batch with a failing event: %d %v (want 1 applied and the error)", n, err)
	}
	// A restart: a new subscription resumes from the persisted cursor.
	d2 := &Durable{Name: "incidents", Log: log, Handler: h, Batch: 3}
	for {
		n, err := d2.Step(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	want := []int64{1, 2, 3, 4, 5, 6, 7}
	if len(h.applied) != len(want) {
		t.Fatalf("applied %v, want %v", h.applied, want)
	}
	for i := range want {
		if h.applied[i] != want[i] {
			t.Fatalf("applied %v, want %v", h.applied, want)
		}
	}
}

func TestDurableRunWakesOnTheBus(t *testing.T) {
	log := &memLog{cursors: map[string]int64{}}
	h := &applier{log: log, name: "x"}
	b := NewBus()
	sub := b.Subscribe(16, StateChange)
	defer b.Unsubscribe(sub)
	var errs []error
	d := &Durable{Name: "x", Log: log, Handler: h, Wake: Wake(sub), Poll: time.Hour, OnError: func(err error) { errs = append(errs, err) }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.Run(ctx); close(done) }()
	log.mu.Lock()
	log.events = append(log.events, Event{ID: 1, Kind: StateChange})
	log.mu.Unlock()
	b.Publish(Event{ID: 1, Kind: StateChange})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, _ := log.Cursor(ctx, "x")
		if c == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the event was not applied after the bus woke the subscription (poll is an hour)")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if len(errs) != 0 {
		t.Fatal(errs)
	}
}
