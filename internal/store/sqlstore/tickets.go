package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/incident"
	"github.com/mamori/mamori/internal/store"
)

// The ticket timeline lives in the timeline table of incidents.go (its
// ticket_id column); that file's init runs first (files initialise in name
// order), so the index below finds the table.

const ticketCols = `id, tenant, kind, title, body, status, priority, assignee, created_by, created_at, updated_at, closed_at, hosts, checks, incident_ids`

func scanTicket(r scanner) (*incident.Ticket, error) {
	var t incident.Ticket
	var created, updated, closed int64
	var hosts, checks, incidents string
	if err := r.Scan(&t.ID, &t.Tenant, &t.Kind, &t.Title, &t.Body, &t.Status, &t.Priority, &t.Assignee, &t.CreatedBy,
		&created, &updated, &closed, &hosts, &checks, &incidents); err != nil {
		return nil, err
	}
	t.CreatedAt, t.UpdatedAt, t.ClosedAt = fromMS(created), fromMS(updated), tptr(closed)
	_ = json.Unmarshal([]byte(hosts), &t.Hosts)
	_ = json.Unmarshal([]byte(checks), &t.Checks)
	_ = json.Unmarshal([]byte(incidents), &t.IncidentIDs)
	if t.Hosts == nil {
		t.Hosts = []string{}
	}
	if t.Checks == nil {
		t.Checks = []string{}
	}
	if t.IncidentIDs == nil {
		t.IncidentIDs = []int64{}
	}
	return &t, nil
}

func jsonIDs(v []int64) string {
	if v == nil {
		v = []int64{}
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// ticketNow is the current time at the store's millisecond precision, so
// that a returned ticket equals the stored one.
func ticketNow() time.Time { return time.UnixMilli(time.Now().UnixMilli()).UTC() }

// cleanTicket trims names and drops duplicate links, keeping their order.
func cleanTicket(t *incident.Ticket) {
	t.Title = strings.TrimSpace(t.Title)
	t.Tenant, t.Assignee = strings.TrimSpace(t.Tenant), strings.TrimSpace(t.Assignee)
	dedup := func(in []string) []string {
		out := []string{}
		for _, v := range in {
			if v = strings.TrimSpace(v); !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
		return out
	}
	t.Hosts, t.Checks = dedup(t.Hosts), dedup(t.Checks)
	ids := []int64{}
	for _, id := range t.IncidentIDs {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	t.IncidentIDs = ids
}

type ticketEntry struct {
	kind, text string
	data       any
}

func addTicketTimeline(ctx context.Context, tx *Tx, id int64, at time.Time, actor string, e ticketEntry) error {
	return addTicketEntry(ctx, tx, id, at, actor, e, "")
}

// addTicketEntry adds a timeline entry; visibility is a comment's.
func addTicketEntry(ctx context.Context, tx *Tx, id int64, at time.Time, actor string, e ticketEntry, visibility string) error {
	data := ""
	if e.data != nil {
		b, err := json.Marshal(e.data)
		if err != nil {
			return err
		}
		data = string(b)
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO timeline(ticket_id, t, kind, actor, text, data, visibility) VALUES (?,?,?,?,?,?,?)`,
		id, ms(at), e.kind, actor, e.text, data, visibility)
	if err != nil {
		return fmt.Errorf("store: ticket timeline: %w", err)
	}
	return nil
}

type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func ticketTimeline(ctx context.Context, q querier, id int64) ([]incident.Timeline, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, t, kind, actor, text, data, visibility FROM timeline WHERE ticket_id = ? ORDER BY id`, id)
	if err != nil {
		return nil, fmt.Errorf("store: ticket timeline: %w", err)
	}
	defer rows.Close()
	out := []incident.Timeline{}
	for rows.Next() {
		var e incident.Timeline
		var t int64
		var data string
		if err := rows.Scan(&e.ID, &t, &e.Kind, &e.Actor, &e.Text, &data, &e.Visibility); err != nil {
			return nil, fmt.Errorf("store: ticket timeline: %w", err)
		}
		e.Time = fromMS(t)
		if data != "" {
			e.Data = json.RawMessage(data)
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// CreateTicket stores a new ticket with its "created" timeline entry.
func (s *Store) CreateTicket(ctx context.Context, t *incident.Ticket, then ...func(incident.Tx) error) error {
	cleanTicket(t)
	if t.Status == "" {
		t.Status = incident.TicketOpen
	}
	if t.Priority == "" {
		t.Priority = incident.TicketNormal
	}
	if t.Kind == "" {
		t.Kind = incident.TicketInquiry
	}
	if err := t.Validate(); err != nil {
		return err
	}
	if t.CreatedAt.IsZero() {
		t.CreatedAt = ticketNow()
	}
	t.CreatedAt = fromMS(ms(t.CreatedAt))
	t.UpdatedAt = t.CreatedAt
	t.ClosedAt = nil
	if t.Status == incident.TicketClosed {
		c := t.CreatedAt
		t.ClosedAt = &c
	}
	return s.write(ctx, func(tx *Tx) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO tickets(tenant, kind, title, body, status, priority, assignee, created_by, created_at, updated_at, closed_at, hosts, checks, incident_ids)
			VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id`,
			t.Tenant, t.Kind, t.Title, t.Body, t.Status, t.Priority, t.Assignee, t.CreatedBy, ms(t.CreatedAt), ms(t.UpdatedAt), pms(t.ClosedAt),
			jsonList(t.Hosts), jsonList(t.Checks), jsonIDs(t.IncidentIDs)).Scan(&t.ID); err != nil {
			return fmt.Errorf("store: create ticket: %w", err)
		}
		entries := []ticketEntry{{kind: "created", text: t.Kind + " opened: " + t.Title,
			data: map[string]string{"kind": t.Kind, "status": t.Status, "priority": t.Priority}}}
		if t.Assignee != "" {
			entries = append(entries, ticketEntry{kind: "assigned", text: "assigned to " + t.Assignee, data: map[string]string{"to": t.Assignee}})
		}
		for _, e := range entries {
			if err := addTicketTimeline(ctx, tx, t.ID, t.CreatedAt, t.CreatedBy, e); err != nil {
				return err
			}
		}
		var err error
		if t.Timeline, err = ticketTimeline(ctx, tx, t.ID); err != nil {
			return err
		}
		return runThen(tx, then)
	})
}

// runThen runs a ticket write's follow-up writes (the notifications it
// queues) in its transaction.
func runThen(tx *Tx, then []func(incident.Tx) error) error {
	for _, fn := range then {
		if err := fn(txn{tx}); err != nil {
			return err
		}
	}
	return nil
}

// Ticket returns a ticket with its timeline (store.ErrNotFound).
func (s *Store) Ticket(ctx context.Context, id int64) (*incident.Ticket, error) {
	// One read transaction, so that the ticket and its timeline agree.
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, fmt.Errorf("store: ticket: %w", err)
	}
	defer tx.Rollback()
	t, err := scanTicket(tx.QueryRowContext(ctx, `SELECT `+ticketCols+` FROM tickets WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: ticket: %w", err)
	}
	if t.Timeline, err = ticketTimeline(ctx, tx, id); err != nil {
		return nil, err
	}
	return t, nil
}

// Tickets lists tickets matching q, newest first, without timelines.
func (s *Store) Tickets(ctx context.Context, q incident.TicketQuery) ([]*incident.Ticket, error) {
	var where []string
	var args []any
	if len(q.Statuses) > 0 {
		where = append(where, "status IN ("+strings.TrimSuffix(strings.Repeat("?,", len(q.Statuses)), ",")+")")
		for _, st := range q.Statuses {
			args = append(args, st)
		}
	}
	for _, f := range []struct{ col, v string }{{"tenant", q.Tenant}, {"assignee", q.Assignee}, {"kind", q.Kind}} {
		if f.v != "" {
			where, args = append(where, f.col+" = ?"), append(args, f.v)
		}
	}
	if q.Text != "" {
		where = append(where, `(`+s.d.Instr+`(lower(title), lower(?)) > 0 OR `+s.d.Instr+`(lower(body), lower(?)) > 0
			OR EXISTS (SELECT 1 FROM timeline c WHERE c.ticket_id = tickets.id AND c.kind = 'comment' AND `+s.d.Instr+`(lower(c.text), lower(?)) > 0))`)
		args = append(args, q.Text, q.Text, q.Text)
	}
	if !q.Since.IsZero() {
		where, args = append(where, "created_at >= ?"), append(args, ms(q.Since))
	}
	if !q.Until.IsZero() {
		where, args = append(where, "created_at < ?"), append(args, ms(q.Until))
	}
	limit := q.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	text := `SELECT ` + ticketCols + ` FROM tickets`
	if len(where) > 0 {
		text += " WHERE " + strings.Join(where, " AND ")
	}
	text += fmt.Sprintf(" ORDER BY id DESC LIMIT %d OFFSET %d", limit, max(q.Offset, 0))
	rows, err := s.rdb.QueryContext(ctx, text, args...)
	if err != nil {
		return nil, fmt.Errorf("store: tickets: %w", err)
	}
	defer rows.Close()
	out := []*incident.Ticket{}
	for rows.Next() {
		t, err := scanTicket(rows)
		if err != nil {
			return nil, fmt.Errorf("store: tickets: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// UpdateTicket changes a ticket through fn in one transaction, with a
// timeline entry per changed field.
func (s *Store) UpdateTicket(ctx context.Context, id int64, fn func(*incident.Ticket) error, actor string) (*incident.Ticket, error) {
	var out *incident.Ticket
	err := s.write(ctx, func(tx *Tx) error {
		old, err := scanTicket(tx.QueryRowContext(ctx, `SELECT `+ticketCols+` FROM tickets WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("store: ticket: %w", err)
		}
		t := *old
		t.Hosts, t.Checks, t.IncidentIDs = slices.Clone(old.Hosts), slices.Clone(old.Checks), slices.Clone(old.IncidentIDs)
		if err := fn(&t); err != nil {
			return err
		}
		// What fn may not change.
		t.ID, t.CreatedBy, t.CreatedAt, t.UpdatedAt, t.ClosedAt, t.Timeline = old.ID, old.CreatedBy, old.CreatedAt, old.UpdatedAt, old.ClosedAt, nil
		cleanTicket(&t)
		if err := t.Validate(); err != nil {
			return err
		}
		entries := ticketChanges(old, &t)
		if len(entries) > 0 {
			now := ticketNow()
			t.UpdatedAt = now
			switch {
			case t.Status == incident.TicketClosed && old.Status != incident.TicketClosed:
				t.ClosedAt = &now
			case t.Status != incident.TicketClosed:
				t.ClosedAt = nil
			}
			if _, err := tx.ExecContext(ctx, `UPDATE tickets SET tenant=?, kind=?, title=?, body=?, status=?, priority=?, assignee=?, updated_at=?, closed_at=?,
				hosts=?, checks=?, incident_ids=? WHERE id=?`,
				t.Tenant, t.Kind, t.Title, t.Body, t.Status, t.Priority, t.Assignee, ms(t.UpdatedAt), pms(t.ClosedAt),
				jsonList(t.Hosts), jsonList(t.Checks), jsonIDs(t.IncidentIDs), id); err != nil {
				return fmt.Errorf("store: update ticket: %w", err)
			}
			for _, e := range entries {
				if err := addTicketTimeline(ctx, tx, id, now, actor, e); err != nil {
					return err
				}
			}
		}
		if t.Timeline, err = ticketTimeline(ctx, tx, id); err != nil {
			return err
		}
		out = &t
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ticketChanges describes each changed field as a timeline entry.
func ticketChanges(old, t *incident.Ticket) []ticketEntry {
	var out []ticketEntry
	fromTo := func(from, to string) map[string]string { return map[string]string{"from": from, "to": to} }
	if old.Status != t.Status {
		kind := "status"
		switch {
		case t.Status == incident.TicketClosed:
			kind = "closed"
		case t.Status == incident.TicketResolved:
			kind = "resolved"
		case old.Status == incident.TicketClosed || old.Status == incident.TicketResolved:
			kind = "reopened"
		}
		out = append(out, ticketEntry{kind, "status " + old.Status + " → " + t.Status, fromTo(old.Status, t.Status)})
	}
	if old.Assignee != t.Assignee {
		text := "assigned to " + t.Assignee
		if t.Assignee == "" {
			text = "unassigned (was " + old.Assignee + ")"
		}
		out = append(out, ticketEntry{"assigned", text, fromTo(old.Assignee, t.Assignee)})
	}
	if old.Priority != t.Priority {
		out = append(out, ticketEntry{"priority", "priority " + old.Priority + " → " + t.Priority, fromTo(old.Priority, t.Priority)})
	}
	if old.Kind != t.Kind {
		out = append(out, ticketEntry{"kind", "kind " + old.Kind + " → " + t.Kind, fromTo(old.Kind, t.Kind)})
	}
	if old.Tenant != t.Tenant {
		out = append(out, ticketEntry{"tenant", "tenant " + quoteEmpty(old.Tenant) + " → " + quoteEmpty(t.Tenant), fromTo(old.Tenant, t.Tenant)})
	}
	if old.Title != t.Title {
		out = append(out, ticketEntry{"title", fmt.Sprintf("title %q → %q", old.Title, t.Title), fromTo(old.Title, t.Title)})
	}
	if old.Body != t.Body {
		out = append(out, ticketEntry{"body", "description edited", nil})
	}
	if e, ok := linkChange("hosts", "host", old.Hosts, t.Hosts, func(v string) string { return v }); ok {
		out = append(out, e)
	}
	if e, ok := linkChange("checks", "check", old.Checks, t.Checks, func(v string) string { return v }); ok {
		out = append(out, e)
	}
	if e, ok := linkChange("incident_ids", "incident", old.IncidentIDs, t.IncidentIDs, func(v int64) string { return fmt.Sprintf("#%d", v) }); ok {
		out = append(out, e)
	}
	return out
}

// linkChange describes the links added to and removed from a list, as
// "linked host a, b; unlinked host c".
func linkChange[T comparable](field, one string, from, to []T, show func(T) string) (ticketEntry, bool) {
	added, removed := diffLinks(from, to), diffLinks(to, from)
	if len(added) == 0 && len(removed) == 0 {
		return ticketEntry{}, false
	}
	var parts []string
	for _, p := range []struct {
		verb string
		vs   []T
	}{{"linked", added}, {"unlinked", removed}} {
		if len(p.vs) == 0 {
			continue
		}
		names := make([]string, len(p.vs))
		for i, v := range p.vs {
			names[i] = show(v)
		}
		parts = append(parts, p.verb+" "+one+" "+strings.Join(names, ", "))
	}
	return ticketEntry{"link", strings.Join(parts, "; "), map[string]any{"field": field, "added": added, "removed": removed}}, true
}

// diffLinks is what b has that a has not, in b's order (never nil).
func diffLinks[T comparable](a, b []T) []T {
	out := []T{}
	for _, v := range b {
		if !slices.Contains(a, v) {
			out = append(out, v)
		}
	}
	return out
}

func quoteEmpty(s string) string {
	if s == "" {
		return `""`
	}
	return s
}

// AddTicketComment appends a comment of a visibility (internal or
// customer) to the timeline; it also bumps the ticket's updated_at.
func (s *Store) AddTicketComment(ctx context.Context, id int64, actor, text, visibility string, then ...func(incident.Tx) error) error {
	if err := incident.ValidateTicketComment(text); err != nil {
		return err
	}
	visibility, err := incident.ParseVisibility(visibility, incident.VisibilityInternal)
	if err != nil {
		return &incident.TicketError{Field: "visibility", Msg: err.Error()}
	}
	return s.write(ctx, func(tx *Tx) error {
		now := ticketNow()
		res, err := tx.ExecContext(ctx, `UPDATE tickets SET updated_at = ? WHERE id = ?`, ms(now), id)
		if err != nil {
			return fmt.Errorf("store: ticket comment: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		if err := addTicketEntry(ctx, tx, id, now, actor, ticketEntry{kind: "comment", text: text}, visibility); err != nil {
			return err
		}
		return runThen(tx, then)
	})
}
