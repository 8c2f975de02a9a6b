package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/incident"
	"github.com/mamori/mamori/internal/store"
)

func ticketIDs(ts []*incident.Ticket) []int64 {
	out := []int64{}
	for _, t := range ts {
		out = append(out, t.ID)
	}
	return out
}

func sameIDs(a []int64, b ...int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func timelineKinds(tl []incident.Timeline) string {
	var ks []string
	for _, e := range tl {
		ks = append(ks, e.Kind)
	}
	return strings.Join(ks, ",")
}

func testTicketCreateAndGet(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	t0 := time.Date(2026, 11, 1, 3, 0, 0, 123_456_789, time.UTC)
	tk := &incident.Ticket{Tenant: "acme", Title: "  Web site slow  ", Body: "since this morning", CreatedBy: "taro", CreatedAt: t0,
		Assignee: "hanako", Hosts: []string{"web1", "web1", " web2 "}, Checks: []string{"web1/http"}, IncidentIDs: []int64{7, 7}}
	if err := s.CreateTicket(ctx, tk); err != nil {
		t.Fatal(err)
	}
	if tk.ID == 0 || tk.Status != incident.TicketOpen || tk.Priority != incident.TicketNormal || tk.Kind != incident.TicketInquiry {
		t.Fatalf("defaults not filled in: %+v", tk)
	}
	if tk.Title != "Web site slow" || !tk.CreatedAt.Equal(t0.Truncate(time.Millisecond)) || !tk.UpdatedAt.Equal(tk.CreatedAt) || tk.ClosedAt != nil {
		t.Fatalf("created %+v", tk)
	}
	if got := timelineKinds(tk.Timeline); got != "created,assigned" {
		t.Fatalf("timeline of the created ticket: %s", got)
	}
	got, err := s.Ticket(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Tenant != "acme" || got.Title != "Web site slow" || got.Body != "since this morning" || got.CreatedBy != "taro" || got.Assignee != "hanako" ||
		!got.CreatedAt.Equal(tk.CreatedAt) || got.ClosedAt != nil {
		t.Fatalf("read back %+v", got)
	}
	if strings.Join(got.Hosts, ",") != "web1,web2" || strings.Join(got.Checks, ",") != "web1/http" || len(got.IncidentIDs) != 1 || got.IncidentIDs[0] != 7 {
		t.Fatalf("links %v %v %v", got.Hosts, got.Checks, got.IncidentIDs)
	}
	if len(got.Timeline) != 2 || got.Timeline[0].Kind != "created" || got.Timeline[0].Actor != "taro" || !got.Timeline[0].Time.Equal(tk.CreatedAt) ||
		got.Timeline[1].Text != "assigned to hanako" {
		t.Fatalf("timeline %+v", got.Timeline)
	}
	// Links are never null in JSON.
	empty := &incident.Ticket{Title: "no links", Kind: incident.TicketOperation}
	if err := s.CreateTicket(ctx, empty); err != nil {
		t.Fatal(err)
	}
	got, err = s.Ticket(ctx, empty.ID)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(got)
	for _, want := range []string{`"hosts":[]`, `"checks":[]`, `"incident_ids":[]`, `"closed_at":null`, `"kind":"operation"`, `"timeline":[{`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s: %s", want, b)
		}
	}

	if _, err := s.Ticket(ctx, 9999); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing ticket: %v", err)
	}
}

func testTicketCreateValidation(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	for _, c := range []struct {
		tk    incident.Ticket
		field string
	}{
		{incident.Ticket{Title: ""}, "title"},
		{incident.Ticket{Title: "   "}, "title"},
		{incident.Ticket{Title: strings.Repeat("長", 201)}, "title"},
		{incident.Ticket{Title: "a\nb"}, "title"},
		{incident.Ticket{Title: "x", Body: strings.Repeat("b", 64<<10+1)}, "body"},
		{incident.Ticket{Title: "x", Status: "done"}, "status"},
		{incident.Ticket{Title: "x", Priority: "p1"}, "priority"},
		{incident.Ticket{Title: "x", Kind: "bug"}, "kind"},
		{incident.Ticket{Title: "x", Hosts: []string{""}}, "hosts[0]"},
		{incident.Ticket{Title: "x", IncidentIDs: []int64{-1}}, "incident_ids[0]"},
	} {
		tk := c.tk
		err := s.CreateTicket(ctx, &tk)
		var te *incident.TicketError
		if !errors.As(err, &te) || te.Field != c.field {
			t.Errorf("%+v: got %v, want an error on %s", c.tk, err, c.field)
		}
	}
	ok := incident.Ticket{Title: strings.Repeat("長", 200), Body: strings.Repeat("b", 64<<10)}
	if err := s.CreateTicket(ctx, &ok); err != nil {
		t.Fatalf("limits themselves are allowed: %v", err)
	}
	if ts, err := s.Tickets(ctx, incident.TicketQuery{}); err != nil || len(ts) != 1 {
		t.Fatalf("an invalid ticket was stored: %v %v", ticketIDs(ts), err)
	}
}

func testTicketList(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	mk := func(tenant, kind, title, body, assignee string, day int) int64 {
		tk := &incident.Ticket{Tenant: tenant, Kind: kind, Title: title, Body: body, Assignee: assignee, CreatedAt: t0.AddDate(0, 0, day)}
		if err := s.CreateTicket(ctx, tk); err != nil {
			t.Fatal(err)
		}
		return tk.ID
	}
	a := mk("acme", "inquiry", "Mail bounces", "from example.jp", "hanako", 0)
	b := mk("acme", "operation", "Renew certificate", "www.acme.example", "", 1)
	c := mk("other", "inquiry", "Disk full?", "ディスク使用率", "taro", 2)
	d := mk("", "operation", "Patch kernels", "all hosts", "hanako", 3)
	if _, err := s.UpdateTicket(ctx, b, func(tk *incident.Ticket) error { tk.Status = incident.TicketInProgress; return nil }, "op"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateTicket(ctx, d, func(tk *incident.Ticket) error { tk.Status = incident.TicketClosed; return nil }, "op"); err != nil {
		t.Fatal(err)
	}
	if err := s.AddTicketComment(ctx, c, "taro", "Looks like the LOG partition", ""); err != nil {
		t.Fatal(err)
	}
	for _, q := range []struct {
		name string
		q    incident.TicketQuery
		want []int64
	}{
		{"all, newest first", incident.TicketQuery{}, []int64{d, c, b, a}},
		{"one status", incident.TicketQuery{Statuses: []string{"open"}}, []int64{c, a}},
		{"statuses", incident.TicketQuery{Statuses: []string{"in_progress", "closed"}}, []int64{d, b}},
		{"tenant", incident.TicketQuery{Tenant: "acme"}, []int64{b, a}},
		{"assignee", incident.TicketQuery{Assignee: "hanako"}, []int64{d, a}},
		{"kind", incident.TicketQuery{Kind: "operation"}, []int64{d, b}},
		{"text in title, any case", incident.TicketQuery{Text: "mail"}, []int64{a}},
		{"text in body", incident.TicketQuery{Text: "ACME.EXAMPLE"}, []int64{b}},
		{"text in Japanese", incident.TicketQuery{Text: "使用率"}, []int64{c}},
		{"text in a comment", incident.TicketQuery{Text: "log partition"}, []int64{c}},
		{"text nowhere", incident.TicketQuery{Text: "nothing"}, []int64{}},
		{"since", incident.TicketQuery{Since: t0.AddDate(0, 0, 2)}, []int64{d, c}},
		{"until", incident.TicketQuery{Until: t0.AddDate(0, 0, 2)}, []int64{b, a}},
		{"since and until", incident.TicketQuery{Since: t0.AddDate(0, 0, 1), Until: t0.AddDate(0, 0, 3)}, []int64{c, b}},
		{"combined", incident.TicketQuery{Tenant: "acme", Statuses: []string{"open", "in_progress"}, Kind: "inquiry"}, []int64{a}},
		{"limit", incident.TicketQuery{Limit: 2}, []int64{d, c}},
		{"offset", incident.TicketQuery{Limit: 2, Offset: 2}, []int64{b, a}},
		{"offset past the end", incident.TicketQuery{Offset: 10}, []int64{}},
	} {
		ts, err := s.Tickets(ctx, q.q)
		if err != nil {
			t.Fatalf("%s: %v", q.name, err)
		}
		if got := ticketIDs(ts); !sameIDs(got, q.want...) {
			t.Errorf("%s: got %v, want %v", q.name, got, q.want)
		}
		for _, tk := range ts {
			if tk.Timeline != nil {
				t.Errorf("%s: list carries a timeline", q.name)
			}
		}
	}
}

func testTicketUpdateTimeline(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	tk := &incident.Ticket{Tenant: "acme", Title: "Add a check", CreatedBy: "acme-user", Hosts: []string{"web1"}}
	if err := s.CreateTicket(ctx, tk); err != nil {
		t.Fatal(err)
	}
	before := tk.UpdatedAt
	time.Sleep(2 * time.Millisecond)
	got, err := s.UpdateTicket(ctx, tk.ID, func(t *incident.Ticket) error {
		t.Status, t.Assignee, t.Priority = incident.TicketInProgress, "hanako", incident.TicketHigh
		t.Title, t.Body = "Add an HTTPS check", "for www"
		t.Hosts, t.Checks, t.IncidentIDs = []string{"web2"}, []string{"web2/https"}, []int64{3}
		t.CreatedBy, t.ID = "mallory", 42 // ignored
		return nil
	}, "operator1")
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != tk.ID || got.CreatedBy != "acme-user" || got.Status != "in_progress" || got.Assignee != "hanako" || got.Priority != "high" ||
		got.Title != "Add an HTTPS check" || !got.UpdatedAt.After(before) || got.ClosedAt != nil {
		t.Fatalf("updated %+v", got)
	}
	var texts []string
	for _, e := range got.Timeline[1:] {
		if e.Actor != "operator1" || !e.Time.Equal(got.UpdatedAt) {
			t.Errorf("entry %+v: actor or time", e)
		}
		texts = append(texts, e.Kind+": "+e.Text)
	}
	want := []string{
		"status: status open → in_progress",
		"assigned: assigned to hanako",
		"priority: priority normal → high",
		`title: title "Add a check" → "Add an HTTPS check"`,
		"body: description edited",
		"link: linked host web2; unlinked host web1",
		"link: linked check web2/https",
		"link: linked incident #3",
	}
	if strings.Join(texts, "\n") != strings.Join(want, "\n") {
		t.Fatalf("timeline:\n%s\nwant:\n%s", strings.Join(texts, "\n"), strings.Join(want, "\n"))
	}
	var data struct{ From, To string }
	if err := json.Unmarshal(got.Timeline[1].Data, &data); err != nil || data.From != "open" || data.To != "in_progress" {
		t.Fatalf("status data %s: %v", got.Timeline[1].Data, err)
	}
	stored, err := s.Ticket(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if b1, b2 := mustJSON(t, stored), mustJSON(t, got); b1 != b2 {
		t.Fatalf("returned ticket differs from the stored one:\n%s\n%s", b2, b1)
	}

	// No change, no entry and no new updated_at.
	same, err := s.UpdateTicket(ctx, tk.ID, func(t *incident.Ticket) error { t.Assignee = "hanako"; return nil }, "operator1")
	if err != nil || len(same.Timeline) != len(got.Timeline) || !same.UpdatedAt.Equal(got.UpdatedAt) {
		t.Fatalf("no-op update: %v %+v", err, same)
	}
	// Unassigning.
	un, err := s.UpdateTicket(ctx, tk.ID, func(t *incident.Ticket) error { t.Assignee = ""; return nil }, "operator1")
	if err != nil || un.Timeline[len(un.Timeline)-1].Text != "unassigned (was hanako)" {
		t.Fatalf("unassign: %v %+v", err, un.Timeline)
	}

	// An error from fn, or an invalid result, changes nothing.
	boom := errors.New("boom")
	if _, err := s.UpdateTicket(ctx, tk.ID, func(t *incident.Ticket) error { t.Title = "changed"; return boom }, "x"); !errors.Is(err, boom) {
		t.Fatalf("fn error: %v", err)
	}
	var te *incident.TicketError
	if _, err := s.UpdateTicket(ctx, tk.ID, func(t *incident.Ticket) error { t.Status = "finished"; return nil }, "x"); !errors.As(err, &te) || te.Field != "status" {
		t.Fatalf("invalid status: %v", err)
	}
	if after, _ := s.Ticket(ctx, tk.ID); after.Title != "Add an HTTPS check" || after.Status != "in_progress" || len(after.Timeline) != len(un.Timeline) {
		t.Fatalf("a failed update changed the ticket: %+v", after)
	}
	if _, err := s.UpdateTicket(ctx, 9999, func(*incident.Ticket) error { return nil }, "x"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing ticket: %v", err)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func testTicketCloseReopen(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	tk := &incident.Ticket{Title: "Restart the batch server"}
	if err := s.CreateTicket(ctx, tk); err != nil {
		t.Fatal(err)
	}
	set := func(status string) *incident.Ticket {
		t.Helper()
		got, err := s.UpdateTicket(ctx, tk.ID, func(t *incident.Ticket) error { t.Status = status; return nil }, "op")
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := set(incident.TicketResolved); got.ClosedAt != nil || got.Timeline[len(got.Timeline)-1].Kind != "resolved" {
		t.Fatalf("resolved: %+v", got)
	}
	closed := set(incident.TicketClosed)
	if closed.ClosedAt == nil || !closed.ClosedAt.Equal(closed.UpdatedAt) || closed.Timeline[len(closed.Timeline)-1].Text != "status resolved → closed" ||
		closed.Timeline[len(closed.Timeline)-1].Kind != "closed" {
		t.Fatalf("closed: %+v", closed)
	}
	// Another change to a closed ticket keeps its closing time.
	time.Sleep(2 * time.Millisecond)
	still, err := s.UpdateTicket(ctx, tk.ID, func(t *incident.Ticket) error { t.Priority = incident.TicketLow; return nil }, "op")
	if err != nil || still.ClosedAt == nil || !still.ClosedAt.Equal(*closed.ClosedAt) {
		t.Fatalf("closed ticket edited: %v %+v", err, still)
	}
	reopened := set(incident.TicketOpen)
	if reopened.ClosedAt != nil || reopened.Timeline[len(reopened.Timeline)-1].Kind != "reopened" {
		t.Fatalf("reopened: %+v", reopened)
	}
	if got, _ := s.Ticket(ctx, tk.ID); got.ClosedAt != nil || got.Status != "open" {
		t.Fatalf("stored after reopening: %+v", got)
	}
	if got := timelineKinds(reopened.Timeline); got != "created,resolved,closed,priority,reopened" {
		t.Fatalf("timeline %s", got)
	}
	// Created closed (a request done on the phone).
	done := &incident.Ticket{Title: "Done already", Status: incident.TicketClosed}
	if err := s.CreateTicket(ctx, done); err != nil || done.ClosedAt == nil {
		t.Fatalf("created closed: %v %+v", err, done)
	}
}

func testTicketComments(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	tk := &incident.Ticket{Title: "Question about the report"}
	if err := s.CreateTicket(ctx, tk); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Millisecond)
	if err := s.AddTicketComment(ctx, tk.ID, "acme-user", "毎月のレポートはどこですか?", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.AddTicketComment(ctx, tk.ID, "operator1", "Under /reports.", ""); err != nil {
		t.Fatal(err)
	}
	got, err := s.Ticket(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if timelineKinds(got.Timeline) != "created,comment,comment" || got.Timeline[1].Actor != "acme-user" || got.Timeline[1].Text != "毎月のレポートはどこですか?" ||
		got.Timeline[2].Actor != "operator1" || !got.UpdatedAt.After(got.CreatedAt) {
		t.Fatalf("comments: %+v", got)
	}
	var te *incident.TicketError
	if err := s.AddTicketComment(ctx, tk.ID, "x", "  ", ""); !errors.As(err, &te) || te.Field != "text" {
		t.Fatalf("empty comment: %v", err)
	}
	if err := s.AddTicketComment(ctx, tk.ID, "x", strings.Repeat("c", 64<<10+1), ""); !errors.As(err, &te) {
		t.Fatalf("long comment: %v", err)
	}
	if err := s.AddTicketComment(ctx, 9999, "x", "hello", ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("comment on a missing ticket: %v", err)
	}
	// The ticket timeline and an incident timeline do not mix.
	if other, err := s.Incident(ctx, tk.ID); err == nil && len(other.Timeline) > 0 {
		t.Fatalf("incident %d sees the ticket timeline", tk.ID)
	}
}

// Concurrent updates are serialised: no lost update.
func testTicketConcurrentUpdates(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	tk := &incident.Ticket{Title: "Counter"}
	if err := s.CreateTicket(ctx, tk); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			host := "h" + string(rune('a'+i))
			if _, err := s.UpdateTicket(ctx, tk.ID, func(t *incident.Ticket) error { t.Hosts = append(t.Hosts, host); return nil }, "op"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, err := s.Ticket(ctx, tk.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Hosts) != 20 || len(got.Timeline) != 21 {
		t.Fatalf("lost updates: %d hosts, %d timeline entries", len(got.Hosts), len(got.Timeline))
	}
}

// Reopening an existing database keeps the tickets (idempotent schema).
func testTicketReopenDatabase(t *testing.T, open Opener) {
	ctx := context.Background()
	s := open(t)
	tk := &incident.Ticket{Title: "Persisted"}
	if err := s.CreateTicket(ctx, tk); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t)
	defer s.Close()
	got, err := s.Ticket(ctx, tk.ID)
	if err != nil || got.Title != "Persisted" || len(got.Timeline) != 1 {
		t.Fatalf("after reopening: %v %+v", err, got)
	}
}
