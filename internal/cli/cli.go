// Package cli implements the mamori command line.
package cli

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
	"strings"
)

// Main runs the command line and returns the process exit code.
func Main(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "server":
		return cmdServer(rest, stdout, stderr)
	case "validate":
		return cmdValidate(rest, stdout, stderr)
	case "check":
		return cmdCheck(rest, stdout, stderr)
	case "maintenance":
		return cmdMaintenance(rest, stdout, stderr)
	case "user":
		return cmdUser(rest, stdout, stderr)
	case "agent":
		return cmdAgent(rest, stdout, stderr)
	case "run":
		return cmdRun(rest, stdout, stderr)
	case "host":
		return cmdHost(rest, stdout, stderr)
	case "recover":
		return cmdRecover(rest, stdout, stderr)
	case "token":
		return cmdToken(rest, stdout, stderr)
	case "report":
		return cmdReport(args[1:], stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, VersionString())
		return 0
	case "help", "-h", "--help", "-help":
		usage(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "mamori: unknown command %q\n\n", cmd)
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprint(w, `mamori — monitoring and first response

Usage:
  mamori server   [--config FILE] [--listen ADDR] [--data-dir DIR]   run the server
  mamori validate [--config FILE]                                     check a config file, report every problem
  mamori check    TYPE [flags] [-- ARGS]                              run one check like a Nagios plugin
  mamori maintenance add|list|delete [--config FILE] ...              suspend alerting for hosts/checks
  mamori agent    --server URL --token TOKEN [--config FILE]          run the agent on a monitored host
  mamori host add|list|revoke NAME [--config FILE]                    enrol a host's agent (prints its token)
  mamori run      [--job NAME] --url URL|--server URL --token T -- CMD ARGS   run a job and report it
  mamori user add|passwd|list|disable|enable [--config FILE] ...      console users (roles admin, operator, customer, viewer)
  mamori token create|list|revoke [--config FILE] ...                 per-user API tokens
  mamori recover  CHECK [--dry-run] [--server URL] [--token T]        run a check's next recovery step now
  mamori report   --config FILE --tenant T --month YYYY-MM --format pdf|html|json --out FILE   a tenant's report
  mamori version                                                      print the version

Run 'mamori check' for the check types, 'mamori check TYPE --help' for a type's flags.
`)
}

// Version is set at build time with -ldflags "-X github.com/mamori/mamori/internal/cli.Version=v1.2.3".
var Version = "dev"

// VersionString describes this build.
func VersionString() string {
	v := Version
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += "+" + s.Value[:12]
			}
		}
	}
	return fmt.Sprintf("mamori %s (%s, %s/%s)", v, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

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
