package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/fieldset"
	"github.com/mamori/mamori/internal/duration"
)

// cmdCheck runs one check like a Nagios plugin: one output line, exit code
// 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (also for bad arguments).
func cmdCheck(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if isHelp(args) {
			listKinds(stdout)
			return 0
		}
		fmt.Fprintln(stderr, "usage: mamori check TYPE [flags] [-- ARGS]")
		listKinds(stderr)
		return 3
	}
	kind, ok := check.Lookup(args[0])
	if !ok {
		fmt.Fprintf(stdout, "UNKNOWN - unknown check type %q%s\n", args[0], fieldset.SuggestKey(args[0], check.Names()))
		listKinds(stderr)
		return 3
	}
	flagArgs, extra := stripDashDash(args[1:])
	spec := kind.New()
	fs := flag.NewFlagSet("mamori check "+kind.Name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	timeout := kind.Timeout
	fs.Func("timeout", "give up after this long (default "+kind.Timeout.String()+")", func(s string) error {
		d, err := duration.Parse(s)
		timeout = d
		return err
	})
	verbose := fs.Bool("v", false, "print long output too")
	fields := specFlags(fs, spec)
	showVersion := nagiosFlags(fs)
	if err := fs.Parse(flagArgs); err != nil {
		if err == flag.ErrHelp {
			checkHelp(stdout, kind, fields)
			return 0
		}
		fmt.Fprintf(stdout, "%s UNKNOWN - bad arguments: %v\n", label(kind), err)
		fmt.Fprintf(stderr, "run 'mamori check %s --help' for its flags\n", kind.Name)
		return 3
	}
	if *showVersion {
		fmt.Fprintf(stdout, "mamori check %s: %s\n", kind.Name, VersionString())
		return 0
	}
	if fs.NArg() > 0 {
		extra = append(fs.Args(), extra...)
	}
	if len(extra) > 0 {
		if kind.Args == nil {
			fmt.Fprintf(stdout, "%s UNKNOWN - unexpected arguments: %s\n", label(kind), strings.Join(extra, " "))
			return 3
		}
		if err := kind.Args(spec, extra); err != nil {
			fmt.Fprintf(stdout, "%s UNKNOWN - bad arguments: %v\n", label(kind), err)
			return 3
		}
	}
	if problems := specProblems(spec, fields); len(problems) > 0 {
		fmt.Fprintf(stdout, "%s UNKNOWN - bad arguments: %s\n", label(kind), strings.Join(problems, "; "))
		return 3
	}
	checker, err := spec.New(check.Env{})
	if err != nil {
		fmt.Fprintf(stdout, "%s UNKNOWN - %v\n", label(kind), err)
		return 3
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	r := check.Run(ctx, kind, checker, timeout)
	fmt.Fprintln(stdout, r.PluginLine())
	if *verbose && r.Long != "" {
		fmt.Fprintln(stdout, r.Long)
	}
	return r.Status.ExitCode()
}

// specFlags makes every field of the type's spec a flag of fs.
func specFlags(fs *flag.FlagSet, spec check.Spec) []fieldset.Field {
	fields := fieldset.Of(spec)
	touched := map[string]bool{}
	for _, f := range fields {
		set := func(s string) error {
			if !touched[f.Key] {
				f.Reset() // a flag replaces a list default instead of adding to it
				touched[f.Key] = true
			}
			return f.Set(s)
		}
		if f.IsBool() {
			fs.BoolFunc(f.Flag(), f.Help, func(s string) error { return set(s) })
		} else {
			fs.Func(f.Flag(), f.Help, set)
		}
	}
	return fields
}

// specProblems lists what is missing or wrong in the spec, by flag.
func specProblems(spec check.Spec, fields []fieldset.Field) []string {
	var problems []string
	seen := map[string]bool{}
	flagOf := map[string]string{}
	for _, f := range fields {
		flagOf[f.Key] = f.Flag()
	}
	for _, fe := range append(fieldset.MissingRequired(spec), spec.Validate()...) {
		if !seen[fe.Field] {
			seen[fe.Field] = true
			name := flagOf[fe.Field]
			if name == "" {
				name = strings.ReplaceAll(fe.Field, "_", "-")
			}
			problems = append(problems, "--"+name+" "+fe.Msg)
		}
	}
	return problems
}

// nagiosFlags adds the Monitoring Plugins short options as aliases of the
// type's own flags where it has them: -H (--host, or dns's --server, which
// --host also names), -p (--port), -w (--warning), -c (--critical) and -t
// (--timeout); and -V/--version, whose value it returns.
func nagiosFlags(fs *flag.FlagSet) *bool {
	alias := func(name string, targets ...string) {
		if fs.Lookup(name) != nil {
			return
		}
		for _, t := range targets {
			if f := fs.Lookup(t); f != nil {
				fs.Var(f.Value, name, f.Usage)
				return
			}
		}
	}
	alias("host", "server")
	alias("H", "host")
	alias("p", "port")
	alias("w", "warning")
	alias("c", "critical")
	alias("t", "timeout")
	version := new(bool)
	for _, name := range []string{"V", "version"} {
		if fs.Lookup(name) == nil {
			fs.BoolVar(version, name, false, "print the version")
		}
	}
	return version
}

func label(k *check.Kind) string {
	if k.Label == "" {
		return strings.ToUpper(k.Name)
	}
	return k.Label
}

func listKinds(w io.Writer) {
	for _, g := range []struct {
		title string
		scope check.Scope
	}{{"Check types:", check.ScopeServer}, {"Agent check types (run by the agent on its host; here, on this host):", check.ScopeAgent}} {
		fmt.Fprintln(w, "\n"+g.title)
		tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
		for _, k := range check.Kinds() {
			if k.Scope == g.scope {
				fmt.Fprintf(tw, "  %s\t%s\n", k.Name, k.Summary)
			}
		}
		tw.Flush()
	}
}

func checkHelp(w io.Writer, k *check.Kind, fields []fieldset.Field) {
	fmt.Fprintf(w, "mamori check %s — %s\n\nUsage: mamori check %s [flags]", k.Name, k.Summary, k.Name)
	if k.Args != nil {
		fmt.Fprint(w, " -- ARGS...")
	}
	fmt.Fprintln(w, "\n\nFlags:")
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	for _, f := range fields {
		def := f.Default()
		if def != "" {
			def = " (default " + def + ")"
		}
		req := ""
		if f.Required {
			req = " [required]"
		}
		fmt.Fprintf(tw, "  --%s %s\t%s%s%s\n", f.Flag(), f.Type, f.Help, def, req)
	}
	fmt.Fprintf(tw, "  --timeout duration\tgive up after this long (default %s)\n", k.Timeout)
	fmt.Fprintf(tw, "  -v\tprint long output too\n")
	fmt.Fprintf(tw, "  -H -p -w -c -t\tNagios short options for --host, --port, --warning, --critical, --timeout\n")
	fmt.Fprintf(tw, "  -V, --version\tprint the version\n")
	tw.Flush()
	fmt.Fprintln(w, "\nExit status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (Nagios plugin conventions).")
}
