package poller

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mamori/mamori/internal/broker"
	"github.com/mamori/mamori/internal/clidoc"
	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/dirlock"
)

const usage = `Usage: mamori poller --broker nats://HOST:PORT --zone NAME [--name N] [--state-dir DIR] [--creds FILE]
                     [--agent-listen ADDR [--agent-tls-cert FILE --agent-tls-key FILE [--agent-client-ca FILE]]] [flags]

Runs inside a customer network. Connects outbound to the central NATS
JetStream (directly or through a NATS leaf node), takes the checks of its
zone from the zone's work queue, runs them with the same check code as the
server and sends the results back. Several pollers of a zone share the
work and take over from each other. While the broker is unreachable it
keeps running its checks from the cache in --state-dir and buffers the
results on disk (bounded: the oldest are dropped and counted), then
delivers them in order.

With --agent-listen, the agents of hosts in the zone that cannot reach the
server use this poller as their server (mamori agent --server
http://POLLER:PORT): it relays their requests (hello, batches, long polls
for recovery actions, responses, push reports) over its broker connection
to the leading server, which serves only hosts of this zone. While the
broker or the server is away it answers 503 with Retry-After and the agents
keep their data in their spools. A request body is limited to the broker's
max_payload less 8 KiB (413 beyond). See docs/pollers.md.

Flags:
`

// Main runs `mamori poller`.
func Main(args []string, stdout, stderr io.Writer, version string) int {
	fs := clidoc.NewFlagSet("mamori poller", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage)
		fs.PrintDefaults()
	}
	host, _ := os.Hostname()
	var (
		url      = fs.String("broker", "", "the central NATS, e.g. nats://nats.example.net:4222 (several: comma-separated)")
		zone     = fs.String("zone", "", "the zone whose checks this poller runs")
		name     = fs.String("name", host, "this poller's name (shown as the poller of its results)")
		stateDir = fs.String("state-dir", "./poller-state", "result buffer and job cache")
		creds    = fs.String("creds", "", "the zone's broker credentials: a NATS .creds file, an nkey seed file or a file holding user:password")
		caFile   = fs.String("ca-file", "", "CAs to trust for a tls:// broker")
		listen   = fs.String("listen", "", "serve Prometheus metrics on this address (/metrics), e.g. 127.0.0.1:9484")
		conc     = fs.Int("concurrency", 64, "checks running at once")
		bufMax   = fs.Int64("buffer-max-bytes", 256<<20, "results kept on disk while the broker is unreachable; beyond, the oldest are dropped and counted")
		level    = fs.String("log-level", "info", "debug, info, warn or error")
		agents   = newAgentFlags(fs)
	)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if problems := append(flagProblems(*url, *zone, *name), agents.problems()...); len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(stderr, "mamori poller:", p)
		}
		return 2
	}
	var lv slog.Level
	_ = lv.UnmarshalText([]byte(*level))
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lv})).With("zone", *zone, "poller", *name)
	if err := os.MkdirAll(*stateDir, 0o700); err != nil {
		fmt.Fprintln(stderr, "mamori poller:", err)
		return 1
	}
	lock, err := dirlock.Acquire(*stateDir, "mamori poller")
	if err != nil {
		fmt.Fprintln(stderr, "mamori poller:", err)
		return 1
	}
	defer lock.Release()
	o := Options{Broker: broker.ConnOptions{URL: *url, Creds: *creds, CAFile: *caFile}, Zone: *zone, Name: *name,
		StateDir: *stateDir, Concurrency: *conc, BufferMax: *bufMax, Log: log}
	if o.Agents, o.AgentTLS, err = agents.listen(); err != nil {
		fmt.Fprintln(stderr, "mamori poller: --agent-listen:", err)
		return 1
	}
	p, err := New(o)
	if err != nil {
		fmt.Fprintln(stderr, "mamori poller:", err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stopMetrics, err := p.serveMetrics(*listen)
	if err != nil {
		fmt.Fprintln(stderr, "mamori poller: --listen:", err)
		return 1
	}
	defer stopMetrics()
	log.Info("poller starting", "version", version, "broker", *url, "state_dir", *stateDir)
	if err := p.Run(ctx); err != nil && ctx.Err() == nil {
		fmt.Fprintln(stderr, "mamori poller:", err)
		return 1
	}
	return 0
}

// serveMetrics serves /metrics on addr ("": not at all) until the
// returned function is called.
func (p *Poller) serveMetrics(addr string) (stop func(), err error) {
	if addr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(p.m.reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return func() { srv.Close() }, nil
}

// agentFlags are the agent relay's flags.
type agentFlags struct{ addr, cert, key, clientCA *string }

func newAgentFlags(fs *flag.FlagSet) agentFlags {
	return agentFlags{
		addr:     fs.String("agent-listen", "", "relay the agent API of this network's agents to the server, e.g. 0.0.0.0:8443 (off by default)"),
		cert:     fs.String("agent-tls-cert", "", "serve --agent-listen with TLS: certificate (PEM)"),
		key:      fs.String("agent-tls-key", "", "serve --agent-listen with TLS: private key (PEM)"),
		clientCA: fs.String("agent-client-ca", "", "with --agent-tls-cert: agents must present a client certificate this CA (PEM) signed"),
	}
}

func (f agentFlags) problems() (out []string) {
	if (*f.cert == "") != (*f.key == "") || (*f.cert != "" && *f.addr == "") {
		out = append(out, "--agent-tls-cert and --agent-tls-key go together, with --agent-listen")
	}
	if *f.clientCA != "" && *f.cert == "" {
		out = append(out, "--agent-client-ca needs --agent-tls-cert and --agent-tls-key (client certificates need TLS)")
	}
	return out
}

// listen binds --agent-listen (nil when not set) and loads its TLS files.
func (f agentFlags) listen() (net.Listener, *tls.Config, error) {
	if *f.addr == "" {
		return nil, nil, nil
	}
	var tc *tls.Config
	if *f.cert != "" {
		pair, err := tls.LoadX509KeyPair(*f.cert, *f.key)
		if err != nil {
			return nil, nil, err
		}
		tc = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{pair}}
	}
	if *f.clientCA != "" {
		b, err := os.ReadFile(*f.clientCA)
		if err != nil {
			return nil, nil, err
		}
		tc.ClientCAs = x509.NewCertPool()
		if !tc.ClientCAs.AppendCertsFromPEM(b) {
			return nil, nil, fmt.Errorf("--agent-client-ca %s: no PEM certificate in it", *f.clientCA)
		}
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	ln, err := net.Listen("tcp", *f.addr)
	return ln, tc, err
}

func flagProblems(url, zone, name string) (problems []string) {
	if url == "" {
		problems = append(problems, "--broker is required")
	}
	if !config.ValidZone(zone) {
		problems = append(problems, "--zone is required: letters, digits, '-' and '_' (at most 32)")
	}
	if name == "" || len(name) > 64 || strings.ContainsAny(name, " \t\n") {
		problems = append(problems, "--name must be 1 to 64 characters without spaces")
	}
	return problems
}
