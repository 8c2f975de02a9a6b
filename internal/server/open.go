package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mamori/mamori/internal/agentapi"
	"github.com/mamori/mamori/internal/alerting"
	"github.com/mamori/mamori/internal/api"
	"github.com/mamori/mamori/internal/auth"
	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awscheck"
	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/dirlock"
	"github.com/mamori/mamori/internal/engine"
	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/metrics"
	"github.com/mamori/mamori/internal/recovery"
	"github.com/mamori/mamori/internal/recovery/policy"
	"github.com/mamori/mamori/internal/report"
	"github.com/mamori/mamori/internal/server/specs"
	"github.com/mamori/mamori/internal/store/sqlstore"
	"github.com/mamori/mamori/internal/web"
)

// openStore locks the data directory (one server per directory, held until
// the process ends; the OS releases it on a crash) and opens the store and
// the users.
func (s *Server) openStore(ctx context.Context) error {
	dir := s.cfg.DataDir
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("data_dir: %w", err)
	}
	lock, err := dirlock.Acquire(dir, "mamori server")
	if err != nil {
		return fmt.Errorf("data_dir: %w", err)
	}
	s.closers = append(s.closers, func() { lock.Release() })
	if s.st, err = OpenStore(ctx, s.cfg); err != nil {
		return err
	}
	s.closers = append(s.closers, func() { s.st.Close() })
	key, err := s.signingKey(ctx)
	if err != nil {
		return err
	}
	s.secret = key
	s.users = auth.New(s.st, key, s.log, auth.WithSecureCookies(!plainLoopback(s.cfg)))
	created, name, pw, err := s.users.FirstStart(ctx)
	if err != nil {
		return fmt.Errorf("first user: %w", err)
	}
	if created {
		return announceFirstUser(s, name, pw)
	}
	return nil
}

// openMetrics opens the TSDB with its remote writers, the perfdata sink
// and the event bus feeding it.
func (s *Server) openMetrics(context.Context) error {
	reg := prometheus.NewRegistry()
	hook, run, err := remoteWriters(s.cfg, reg, s.log)
	if err != nil {
		return err
	}
	s.rwRun = run
	opts := []metrics.Option{metrics.WithRegisterer(reg)}
	if hook != nil {
		opts = append(opts, metrics.WithAppendHook(hook))
	}
	if s.tsdb, err = metrics.Open(filepath.Join(s.cfg.DataDir, "tsdb"), 0, s.log, opts...); err != nil {
		return err
	}
	s.closers = append(s.closers, func() { s.tsdb.Close() })
	s.tsdb.SetHostTenants(hostTenants(s.cfg))
	perf := metrics.NewPerfSink(s.tsdb, 10000, func(err error) { s.log.Warn("perfdata refused", "err", err) })
	s.closers = append(s.closers, func() {
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		perf.Close(c)
	})
	s.bus = event.NewBus()
	s.bus.Attach(event.Result, perf) // never blocks; drops are counted
	s.registry = reg
	return nil
}

// openEngine builds the record of agent contacts and job reports, the AWS
// hub, the engine (whose heartbeat and push checks read the record) and the
// agent API (which writes the record and hands results to the engine).
func (s *Server) openEngine(ctx context.Context) error {
	record := agentapi.NewRecord(s.st, s.current, s.log)
	s.awsHub = cloudaws.NewHub(s.cfg.AWSAccounts, cloudaws.WithLogger(s.log))
	s.registry.MustRegister(s.awsHub.Collectors()...)
	s.shared = check.SharedMap{}
	awscheck.Share(s.shared, s.awsHub)
	var err error
	if s.brk, err = openBroker(s.cfg, s.registry, s.log); err != nil {
		return err
	}
	s.closers = append(s.closers, s.brk.close)
	opts := append([]engine.Option{engine.WithRegistry(s.registry), engine.WithPassive(record),
		engine.WithShared(s.shared), engine.WithEvents(s.bus)}, s.brk.options()...)
	if s.cfg.Database != "" {
		opts = append(opts, engine.WithFollower()) // until the campaign is won
	}
	s.eng, err = engine.New(ctx, specs.Plan(s.cfg), s.st, s.log, opts...)
	if err != nil {
		return err
	}
	s.registry.MustRegister(stagingMetrics(s.st)...)
	s.agentAPI = agentapi.New(agentapi.Deps{Results: s.eng, Record: record, Config: s.current, Hosts: s.st, Sink: s.tsdb, Log: s.log, Secret: s.secret})
	s.registry.MustRegister(s.agentAPI.Metrics().Collectors()...)
	s.brk.relayAgents(s.agentAPI)
	return nil
}

// openConsumers builds what reacts to the engine's events: recovery,
// alerting and the reports.
func (s *Server) openConsumers(context.Context) error {
	maint := alerting.NewMaintenance(s.cfg, s.st, s.log)
	s.recov = recovery.New(recovery.Options{Config: s.current, Checks: s.eng, States: s.eng, Store: s.st, Maint: maint,
		Agent: agentLink{s.agentAPI}, Log: s.log, Shared: s.shared,
		Policy: func(c *config.Check) *policy.Policy { return c.Recovery },
		Global: func(c *config.Config) policy.Global { return c.Recovery }})
	s.bus.Attach(event.Result|event.StateChange, s.recov)
	var err error
	s.alert, err = alerting.New(alerting.Deps{Config: s.cfg, Store: s.st, States: s.eng, Events: s.bus, Maintenance: maint, Actions: s.recov, Log: s.log,
		Secret: s.secret})
	if err != nil {
		return err
	}
	s.reports = &report.Service{Config: s.current, Store: s.st, Mailer: s.alert, Log: s.log,
		Sources: func(context.Context) (report.Sources, error) {
			return report.Sources{Config: s.current(), History: s.st, Alerts: s.st, Tickets: s.st, Windows: s.alert.Windows(), Metrics: s.tsdb}, nil
		}}
	return nil
}

// openHTTP builds the API and the console on one mux.
func (s *Server) openHTTP(context.Context) error {
	tok, err := adminToken(s.cfg.DataDir, s.opts.AdminToken, s.opts.Stdout)
	if err != nil {
		return err
	}
	var reload api.Reloader
	if s.opts.Load != nil {
		reload = s.Reload
	}
	s.apiSrv = api.New(api.Deps{Engine: s.eng, Config: s.current, Store: s.st, Tickets: s.st, Events: s.bus, Log: s.log, Reload: reload,
		AdminToken: tok, Metrics: s.tsdb, Alerting: s.alert, Users: s.users, Recovery: s.recov, Reports: s.reports,
		Clustered: s.cfg.Database != ""})
	s.apiSrv.Mount(s.agentAPI.Routes)
	console := web.New(s.consoleDeps())
	mux := http.NewServeMux()
	for _, p := range []string{"/api/", "/healthz", "/metrics", "/ack/", "/hooks/"} {
		mux.Handle(p, s.apiSrv)
	}
	console.Routes(mux)
	if s.fwd, err = newForwarder(s.cfg.AdvertiseURL, s.cfg.AdvertiseCAFile, s.secret, s.eng.Leading, s.st.LeaderAddr, s.log); err != nil {
		return err
	}
	s.registry.MustRegister(s.fwd.count)
	s.httpSrv = s.front.server(s.fwd.wrap(mux), s.fwd.arrive)
	return nil
}

// adminToken makes sure the API can be used on a first start: without
// MAMORI_ADMIN_TOKEN (env), a random token is kept in DATA_DIR/admin.token
// (mode 0600) and its path — never the token — is printed.
func adminToken(dataDir, env string, stdout interface{ Write([]byte) (int, error) }) (string, error) {
	if env != "" {
		return env, nil
	}
	path := filepath.Join(dataDir, "admin.token")
	b, err := os.ReadFile(path)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			return "", err
		}
		buf := make([]byte, 24)
		if _, err := rand.Read(buf); err != nil {
			return "", err
		}
		b = []byte(hex.EncodeToString(buf))
		if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
			return "", fmt.Errorf("write %s: %w", path, err)
		}
		fmt.Fprintf(stdout, "created an API token in %s (or set MAMORI_ADMIN_TOKEN yourself)\n", path)
	}
	fmt.Fprintf(stdout, "API token: curl -H \"Authorization: Bearer $(cat %s)\" ...\n", path)
	return strings.TrimSpace(string(b)), nil
}

// announceFirstUser keeps the first admin's password in
// DATA_DIR/initial-admin-password (0600) and prints how to log in — the
// path, never the password, so that it stays out of logs.
func announceFirstUser(s *Server, name, password string) error {
	path := filepath.Join(s.cfg.DataDir, "initial-admin-password")
	if err := os.WriteFile(path, []byte(password+"\n"), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	fmt.Fprintf(s.opts.Stdout, "first start: created the user %q (role admin); its password is in %s\n", name, path)
	fmt.Fprintf(s.opts.Stdout, "log in at %s as %s, then run 'mamori user passwd %s' and delete that file\n", s.URL(), name, name)
	return nil
}

// stagingMetrics count the store's moves of staged results (SQLite): a
// move that fails leaves its results staged, read from there, and is
// tried again a minute later.
func stagingMetrics(st *sqlstore.Store) []prometheus.Collector {
	counter := func(name, help string, pick func(moves, moved, failed int64) int64) prometheus.Collector {
		return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, func() float64 {
			return float64(pick(st.StagedMoves()))
		})
	}
	return []prometheus.Collector{
		counter("mamori_store_staged_moves_total", "Moves of staged results into the results table.",
			func(moves, _, _ int64) int64 { return moves }),
		counter("mamori_store_staged_results_moved_total", "Results moved from the staging table into the results table.",
			func(_, moved, _ int64) int64 { return moved }),
		counter("mamori_store_staged_move_failures_total", "Moves of staged results that failed (the results stay staged and readable; the move is tried again a minute later).",
			func(_, _, failed int64) int64 { return failed }),
	}
}
