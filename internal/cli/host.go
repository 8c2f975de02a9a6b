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
	sub, args := args[0], args[1:]
	fs := clidoc.NewFlagSet("mamori host "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "the server's config file (for its hosts and data_dir)")
	tenant := fs.String("tenant", "", "the host's tenant (must match the config's)")
	rotate := fs.Bool("rotate", false, "replace the host's token if it has one")
	// NAME may come before or after the flags.
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if name == "" && fs.NArg() > 0 {
		name = fs.Arg(0)
		if err := fs.Parse(fs.Args()[1:]); err != nil {
			return 2
		}
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "mamori host %s: unexpected arguments: %s\n", sub, strings.Join(fs.Args(), " "))
		return 2
	}
	switch sub {
	case "add", "revoke":
		if name == "" {
			fmt.Fprintf(stderr, "mamori host %s: give the host's name\n", sub)
			return 2
		}
	case "list":
		if name != "" {
			fmt.Fprintln(stderr, "mamori host list: takes no name")
			return 2
		}
	default:
		fmt.Fprintf(stderr, "mamori host: unknown subcommand %q\n", sub)
		usage()
		return 2
	}
	if *path == "" {
		fmt.Fprintf(stderr, "mamori host %s: give the server's --config FILE (its hosts and data_dir)\n", sub)
		return 2
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		printConfigErrors(stderr, err)
		return 1
	}
	ctx := context.Background()
	var h *config.Host
	if name != "" {
		if h = cfg.Host(name); h == nil {
			fmt.Fprintf(stderr, "mamori: host %q is not in %s: declare it under hosts: first%s\n", name, cfg.File, knownHosts(cfg))
			return 1
		}
	}
	st, err := server.OpenStore(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "mamori: %v\n", err)
		return 1
	}
	defer st.Close()

	switch sub {
	case "add":
		if *tenant != "" && *tenant != h.Tenant {
			if h.Tenant == "" {
				fmt.Fprintf(stderr, "mamori: host %q has no tenant in %s (set tenant: %s there first)\n", name, cfg.File, *tenant)
			} else {
				fmt.Fprintf(stderr, "mamori: host %q is in tenant %q in %s, not %q\n", name, h.Tenant, cfg.File, *tenant)
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
		if err := st.EnrollAgent(ctx, name, h.Tenant, sum[:], *rotate); err != nil {
			if errors.Is(err, sqlstore.ErrEnrolled) {
				fmt.Fprintf(stderr, "mamori: host %q already has an agent token: revoke it (mamori host revoke %s --config %s) or add --rotate\n", name, name, *path)
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

	case "revoke":
		ok, err := st.RevokeAgent(ctx, name)
		if err != nil {
			fmt.Fprintf(stderr, "mamori: %v\n", err)
			return 1
		}
		if !ok {
			fmt.Fprintf(stderr, "mamori: host %q has no enrolled agent token\n", name)
			return 1
		}
		fmt.Fprintf(stdout, "revoked the agent token of %s: the server refuses it within seconds\n", name)
		if !h.AgentToken.IsZero() {
			fmt.Fprintf(stdout, "Note: the agent_token of %s in %s still works until you remove it there.\n", name, cfg.File)
		}
		return 0
	}

	// list
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
		h := cfg.Host(n)
		var toks []string
		tenant := a.Tenant
		if h != nil {
			tenant = h.Tenant
			if !h.AgentToken.IsZero() {
				toks = append(toks, "config")
			}
		} else {
			toks = append(toks, "(host not in config)")
		}
		if len(a.TokenHash) > 0 {
			toks = append(toks, "enrolled "+a.EnrolledAt.Local().Format("2006-01-02"))
		}
		if len(toks) == 0 {
			toks = append(toks, "none")
		}
		seen := "never"
		if !a.LastSeen.IsZero() {
			seen = now.Sub(a.LastSeen).Round(time.Second).String() + " ago"
		}
		dropped := "-"
		if a.DroppedResults+a.DroppedSamples > 0 {
			dropped = fmt.Sprintf("%d results, %d samples", a.DroppedResults, a.DroppedSamples)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", n, orDash(tenant), strings.Join(toks, ", "), seen, strconv.FormatUint(a.LastSeq, 10), dropped, orDash(a.AgentInfo))
	}
	tw.Flush()
	return 0
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
