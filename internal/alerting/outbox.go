package alerting

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	"github.com/mamori/mamori/internal/incident"
	"github.com/mamori/mamori/internal/notify"
	"github.com/mamori/mamori/internal/notify/tmpl"
	"github.com/mamori/mamori/internal/store"
)

// outboxLoop runs one worker per channel that has pending notifications.
// A channel's notifications go out one at a time, oldest first: when one
// fails, the channel waits (backoff) and retries it before any later one,
// so messages arrive in order once the provider is back.
func (s *Service) outboxLoop(ctx context.Context) {
	var mu sync.Mutex
	workers := map[string]chan struct{}{}
	var wg sync.WaitGroup
	defer wg.Wait()
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		chans, err := s.st.PendingChannels(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.Error("outbox", "err", err)
		}
		mu.Lock()
		for _, name := range chans {
			if w, ok := workers[name]; ok {
				select { // nudge a sleeping worker
				case w <- struct{}{}:
				default:
				}
				continue
			}
			w := make(chan struct{}, 1)
			workers[name] = w
			wg.Add(1)
			go func(name string, w chan struct{}) {
				defer wg.Done()
				s.channelWorker(ctx, name, w)
				mu.Lock()
				delete(workers, name)
				mu.Unlock()
			}(name, w)
		}
		mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-s.outboxCh:
		case <-t.C:
		}
	}
}

// channelWorker delivers one channel's FIFO until it is empty.
func (s *Service) channelWorker(ctx context.Context, channel string, wake chan struct{}) {
	for ctx.Err() == nil {
		n, err := s.st.NextNotification(ctx, channel)
		if err != nil {
			s.log.Error("outbox: next notification", "channel", channel, "err", err)
			return
		}
		if n == nil {
			return
		}
		if wait := n.NextAt.Sub(s.now()); wait > 0 {
			timer := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				timer.Stop()
				return
			case <-wake:
				timer.Stop()
				continue
			case <-timer.C:
			}
		}
		s.deliver(ctx, n)
	}
}

// backoff is the wait before attempt n+1: 2s, 4s, 8s … capped at 5 minutes, ±20 %.
func backoff(attempts int) time.Duration {
	d := 2 * time.Second << min(attempts-1, 8)
	d = min(d, 5*time.Minute)
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// deliver makes one attempt at a notification and records it.
func (s *Service) deliver(ctx context.Context, n *incident.Notification) {
	var m notify.Message
	err := json.Unmarshal(n.Payload, &m)
	if err == nil {
		m.ID = "mamori-" + strconv.FormatInt(n.ID, 10)
		if m.Kind != notify.KindReport { // reports come rendered
			err = tmpl.Render(&m)
		}
	}
	nt := s.notifier(n.Channel)
	start := s.now()
	var rcpt notify.Receipt
	switch {
	case err != nil:
		err = notify.Permanent(fmt.Errorf("render: %w", err))
	case nt == nil:
		err = notify.Permanent(fmt.Errorf("channel %q is no longer configured", n.Channel))
	default:
		cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		rcpt, err = nt.Notify(cctx, m)
		cancel()
		if ctx.Err() != nil {
			// Shutting down mid-send: the outcome is unknown and nothing
			// is recorded; the notification stays pending and is sent
			// again after the restart (only confirmed deliveries are final).
			return
		}
	}
	now := s.now()
	n.Attempts++
	d := incident.Delivery{Attempt: n.Attempts, Time: start, OK: err == nil, Duration: now.Sub(start).Seconds()}
	who := n.Contact
	if who == "" {
		who = n.Channel
	}
	var tl *incident.Timeline
	var reported bool
	switch {
	case err == nil:
		n.Status, n.DeliveredAt, n.ProviderID, n.LastError = incident.NotifyDelivered, &now, rcpt.ProviderID, ""
		l := incident.Line(now, "notified", "notified", fmt.Sprintf("%s notification to %s via %s delivered", n.Kind, who, n.Channel),
			incident.Word("notify.kind."+string(n.Kind)), incident.Str(who), incident.Str(n.Channel))
		if who == n.Channel { // the channel's own destination: say it once
			l = incident.Line(now, "notified", "notified.channel", fmt.Sprintf("%s notification delivered to %s", n.Kind, who),
				incident.Word("notify.kind."+string(n.Kind)), incident.Str(who))
		}
		l.Actor, tl = who, &l
		reported = n.Kind == notify.KindRecovery
	case notify.IsPermanent(err) || now.Sub(n.CreatedAt) > s.config().Incidents.GiveUpAfter:
		d.Error = err.Error()
		n.Status, n.LastError = incident.NotifyFailed, err.Error()
		l := incident.Line(now, "notify_failed", "notify_failed", fmt.Sprintf("%s notification to %s via %s failed after %d attempts: %v", n.Kind, who, n.Channel, n.Attempts, err),
			incident.Word("notify.kind."+string(n.Kind)), incident.Str(who), incident.Str(n.Channel), incident.Str(fmt.Sprint(n.Attempts)), incident.Str(err.Error()))
		l.Actor, tl = who, &l
	default:
		d.Error = err.Error()
		wait := backoff(n.Attempts)
		var ra interface{ RetryAfter() time.Duration }
		if errors.As(err, &ra) && ra.RetryAfter() > wait {
			wait = min(ra.RetryAfter(), time.Hour) // the provider asked us to slow down
		}
		n.LastError, n.NextAt = err.Error(), now.Add(wait)
		s.log.Warn("notification not delivered; will retry", "channel", n.Channel, "id", n.ID, "attempt", n.Attempts, "retry_at", n.NextAt.Format(time.RFC3339), "err", err)
	}
	werr := s.st.RecordDelivery(context.WithoutCancel(ctx), n, d, func(tx incident.Tx) error {
		if n.TicketID != 0 && tl != nil { // a ticket's message: on the ticket's timeline
			return tx.AddTicketTimeline(ctx, n.TicketID, *tl)
		}
		return s.recordOutcome(ctx, tx, n.IncidentID, tl, reported, now)
	})
	if werr != nil {
		s.log.Error("outbox: record delivery", "id", n.ID, "err", werr)
		time.Sleep(time.Second) // the store is failing: do not spin
	}
	if s.Hooks.Delivered != nil {
		s.Hooks.Delivered(n, err == nil)
	}
}

// recordOutcome puts a delivery's timeline entry on the incident and, for
// the first delivered recovery notification, marks the recovery reported.
func (s *Service) recordOutcome(ctx context.Context, tx incident.Tx, incidentID int64, tl *incident.Timeline, reported bool, now time.Time) error {
	if tl == nil || incidentID == 0 { // a report belongs to no incident
		return nil
	}
	if err := tx.AddTimeline(ctx, incidentID, *tl); err != nil {
		return err
	}
	if !reported {
		return nil
	}
	in, err := tx.Incident(ctx, incidentID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && in.ReportedAt != nil) {
		return nil
	} else if err != nil {
		return err
	}
	in.ReportedAt = &now
	if err := tx.UpdateIncident(ctx, in); err != nil {
		return err
	}
	return tx.AddTimeline(ctx, in.ID, incident.Line(now, "reported", "reported", "recovery reported"))
}

// EnqueueReport queues an already rendered message (a report, with its
// attachments) to one recipient on a channel through the durable outbox.
// dedup makes it idempotent: the same report is queued once per recipient.
func (s *Service) EnqueueReport(ctx context.Context, channel, contact string, m notify.Message, dedup string) (bool, error) {
	m.Kind = notify.KindReport
	payload, err := json.Marshal(m)
	if err != nil {
		return false, err
	}
	now := s.now()
	n := &incident.Notification{Channel: channel, Contact: contact, Recipient: m.To, Kind: notify.KindReport,
		NextAt: now, CreatedAt: now, Payload: payload, Dedup: "report/" + dedup + "/" + channel + "/" + contact}
	var queued bool
	err = s.st.Write(ctx, func(tx incident.Tx) error {
		queued, err = tx.Enqueue(ctx, n)
		return err
	})
	if queued {
		s.kick(s.outboxCh)
	}
	return queued, err
}
