package agent

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/clidoc"
)

const agentUsage = `Usage: mamori agent --server URL --token TOKEN [--config FILE] [flags]

Runs on a monitored host. Connects outbound to the mamori server, runs the
host's agent-side checks (load, memory, disk, process, service, log,
windows_event, and any check marked on_agent), sends host metrics every
minute, keeps everything on disk while the server is unreachable, and runs
recovery actions the server asks for — only those named in its own local
allowlist (actions: in the config file).

Flags override the config file. The token may be a literal, ${ENV_VAR} or
file:/path (mamori host add NAME prints it).

Config file keys (YAML):
  server: https://mamori.example.net      # the server's base URL
  token: ${MAMORI_AGENT_TOKEN}            # or file:/etc/mamori/agent.token
  ca_file: /etc/mamori/ca.pem             # CAs to trust for the server
  client_cert: /etc/mamori/agent.crt      # optional client certificate (mTLS)
  client_key: /etc/mamori/agent.key
  insecure_skip_verify: false
  state_dir: /var/lib/mamori-agent        # spool, log offsets, cached config
  spool_max_bytes: 64MiB                  # oldest data dropped (and counted) beyond
  action_timeout: 5m
  hostname: web01                         # reported to the server (default: the OS's)
  actions:                                # the allowlist: NAME → argv, no shell
    restart_nginx: [systemctl, restart, nginx]

On Windows, "mamori-agent service install [flags]" registers the agent as an
automatically started Windows service running with those flags (and
"service uninstall" removes it); its log is %ProgramData%\mamori\agent.log.

Flags:
`

// Main runs `mamori agent` (and the slim mamori-agent binary) with its
// command-line arguments; version describes the build.
func Main(args []string, stdout, stderr io.Writer, version string) int {
	prog := progName(version)
	fs := clidoc.NewFlagSet(prog, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), strings.Replace(agentUsage, "mamori agent", prog, 1))
		fs.PrintDefaults()
	}
	var (
		cfgFile    = fs.String("config", "", "local config file (YAML)")
		server     = fs.String("server", "", "server base URL, e.g. https://mamori.example.net")
		token      = fs.String("token", "", "the host's agent token (literal, ${ENV} or file:PATH)")
		stateDir   = fs.String("state-dir", "", "state directory (default /var/lib/mamori-agent, or ./mamori-agent-state when that is not writable)")
		caFile     = fs.String("ca-file", "", "PEM file of CAs to trust for the server")
		clientCert = fs.String("client-cert", "", "client certificate (PEM) for mutual TLS")
		clientKey  = fs.String("client-key", "", "client key (PEM) for mutual TLS")
		insecure   = fs.Bool("insecure-skip-verify", false, "do not verify the server's certificate (testing only)")
		spoolMax   = fs.String("spool-max-bytes", "", "spool bound, e.g. 64MiB (default 64MiB)")
		hostname   = fs.String("hostname", "", "host name reported to the server (default: the OS's)")
		logLevel   = fs.String("log-level", "info", "debug, info, warn or error")
	)
	if len(args) > 0 && args[0] == "service" {
		return serviceCommand(args[1:], stdout, stderr)
	}
	if len(args) == 1 && (args[0] == "version" || args[0] == "--version" || args[0] == "-version") {
		fmt.Fprintln(stdout, version)
		return 0
	}
	if wantsHelp(args) {
		fs.SetOutput(stdout)
		fs.Usage()
		return 0
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "mamori agent: unexpected arguments: %s\n", strings.Join(fs.Args(), " "))
		return 2
	}
	flags := Config{Server: *server, StateDir: *stateDir, CAFile: *caFile, ClientCert: *clientCert, ClientKey: *clientKey, InsecureSkipVerify: *insecure, Hostname: *hostname}
	cfg, code := resolveConfig(*cfgFile, *token, *spoolMax, flags, stderr)
	if code != 0 {
		return code
	}
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(*logLevel))
	stderr = serviceLog(stderr)
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: lvl}))
	rt, err := New(cfg, Options{Logger: log, Agent: version})
	if err != nil {
		fmt.Fprintf(stderr, "mamori agent: %v\n", err)
		return 1
	}
	if err := runAgent(rt.Run); err != nil {
		fmt.Fprintf(stderr, "mamori agent: %v\n", err)
		return 1
	}
	return 0
}

// resolveConfig reads the config file (if any), resolves the --token and
// --spool-max-bytes flags into flags, merges the flags over the file and
// finishes the result. A non-zero code is Main's exit status after the
// problem was written to stderr.
func resolveConfig(cfgFile, token, spoolMax string, flags Config, stderr io.Writer) (Config, int) {
	var cfg Config
	if cfgFile != "" {
		c, err := LoadConfigFile(cfgFile)
		if err != nil {
			fmt.Fprintf(stderr, "mamori agent: %v\n", err)
			return Config{}, 1
		}
		cfg = c
	}
	if token != "" {
		sec, err := check.ResolveSecret(token)
		if err != nil {
			fmt.Fprintf(stderr, "mamori agent: --token: %v\n", err)
			return Config{}, 2
		}
		flags.Token = sec
	}
	if spoolMax != "" {
		n, err := ParseSize(spoolMax)
		if err != nil {
			fmt.Fprintf(stderr, "mamori agent: --spool-max-bytes: %v\n", err)
			return Config{}, 2
		}
		flags.SpoolMaxBytes = n
	}
	cfg = cfg.Merge(flags)
	if err := cfg.Finish(); err != nil {
		fmt.Fprintf(stderr, "mamori agent: %v\n", err)
		return Config{}, 2
	}
	return cfg, 0
}

// progName is how the running program calls itself: "mamori-agent" for
// the slim binary (its version string starts with that), else "mamori agent".
func progName(version string) string {
	if strings.HasPrefix(version, "mamori-agent") {
		return "mamori-agent"
	}
	return "mamori agent"
}

func wantsHelp(args []string) bool {
	for _, a := range args {
		if a == "-h" || a == "--help" || a == "-help" || a == "help" {
			return true
		}
	}
	return false
}
