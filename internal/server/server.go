// Package server assembles mamori's server from a configuration: it binds
// the port, locks the data directory, opens the stores, builds every
// component with what it needs through its constructor, starts them in
// order and stops them in the reverse order.
//
// Start order (Listen, then Open, then Run):
//
//	listener → data-dir lock → store → auth → TSDB (+ remote write) → event bus
//	→ agent record → engine → agent API → recovery → alerting → reports → API + console → HTTP
//
// Stop order (Run returns after ctx ends): HTTP stops accepting, then the
// engine (no new results), recovery, alerting (its outbox drains to the
// channel workers' deadline), reports, the remote-write senders; then the
// perfdata sink flushes, the TSDB and the store close and the lock goes.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mamori/mamori/internal/agentapi"
	"github.com/mamori/mamori/internal/alerting"
	"github.com/mamori/mamori/internal/api"
	"github.com/mamori/mamori/internal/auth"
	"github.com/mamori/mamori/internal/buildinfo"
	"github.com/mamori/mamori/internal/check"
	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/engine"
	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/metrics"
	"github.com/mamori/mamori/internal/recovery"
	"github.com/mamori/mamori/internal/report"
	"github.com/mamori/mamori/internal/server/specs"
	"github.com/mamori/mamori/internal/store/postgres"
	"github.com/mamori/mamori/internal/store/sqlstore"
	"github.com/mamori/mamori/internal/web"
)

// Options are what the command line gives the server.
type Options struct {
	Config *config.Config
	// Load re-reads the configuration (with the command line's overrides
	// applied) for a reload; nil refuses reloads (the embedded config).
	Load func() (*config.Config, error)
	// AdminToken is MAMORI_ADMIN_TOKEN from the environment; "" keeps a
	// random one in DATA_DIR/admin.token.
	AdminToken string
	Log        *slog.Logger
	Stdout     io.Writer // where the start-up lines go
	// Bound, if set, is called once the listener is bound; the config it
	// returns replaces Config (the embedded example aims its self-check at
	// the address actually bound).
	Bound func(net.Addr) (*config.Config, error)
}

// Server is one assembled mamori server.
type Server struct {
	opts  Options
	cfg   *config.Config
	log   *slog.Logger
	front *frontend
	ln    net.Listener

	closers []func() // run in reverse order by close

	st       *sqlstore.Store
	users    *auth.Service
	tsdb     *metrics.Store
	bus      *event.Bus
	awsHub   *cloudaws.Hub
	agentAPI *agentapi.API
	eng      *engine.Engine
	recov    *recovery.Runner
	alert    *alerting.Service
	reports  *report.Service
	apiSrv   *api.Server
	httpSrv  *http.Server
	rwRun    func(context.Context) func()
	brk      *brokerSide // nil without broker:
	registry *prometheus.Registry
	shared   check.SharedMap
	secret   []byte           // signs console sessions and acknowledgement links
	leader   *postgres.Leader // nil: alone on its store (SQLite)
	leading  prometheus.Gauge // mamori_leader
	fwd      *forwarder       // forwards what only the leader does (forward.go)
	// fencedTotal counts fenced writes (mamori_fenced_total); fenced
	// tells follow the epoch of a fenced write, to step down.
	fencedTotal prometheus.Counter
	fenced      chan int64

	reloadMu sync.Mutex
	live     atomic.Pointer[config.Config] // the configuration in force (Reload replaces it)
}

// Listen binds the server's port. Nothing is written to the data
// directory before this succeeds.
func Listen(opts Options) (*Server, error) {
	cfg := opts.Config
	front, err := newFrontend(cfg)
	if err != nil {
		return nil, fmt.Errorf("%w (nothing was written to %s)", err, cfg.DataDir)
	}
	ln, err := front.limits.Listen(cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("listen: %w (nothing was written to %s)", err, cfg.DataDir)
	}
	if opts.Bound != nil {
		nc, err := opts.Bound(ln.Addr())
		if err != nil {
			ln.Close()
			return nil, err
		}
		cfg, opts.Config = nc, nc
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Stdout == nil {
		opts.Stdout = io.Discard
	}
	s := &Server{opts: opts, cfg: cfg, log: log, front: front, ln: ln}
	s.live.Store(cfg)
	s.closers = append(s.closers, func() { ln.Close() })
	return s, nil
}

// current is the configuration in force: what the components that read
// the configuration (API, console, agent API, recovery, reports) are given.
func (s *Server) current() *config.Config { return s.live.Load() }

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// URL is the server's own base URL.
func (s *Server) URL() string { return s.front.scheme() + "://" + s.ln.Addr().String() + "/" }

// Open builds every component on the bound listener. On an error,
// everything opened so far is closed again.
func (s *Server) Open(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	steps := []func(context.Context) error{s.openStore, s.openMetrics, s.openEngine, s.openCluster, s.openConsumers, s.openHTTP}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Run starts the components, blocks until ctx ends (or the HTTP server
// fails), then stops them in order and closes everything.
func (s *Server) Run(ctx context.Context) error {
	defer s.close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var httpErr error
	go func() {
		if err := s.front.serve(s.httpSrv, s.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			httpErr = err
			s.log.Error("http server", "err", err)
			cancel()
		}
	}()
	fmt.Fprintf(s.opts.Stdout, "mamori %s: %d checks from %s, data in %s, API on %s\n", buildinfo.Short(), len(s.cfg.Checks), s.cfg.File, s.cfg.DataDir, s.URL())
	rwWait := s.rwRun(ctx)
	var wait func()
	if s.leader == nil {
		s.setLeading(true)
		wait = s.decide(ctx, s.eng.Run) // alone on its store: always the leader
	} else {
		wait = s.campaign(ctx)
	}
	<-ctx.Done()
	s.log.Info("shutting down")
	shCtx, shCancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer shCancel()
	_ = s.httpSrv.Shutdown(shCtx)
	wait()
	rwWait()
	return httpErr
}

// decide starts what only the leader runs — the engine's scheduling
// (engine), recovery, alerting, the reports and the pollers' results —
// until ctx ends; the returned function waits for all of them, in order.
func (s *Server) decide(ctx context.Context, engine func(context.Context)) (wait func()) {
	runs := []func(context.Context){engine, s.recov.Run, s.alert.Run, s.reports.Run}
	done := make([]chan struct{}, len(runs))
	for i, run := range runs {
		done[i] = make(chan struct{})
		go func() { run(ctx); close(done[i]) }()
	}
	brkWait := s.brk.run(ctx, s.eng, s.current)
	return func() {
		for _, d := range done {
			<-d
		}
		brkWait()
	}
}

func (s *Server) close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	s.closers = nil
}

// Reload re-reads the configuration and applies it to the running
// components; on an error the running configuration stays.
func (s *Server) Reload() (*config.Config, error) {
	if s.opts.Load == nil {
		return nil, errors.New("running on the embedded default config: nothing to reload")
	}
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	nc, err := s.opts.Load()
	if err != nil {
		return nil, err
	}
	cur := s.current()
	if nc.Listen != cur.Listen || nc.DataDir != cur.DataDir {
		s.log.Warn("listen and data_dir changes take effect at the next restart")
	}
	s.awsHub.SetAccounts(nc.AWSAccounts) // before the checks that use them are built
	if err := s.eng.Reload(specs.Plan(nc)); err != nil {
		s.awsHub.SetAccounts(cur.AWSAccounts)
		return nil, err
	}
	s.live.Store(nc)
	if err := s.alert.SetConfig(nc); err != nil {
		return nil, err
	}
	s.tsdb.SetHostTenants(hostTenants(nc))
	s.apiSrv.SetTokens(nc)
	s.log.Info("configuration reloaded", "file", nc.File, "checks", len(nc.Checks))
	return nc, nil
}

// Hangup is SIGHUP: re-read the TLS files and reload the configuration.
func (s *Server) Hangup() {
	s.front.reloadTLS(s.log)
	if s.opts.Load == nil {
		s.log.Warn("SIGHUP: configuration not reloaded: running on the embedded default config")
		return
	}
	if _, err := s.Reload(); err != nil {
		s.log.Error("configuration refused; the running one stays", "err", strings.ReplaceAll(err.Error(), "\n", "; "))
	}
}

// hostTenants maps each host with a tenant to it (for the time series' tenant label).
func hostTenants(cfg *config.Config) map[string]string {
	m := map[string]string{}
	for _, h := range cfg.Hosts {
		if h.Tenant != "" {
			m[h.Name] = h.Tenant
		}
	}
	return m
}

// plainLoopback: plain HTTP on a loopback address, where browsers would drop
// Secure cookies.
func plainLoopback(cfg *config.Config) bool {
	if strings.HasPrefix(cfg.PublicURL, "https://") || cfg.TLS.Enabled() {
		return false
	}
	host, _, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

// consoleDeps and apiDeps keep openHTTP short.
func (s *Server) consoleDeps() web.Deps {
	return web.Deps{Engine: s.eng, Config: s.current, Alerting: s.alert, Events: s.bus, Store: s.st, Auth: consoleAuth{s.users},
		Metrics: consoleMetrics{s.tsdb}, Log: s.log,
		SecureCookies: strings.HasPrefix(s.cfg.PublicURL, "https://") || s.cfg.TLS.Enabled()}
}
