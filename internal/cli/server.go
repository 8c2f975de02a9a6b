package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/mamori/mamori/examples"
	"github.com/mamori/mamori/internal/clidoc"
	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/server"
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
	opts := server.Options{Config: cfg, AdminToken: os.Getenv("MAMORI_ADMIN_TOKEN"), Log: newLogger(stderr, cfg.LogLevel), Stdout: stdout}
	if *path == "" { // the embedded example: its self-check follows the bound address
		opts.Bound = func(addr net.Addr) (*config.Config, error) {
			c, err := embeddedFor(addr)
			if err == nil {
				override(c)
			}
			return c, err
		}
	}
	warnNoChannels(cfg, stdout, opts.Log)
	if *path != "" {
		opts.Load = func() (*config.Config, error) {
			nc, err := config.Load(*path)
			if err == nil {
				override(nc)
			}
			return nc, err
		}
	}
	return runServer(opts, stderr)
}

// runServer binds, opens and runs the server until SIGINT or SIGTERM;
// SIGHUP reloads the configuration and the TLS files.
func runServer(opts server.Options, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := server.Listen(opts)
	if err != nil {
		fmt.Fprintf(stderr, "mamori: %v\n", err)
		return 1
	}
	if err := srv.Open(ctx); err != nil {
		fmt.Fprintf(stderr, "mamori: %v\n", err)
		return 1
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for range hup {
			srv.Hangup()
		}
	}()
	if err := srv.Run(ctx); err != nil {
		fmt.Fprintf(stderr, "mamori: %v\n", err)
		return 1
	}
	return 0
}
