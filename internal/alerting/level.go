package alerting

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/incident"
	"github.com/mamori/mamori/internal/notify"
)

// ErrInvalid is a patch refused for its content.
var ErrInvalid = errors.New("invalid")

// Patch is an operator's change to an incident (PATCH): nil fields stay.
type Patch struct {
	Level       *int    // incident level 1..3 (障害対応レベル)
	RootCause   *string // 障害の根本原因
	Remediation *string // 根本解決策 (what was or will be done)
}

// MaxAnalysisLen bounds the root cause and remediation texts (bytes).
const MaxAnalysisLen = 20000

// Validate checks a patch's fields; the error names the field.
func (p Patch) Validate() error {
	if p.Level == nil && p.RootCause == nil && p.Remediation == nil {
		return fmt.Errorf("nothing to change: give level, root_cause or remediation")
	}
	if p.Level != nil && (*p.Level < 1 || *p.Level > 3) {
		return fmt.Errorf("level: must be 1, 2 or 3, not %d", *p.Level)
	}
	for name, v := range map[string]*string{"root_cause": p.RootCause, "remediation": p.Remediation} {
		if v == nil {
			continue
		}
		if len(*v) > MaxAnalysisLen {
			return fmt.Errorf("%s: %d bytes is over the limit of %d", name, len(*v), MaxAnalysisLen)
		}
		if !utf8.ValidString(*v) {
			return fmt.Errorf("%s: not valid UTF-8", name)
		}
	}
	return nil
}

// Update applies an operator's patch to an incident: each change is a
// timeline entry (visible to the customer: the level, the root cause and
// the remediation are theirs to know). A raised level on an incident not
// yet resolved notifies at once the targets of the escalation steps
// already reached that the new level newly selects (min_level); later
// steps use the new level when they fall due.
func (s *Service) Update(ctx context.Context, id int64, who string, p Patch) (*incident.Incident, error) {
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	var queued bool
	err := s.st.Write(ctx, func(tx incident.Tx) error {
		in, err := tx.Incident(ctx, id)
		if err != nil {
			return err
		}
		now := s.now()
		var lines []incident.Timeline
		if p.Level != nil && *p.Level != in.Level {
			old := in.Level
			in.Level = *p.Level
			lines = append(lines, incident.Line(now, "level", "level", fmt.Sprintf("incident level %d → %d by %s", old, in.Level, who),
				incident.Str(fmt.Sprint(old)), incident.Str(fmt.Sprint(in.Level)), incident.Str(who)))
			if in.Level > old && (in.Status == incident.Open || in.Status == incident.Acknowledged) {
				if queued, err = s.queueRaised(ctx, tx, s.config(), in, old); err != nil {
					return err
				}
			}
		}
		if p.RootCause != nil && strings.TrimSpace(*p.RootCause) != in.RootCause {
			in.RootCause = strings.TrimSpace(*p.RootCause)
			lines = append(lines, incident.Line(now, "root_cause", "root_cause", "root cause: "+orNone(in.RootCause), incident.Str(orNone(in.RootCause))))
		}
		if p.Remediation != nil && strings.TrimSpace(*p.Remediation) != in.Remediation {
			in.Remediation = strings.TrimSpace(*p.Remediation)
			lines = append(lines, incident.Line(now, "remediation", "remediation", "remediation: "+orNone(in.Remediation), incident.Str(orNone(in.Remediation))))
		}
		if len(lines) == 0 {
			return nil
		}
		if err := tx.UpdateIncident(ctx, in); err != nil {
			return err
		}
		for _, l := range lines {
			l.Actor = who
			if err := tx.AddTimeline(ctx, id, l); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if queued {
		s.kick(s.outboxCh)
	}
	return s.st.Incident(ctx, id)
}

func orNone(s string) string {
	if s == "" {
		return "(cleared)"
	}
	return s
}

// reachedSteps is how many steps of the incident's policy have fired:
// all of them once a repeat round is under way.
func reachedSteps(in *incident.Incident, pol *config.Escalation) int {
	if in.EscRound > 0 {
		return len(pol.Levels)
	}
	return min(in.EscLevel+1, len(pol.Levels))
}

// queueRaised notifies, for an incident raised from level old, the
// targets of every escalation step already reached that its new level
// selects and old did not.
func (s *Service) queueRaised(ctx context.Context, tx incident.Tx, cfg *config.Config, in *incident.Incident, old int) (bool, error) {
	queued := false
	for _, name := range in.Notify {
		pol := cfg.Escalation(name)
		if pol == nil {
			continue // a channel named directly has no min_level
		}
		for i := 0; i < reachedSteps(in, pol); i++ {
			step := pol.Levels[i]
			for _, t := range step.Targets {
				if !step.Applies(t, in.Level) || step.Applies(t, old) {
					continue
				}
				ok, err := s.enqueue(ctx, tx, cfg, in, t, msg{kind: notify.KindProblem, level: i, prev: "OK",
					key: fmt.Sprintf("raised%d", in.Level)})
				if err != nil {
					return false, err
				}
				queued = queued || ok
			}
		}
	}
	return queued, nil
}
