package alerting

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/incident"
	"github.com/mamori/mamori/internal/notify"
	"github.com/mamori/mamori/internal/notify/tmpl"
)

const cursorName = "incidents"

// Handle applies one state change of the event log (the durable
// subscription named "incidents"): the incident changes, the queued
// notifications and the cursor commit in one transaction.
func (s *Service) Handle(ctx context.Context, e event.Event) error {
	if s.ignorable(e) && s.skip.take() {
		// Nothing to write but the cursor: a run of such events (every
		// check's first result after a start, soft changes) shares one
		// cursor write instead of a transaction each. A crash replays the
		// skipped ones, which do nothing again.
		return nil
	}
	var queued bool
	err := s.st.Apply(ctx, cursorName, e.ID, func(tx incident.Tx) error {
		var err error
		queued, err = s.apply(ctx, tx, e)
		return err
	})
	if err != nil {
		return err
	}
	if queued {
		s.kick(s.outboxCh)
	}
	return nil
}

// apply turns one state change into incident changes and notifications.
func (s *Service) apply(ctx context.Context, tx incident.Tx, e event.Event) (queued bool, err error) {
	if s.ignorable(e) {
		return false, nil
	}
	cfg := s.config()
	c := cfg.Check(e.Check)
	if c == nil {
		return false, nil // removed from the configuration just now
	}
	if !e.Hard {
		if e.FlapStart || e.FlapStop {
			in, err := tx.OpenIncident(ctx, c.Name)
			if err != nil || in == nil {
				return false, err
			}
			line := incident.Line(e.Time, "flapping", "flap.start", "flapping started: notifications are held")
			if e.FlapStop {
				line = incident.Line(e.Time, "flapping", "flap.stop", "flapping stopped")
			}
			return false, tx.AddTimeline(ctx, in.ID, line)
		}
		return false, nil
	}
	if e.Recovery {
		return s.recovered(ctx, tx, cfg, c, e)
	}
	return s.problem(ctx, tx, cfg, c, e)
}

// ignorable reports whether a state change changes no incident: a check
// removed from the configuration since, a soft change that neither starts
// nor stops flapping, a hard OK that is not a recovery (a first result).
func (s *Service) ignorable(e event.Event) bool {
	switch {
	case s.config().Check(e.Check) == nil:
		return true
	case !e.Hard:
		return !e.FlapStart && !e.FlapStop
	default:
		return !e.Recovery && e.To == check.OK
	}
}

// skipper lets a consumer skip the cursor write of ignorable events, but
// at most skipMax in a row and for at most skipFor, so that the cursor
// keeps moving (Durable reads it back before every batch).
type skipper struct {
	mu      sync.Mutex
	n       int
	written time.Time
}

const (
	skipMax = 64
	skipFor = time.Second
)

// take reports whether this event's cursor write may be skipped.
func (k *skipper) take() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.n < skipMax && time.Since(k.written) < skipFor {
		k.n++
		return true
	}
	k.n, k.written = 0, time.Now()
	return false
}

func (s *Service) problem(ctx context.Context, tx incident.Tx, cfg *config.Config, c *config.Check, e event.Event) (bool, error) {
	if s.inMaintenance(c.Name, e.Time) {
		// Recorded in the event log; alerted when the window ends if the
		// problem is still there (see sweepSuppressed).
		return false, tx.Suppress(ctx, c.Name, e.ID, e.Time)
	}
	in, err := tx.OpenIncident(ctx, c.Name)
	if err != nil {
		return false, err
	}
	if in != nil { // a hard severity change on an open incident
		prev := in.State
		in.State, in.Output = e.To, e.Output
		if err := tx.UpdateIncident(ctx, in); err != nil {
			return false, err
		}
		if err := tx.AddTimeline(ctx, in.ID, incident.Timeline{Time: e.Time, Kind: "state",
			Text: fmt.Sprintf("%s → %s: %s", e.From, e.To, e.Output)}); err != nil {
			return false, err
		}
		if !e.Notify {
			return false, nil
		}
		return s.queueLevel(ctx, tx, cfg, in, 0, msg{kind: notify.KindProblem, key: fmt.Sprintf("ev%d", e.ID), prev: prev.String()})
	}
	if e.Unreachable {
		return false, s.attach(ctx, tx, c, e)
	}
	in = s.newIncident(cfg, c, e)
	if err := tx.CreateIncident(ctx, in); err != nil {
		return false, err
	}
	steps := []incident.Timeline{
		incident.Line(in.DetectedAt, "detected", "detected", fmt.Sprintf("%s: first failing result", c.Name), incident.Str(c.Name)),
		incident.Line(e.Time, "opened", "opened", fmt.Sprintf("%s %s (hard, attempt %d): %s", c.Name, e.To, e.Attempt, e.Output),
			incident.Str(c.Name), incident.Str(e.To.String()), incident.Str(fmt.Sprint(e.Attempt)), incident.Str(e.Output)),
	}
	if in.Runbook == "" {
		steps = append(steps, incident.Line(e.Time, "runbook_missing", "runbook_missing", "no runbook matches this check: write one"))
	}
	if !e.Notify {
		steps = append(steps, incident.Line(e.Time, "flapping", "flap.held", "the check is flapping: notifications are held"))
	}
	for _, st := range steps {
		if err := tx.AddTimeline(ctx, in.ID, st); err != nil {
			return false, err
		}
	}
	if !e.Notify {
		return false, nil
	}
	queued, err := s.queueLevel(ctx, tx, cfg, in, 0, msg{kind: notify.KindProblem, key: fmt.Sprintf("ev%d", e.ID), prev: check.OK.String()})
	if err != nil {
		return false, err
	}
	return queued, tx.UpdateIncident(ctx, in) // escalation schedule
}

func (s *Service) newIncident(cfg *config.Config, c *config.Check, e event.Event) *incident.Incident {
	in := &incident.Incident{
		Check: c.Name, Host: c.Host, Tenant: c.Tenant, Scope: "check", Status: incident.Open,
		State: e.To, Output: e.Output, OpenedAt: e.Time, DetectedAt: e.Time, EscLevel: -1,
		Notify: c.Notify, Attached: []string{}, Runbook: s.runbookFor(c), Level: c.Level,
		Title: fmt.Sprintf("%s %s", c.Name, e.To),
	}
	if in.Level == 0 {
		in.Level = config.DefaultLevel
	}
	if v, ok := s.states.CheckState(c.Name); ok && !v.ProblemAt.IsZero() && v.ProblemAt.Before(e.Time) {
		in.DetectedAt = v.ProblemAt
	}
	for _, h := range cfg.Hosts {
		if h.Name == c.Host && h.HostCheck == c.Name {
			in.Scope = "host"
			in.Title = fmt.Sprintf("host %s is down", h.Name)
		}
	}
	return in
}

// attach adds a check that failed under a down parent to the parent's
// incident: one incident per outage, no separate alert.
func (s *Service) attach(ctx context.Context, tx incident.Tx, c *config.Check, e event.Event) error {
	for _, p := range c.Parents {
		pin, err := tx.OpenIncident(ctx, p)
		if err != nil {
			return err
		}
		if pin == nil {
			continue
		}
		for _, a := range pin.Attached {
			if a == c.Name {
				return nil
			}
		}
		pin.Attached = append(pin.Attached, c.Name)
		if err := tx.UpdateIncident(ctx, pin); err != nil {
			return err
		}
		return tx.AddTimeline(ctx, pin.ID, incident.Line(e.Time, "attached", "attached",
			fmt.Sprintf("%s %s while %s is down: attached, not alerted separately", c.Name, e.To, p), incident.Str(c.Name), incident.Str(e.To.String()), incident.Str(p)))
	}
	return nil
}

func (s *Service) recovered(ctx context.Context, tx incident.Tx, cfg *config.Config, c *config.Check, e event.Event) (bool, error) {
	in, err := tx.OpenIncident(ctx, c.Name)
	if err != nil {
		return false, err
	}
	if in == nil {
		// Resolved by hand while still failing: the recovery is still news.
		if in, err = s.resolvedUnrecovered(ctx, tx, c.Name, e.Time.Add(-e.ProblemFor-time.Minute)); err != nil || in == nil {
			return false, err
		}
	}
	now := e.Time
	prev := in.State
	in.RecoveredAt, in.State, in.Output, in.EscNextAt = &now, check.OK, e.Output, nil
	text := fmt.Sprintf("%s recovered after %s: %s", c.Name, e.ProblemFor.Round(time.Second), e.Output)
	if err := tx.AddTimeline(ctx, in.ID, incident.Line(now, "recovered", "recovered", text, incident.Str(c.Name), incident.Dur(e.ProblemFor), incident.Str(e.Output))); err != nil {
		return false, err
	}
	if cfg.Incidents.AutoResolves() && (in.Status == incident.Open || in.Status == incident.Acknowledged) {
		in.Status, in.ResolvedAt = incident.Resolved, &now
		if err := tx.AddTimeline(ctx, in.ID, incident.Line(now, "resolved", "resolved.auto", "resolved automatically on recovery")); err != nil {
			return false, err
		}
	}
	if err := tx.UpdateIncident(ctx, in); err != nil {
		return false, err
	}
	return s.queueFollowUp(ctx, tx, cfg, in, msg{kind: notify.KindRecovery, key: fmt.Sprintf("ev%d", e.ID), prev: prev.String(), problemFor: e.ProblemFor})
}

// resolvedUnrecovered is the check's latest incident if it was resolved
// (or closed) by hand before its check recovered from the problem that
// began at since, else nil.
func (s *Service) resolvedUnrecovered(ctx context.Context, tx incident.Tx, name string, since time.Time) (*incident.Incident, error) {
	ins, err := s.st.Incidents(ctx, incident.Query{Check: name, Limit: 1})
	if err != nil || len(ins) == 0 {
		return nil, err
	}
	in, err := tx.Incident(ctx, ins[0].ID)
	if err != nil {
		return nil, err
	}
	if in.RecoveredAt != nil || in.OpenedAt.Before(since) || (in.Status != incident.Resolved && in.Status != incident.Closed) {
		return nil, nil
	}
	return in, nil
}

// targetsOf expands a check's notify list at an escalation level for an
// incident of level incLevel: channels notify at level 0 only; a policy's
// level i targets whose min_level (step's and target's) incLevel reaches.
func targetsOf(cfg *config.Config, names []string, level, incLevel int) []config.Target {
	var out []config.Target
	for _, name := range names {
		if ch := cfg.Channel(name); ch != nil {
			if level == 0 {
				out = append(out, config.Target{Channel: name})
			}
			continue
		}
		if pol := cfg.Escalation(name); pol != nil && level < len(pol.Levels) {
			step := pol.Levels[level]
			for _, t := range step.Targets {
				if step.Applies(t, incLevel) {
					out = append(out, t)
				}
			}
		}
	}
	return out
}

// policyOf is the escalation policy that drives an incident: the first one
// in its notify list.
func policyOf(cfg *config.Config, names []string) *config.Escalation {
	for _, name := range names {
		if pol := cfg.Escalation(name); pol != nil {
			return pol
		}
	}
	return nil
}

// queueLevel queues an escalation level's notifications and schedules the
// next level.
func (s *Service) queueLevel(ctx context.Context, tx incident.Tx, cfg *config.Config, in *incident.Incident, level int, o msg) (bool, error) {
	queued := false
	o.level = level
	for _, t := range targetsOf(cfg, in.Notify, level, in.Level) {
		ok, err := s.enqueue(ctx, tx, cfg, in, t, o)
		if err != nil {
			return false, err
		}
		queued = queued || ok
	}
	in.EscLevel = level
	in.EscNextAt = nil
	if pol := policyOf(cfg, in.Notify); pol != nil {
		now := s.now()
		switch {
		case level+1 < len(pol.Levels):
			next := now.Add(pol.Levels[level+1].After - pol.Levels[level].After)
			in.EscNextAt = &next
		case in.EscRound < pol.Repeat:
			next := now.Add(pol.RepeatAfter)
			in.EscNextAt, in.EscLevel = &next, -1
			in.EscRound++
		}
	}
	return queued, nil
}

// queueFollowUp tells everyone already notified of an incident about its
// recovery or acknowledgement.
func (s *Service) queueFollowUp(ctx context.Context, tx incident.Tx, cfg *config.Config, in *incident.Incident, o msg) (bool, error) {
	prev, err := tx.NotifiedTargets(ctx, in.ID)
	if err != nil {
		return false, err
	}
	queued := false
	for _, p := range prev {
		if o.kind == notify.KindAcknowledge && (p.Contact == o.ackedBy || (p.Contact == "" && "channel:"+p.Channel == o.ackedBy)) {
			continue // the acknowledger knows (and is not rung again after pressing 1)
		}
		ok, err := s.enqueue(ctx, tx, cfg, in, config.Target{Channel: p.Channel, Contact: p.Contact}, o)
		if err != nil {
			return false, err
		}
		queued = queued || ok
	}
	return queued, nil
}

// enqueue writes one outbox row: the unrendered message for one target.
// msg describes what an outbox row says.
type msg struct {
	kind       string
	level      int
	key        string // makes the dedup key unique per cause (event, round, ack)
	prev       string // previous state
	problemFor time.Duration
	ackedBy    string
}

func (s *Service) enqueue(ctx context.Context, tx incident.Tx, cfg *config.Config, in *incident.Incident, t config.Target, o msg) (bool, error) {
	kind, level := o.kind, o.level
	ch, lang := channelLang(cfg, t)
	if ch == nil {
		return false, nil
	}
	m := notify.Message{Kind: kind, Lang: lang, Contact: t.Contact, Check: in.Check, Host: in.Host, Tenant: in.Tenant,
		State: in.State.String(), PreviousState: o.prev, StateType: "hard", Output: in.Output, Time: s.now().UTC(),
		ProblemFor: o.problemFor, IncidentID: in.ID, Level: level, AckedBy: o.ackedBy, Attached: in.Attached,
		IncidentLevel: in.Level}
	if kind == notify.KindProblem && level == 0 {
		m.Time = in.OpenedAt
	}
	m.Thread = fmt.Sprintf("incident/%d/%d", in.ID, in.OpenedAt.UnixMilli())
	if ct := cfg.Contact(t.Contact); ct != nil {
		if ct.Lang != "" {
			m.Lang = ct.Lang
		}
		m.TimeZone = ct.TimeZone
		if ch.Kind != nil {
			m.To = ct.Address(ch.Kind.Recipient)
		}
	}
	if s.actions != nil {
		m.ActionNotes = s.actions.ActionNotesFor(in.ID)
		m.Actions = tmpl.ActionLines(tmpl.English, time.Local, m.ActionNotes)
	}
	m.IncidentURL = s.url(fmt.Sprintf("/incidents/%d", in.ID))
	if in.Runbook != "" {
		m.RunbookURL = s.url("/runbooks/" + in.Runbook)
	}
	if kind == notify.KindProblem || kind == notify.KindReminder {
		who := t.Contact
		if who == "" {
			who = "channel:" + ch.Name
		}
		m.AckURL = s.AckURL(in.ID, who)
		m.GatherURL = s.GatherURL(in.ID, who)
		m.StatusURL = s.CallStatusURL(in.ID, who)
	}
	payload, err := json.Marshal(m)
	if err != nil {
		return false, err
	}
	now := s.now()
	n := &incident.Notification{IncidentID: in.ID, Channel: ch.Name, Contact: t.Contact, Recipient: m.To, Kind: kind, Level: level,
		NextAt: now, CreatedAt: now, Payload: payload,
		Dedup: fmt.Sprintf("%d/%s/%s/%s/%d/%d/%s", in.ID, kind, ch.Name, t.Contact, level, in.EscRound, o.key)}
	return tx.Enqueue(ctx, n)
}

// channelLang is a target's channel (nil: not configured) and the language
// its messages are written in: the channel's, else the incidents' default.
func channelLang(cfg *config.Config, t config.Target) (*config.Channel, string) {
	ch := cfg.Channel(t.Channel)
	if ch == nil {
		return nil, ""
	}
	if ch.Lang != "" {
		return ch, ch.Lang
	}
	return ch, cfg.Incidents.Lang
}
