// Package docs renders the configuration reference (docs/config.md) from
// the config package and the check registry, so that the reference cannot
// drift from the code: a test compares the file with a fresh rendering.
package docs

import (
	"fmt"
	"io"
	"strings"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/fieldset"
	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/notify"
)

// Reference writes the configuration reference in Markdown.
func Reference(w io.Writer) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	topLevel(w, p)
	sections := config.SectionFields()
	for _, name := range []string{"tls", "http", "retention", "scheduler", "defaults", "api_tokens", "remote_write"} {
		p("\n## `%s`\n\n", name)
		table(w, rows(sections[name]))
	}
	p("\n`MAMORI_ADMIN_TOKEN`, when set at server start, is accepted as an operator token. Without it\n")
	p("the server creates a random token in `DATA_DIR/admin.token` on first start.\n")

	channels(w, p)
	p("\n## `contacts`\n\n")
	table(w, rows(sections["contacts"]))
	p("\n## `escalations`\n\n")
	p("`name`, `levels` (each `after`: delay after the incident opened, and `notify`: channel names or\n")
	p("`{channel, contact}` mappings), `repeat` (how many more rounds after the last level, default 0)\n")
	p("and `repeat_after` (pause before a new round). Escalation stops when the incident is\n")
	p("acknowledged (API, the signed link in a message, or 1 on a phone call) or resolved.\n")
	p("\n## `incidents`\n\n")
	table(w, rows(sections["incidents"]))
	p("\n## `hosts`\n\n")
	table(w, rows(config.HostFields()))
	p("\nA host's `checks` are check entries as below. Their full name is `HOST/NAME`; a check\n")
	p("without a target takes the host's `address`; every check of the host depends on the host\n")
	p("check, so that while the host is down its services are not alerted separately.\n")

	p("\n## `aws_accounts`\n\n")
	p("AWS checks name an account with `account: NAME` (without one they use the server's own\n")
	p("credentials: environment, shared profile, SSO or the instance role). With neither static keys\n")
	p("nor `profile`, the SDK's default chain applies; `role_arn` is assumed on top, with\n")
	p("`external_id`. A check without a tenant of its own takes its account's tenant. See docs/aws.md.\n\n")
	table(w, rows(config.AWSAccountFields()))

	checkEntries(w, p)
}

// printf writes to the reference being rendered.
type printf func(format string, args ...any)

// topLevel writes the title, the conventions every section relies on
// (durations, secrets, ranges) and the top-level keys.
func topLevel(w io.Writer, p printf) {
	p("# Configuration reference\n\n")
	p("<!-- Generated from the code by `go test ./internal/docs -update`; do not edit by hand. -->\n\n")
	p("mamori reads one YAML file (`mamori server --config FILE`; `mamori validate --config FILE` checks it).\n")
	p("Unknown keys, wrong types, bad durations, missing targets, unknown references and dependency\n")
	p("cycles are errors, all reported at once with file, line and field path.\n\n")
	p("Durations: `30s`, `5m`, `1h30m`, `250ms`, `35d`, `2w`, `1d12h`, or a bare number of seconds (`10`, `0.5`). The same grammar holds for flags, maintenance files and the console; a negative or empty duration is an error.\n")
	p("Secrets (fields of type *secret*): `${NAME}` takes the environment variable NAME, `file:/path`\n")
	p("the file's content; anything else is literal. Secrets are never logged or shown by the API.\n")
	p("Ranges (type *range*) use the Nagios threshold syntax: `10` alerts outside 0..10, `10:` below 10,\n")
	p("`~:10` above 10, `10:20` outside 10..20, `@10:20` inside 10..20.\n\n")

	p("## Top level\n\n")
	table(w, []row{
		{"listen", "string", config.DefaultListen, "address of the HTTP API and console"},
		{"data_dir", "string", config.DefaultDataDir, "where the embedded database and tokens live"},
		{"database", "string", "", "`postgres://USER@HOST:PORT/DB`: keep state in that PostgreSQL database instead of SQLite in data_dir (several servers may share it; one leads)"},
		{"log_level", "string", "info", "debug, info, warn or error"},
		{"public_url", "string", "", "the URL people reach the console at (used in links)"},
		{"advertise_url", "string", "", "with `database:`, the URL the other servers reach this one at (`https://10.0.0.11:8080/`); a follower forwards agent traffic, job pushes, runs and recoveries to the leader's (docs/ha.md). Unset: followers answer those 503"},
		{"advertise_ca_file", "string", "", "PEM CAs a follower trusts for the leader's https advertise_url (default: the system's)"},
		{"tls", "mapping", "", "HTTPS: certificate files or ACME, client certificates for agents; see below"},
		{"http", "mapping", "", "limits of the HTTP listener, see below"},
		{"include", "list of strings", "", "more .yaml files (patterns with wildcards in the file name only, relative to this file) holding `checks`, `hosts`, `channels`, `api_tokens`"},
		{"runbooks_dir", "string", "", "folder of markdown runbooks (relative to this file)"},
		{"incidents", "mapping", "", "see below"},
		{"contacts", "list", "", "people to notify, see below"},
		{"escalations", "list", "", "escalation policies, see below"},
		{"retention", "mapping", "", "see below"},
		{"scheduler", "mapping", "", "see below"},
		{"defaults", "mapping", "", "see below"},
		{"api_tokens", "list", "", "static API tokens, see below"},
		{"channels", "list", "", "notification channels, see below"},
		{"checks", "list", "", "checks not bound to a host"},
		{"hosts", "list", "", "monitored hosts with their checks"},
		{"aws_accounts", "list", "", "AWS accounts that AWS checks name with `account:`, see below"},
		{"remote_write", "list", "", "Prometheus remote write receivers of the stored samples, see below"},
	})
}

// channels writes the channel section: one table per notifier kind.
func channels(w io.Writer, p printf) {
	p("\n## `channels`\n\n")
	p("Each entry has `name`, `type` and optionally `lang` (`ja` or `en`: messages on this channel\n")
	p("when no contact's language applies), plus its type's fields below. Checks name channels or\n")
	p("escalation policies in `notify`.\n")
	for _, k := range notify.Kinds() {
		p("\n### channel `%s`\n\n%s.", k.Name, k.Summary)
		if k.Recipient != "" {
			p(" A contact's `%s` is the address when a policy names a contact.", k.Recipient)
		}
		p("\n\n")
		table(w, rows(fieldset.Of(k.New())))
	}
}

// checkEntries writes the keys common to every check and one table per
// check type.
func checkEntries(w io.Writer, p printf) {
	p("\n## Check entries\n\nKeys every check has:\n\n")
	table(w, rows(config.CommonFields()))
	p("\nEverything else belongs to the check's type. Which type and settings implement each line\n")
	p("of the seeds' monitoring tables (and which table each default comes from) is in\n")
	p("[checks.md](checks.md).\n")
	for _, k := range check.Kinds() {
		p("\n### `%s`\n\n%s. ", k.Name, k.Summary)
		switch k.Scope {
		case check.ScopeAgent:
			p("Runs on the host's agent. ")
		case check.ScopePassive:
			p("Passive: results are pushed to the server. ")
		}
		p("Default timeout %s.", k.Timeout)
		if k.Args != nil {
			p(" On the command line, the arguments after `--` are the command.")
		}
		p("\n\n")
		table(w, rows(fieldset.Of(k.New())))
	}
}

type row struct{ key, typ, def, help string }

func rows(fs []fieldset.Field) []row {
	out := make([]row, 0, len(fs))
	for _, f := range fs {
		help := f.Help
		if f.Required {
			help += " **(required)**"
		}
		out = append(out, row{f.Key, f.Type, f.Default(), help})
	}
	return out
}

func table(w io.Writer, rs []row) {
	fmt.Fprintln(w, "| key | type | default | meaning |")
	fmt.Fprintln(w, "|---|---|---|---|")
	for _, r := range rs {
		def := r.def
		if def != "" {
			def = "`" + def + "`"
		}
		fmt.Fprintf(w, "| `%s` | %s | %s | %s |\n", r.key, r.typ, def, strings.ReplaceAll(r.help, "|", `\|`))
	}
}

func codeList(xs []string) string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = "`" + x + "`"
	}
	return strings.Join(out, ", ")
}
