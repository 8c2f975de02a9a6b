// Package cli implements the mamori command line.
package cli

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/mamori/mamori/internal/buildinfo"
	"github.com/mamori/mamori/internal/check/fieldset"
)

// command is one `mamori NAME` subcommand. The table drives dispatch, the
// usage text, "did you mean", the man page and the shell completions.
type command struct {
	name    string
	args    string   // synopsis after the name
	summary string   // one line
	subs    []string // its own subcommands (add, list, ...), if any
	run     func(args []string, stdout, stderr io.Writer) int
}

var commands []command

func init() {
	commands = []command{
		{"server", "[--config FILE] [--listen ADDR] [--data-dir DIR]", "run the server", nil, cmdServer},
		{"validate", "[--config FILE]", "check a config file, report every problem", nil, cmdValidate},
		{"check", "TYPE [flags] [-- ARGS]", "run one check like a Nagios plugin", nil, cmdCheck},
		{"aws", "discover --account NAME [--config FILE] [--tags k=v] [--write FILE]", "propose checks for an AWS account's resources", []string{"discover"}, cmdAWS},
		{"maintenance", "add|list|delete [--config FILE] ...", "suspend alerting for hosts/checks", []string{"add", "list", "delete"}, cmdMaintenance},
		{"agent", "--server URL --token TOKEN [--config FILE]", "run the agent on a monitored host", nil, cmdAgent},
		{"poller", "--broker nats://HOST:PORT --zone NAME [--name N] [--state-dir DIR] [--creds FILE]", "run a zone's checks inside a customer network (pulls them from NATS JetStream)", nil, cmdPoller},
		{"host", "add|list|revoke NAME [--config FILE]", "enrol a host's agent (prints its token)", []string{"add", "list", "revoke"}, cmdHost},
		{"run", "[--job NAME] --url URL|--server URL --token T -- CMD ARGS", "run a job and report it", nil, cmdRun},
		{"user", "add|passwd|list|disable|enable [--config FILE] ...", "console users (roles admin, operator, customer, viewer)", []string{"add", "passwd", "list", "disable", "enable"}, cmdUser},
		{"token", "create|list|revoke [--config FILE] ...", "per-user API tokens", []string{"create", "list", "revoke"}, cmdToken},
		{"recover", "CHECK [--dry-run] [--server URL] [--token T]", "run a check's next recovery step now", nil, cmdRecover},
		{"migrate-store", "--from sqlite:DIR --to postgres://USER@HOST:PORT/DB", "copy an installation's SQLite store into an empty PostgreSQL database", nil, cmdMigrateStore},
		{"report", "--config FILE --tenant T (--month YYYY-MM | --from T1 --to T2) [--lang ja|en] --format pdf|html|json --out FILE", "a tenant's availability report", nil, cmdReport},
		{"healthcheck", "[--url URL] [--config FILE]", "exit 0 if the local server answers /healthz (container health check)", nil, cmdHealthcheck},
		{"completion", "bash|zsh|fish", "print the shell completion script", []string{"bash", "zsh", "fish"}, cmdCompletion},
		{"man", "", "print the man page (roff)", nil, cmdMan},
		{"version", "", "print the version", nil, cmdVersion},
	}
}

func lookup(name string) (*command, bool) {
	for i := range commands {
		if commands[i].name == name {
			return &commands[i], true
		}
	}
	return nil, false
}

func commandNames() []string {
	names := make([]string, len(commands))
	for i, c := range commands {
		names[i] = c.name
	}
	return names
}

// Main runs the command line and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name, rest := args[0], args[1:]
	switch name {
	case "--version", "-version":
		name = "version"
	case "help", "-h", "--help", "-help":
		if len(rest) > 0 {
			if c, ok := lookup(rest[0]); ok {
				return help(c, rest[1:], stdout)
			}
		}
		usage(stdout)
		return 0
	}
	c, ok := lookup(name)
	if !ok {
		fmt.Fprintf(stderr, "mamori: unknown command %q%s\n\n", name, fieldset.SuggestKey(name, commandNames()))
		usage(stderr)
		return 2
	}
	if wantsHelp(rest) {
		return help(c, rest, stdout)
	}
	return c.run(rest, stdout, stderr)
}

// help runs c with --help and prints what it says on stdout, exit 0:
// every command's usage comes from its own flag set.
func help(c *command, args []string, stdout io.Writer) int {
	sub := subOf(c, args)
	var buf bytes.Buffer
	c.run(append(sub, "--help"), &buf, &buf)
	if buf.Len() == 0 {
		fmt.Fprintf(&buf, "usage: mamori %s %s\n", c.name, c.args)
	}
	_, _ = stdout.Write(buf.Bytes())
	return 0
}

// subOf is the subcommand (or check type) args start with, if any.
func subOf(c *command, args []string) []string {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") && (len(c.subs) > 0 || c.name == "check") {
		return args[:1]
	}
	return nil
}

// wantsHelp: -h, -help or --help among the arguments before "--".
func wantsHelp(args []string) bool {
	before, _ := stripDashDash(args)
	for _, a := range before {
		switch a {
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

func usage(w io.Writer) {
	fmt.Fprint(w, "mamori — monitoring and first response\n\nUsage:\n")
	for _, c := range commands {
		syn := strings.TrimSpace(c.name + " " + c.args)
		fmt.Fprintf(w, "  mamori %-66s %s\n", syn, c.summary)
	}
	fmt.Fprint(w, "\nRun 'mamori COMMAND --help' for a command's flags, 'mamori check' for the check types,\n'mamori check TYPE --help' for a type's flags.\n")
}

func cmdVersion(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "--help" {
		fmt.Fprintln(stdout, "usage: mamori version")
		return 0
	}
	fmt.Fprintln(stdout, VersionString())
	return 0
}

// VersionString describes this build (see internal/buildinfo).
func VersionString() string { return buildinfo.String("mamori") }

// stripDashDash splits args at "--".
func stripDashDash(args []string) (before, after []string) {
	for i, a := range args {
		if a == "--" {
			return args[:i], args[i+1:]
		}
	}
	return args, nil
}

func isHelp(args []string) bool {
	for _, a := range args {
		switch strings.TrimLeft(a, "-") {
		case "h", "help":
			return strings.HasPrefix(a, "-")
		}
	}
	return false
}

// parseInterspersed parses flags that may come before or after the
// positional arguments ("user add alice --role admin").
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" { // everything after -- is positional
			return append(pos, rest...), nil
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
}
