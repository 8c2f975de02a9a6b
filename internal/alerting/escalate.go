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
			if pol := policyOf(cfg, in.Notify); pol == nil || level >= len(pol.Levels) {
				// Due past the policy's end: automatic recovery gave up
				// (recovery makes the escalation due) and the levels are
				// spent: tell everyone notified so far again, now.
				in.EscNextAt = nil
				queued, err = s.queueFollowUp(ctx, tx, cfg, in, msg{kind: notify.KindReminder, key: fmt.Sprintf("exhausted%d", now.Unix()), prev: "OK", level: max(in.EscLevel, 0)})
				if err != nil {
					return err
				}
				if err := tx.AddTimeline(ctx, in.ID, incident.Line(now, "escalated", "escalated.gaveup", "automatic recovery gave up: everyone notified is told again")); err != nil {
					return err
				}
				return tx.UpdateIncident(ctx, in)
			}
			kind := notify.KindProblem
			if in.EscRound > 0 {
				kind = notify.KindReminder
			}
			queued, err = s.queueLevel(ctx, tx, cfg, in, level, msg{kind: kind, key: "esc", prev: "OK"})
			if err != nil {
				return err
			}
			line := incident.Line(now, "escalated", "escalated.level", fmt.Sprintf("not acknowledged: escalated to level %d", level+1), incident.Str(fmt.Sprint(level+1)))
			if in.EscRound > 0 && kind == notify.KindReminder {
				line = incident.Line(now, "escalated", "escalated.round", fmt.Sprintf("not acknowledged: escalation round %d, level %d", in.EscRound+1, level+1),
					incident.Str(fmt.Sprint(in.EscRound+1)), incident.Str(fmt.Sprint(level+1)))
			}
			if err := tx.AddTimeline(ctx, in.ID, line); err != nil {
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
	// ErrStillFailing refuses to resolve an incident whose check still
	// fails unless the caller confirms (force); it is an ErrConflict.
	ErrStillFailing = fmt.Errorf("%w: the check is still failing", ErrConflict)
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
		line := incident.Line(now, "acknowledged", "acknowledged", fmt.Sprintf("acknowledged by %s via %s", who, via), incident.Str(who), incident.Word("via."+via))
		line.Actor = who
		if err := tx.AddTimeline(ctx, in.ID, line); err != nil {
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

// SetStatusNote is SetStatus with a comment of a chosen visibility. It
// refuses to resolve an incident whose check still fails (ErrStillFailing):
// see SetStatusForce.
func (s *Service) SetStatusNote(ctx context.Context, id int64, who, status string, note Note) (*incident.Incident, error) {
	return s.SetStatusForce(ctx, id, who, status, note, false)
}

// stillFailing is the problem state of an incident's check, "" when it is
// not failing (or unknown).
func (s *Service) stillFailing(in *incident.Incident) string {
	if in.RecoveredAt != nil || s.states == nil {
		return ""
	}
	if v, ok := s.states.CheckState(in.Check); ok && v.Status.Problem() {
		return v.Status.String()
	}
	return ""
}

// SetStatusForce resolves or closes an incident by hand. Resolving (or
// closing) an incident whose check still fails is refused with
// ErrStillFailing unless force confirms it; then the timeline says so and
// the check's real recovery is still reported to everyone notified.
func (s *Service) SetStatusForce(ctx context.Context, id int64, who, status string, note Note, force bool) (*incident.Incident, error) {
	err := s.st.Write(ctx, func(tx incident.Tx) error {
		in, err := tx.Incident(ctx, id)
		if err != nil {
			return err
		}
		now := s.now()
		line := incident.Line(now, status, "status", status+" by "+who, incident.Word("incident.status."+status), incident.Str(who))
		if failing := s.stillFailing(in); failing != "" && in.Status != incident.Resolved && in.Status != incident.Closed {
			if !force {
				return fmt.Errorf("%w: %s is %s; confirm with force to %s it anyway", ErrStillFailing, in.Check, failing, strings.TrimSuffix(status, "d"))
			}
			line = incident.Line(now, status, "status.forced", status+" by "+who+fmt.Sprintf(" while %s is still %s (confirmed); its recovery will be reported", in.Check, failing),
				incident.Word("incident.status."+status), incident.Str(who), incident.Str(in.Check), incident.Str(failing))
		}
		line.Actor = who
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
		if err := tx.AddTimeline(ctx, id, line); err != nil {
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

// CallStatusURL is where Twilio posts a call's progress (StatusCallback).
func (s *Service) CallStatusURL(id int64, who string) string {
	return s.url("/hooks/twilio/status/" + s.ackToken(id, who, s.now().Add(7*24*time.Hour)))
}

// callOutcome says a Twilio CallStatus in words, and whether nobody took
// the call (no-answer, busy, failed, canceled).
func callOutcome(status string) (text string, unanswered bool, ok bool) {
	switch status {
	case "in-progress", "answered":
		return "answered", false, true
	case "completed":
		return "completed", false, true
	case "no-answer":
		return "not answered", true, true
	case "busy":
		return "busy", true, true
	case "failed":
		return "failed", true, true
	case "canceled":
		return "canceled", true, true
	}
	return "", false, false
}

// CallStatus records a phone call's progress to who on the incident's
// timeline (Twilio's StatusCallback). When nobody took the call and the
// incident is still unacknowledged with a next level pending, escalation
// moves on to it at once. Unknown statuses are ignored.
func (s *Service) CallStatus(ctx context.Context, id int64, who, status string) error {
	text, unanswered, ok := callOutcome(status)
	if !ok {
		return nil
	}
	var escalate bool
	err := s.st.Write(ctx, func(tx incident.Tx) error {
		in, err := tx.Incident(ctx, id)
		if err != nil {
			return err
		}
		now := s.now()
		line := incident.Line(now, "call", "call", fmt.Sprintf("phone call to %s: %s", who, text), incident.Str(who), incident.Word("call."+status))
		if unanswered && in.Status == incident.Open && in.EscNextAt != nil && in.EscNextAt.After(now) {
			in.EscNextAt, escalate = &now, true
			line = incident.Line(now, "call", "call.escalating", line.Text+"; escalating to the next level now", incident.Str(who), incident.Word("call."+status))
			if err := tx.UpdateIncident(ctx, in); err != nil {
				return err
			}
		}
		line.Actor = who
		return tx.AddTimeline(ctx, id, line.With("call_status", status))
	})
	if err == nil && escalate {
		err = s.escalateDue(ctx)
	}
	return err
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
