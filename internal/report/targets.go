package report

import (
	"time"

	"github.com/mamori/mamori/internal/incident"
)

// Target is one response target measured on one incident.
type Target struct {
	TargetSeconds float64  `json:"target_seconds"`
	Seconds       *float64 `json:"seconds"` // how long it took; null until done
	// Met is null while the incident is still within the target, and when
	// the target did not apply (resolved before the deadline without an
	// acknowledgement: nobody had to act).
	Met *bool `json:"met"`
}

// measure compares start→done against goal. frozen, when set, is when the
// incident stopped needing the action (resolved or closed): a deadline
// still ahead at that moment can no longer be missed.
func measure(start time.Time, done, frozen *time.Time, goal time.Duration, now time.Time) Target {
	t := Target{TargetSeconds: goal.Seconds()}
	deadline := start.Add(goal)
	switch {
	case done != nil:
		d := done.Sub(start).Seconds()
		met := !done.After(deadline)
		t.Seconds, t.Met = &d, &met
	case frozen != nil:
		if frozen.After(deadline) {
			t.Met = new(bool)
		}
	case now.After(deadline):
		t.Met = new(bool)
	}
	return t
}

// AckTarget measures the acknowledgement target from the moment the
// problem became hard (the alert: OpenedAt), not from the first soft
// failure. A resolved or closed incident's figure is frozen at that moment.
func AckTarget(in *incident.Incident, goal time.Duration, now time.Time) Target {
	frozen := in.ResolvedAt
	if frozen == nil {
		frozen = in.ClosedAt
	}
	if in.RecoveredAt != nil && (frozen == nil || in.RecoveredAt.Before(*frozen)) {
		frozen = in.RecoveredAt // nobody has to act on a problem that is gone
	}
	return measure(in.OpenedAt, in.AckedAt, frozen, goal, now)
}

// ReportTarget measures the recovery report target: from the recovery to
// the delivery of the first recovery notification. ok is false for an
// incident that has not recovered.
func ReportTarget(in *incident.Incident, goal time.Duration, now time.Time) (Target, bool) {
	if in.RecoveredAt == nil {
		return Target{}, false
	}
	return measure(*in.RecoveredAt, in.ReportedAt, nil, goal, now), true
}
