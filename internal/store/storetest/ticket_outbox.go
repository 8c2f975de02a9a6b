package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/incident"
)

// testTicketOutbox: a ticket's (or comment's) notifications are queued in
// the transaction that stores it: they commit together, and a failing
// follow-up write leaves neither the ticket nor the comment.
func testTicketOutbox(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	now := time.Now()
	queue := func(tk *incident.Ticket, key string) func(incident.Tx) error {
		return func(tx incident.Tx) error {
			_, err := tx.Enqueue(ctx, &incident.Notification{TicketID: tk.ID, Channel: "ops", Kind: "ticket", NextAt: now, CreatedAt: now,
				Payload: []byte("{}"), Dedup: "ticket/" + key})
			return err
		}
	}
	tk := &incident.Ticket{Tenant: "acme", Title: "slow at night", CreatedBy: "acme-user"}
	must(t, s.CreateTicket(ctx, tk, func(tx incident.Tx) error { return queue(tk, "open")(tx) }))
	must(t, s.AddTicketComment(ctx, tk.ID, "acme-user", "still slow", "customer", queue(tk, "comment")))
	ns, err := s.Notifications(ctx, 0, "", 100)
	must(t, err)
	var found int
	for _, n := range ns {
		if n.Kind == "ticket" && n.TicketID == tk.ID && n.IncidentID == 0 {
			found++
		}
	}
	if found != 2 {
		t.Fatalf("%d ticket outbox rows for ticket %d, want 2", found, tk.ID)
	}
	boom := errors.New("boom")
	lost := &incident.Ticket{Tenant: "acme", Title: "never stored", CreatedBy: "acme-user"}
	if err := s.CreateTicket(ctx, lost, func(incident.Tx) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("a failing follow-up: %v", err)
	}
	ts, err := s.Tickets(ctx, incident.TicketQuery{Text: "never stored"})
	must(t, err)
	if len(ts) != 0 {
		t.Errorf("the ticket was stored although its notifications failed")
	}
	if err := s.AddTicketComment(ctx, tk.ID, "x", "lost comment", "", func(incident.Tx) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("a failing follow-up of a comment: %v", err)
	}
	got, err := s.Ticket(ctx, tk.ID)
	must(t, err)
	for _, e := range got.Timeline {
		if e.Text == "lost comment" {
			t.Errorf("the comment was stored although its notifications failed")
		}
	}
}
