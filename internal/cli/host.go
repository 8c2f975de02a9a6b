package cli

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mamori/mamori/internal/clidoc"
	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/server"
	"github.com/mamori/mamori/internal/store"
	"github.com/mamori/mamori/internal/store/sqlstore"
)

// cmdHost: mamori host add|list|revoke — agent tokens of hosts, kept
// (hashed) in the server's store; the running server accepts a new token
// and refuses a revoked one within seconds.
func cmdHost(args []string, stdout, stderr io.Writer) int {
	usage := func() {
		fmt.Fprintln(stderr, `usage:
  mamori host add NAME [--tenant T] [--rotate] --config FILE   enrol a host's agent: prints its token once
  mamori host list --config FILE                              hosts with an agent: token, last contact
  mamori host revoke NAME --config FILE                       the host's enrolled token stops working`)
	}
	if len(args) == 0 || isHelp(args[:1]) {
		usage()
		return 2
	}
	hc, code := parseHostArgs(args, stderr, usage)
	if code != 0 {
		return code
	}
	cfg, err := loadConfig(hc.path)
	if err != nil {
		printConfigErrors(stderr, err)
		return 1
	}
	ctx := context.Background()
	var h *config.Host
	if hc.name != "" {
		if h = cfg.Host(hc.name); h == nil {
			fmt.Fprintf(stderr, "mamori: host %q is not in %s: declare it under hosts: first%s\n", hc.name, cfg.File, knownHosts(cfg))
			return 1
		}
	}
	st, err := server.OpenStore(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "mamori: %v\n", err)
		return 1
	}
	defer st.Close()
	switch hc.sub {
	case "add":
		return hostAdd(ctx, st, cfg, h, hc, stdout, stderr)
	case "revoke":
		return hostRevoke(ctx, st, cfg, h, stdout, stderr)
	}
	return hostList(ctx, st, cfg, stdout, stderr)
}

// hostCmd is a parsed mamori host command line.
type hostCmd struct {
	sub, name, path, tenant string
	rotate                  bool
}

// parseHostArgs parses SUB [NAME] [flags]; code is non-zero (2) when the
// command line is wrong (already said on stderr).
func parseHostArgs(args []string, stderr io.Writer, usage func()) (hostCmd, int) {
	hc := hostCmd{sub: args[0]}
	args = args[1:]
	fs := clidoc.NewFlagSet("mamori host "+hc.sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "the server's config file (for its hosts and data_dir)")
	tenant := fs.String("tenant", "", "the host's tenant (must match the config's)")
	rotate := fs.Bool("rotate", false, "replace the host's token if it has one")
	// NAME may come before or after the flags.
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		hc.name, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return hc, 2
	}
	if hc.name == "" && fs.NArg() > 0 {
		hc.name = fs.Arg(0)
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return hc, 2
		}
	}
	hc.path, hc.tenant, hc.rotate = *path, *tenant, *rotate
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "mamori host %s: unexpected arguments: %s\n", hc.sub, strings.Join(fs.Args(), " "))
		return hc, 2
	}
	switch hc.sub {
	case "add", "revoke":
		if hc.name == "" {
			fmt.Fprintf(stderr, "mamori host %s: give the host's name\n", hc.sub)
			return hc, 2
		}
	case "list":
		if hc.name != "" {
			fmt.Fprintln(stderr, "mamori host list: takes no name")
			return hc, 2
		}
	default:
		fmt.Fprintf(stderr, "mamori host: unknown subcommand %q\n", hc.sub)
		usage()
		return hc, 2
	}
	if hc.path == "" {
		fmt.Fprintf(stderr, "mamori host %s: give the server's --config FILE (its hosts and data_dir)\n", hc.sub)
		return hc, 2
	}
	return hc, 0
}

// hostAdd enrols a host's agent and prints its token once.
func hostAdd(ctx context.Context, st *sqlstore.Store, cfg *config.Config, h *config.Host, hc hostCmd, stdout, stderr io.Writer) int {
	name := hc.name
	if hc.tenant != "" && hc.tenant != h.Tenant {
		if h.Tenant == "" {
			fmt.Fprintf(stderr, "mamori: host %q has no tenant in %s (set tenant: %s there first)\n", name, cfg.File, hc.tenant)
		} else {
			fmt.Fprintf(stderr, "mamori: host %q is in tenant %q in %s, not %q\n", name, h.Tenant, cfg.File, hc.tenant)
		}
		return 1
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		fmt.Fprintf(stderr, "mamori: %v\n", err)
		return 1
	}
	tok := base64.RawURLEncoding.EncodeToString(raw)
	sum := sha256.Sum256([]byte(tok))
	if err := st.EnrollAgent(ctx, name, h.Tenant, sum[:], hc.rotate); err != nil {
		if errors.Is(err, sqlstore.ErrEnrolled) {
			fmt.Fprintf(stderr, "mamori: host %q already has an agent token: revoke it (mamori host revoke %s --config %s) or add --rotate\n", name, name, hc.path)
			return 1
		}
		fmt.Fprintf(stderr, "mamori: %v\n", err)
		return 1
	}
	server := cfg.PublicURL
	if server == "" {
		server = "http://" + cfg.Listen
	}
	fmt.Fprintf(stdout, "Agent token for host %s (shown only now; the server keeps only its hash):\n\n  %s\n\n", name, tok)
	fmt.Fprintf(stdout, "Start the agent on %s with:\n\n  mamori agent --server %s --token %s\n\n", name, server, tok)
	if !h.AgentToken.IsZero() {
		fmt.Fprintf(stdout, "Note: %s also has an agent_token in %s; both are accepted.\n", name, cfg.File)
	}
	if !h.Agent {
		fmt.Fprintf(stdout, "Note: %s has no agent-side checks and no `agent: true` in %s, so it has no heartbeat check yet.\n", name, cfg.File)
	}
	return 0
}

// hostRevoke revokes a host's enrolled token.
func hostRevoke(ctx context.Context, st *sqlstore.Store, cfg *config.Config, h *config.Host, stdout, stderr io.Writer) int {
	ok, err := st.RevokeAgent(ctx, h.Name)
	if err != nil {
		fmt.Fprintf(stderr, "mamori: %v\n", err)
		return 1
	}
	if !ok {
		fmt.Fprintf(stderr, "mamori: host %q has no enrolled agent token\n", h.Name)
		return 1
	}
	fmt.Fprintf(stdout, "revoked the agent token of %s: the server refuses it within seconds\n", h.Name)
	if !h.AgentToken.IsZero() {
		fmt.Fprintf(stdout, "Note: the agent_token of %s in %s still works until you remove it there.\n", h.Name, cfg.File)
	}
	return 0
}

// hostList prints the hosts with an agent: tokens, last contact, counters.
func hostList(ctx context.Context, st *sqlstore.Store, cfg *config.Config, stdout, stderr io.Writer) int {
	known, err := st.AgentHosts(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "mamori: %v\n", err)
		return 1
	}
	byName := map[string]store.AgentHost{}
	for _, a := range known {
		byName[a.Host] = a
	}
	var names []string
	for _, h := range cfg.Hosts {
		if _, ok := byName[h.Name]; ok || h.Agent || !h.AgentToken.IsZero() {
			names = append(names, h.Name)
		}
	}
	for _, a := range known {
		if cfg.Host(a.Host) == nil {
			names = append(names, a.Host)
		}
	}
	sort.Strings(names)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tTENANT\tTOKEN\tLAST SEEN\tSEQ\tDROPPED\tAGENT")
	now := time.Now()
	for _, n := range names {
		a := byName[n]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", n, orDash(hostTenant(cfg.Host(n), a)), hostTokens(cfg.Host(n), a),
			lastSeen(now, a.LastSeen), strconv.FormatUint(a.LastSeq, 10), dropped(a), orDash(a.AgentInfo))
	}
	tw.Flush()
	return 0
}

func hostTenant(h *config.Host, a store.AgentHost) string {
	if h != nil {
		return h.Tenant
	}
	return a.Tenant
}

// hostTokens says which tokens a host has: config, enrolled, none.
func hostTokens(h *config.Host, a store.AgentHost) string {
	var toks []string
	if h == nil {
		toks = append(toks, "(host not in config)")
	} else if !h.AgentToken.IsZero() {
		toks = append(toks, "config")
	}
	if len(a.TokenHash) > 0 {
		toks = append(toks, "enrolled "+a.EnrolledAt.Local().Format("2006-01-02"))
	}
	if len(toks) == 0 {
		toks = append(toks, "none")
	}
	return strings.Join(toks, ", ")
}

func lastSeen(now, seen time.Time) string {
	if seen.IsZero() {
		return "never"
	}
	return now.Sub(seen).Round(time.Second).String() + " ago"
}

func dropped(a store.AgentHost) string {
	if a.DroppedResults+a.DroppedSamples > 0 {
		return fmt.Sprintf("%d results, %d samples", a.DroppedResults, a.DroppedSamples)
	}
	return "-"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func knownHosts(cfg *config.Config) string {
	if len(cfg.Hosts) == 0 {
		return " (the config has no hosts)"
	}
	names := make([]string, 0, len(cfg.Hosts))
	for _, h := range cfg.Hosts {
		names = append(names, h.Name)
	}
	if len(names) > 20 {
		names = append(names[:20], "...")
	}
	return " (known: " + strings.Join(names, ", ") + ")"
}
