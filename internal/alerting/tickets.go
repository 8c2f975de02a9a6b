package alerting

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"

	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/incident"
	"github.com/mamori/mamori/internal/notify"
)

// ticketTextMax bounds the excerpt of a ticket's body or comment in a
// message (characters).
const ticketTextMax = 1000

// TicketNotices returns the writes that queue a ticket event's
// notifications, to run inside the transaction that stores the ticket or
// its comment (the store's CreateTicket and AddTicketComment take it), so
// that the event and its messages commit together: nothing is lost on a
// crash. A customer's new ticket (notify.TicketOpened) or comment
// (notify.TicketComment) goes to the operators (tickets.notify); an
// operator's reply visible to the customer (notify.TicketReply) to the
// tenant's ticket contacts through tickets.customer_channel. Call
// KickOutbox after the commit.
func (s *Service) TicketNotices(t *incident.Ticket, event, author, text string) func(tx incident.Tx) error {
	return func(tx incident.Tx) error {
		cfg := s.config()
		var targets []config.Target
		if event == notify.TicketReply {
			ch := cfg.TicketChannel()
			for _, ct := range cfg.TicketContacts(t.Tenant) {
				targets = append(targets, config.Target{Channel: ch, Contact: ct.Name})
			}
		} else {
			targets = cfg.OperatorTargets()
		}
		key := strconv.FormatInt(s.now().UnixNano(), 36)
		for _, tg := range targets {
			if _, err := s.enqueueTicket(context.Background(), tx, cfg, t, tg, event, author, text, key); err != nil {
				return err
			}
		}
		return nil
	}
}

// KickOutbox wakes the outbox after notifications were queued outside the
// service (TicketNotices).
func (s *Service) KickOutbox() { s.kick(s.outboxCh) }

// enqueueTicket writes one ticket message's outbox row for one target.
func (s *Service) enqueueTicket(ctx context.Context, tx incident.Tx, cfg *config.Config, t *incident.Ticket, tg config.Target, event, author, text, key string) (bool, error) {
	ch, lang := channelLang(cfg, tg)
	if ch == nil {
		return false, nil
	}
	if event == notify.TicketReply {
		lang = cfg.Tenant(t.Tenant).Lang
	}
	if utf8.RuneCountInString(text) > ticketTextMax {
		text = string([]rune(text)[:ticketTextMax]) + "…"
	}
	m := notify.Message{Kind: notify.KindTicket, Lang: lang, Contact: tg.Contact, Tenant: t.Tenant, Time: s.now().UTC(),
		Thread: fmt.Sprintf("ticket/%d/%d", t.ID, t.CreatedAt.UnixMilli()),
		Ticket: &notify.TicketInfo{ID: t.ID, Event: event, Title: t.Title, Kind: t.Kind, Priority: t.Priority, Author: author, Text: text,
			URL: s.url(fmt.Sprintf("/tickets/%d", t.ID))}}
	if ct := cfg.Contact(tg.Contact); ct != nil {
		if ct.Lang != "" {
			m.Lang = ct.Lang
		}
		m.TimeZone = ct.TimeZone
		if ch.Kind != nil {
			m.To = ct.Address(ch.Kind.Recipient)
		}
		if m.To == "" && ch.Kind != nil && ch.Kind.Recipient != "" {
			return false, nil // the contact cannot be reached on this channel
		}
	}
	payload, err := json.Marshal(m)
	if err != nil {
		return false, err
	}
	now := s.now()
	n := &incident.Notification{TicketID: t.ID, Channel: ch.Name, Contact: tg.Contact, Recipient: m.To, Kind: notify.KindTicket,
		NextAt: now, CreatedAt: now, Payload: payload,
		Dedup: fmt.Sprintf("ticket/%d/%s/%s/%s/%s", t.ID, event, key, ch.Name, tg.Contact)}
	return tx.Enqueue(ctx, n)
}

// TicketOpenedNotices are the follow-up writes of a new ticket: a
// customer's (or viewer's) tells the operators; one an operator opens
// tells no one. A nil service queues nothing.
func (s *Service) TicketOpenedNotices(t *incident.Ticket, byOperator bool) []func(incident.Tx) error {
	if s == nil || byOperator {
		return nil
	}
	return []func(incident.Tx) error{s.TicketNotices(t, notify.TicketOpened, t.CreatedBy, t.Body)}
}

// TicketCommentNotices are the follow-up writes of a ticket comment: a
// customer's tells the operators; an operator's reply visible to the
// customer tells the tenant's ticket contacts; an internal comment tells
// no one.
func (s *Service) TicketCommentNotices(t *incident.Ticket, author, text, visibility string, byOperator bool) []func(incident.Tx) error {
	switch {
	case s == nil:
		return nil
	case !byOperator:
		return []func(incident.Tx) error{s.TicketNotices(t, notify.TicketComment, author, text)}
	case visibility == incident.VisibilityCustomer:
		return []func(incident.Tx) error{s.TicketNotices(t, notify.TicketReply, author, text)}
	}
	return nil
}
