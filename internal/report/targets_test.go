package report

import (
	"testing"
	"time"

	"github.com/mamori/mamori/internal/incident"
)

func tp(t time.Time) *time.Time { return &t }

func TestAckTargetFromHardMoment(t *testing.T) {
	t0 := at(5, 3, 0, 0)
	// The seed's defaults: checked every 5 minutes, hard after 4 attempts,
	// so the alert comes 15 minutes after the first failure; acknowledged
	// 8 minutes after the alert: met.
	in := &incident.Incident{DetectedAt: t0, OpenedAt: t0.Add(15 * time.Minute), AckedAt: tp(t0.Add(23 * time.Minute))}
	got := AckTarget(in, 10*time.Minute, t0.Add(time.Hour))
	if got.Met == nil || !*got.Met || *got.Seconds != 480 {
		t.Fatalf("ack 8 min after the alert: %+v", got)
	}
	in.AckedAt = tp(t0.Add(26 * time.Minute))
	if got := AckTarget(in, 10*time.Minute, t0.Add(time.Hour)); got.Met == nil || *got.Met {
		t.Fatalf("ack 11 min after the alert: %+v", got)
	}
}

func TestAckTargetFrozenWhenResolved(t *testing.T) {
	t0 := at(5, 3, 0, 0)
	in := &incident.Incident{DetectedAt: t0, OpenedAt: t0, RecoveredAt: tp(t0.Add(3 * time.Minute)), ResolvedAt: tp(t0.Add(3 * time.Minute))}
	// Auto-recovered after 3 minutes, never acknowledged: not missed, ever.
	for _, now := range []time.Time{t0.Add(5 * time.Minute), t0.Add(11 * time.Minute), t0.Add(30 * 24 * time.Hour)} {
		if got := AckTarget(in, 10*time.Minute, now); got.Met != nil {
			t.Fatalf("at %v: %+v, want not applicable", now, got)
		}
	}
	// Still open 11 minutes after the alert: missed, and stays missed
	// once resolved later.
	open := &incident.Incident{OpenedAt: t0}
	if got := AckTarget(open, 10*time.Minute, t0.Add(11*time.Minute)); got.Met == nil || *got.Met {
		t.Fatalf("open past the target: %+v", got)
	}
	open.ResolvedAt = tp(t0.Add(20 * time.Minute))
	if got := AckTarget(open, 10*time.Minute, t0.Add(40*time.Minute)); got.Met == nil || *got.Met {
		t.Fatalf("resolved after the deadline: %+v", got)
	}
	// Within the target and still open: no verdict yet.
	if got := AckTarget(&incident.Incident{OpenedAt: t0}, 10*time.Minute, t0.Add(time.Minute)); got.Met != nil {
		t.Fatalf("open within the target: %+v", got)
	}
}

func TestReportTarget(t *testing.T) {
	t0 := at(5, 3, 0, 0)
	in := &incident.Incident{OpenedAt: t0}
	if _, ok := ReportTarget(in, 5*time.Minute, t0); ok {
		t.Fatal("a target before recovery")
	}
	in.RecoveredAt = tp(t0.Add(time.Hour))
	in.ReportedAt = tp(t0.Add(time.Hour + 30*time.Second))
	got, _ := ReportTarget(in, 5*time.Minute, t0.Add(2*time.Hour))
	if got.Met == nil || !*got.Met || *got.Seconds != 30 {
		t.Fatalf("%+v", got)
	}
	in.ReportedAt = nil
	if got, _ := ReportTarget(in, 5*time.Minute, t0.Add(time.Hour+6*time.Minute)); got.Met == nil || *got.Met {
		t.Fatalf("not reported after 6 min: %+v", got)
	}
}
