package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os/user"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mamori/mamori/internal/clidoc"
	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/duration"
	"github.com/mamori/mamori/internal/maintenance"
	"github.com/mamori/mamori/internal/server"
	"github.com/mamori/mamori/internal/store/sqlstore"
)

type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			*l = append(*l, p)
		}
	}
	return nil
}

// cmdMaintenance: mamori maintenance add|list|delete — windows in the
// server's store (the running server picks them up within seconds).
func cmdMaintenance(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: mamori maintenance add|list|delete [--config FILE] ...")
		return 2
	}
	sub, args := args[0], args[1:]
	switch {
	case isHelp([]string{sub}):
		fmt.Fprintln(stdout, "usage: mamori maintenance add|list|delete [--config FILE] ... ('mamori maintenance add --help' for add's flags)")
		return 0
	case sub != "add" && sub != "list" && sub != "delete":
		fmt.Fprintf(stderr, "mamori: unknown maintenance command %q (add, list, delete)\n", sub)
		return 2
	}
	fs := clidoc.NewFlagSet("mamori maintenance "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "", "the server's config file (for data_dir)")
	var add maintAddFlags
	if sub == "add" {
		add.register(fs)
	}
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	if sub != "delete" && len(pos) > 0 {
		fmt.Fprintf(stderr, "mamori maintenance %s: unexpected arguments: %s\n", sub, strings.Join(pos, " "))
		return 2
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		printConfigErrors(stderr, err)
		return 1
	}
	ctx := context.Background()
	st, err := server.OpenStore(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "mamori: %v\n", err)
		return 1
	}
	defer st.Close()
	switch sub {
	case "add":
		return maintenanceAdd(ctx, st, cfg, &add, stdout, stderr)
	case "list":
		return maintenanceList(ctx, st, cfg, stdout, stderr)
	}
	return maintenanceDelete(ctx, st, pos, stdout, stderr)
}

// maintAddFlags are the flags of mamori maintenance add.
type maintAddFlags struct {
	w                           maintenance.Window
	hosts, checks, groups, tags listFlag
	start, end, length          string
}

func (m *maintAddFlags) register(fs *flag.FlagSet) {
	fs.Var(&m.hosts, "host", "host name or pattern (repeatable, comma separated)")
	fs.Var(&m.checks, "check", "check full name or pattern, e.g. web1/http or web1/* (repeatable)")
	fs.Var(&m.groups, "group", "host group (repeatable)")
	fs.Var(&m.tags, "tag", "tag (repeatable)")
	fs.StringVar(&m.w.Tenant, "tenant", "", "tenant")
	fs.BoolVar(&m.w.All, "all", false, "cover everything")
	fs.StringVar(&m.start, "start", "", "start: RFC 3339 or \"2026-12-01 02:00\" in --time-zone (default now)")
	fs.StringVar(&m.end, "end", "", "end (or use --duration)")
	fs.StringVar(&m.length, "duration", "", "length, e.g. 2h (with --start, or of each --cron occurrence)")
	fs.StringVar(&m.w.Cron, "cron", "", "recurring: cron expression (5 fields) with --duration")
	fs.StringVar(&m.w.TimeZone, "time-zone", maintenance.DefaultTimeZone, "IANA time zone of the times given")
	fs.StringVar(&m.w.Reason, "reason", "", "why (shown on the console and incident timelines)")
	fs.StringVar(&m.w.Name, "name", "", "a short name")
}

// window builds the window the flags describe; a wrong flag is said on
// stderr and reported as false.
func (m *maintAddFlags) window(stderr io.Writer) (*maintenance.Window, bool) {
	w := m.w
	loc, err := time.LoadLocation(w.TimeZone)
	if err != nil {
		fmt.Fprintf(stderr, "mamori: --time-zone: %v\n", err)
		return nil, false
	}
	w.Hosts, w.Checks, w.Groups, w.Tags = m.hosts, m.checks, m.groups, m.tags
	var d time.Duration
	if m.length != "" {
		if d, err = duration.Parse(m.length); err != nil {
			fmt.Fprintf(stderr, "mamori: --duration: %v\n", err)
			return nil, false
		}
	}
	if w.Cron != "" {
		w.Duration = d
		return &w, true
	}
	w.Start = time.Now().Truncate(time.Second)
	if m.start != "" {
		if w.Start, err = maintenance.ParseTime(m.start, loc); err != nil {
			fmt.Fprintf(stderr, "mamori: --start: %v\n", err)
			return nil, false
		}
	}
	switch {
	case m.end != "":
		if w.End, err = maintenance.ParseTime(m.end, loc); err != nil {
			fmt.Fprintf(stderr, "mamori: --end: %v\n", err)
			return nil, false
		}
	case d > 0:
		w.End = w.Start.Add(d)
	}
	return &w, true
}

func maintenanceAdd(ctx context.Context, st *sqlstore.Store, cfg *config.Config, m *maintAddFlags, stdout, stderr io.Writer) int {
	w, ok := m.window(stderr)
	if !ok {
		return 2
	}
	if u, err := user.Current(); err == nil {
		w.CreatedBy = "cli:" + u.Username
	}
	if errs := w.Validate(); len(errs) > 0 {
		for _, e := range errs {
			fmt.Fprintf(stderr, "mamori: %v\n", e)
		}
		return 1
	}
	if bad := windowRefErrors(cfg, w); len(bad) > 0 {
		for _, e := range bad {
			fmt.Fprintf(stderr, "mamori: %s\n", e)
		}
		return 1
	}
	b, _ := json.Marshal(w)
	id, err := st.CreateMaintenance(ctx, b, w.CreatedBy)
	if err != nil {
		fmt.Fprintf(stderr, "mamori: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "maintenance window %d added\n", id)
	return 0
}

func maintenanceList(ctx context.Context, st *sqlstore.Store, cfg *config.Config, stdout, stderr io.Writer) int {
	rows, err := st.Maintenances(ctx)
	if err != nil {
		fmt.Fprintf(stderr, "mamori: %v\n", err)
		return 1
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tWINDOW\tBY")
	for _, r := range rows {
		fmt.Fprintf(tw, "%d\t%s\t%s\n", r.ID, r.Body, r.CreatedBy)
	}
	for _, w := range cfg.Maintenance {
		b, _ := json.Marshal(w)
		fmt.Fprintf(tw, "-\t%s\tconfig\n", b)
	}
	tw.Flush()
	return 0
}

func maintenanceDelete(ctx context.Context, st *sqlstore.Store, pos []string, stdout, stderr io.Writer) int {
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "usage: mamori maintenance delete ID [--config FILE]")
		return 2
	}
	id, err := strconv.ParseInt(pos[0], 10, 64)
	if err != nil {
		fmt.Fprintln(stderr, "mamori: ID must be a number")
		return 2
	}
	if err := st.DeleteMaintenance(ctx, id); err != nil {
		fmt.Fprintf(stderr, "mamori: delete %d: %v\n", id, err)
		return 1
	}
	fmt.Fprintf(stdout, "maintenance window %d deleted\n", id)
	return 0
}

// windowRefErrors: hosts, checks, groups and the tenant a new window names
// must exist in the config (a pattern must match something), or the window
// would silently cover nothing.
func windowRefErrors(cfg *config.Config, w *maintenance.Window) []string {
	bad := unknownRefs("host", w.Hosts, hostNames(cfg), cfg.File)
	bad = append(bad, unknownRefs("check", w.Checks, checkNames(cfg), cfg.File)...)
	bad = append(bad, unknownRefs("group", w.Groups, groupNames(cfg), cfg.File)...)
	if w.Tenant != "" {
		bad = append(bad, unknownRefs("tenant", []string{w.Tenant}, tenantNames(cfg), cfg.File)...)
	}
	return bad
}
