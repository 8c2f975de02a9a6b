package server

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mamori/mamori/internal/auth"
	"github.com/mamori/mamori/internal/store"
	"github.com/mamori/mamori/internal/store/postgres"
	"github.com/mamori/mamori/internal/store/sqlstore"
)

// Two or more servers on one PostgreSQL database (docs/ha.md): each
// campaigns for the database's advisory lock (postgres.Leader). The one
// holding it leads: it schedules the checks, decides their states and runs
// alerting, recovery, reports, housekeeping and the pollers' results. The
// others follow: they serve the console and the API from the store and
// take over when the leader's session ends.

// leaderInterval is how often the campaign checks its connection (and
// tries for the lock): a kill -9 of the leader is taken over in about
// 3.5 intervals (the lock's retry and the grace period of 2.5 intervals).
const leaderInterval = time.Second

// signingKey is the key of console sessions and acknowledgement links:
// in the database when servers share it, else in DATA_DIR/secret.key.
func (s *Server) signingKey(ctx context.Context) ([]byte, error) {
	if s.cfg.Database == "" {
		return auth.LoadOrCreateKey(s.cfg.DataDir)
	}
	return s.st.SharedKey(ctx, sqlstore.SigningKey)
}

// openCluster registers mamori_leader and, on PostgreSQL, prepares the
// campaign.
func (s *Server) openCluster(context.Context) error {
	s.leading = prometheus.NewGauge(prometheus.GaugeOpts{Name: "mamori_leader",
		Help: "1 while this server leads (schedules checks, decides states, alerts); 0 while it follows the leader of its database."})
	s.fencedTotal = prometheus.NewCounter(prometheus.CounterOpts{Name: "mamori_fenced_total",
		Help: "Writes of the leader's work refused because another server had taken the lead of the database (this server then steps down)."})
	s.registry.MustRegister(s.leading, s.fencedTotal)
	s.fenced = make(chan int64, 1)
	if s.cfg.Database != "" {
		s.leader = postgres.NewLeader(s.cfg.Database, postgres.LeaderKey, leaderInterval)
		s.st.OnFenced(s.onFenced)
	}
	return nil
}

func (s *Server) setLeading(on bool) {
	if on {
		s.leading.Set(1)
	} else {
		s.leading.Set(0)
	}
}

// campaign runs the engine's writer and the campaign until ctx ends, and
// runs the leader's work (decide) while this server holds the lead. The
// returned function waits for everything to stop.
func (s *Server) campaign(ctx context.Context) (wait func()) {
	s.setLeading(false)
	s.log.Info("leadership: following; campaigning for the lead of the database")
	served := make(chan struct{})
	go func() { s.eng.Serve(ctx); close(served) }()
	campaigned := make(chan struct{})
	go func() { s.leader.Run(ctx); close(campaigned) }()
	led := make(chan struct{})
	go func() { s.follow(ctx); close(led) }()
	return func() {
		<-led
		<-campaigned
		<-served
	}
}

// follow starts the leader's work when the lead is won and stops it at
// once when it is lost or fenced, until ctx ends.
func (s *Server) follow(ctx context.Context) {
	t := &term{s: s}
	tick := time.NewTicker(leaderInterval)
	defer tick.Stop()
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-s.leader.Changes():
		case ours := <-s.fenced:
			if ours == t.epoch { // not a late report of an earlier term
				t.end(ctx, "fenced: another server took the lead of the database; following (the leader's work stopped)")
				s.leader.Resign() // campaign again from scratch
			}
			continue
		case <-tick.C:
		}
		if s.leader.Leading() && ctx.Err() == nil {
			t.begin(ctx)
		} else {
			t.end(ctx, "lost the lead; following (the leader's work stopped)")
		}
	}
	t.end(ctx, "")
}

// term is one leadership of this server: its epoch, and the leader's
// work running under it.
type term struct {
	s     *Server
	epoch int64 // the database's epoch this term took
	stop  context.CancelFunc
	wait  func()
	since time.Time
}

// begin takes the lead: it increments the database's epoch (the fencing
// token every write of the leader's work checks), then starts the work.
// If the epoch cannot be taken, the next tick tries again.
func (t *term) begin(ctx context.Context) {
	if t.stop != nil {
		return
	}
	epoch, err := t.s.st.TakeLead(ctx)
	if err != nil {
		t.s.log.Error("leadership: could not take the lead's epoch (trying again)", "err", err)
		return
	}
	t.s.log.Info("leadership: epoch taken", "epoch", epoch)
	t.since, t.epoch = time.Now(), epoch
	var lctx context.Context
	lctx, t.stop = context.WithCancel(store.WithEpoch(ctx, epoch))
	t.wait = t.s.decide(lctx, t.s.lead)
	t.s.setLeading(true)
}

// end stops the leader's work at once, if it runs, and logs why.
func (t *term) end(ctx context.Context, why string) {
	if t.stop == nil {
		return
	}
	t.s.eng.StepDown() // no decision is committed from now on
	t.s.setLeading(false)
	t.stop()
	t.wait()
	t.stop, t.wait = nil, nil
	led := time.Since(t.since).Round(time.Millisecond)
	if ctx.Err() != nil {
		t.s.log.Info("leadership: stepped down (shutting down)", "led_for", led)
		return
	}
	t.s.log.Warn("leadership: "+why, "led_for", led)
}

// onFenced is the store's report of a write refused because another
// server took the lead: stop committing at once and let follow step down.
func (s *Server) onFenced(ours, theirs int64) {
	s.eng.StepDown()
	s.fencedTotal.Inc()
	s.log.Error("leadership: a write was fenced: another server leads the database now", "our_epoch", ours, "database_epoch", theirs)
	select {
	case s.fenced <- ours:
	default:
	}
}

// lead is the engine's part of the leader's work: read the last leader's
// states from the store, then schedule and decide until ctx ends.
func (s *Server) lead(ctx context.Context) {
	s.log.Info("leadership: took the lead; reading the states from the store, then scheduling the checks")
	s.fwd.announce(ctx, s.st.PutLeaderAddr)
	s.eng.Lead(ctx)
}
