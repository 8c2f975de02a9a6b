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
	var w maintenance.Window
	var hosts, checks, groups, tags listFlag
	var start, end, length string
	if sub == "add" {
		fs.Var(&hosts, "host", "host name or pattern (repeatable, comma separated)")
		fs.Var(&checks, "check", "check full name or pattern, e.g. web1/http or web1/* (repeatable)")
		fs.Var(&groups, "group", "host group (repeatable)")
		fs.Var(&tags, "tag", "tag (repeatable)")
		fs.StringVar(&w.Tenant, "tenant", "", "tenant")
		fs.BoolVar(&w.All, "all", false, "cover everything")
		fs.StringVar(&start, "start", "", "start: RFC 3339 or \"2026-12-01 02:00\" in --time-zone (default now)")
		fs.StringVar(&end, "end", "", "end (or use --duration)")
		fs.StringVar(&length, "duration", "", "length, e.g. 2h (with --start, or of each --cron occurrence)")
		fs.StringVar(&w.Cron, "cron", "", "recurring: cron expression (5 fields) with --duration")
		fs.StringVar(&w.TimeZone, "time-zone", maintenance.DefaultTimeZone, "IANA time zone of the times given")
		fs.StringVar(&w.Reason, "reason", "", "why (shown on the console and incident timelines)")
		fs.StringVar(&w.Name, "name", "", "a short name")
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
		loc, err := time.LoadLocation(w.TimeZone)
		if err != nil {
			fmt.Fprintf(stderr, "mamori: --time-zone: %v\n", err)
			return 2
		}
		w.Hosts, w.Checks, w.Groups, w.Tags = hosts, checks, groups, tags
		var d time.Duration
		if length != "" {
			if d, err = duration.Parse(length); err != nil {
				fmt.Fprintf(stderr, "mamori: --duration: %v\n", err)
				return 2
			}
		}
		if w.Cron != "" {
			w.Duration = d
		} else {
			w.Start = time.Now().Truncate(time.Second)
			if start != "" {
				if w.Start, err = maintenance.ParseTime(start, loc); err != nil {
					fmt.Fprintf(stderr, "mamori: --start: %v\n", err)
					return 2
				}
			}
			switch {
			case end != "":
				if w.End, err = maintenance.ParseTime(end, loc); err != nil {
					fmt.Fprintf(stderr, "mamori: --end: %v\n", err)
					return 2
				}
			case d > 0:
				w.End = w.Start.Add(d)
			}
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
		if bad := windowRefErrors(cfg, &w); len(bad) > 0 {
			for _, e := range bad {
				fmt.Fprintf(stderr, "mamori: %s\n", e)
			}
			return 1
		}
		b, _ := json.Marshal(&w)
		id, err := st.CreateMaintenance(ctx, b, w.CreatedBy)
		if err != nil {
			fmt.Fprintf(stderr, "mamori: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "maintenance window %d added\n", id)
		return 0
	case "list":
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
	case "delete":
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
	fmt.Fprintf(stderr, "mamori: unknown maintenance command %q (add, list, delete)\n", sub)
	return 2
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
