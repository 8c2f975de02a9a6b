package alerting

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/incident"
	"github.com/mamori/mamori/internal/notify"
	"github.com/mamori/mamori/internal/store"
)

func (s *Service) escalationLoop(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.escalateDue(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("escalate", "err", err)
		}
	}
}

// escalateDue fires the next level of every unacknowledged incident whose
// time has come.
func (s *Service) escalateDue(ctx context.Context) error {
	due, err := s.st.DueEscalations(ctx, s.now())
	if err != nil {
		return err
	}
	for _, d := range due {
		var queued bool
		err := s.st.Write(ctx, func(tx incident.Tx) error {
			in, err := tx.Incident(ctx, d.ID)
			if err != nil {
				return err
			}
			now := s.now()
			if in.Status != incident.Open || in.EscNextAt == nil || in.EscNextAt.After(now) {
				return nil // acknowledged or rescheduled meanwhile
			}
			if s.inMaintenance(in.Check, now) {
				next := now.Add(time.Minute)
				in.EscNextAt = &next
				return tx.UpdateIncident(ctx, in)
			}
			cfg := s.config()
			level := in.EscLevel + 1
			kind := notify.KindProblem
			if in.EscRound > 0 {
				kind = notify.KindReminder
			}
			queued, err = s.queueLevel(ctx, tx, cfg, in, level, msg{kind: kind, key: "esc", prev: "OK"})
			if err != nil {
				return err
			}
			text := fmt.Sprintf("not acknowledged: escalated to level %d", level+1)
			if in.EscRound > 0 && kind == notify.KindReminder {
				text = fmt.Sprintf("not acknowledged: escalation round %d, level %d", in.EscRound+1, level+1)
			}
			if err := tx.AddTimeline(ctx, in.ID, incident.Timeline{Time: now, Kind: "escalated", Text: text}); err != nil {
				return err
			}
			return tx.UpdateIncident(ctx, in)
		})
		if err != nil {
			return err
		}
		if queued {
			s.kick(s.outboxCh)
		}
	}
	return nil
}

// Errors for incident actions.
var (
	ErrNotFound = store.ErrNotFound
	ErrConflict = errors.New("conflict")
)

// Note is a comment and its visibility (incident.VisibilityInternal or
// VisibilityCustomer; "" is internal).
type Note struct {
	Text       string
	Visibility string
}

// addNote adds a comment entry for a non-empty note.
func addNote(ctx context.Context, tx incident.Tx, id int64, now time.Time, who string, n Note) error {
	if n.Text == "" {
		return nil
	}
	if n.Visibility == "" {
		n.Visibility = incident.VisibilityInternal
	}
	return tx.AddTimeline(ctx, id, incident.Timeline{Time: now, Kind: "comment", Actor: who, Text: n.Text, Visibility: n.Visibility})
}

// Acknowledge marks an incident acknowledged by who (via "api", "link",
// "phone"): escalation stops, and everyone notified so far is told. A
// comment is an internal one (see AcknowledgeNote).
func (s *Service) Acknowledge(ctx context.Context, id int64, who, via, comment string) (*incident.Incident, error) {
	return s.AcknowledgeNote(ctx, id, who, via, Note{Text: comment})
}

// AcknowledgeNote is Acknowledge with a comment of a chosen visibility
// (written as its own timeline entry after the acknowledgement).
func (s *Service) AcknowledgeNote(ctx context.Context, id int64, who, via string, note Note) (*incident.Incident, error) {
	var queued bool
	err := s.st.Write(ctx, func(tx incident.Tx) error {
		in, err := tx.Incident(ctx, id)
		if err != nil {
			return err
		}
		if in.Status != incident.Open {
			return fmt.Errorf("%w: incident %d is %s", ErrConflict, id, in.Status)
		}
		now := s.now()
		in.Status, in.AckedAt, in.AckedBy, in.EscNextAt = incident.Acknowledged, &now, who, nil
		if err := tx.UpdateIncident(ctx, in); err != nil {
			return err
		}
		text := fmt.Sprintf("acknowledged by %s via %s", who, via)
		if err := tx.AddTimeline(ctx, in.ID, incident.Timeline{Time: now, Kind: "acknowledged", Actor: who, Text: text}); err != nil {
			return err
		}
		if err := addNote(ctx, tx, in.ID, now, who, note); err != nil {
			return err
		}
		queued, err = s.queueFollowUp(ctx, tx, s.config(), in, msg{kind: notify.KindAcknowledge, key: "ack", ackedBy: who})
		return err
	})
	if err != nil {
		return nil, err
	}
	if queued {
		s.kick(s.outboxCh)
	}
	return s.st.Incident(ctx, id)
}

// Comment adds an internal comment to an incident's timeline.
func (s *Service) Comment(ctx context.Context, id int64, who, text string) (*incident.Incident, error) {
	return s.CommentNote(ctx, id, who, Note{Text: text})
}

// CommentNote adds a comment of a chosen visibility.
func (s *Service) CommentNote(ctx context.Context, id int64, who string, note Note) (*incident.Incident, error) {
	err := s.st.Write(ctx, func(tx incident.Tx) error {
		if _, err := tx.Incident(ctx, id); err != nil {
			return err
		}
		return addNote(ctx, tx, id, s.now(), who, note)
	})
	if err != nil {
		return nil, err
	}
	return s.st.Incident(ctx, id)
}

// SetStatus resolves or closes an incident by hand; a comment is an
// internal one (see SetStatusNote).
func (s *Service) SetStatus(ctx context.Context, id int64, who, status, comment string) (*incident.Incident, error) {
	return s.SetStatusNote(ctx, id, who, status, Note{Text: comment})
}

// SetStatusNote is SetStatus with a comment of a chosen visibility.
func (s *Service) SetStatusNote(ctx context.Context, id int64, who, status string, note Note) (*incident.Incident, error) {
	err := s.st.Write(ctx, func(tx incident.Tx) error {
		in, err := tx.Incident(ctx, id)
		if err != nil {
			return err
		}
		now := s.now()
		switch {
		case status == incident.Resolved && (in.Status == incident.Open || in.Status == incident.Acknowledged):
			in.ResolvedAt = &now
		case status == incident.Closed && in.Status != incident.Closed:
			in.ClosedAt = &now
			if in.ResolvedAt == nil {
				in.ResolvedAt = &now
			}
		default:
			return fmt.Errorf("%w: incident %d is %s and cannot become %s", ErrConflict, id, in.Status, status)
		}
		in.Status, in.EscNextAt = status, nil
		if err := tx.UpdateIncident(ctx, in); err != nil {
			return err
		}
		if err := tx.AddTimeline(ctx, id, incident.Timeline{Time: now, Kind: status, Actor: who, Text: status + " by " + who}); err != nil {
			return err
		}
		return addNote(ctx, tx, id, now, who, note)
	})
	if err != nil {
		return nil, err
	}
	return s.st.Incident(ctx, id)
}

// AckURL is a signed link that acknowledges incident id as who. Mail
// scanners open links, so the link shows a page whose button does the
// acknowledgement (POST); it is valid for 7 days.
func (s *Service) AckURL(id int64, who string) string {
	return s.url("/ack/" + s.ackToken(id, who, s.now().Add(7*24*time.Hour)))
}

// GatherURL is where Twilio posts the callee's keypress.
func (s *Service) GatherURL(id int64, who string) string {
	return s.url("/hooks/twilio/gather/" + s.ackToken(id, who, s.now().Add(7*24*time.Hour)))
}

func (s *Service) ackToken(id int64, who string, exp time.Time) string {
	idS, expS := strconv.FormatInt(id, 10), strconv.FormatInt(exp.Unix(), 10)
	return idS + "." + expS + "." + encodeWho(who) + "." + s.sign("ack", idS, expS, who)
}

// ParseAckToken checks a signed acknowledgement token.
func (s *Service) ParseAckToken(tok string) (id int64, who string, err error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 4 {
		return 0, "", errors.New("malformed link")
	}
	who, err = decodeWho(parts[2])
	if err != nil {
		return 0, "", errors.New("malformed link")
	}
	if s.sign("ack", parts[0], parts[1], who) != parts[3] {
		return 0, "", errors.New("invalid signature")
	}
	exp, err1 := strconv.ParseInt(parts[1], 10, 64)
	id, err2 := strconv.ParseInt(parts[0], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, "", errors.New("malformed link")
	}
	if s.now().Unix() > exp {
		return 0, "", errors.New("the link has expired")
	}
	return id, who, nil
}

// PublicURL is the absolute URL of a path as the outside world reaches it.
func (s *Service) PublicURL(path string) string { return s.url(path) }

// VerifyCallback checks a provider callback's signature against every
// channel that can call back (Twilio).
func (s *Service) VerifyCallback(fullURL string, form url.Values, signature string) bool {
	if signature == "" {
		return false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, n := range s.notifiers {
		if v, ok := n.(notify.CallbackVerifier); ok && v.VerifyCallback(fullURL, form, signature) {
			return true
		}
	}
	return false
}
