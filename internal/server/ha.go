package server

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mamori/mamori/internal/auth"
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
	s.registry.MustRegister(s.leading)
	if s.cfg.Database != "" {
		s.leader = postgres.NewLeader(s.cfg.Database, postgres.LeaderKey, leaderInterval)
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
// once when it is lost, until ctx ends.
func (s *Server) follow(ctx context.Context) {
	var stop context.CancelFunc
	var wait func()
	var since time.Time
	step := func(leading bool) {
		switch {
		case leading && stop == nil:
			since = time.Now()
			var lctx context.Context
			lctx, stop = context.WithCancel(ctx)
			wait = s.decide(lctx, s.lead)
			s.setLeading(true)
		case !leading && stop != nil:
			s.eng.StepDown() // no decision is committed from now on
			s.setLeading(false)
			stop()
			wait()
			stop, wait = nil, nil
			if ctx.Err() != nil {
				s.log.Info("leadership: stepped down (shutting down)", "led_for", time.Since(since).Round(time.Millisecond))
				return
			}
			s.log.Warn("leadership: lost the lead; following (the leader's work stopped)", "led_for", time.Since(since).Round(time.Millisecond))
		}
	}
	tick := time.NewTicker(leaderInterval)
	defer tick.Stop()
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
		case <-s.leader.Changes():
		case <-tick.C:
		}
		step(s.leader.Leading() && ctx.Err() == nil)
	}
	step(false)
}

// lead is the engine's part of the leader's work: read the last leader's
// states from the store, then schedule and decide until ctx ends.
func (s *Server) lead(ctx context.Context) {
	s.log.Info("leadership: took the lead; reading the states from the store, then scheduling the checks")
	s.fwd.announce(ctx, s.st.PutLeaderAddr)
	s.eng.Lead(ctx)
}
