package cli

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/buildinfo"
	"github.com/mamori/mamori/internal/check"
)

// cmdMan prints mamori(1) in roff, generated from the command table and
// the commands' own flag sets (scripts/release.sh packages it).
func cmdMan(args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 {
		fmt.Fprintln(stdout, "usage: mamori man > mamori.1   (then: man ./mamori.1)")
		return 0
	}
	writeMan(stdout, describe())
	return 0
}

// roff escapes text for a roff line.
func roff(s string) string {
	s = strings.NewReplacer(`\`, `\e`, "-", `\-`).Replace(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

func manDate() string {
	if t, err := time.Parse(time.RFC3339, buildinfo.Date); err == nil {
		return t.UTC().Format("2006-01-02")
	}
	return ""
}

func writeMan(w io.Writer, docs []usageDoc) {
	fmt.Fprintf(w, ".TH MAMORI 1 %q %q \"User Commands\"\n", manDate(), "mamori "+buildinfo.Short())
	fmt.Fprint(w, ".SH NAME\nmamori \\- monitoring and first response\n.SH SYNOPSIS\n")
	for _, c := range commands {
		fmt.Fprintf(w, ".B mamori %s\n", c.name)
		if c.args != "" {
			fmt.Fprintln(w, roff(c.args))
		}
		fmt.Fprintln(w, ".br")
	}
	fmt.Fprint(w, `.SH DESCRIPTION
mamori runs checks on a schedule, decides soft and hard states, alerts,
runs automatic recovery, keeps agent metrics in a time-series database that
answers PromQL, and serves a REST API, a web console and Prometheus metrics.
One binary with an embedded database. The agent (mamori agent, or the
mamori\-agent binary) runs on monitored hosts.
.SH COMMANDS
`)
	for _, d := range docs {
		title := "mamori " + d.cmd.name
		if d.sub != "" {
			title += " " + d.sub
		}
		fmt.Fprintf(w, ".SS %s\n%s\n", roff(title), roff(d.cmd.summary))
		for _, f := range d.flags {
			arg := ""
			if f.Arg != "" {
				arg = " \\fI" + roff(f.Arg) + "\\fR"
			}
			fmt.Fprintf(w, ".TP\n.B \\-\\-%s%s\n%s", roff(f.Name), arg, roff(f.Usage))
			if f.Default != "" {
				fmt.Fprintf(w, " (default: %s)", roff(f.Default))
			}
			fmt.Fprintln(w)
		}
	}
	fmt.Fprint(w, ".SH CHECK TYPES\n.B mamori check\n\\fITYPE\\fR runs one check as a Nagios plugin would\n(exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN); \\fBmamori check \\fITYPE\\fB \\-\\-help\\fR lists its flags. Types:\n")
	fmt.Fprintln(w, roff(strings.Join(check.Names(), ", "))+".")
	fmt.Fprint(w, `.SH FILES
.TP
.I /etc/mamori/mamori.yaml
the server's configuration (packages)
.TP
.I /etc/mamori/agent.yaml
the agent's configuration (packages)
.TP
.I /var/lib/mamori
the server's data: database, time series, keys
.TP
.I /var/lib/mamori\-agent
the agent's spool, log offsets and cached configuration
.SH ENVIRONMENT
.TP
.B MAMORI_ADMIN_TOKEN
the API token of the admin (default: written to DATA_DIR/admin.token on first start)
.TP
.B MAMORI_SERVER
the server URL for mamori recover
.SH EXIT STATUS
0 on success, 1 on failure, 2 on a usage error; mamori check follows the Nagios plugin codes.
.SH SEE ALSO
.BR systemctl (1),
.BR prometheus (1)
`)
}
