package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mamori/mamori/examples"
	"github.com/mamori/mamori/internal/agentapi"
	"github.com/mamori/mamori/internal/alerting"
	"github.com/mamori/mamori/internal/api"
	"github.com/mamori/mamori/internal/auth"
	"github.com/mamori/mamori/internal/buildinfo"
	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awscheck"
	"github.com/mamori/mamori/internal/clidoc"
	cloudaws "github.com/mamori/mamori/internal/cloud/aws"
	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/dirlock"
	"github.com/mamori/mamori/internal/engine"
	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/metrics"
	"github.com/mamori/mamori/internal/recovery"
	"github.com/mamori/mamori/internal/recovery/policy"
	"github.com/mamori/mamori/internal/report"
	"github.com/mamori/mamori/internal/web"
)

// loadConfig reads --config FILE, or the embedded example when path is "".
func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		return config.Parse(examples.DefaultName, examples.Default)
	}
	return config.Load(path)
}

func printConfigErrors(w io.Writer, err error) {
	var es config.Errors
	if errors.As(err, &es) {
		for _, e := range es {
			fmt.Fprintln(w, e.Error())
		}
		fmt.Fprintf(w, "%s found\n", plural(len(es), "problem"))
		return
	}
	fmt.Fprintln(w, err)
}

func cmdValidate(args []string, stdout, stderr io.Writer) int {
	fs := clidoc.NewFlagSet("mamori validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: mamori validate [FILE | --config FILE] (default: the embedded example)")
		fs.PrintDefaults()
	}
	path := fs.String("config", "", "config file (or give it as the argument; default: the embedded example)")
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	switch {
	case len(pos) > 1 || (len(pos) == 1 && *path != ""):
		fmt.Fprintln(stderr, "mamori validate: give one config file (as the argument or with --config)")
		return 2
	case len(pos) == 1:
		*path = pos[0]
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		printConfigErrors(stderr, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: OK — %s, %s, %s\n", cfg.File, plural(len(cfg.Checks), "check"), plural(len(cfg.Hosts), "host"), plural(len(cfg.Channels), "channel"))
	return 0
}

// plural is "1 check", "2 checks".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level))
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
}

// lockDataDir creates the data directory if needed and locks it.
func lockDataDir(dir string) (*dirlock.Lock, error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("data_dir: %w", err)
	}
	l, err := dirlock.Acquire(dir, "mamori server")
	if err != nil {
		return nil, fmt.Errorf("data_dir: %w", err)
	}
	return l, nil
}

func cmdServer(args []string, stdout, stderr io.Writer) int {
	fs := clidoc.NewFlagSet("mamori server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "config file (default: the embedded example, which monitors this machine)")
	listen := fs.String("listen", "", "listen address (overrides the config's listen)")
	dataDir := fs.String("data-dir", "", "data directory (overrides the config's data_dir)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		printConfigErrors(stderr, err)
		fmt.Fprintln(stderr, "mamori: not started: fix the configuration above")
		return 1
	}
	override := func(c *config.Config) {
		if *listen != "" {
			c.Listen = *listen
		}
		if *dataDir != "" {
			c.DataDir = *dataDir
		}
	}
	override(cfg)
	log := newLogger(stderr, cfg.LogLevel)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// Bind first: a server that cannot listen must not touch its data
	// directory (no database created, no keys, no first user).
	front, err := newFrontend(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "mamori: %v (nothing was written to %s)\n", err, cfg.DataDir)
		return 1
	}
	ln, err := front.limits.Listen(cfg.Listen)
	if err != nil {
		fmt.Fprintf(stderr, "mamori: listen: %v (nothing was written to %s)\n", err, cfg.DataDir)
		return 1
	}
	defer ln.Close()
	if *path == "" { // the embedded example: its self-check follows the bound address
		if cfg, err = embeddedFor(ln.Addr()); err != nil {
			fmt.Fprintf(stderr, "mamori: %v\n", err)
			return 1
		}
		override(cfg)
	}
	warnNoChannels(cfg, stdout, log)

	// One server per data directory, held until the process ends (the OS
	// releases it on a crash): two servers on one store corrupt each other.
	lock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		fmt.Fprintf(stderr, "mamori: %v\n", err)
		return 1
	}
	defer lock.Release()

	st, err := openStore(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "mamori: %v\n", err)
		return 1
	}
	defer st.Close()
	authKey, err := auth.LoadOrCreateKey(cfg.DataDir)
	if err != nil {
		fmt.Fprintf(stderr, "mamori: %v\n", err)
		return 1
	}
	users := auth.New(st, authKey, log, auth.WithSecureCookies(!plainLoopback(cfg)))
	firstUser, firstPassword := "", ""
	if created, name, pw, err := users.FirstStart(ctx); err != nil {
		fmt.Fprintf(stderr, "mamori: first user: %v\n", err)
		return 1
	} else if created {
		firstUser, firstPassword = name, pw
	}
	reg := prometheus.NewRegistry()
	rwHook, rwRun, err := remoteWriters(cfg, reg, log)
	if err != nil {
		fmt.Fprintf(stderr, "mamori: %v\n", err)
		return 1
	}
	tsdbOpts := []metrics.Option{metrics.WithRegisterer(reg)}
	if rwHook != nil {
		tsdbOpts = append(tsdbOpts, metrics.WithAppendHook(rwHook))
	}
	tsdb, err := metrics.Open(filepath.Join(cfg.DataDir, "tsdb"), 0, log, tsdbOpts...)
	if err != nil {
		fmt.Fprintf(stderr, "mamori: %v\n", err)
		return 1
	}
	defer tsdb.Close()
	tsdb.SetHostTenants(hostTenants(cfg))
	perf := metrics.NewPerfSink(tsdb, 10000, func(err error) { log.Warn("perfdata refused", "err", err) })
	defer func() {
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		perf.Close(c)
	}()
	bus := event.NewBus()
	bus.Attach(event.Result, perf) // never blocks; drops are counted
	agentAPI := agentapi.New(nil, st, tsdb, log)
	awsHub := cloudaws.NewHub(cfg.AWSAccounts, cloudaws.WithLogger(log))
	reg.MustRegister(awsHub.Collectors()...)
	shared := check.SharedMap{}
	awscheck.Share(shared, awsHub)
	eng, err := engine.New(ctx, cfg, st, log, engine.WithRegistry(reg), engine.WithPassive(agentAPI.Passive()), engine.WithShared(shared),
		engine.WithEvents(bus))
	if err != nil {
		fmt.Fprintf(stderr, "mamori: %v\n", err)
		return 1
	}
	if err := ensureAdminToken(cfg.DataDir, stdout); err != nil {
		fmt.Fprintf(stderr, "mamori: %v\n", err)
		return 1
	}

	maint := alerting.NewMaintenance(cfg, st, log)
	recov := recovery.New(recovery.Options{Config: eng.Config, Checks: eng, States: eng, Store: st, Maint: maint, Agent: agentLink{agentAPI}, Log: log, Shared: shared,
		Policy: func(c *config.Check) *policy.Policy { return c.Recovery },
		Global: func(c *config.Config) policy.Global { return c.Recovery }})
	bus.Attach(event.Result|event.StateChange, recov)
	alert, err := alerting.New(alerting.Deps{Config: cfg, Store: st, States: eng, Events: bus, Maintenance: maint, Actions: recov, Log: log})
	if err != nil {
		fmt.Fprintf(stderr, "mamori: %v\n", err)
		return 1
	}

	var reload api.Reloader
	if *path != "" {
		reload = func() (*config.Config, error) {
			nc, err := config.Load(*path)
			if err != nil {
				return nil, err
			}
			override(nc)
			if nc.Listen != eng.Config().Listen || nc.DataDir != eng.Config().DataDir {
				log.Warn("listen and data_dir changes take effect at the next restart")
			}
			awsHub.SetAccounts(nc.AWSAccounts) // before the checks that use them are built
			if err := eng.Reload(nc); err != nil {
				awsHub.SetAccounts(eng.Config().AWSAccounts)
				return nil, err
			}
			if err := alert.SetConfig(nc); err != nil {
				return nil, err
			}
			tsdb.SetHostTenants(hostTenants(nc))
			log.Info("configuration reloaded", "file", *path, "checks", len(nc.Checks))
			return nc, nil
		}
	}
	agentAPI.SetEngine(eng)
	eng.Metrics.Registry.MustRegister(agentAPI.Metrics().Collectors()...)
	apiSrv := api.New(api.Deps{Engine: eng, Store: st, Tickets: st, Events: bus, Log: log, Reload: reload})
	apiSrv.Mount(agentAPI.Routes)
	apiSrv.SetMetrics(tsdb)
	apiSrv.SetAlerting(alert)
	apiSrv.SetUsers(users)
	apiSrv.SetRecovery(recov)
	reports := &report.Service{Config: eng.Config, Store: st, Mailer: alert, Log: log,
		Sources: func(context.Context) (report.Sources, error) {
			return report.Sources{Config: eng.Config(), History: st, Alerts: st, Tickets: st, Windows: alert.Windows(), Metrics: tsdb}, nil
		}}
	apiSrv.SetReports(reports)

	console := web.New(web.Deps{Engine: eng, Alerting: alert, Events: bus, Store: st, Auth: consoleAuth{users},
		Metrics: consoleMetrics{tsdb}, Log: log, SecureCookies: strings.HasPrefix(cfg.PublicURL, "https://") || cfg.TLS.Enabled()})
	mux := http.NewServeMux()
	for _, p := range []string{"/api/", "/healthz", "/metrics", "/ack/", "/hooks/"} {
		mux.Handle(p, apiSrv)
	}
	console.Routes(mux)
	httpSrv := front.server(mux)
	go func() {
		if err := front.serve(httpSrv, ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server", "err", err)
			stop()
		}
	}()

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			front.reloadTLS(log)
			if reload == nil {
				log.Warn("SIGHUP: configuration not reloaded: running on the embedded default config")
				continue
			}
			if nc, err := reload(); err != nil {
				log.Error("configuration refused; the running one stays", "err", strings.ReplaceAll(err.Error(), "\n", "; "))
			} else {
				apiSrv.SetTokens(nc)
			}
		}
	}()

	fmt.Fprintf(stdout, "mamori %s: %d checks from %s, data in %s, API on %s://%s/\n", buildinfo.Short(), len(cfg.Checks), cfg.File, cfg.DataDir, front.scheme(), ln.Addr())
	if firstUser != "" {
		if err := announceFirstUser(stdout, cfg.DataDir, front.scheme()+"://"+ln.Addr().String()+"/", firstUser, firstPassword); err != nil {
			fmt.Fprintf(stderr, "mamori: %v\n", err)
			return 1
		}
	}
	engineDone := make(chan struct{})
	go func() { eng.Run(ctx); close(engineDone) }()
	alertDone := make(chan struct{})
	go func() { alert.Run(ctx); close(alertDone) }()
	recovDone := make(chan struct{})
	go func() { recov.Run(ctx); close(recovDone) }()
	reportsDone := make(chan struct{})
	go func() { reports.Run(ctx); close(reportsDone) }()
	rwWait := rwRun(ctx)
	<-ctx.Done()
	log.Info("shutting down")
	shCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = httpSrv.Shutdown(shCtx)
	<-engineDone
	<-alertDone
	<-recovDone
	<-reportsDone
	rwWait()
	return 0
}

// ensureAdminToken makes sure the API can be used on a first start: without
// MAMORI_ADMIN_TOKEN, a random token is kept in DATA_DIR/admin.token (mode
// 0600) and its path — never the token — is printed.
func ensureAdminToken(dataDir string, stdout io.Writer) error {
	if os.Getenv("MAMORI_ADMIN_TOKEN") != "" {
		return nil
	}
	path := filepath.Join(dataDir, "admin.token")
	b, err := os.ReadFile(path)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			return err
		}
		buf := make([]byte, 24)
		if _, err := rand.Read(buf); err != nil {
			return err
		}
		b = []byte(hex.EncodeToString(buf))
		if err := os.WriteFile(path, append(b, '\n'), 0o600); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		fmt.Fprintf(stdout, "created an API token in %s (or set MAMORI_ADMIN_TOKEN yourself)\n", path)
	}
	fmt.Fprintf(stdout, "API token: curl -H \"Authorization: Bearer $(cat %s)\" ...\n", path)
	return os.Setenv("MAMORI_ADMIN_TOKEN", strings.TrimSpace(string(b)))
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

// announceFirstUser keeps the first admin's password in
// DATA_DIR/initial-admin-password (0600) and prints how to log in — the
// path, never the password, so that it stays out of logs.
func announceFirstUser(stdout io.Writer, dataDir, url, name, password string) error {
	path := filepath.Join(dataDir, "initial-admin-password")
	if err := os.WriteFile(path, []byte(password+"\n"), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	fmt.Fprintf(stdout, "first start: created the user %q (role admin); its password is in %s\n", name, path)
	fmt.Fprintf(stdout, "log in at %s as %s, then run 'mamori user passwd %s' and delete that file\n", url, name, name)
	return nil
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
