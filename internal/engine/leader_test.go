package engine

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/server/specs"
	"github.com/mamori/mamori/internal/state"
	"github.com/mamori/mamori/internal/store/sqlite"
)

// A follower refuses results, shows the leader's states from the store,
// and on taking the lead continues from them: the first result after the
// take-over is no new state change; on stepping down it refuses again.
func TestFollowerShowsLeaderStatesAndTakesOver(t *testing.T) {
	lead, fol := leaderAndFollower(t, "r", "ha")
	lctx, lstop := context.WithCancel(context.Background())
	ldone := make(chan struct{})
	go func() { lead.Run(lctx); close(ldone) }()
	fctx, fstop := context.WithCancel(context.Background())
	fdone := make(chan struct{})
	go func() { fol.Serve(fctx); close(fdone) }()
	defer func() { fstop(); <-fdone }()

	if fol.Leading() || !lead.Leading() {
		t.Fatalf("leading: follower %v leader %v", fol.Leading(), lead.Leading())
	}
	now := time.Now()
	if _, err := fol.Record(context.Background(), "r", check.Result{Status: check.OK, Time: now}); !errors.Is(err, ErrFollower) {
		t.Fatalf("a follower recorded a result: %v", err)
	}
	if tr, err := lead.Record(context.Background(), "r", check.Result{Status: check.Critical, Time: now}); err != nil || tr == nil || !tr.Hard {
		t.Fatalf("leader: %+v %v", tr, err)
	}
	waitState(t, fol, 3*FollowEvery, func(v View) bool { return v.Status == check.Critical && v.Type == state.Hard })
	var m dto.Metric
	if err := fol.Metrics.reread.Write(&m); err != nil || m.GetHistogram().GetSampleCount() == 0 {
		t.Fatalf("the follower's re-reads are not timed: %v %v", m.GetHistogram(), err)
	}
	lstop()
	<-ldone

	gctx, gstop := context.WithCancel(context.Background())
	gdone := make(chan struct{})
	go func() { fol.Lead(gctx); close(gdone) }()
	deadline := time.Now().Add(5 * time.Second)
	for !fol.Leading() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	tr, err := fol.Record(context.Background(), "r", check.Result{Status: check.Critical, Time: now.Add(time.Second)})
	if err != nil || tr != nil {
		t.Fatalf("first result on the new leader: transition %+v, err %v; want none (the state continues)", tr, err)
	}
	gstop()
	<-gdone
	if _, err := fol.Record(context.Background(), "r", check.Result{Status: check.OK, Time: now.Add(2 * time.Second)}); !errors.Is(err, ErrFollower) || fol.Leading() {
		t.Fatalf("after stepping down: leading %v, record %v", fol.Leading(), err)
	}
}

// leaderAndFollower opens a leading and a following engine on one store
// with the stub check name whose verdict (CRITICAL) is stored under key.
func leaderAndFollower(t *testing.T, name, key string, folOpts ...Option) (lead, fol *Engine) {
	t.Helper()
	verdicts.mu.Lock()
	verdicts.m[key] = check.Critical
	verdicts.mu.Unlock()
	cfg, err := config.Parse("t.yaml", []byte("checks:\n  - {name: "+name+", type: stub, target: "+key+", interval: 1h, attempts: 1}\n"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if lead, err = New(context.Background(), specs.Plan(cfg), st, log); err != nil {
		t.Fatal(err)
	}
	if fol, err = New(context.Background(), specs.Plan(cfg), st, log, append(folOpts, WithFollower())...); err != nil {
		t.Fatal(err)
	}
	return lead, fol
}

func waitState(t *testing.T, e *Engine, d time.Duration, ok func(View) bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if v, _ := e.Get("r"); ok(v) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	v, _ := e.Get("r")
	t.Fatalf("state not reached within %s: %+v", d, v.CheckState)
}

// A follower re-reads every 2 s, or after nine times its last re-read's
// duration: at most a tenth of the database's time.
func TestFollowWait(t *testing.T) {
	for _, c := range []struct{ took, want time.Duration }{
		{0, FollowEvery},
		{50 * time.Millisecond, FollowEvery},
		{FollowEvery / 9, FollowEvery},
		{500 * time.Millisecond, 4500 * time.Millisecond},
		{3 * time.Second, 27 * time.Second},
	} {
		if got := followWait(c.took); got != c.want {
			t.Errorf("followWait(%v) = %v, want %v", c.took, got, c.want)
		}
	}
}
