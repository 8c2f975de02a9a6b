package cli

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mamori/mamori/internal/auth"
	"github.com/mamori/mamori/internal/clidoc"
	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/duration"
	"github.com/mamori/mamori/internal/server"
	"github.com/mamori/mamori/internal/store/sqlstore"
)

// userStdin is where --password-stdin reads (tests replace it).
var userStdin io.Reader = os.Stdin

// userAuthOptions configure the auth.Service of user and token commands
// (tests use cheap hashing).
var userAuthOptions []auth.Option

const userUsage = `usage:
  mamori user add NAME --role admin|operator|customer|viewer [--tenant T] [--lang ja|en] [--time-zone TZ] [--password-stdin] [--config FILE]
  mamori user passwd NAME [--password-stdin] [--config FILE]
  mamori user list [--config FILE]
  mamori user disable|enable NAME [--config FILE]
Without --password-stdin a strong password is generated and printed once.`

const tokenUsage = `usage:
  mamori token create NAME [--label L] [--expires 90d|never] [--config FILE]
  mamori token list [NAME] [--config FILE]   (without NAME: every user's)
  mamori token revoke ID [--config FILE]
The token is printed once, alone on standard output; it has NAME's role and tenant.`

// authCmd is the state shared by user and token subcommands.
type authCmd struct {
	cfg    *config.Config
	st     *sqlstore.Store
	svc    *auth.Service
	stderr io.Writer
}

func openAuth(path string, stderr io.Writer) (*authCmd, int) {
	cfg, err := loadConfig(path)
	if err != nil {
		printConfigErrors(stderr, err)
		return nil, 1
	}
	st, err := server.OpenStore(context.Background(), cfg)
	if err != nil {
		fmt.Fprintf(stderr, "mamori: %v\n", err)
		return nil, 1
	}
	// The CLI needs no CSRF key: an ephemeral one will do.
	return &authCmd{cfg: cfg, st: st, svc: auth.New(st, nil, nil, userAuthOptions...), stderr: stderr}, 0
}

func (a *authCmd) fail(err error) int {
	fmt.Fprintf(a.stderr, "mamori: %v\n", err)
	return 1
}

// readPassword reads one line from stdin (the trailing newline removed).
func readPassword() (string, error) {
	line, err := bufio.NewReaderSize(io.LimitReader(userStdin, auth.MaxPasswordLen+2), auth.MaxPasswordLen+2).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("--password-stdin: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", errors.New("--password-stdin: no password on standard input")
	}
	return line, nil
}

// checkRoleFlags explains role and tenant mistakes in terms of the flags.
func checkRoleFlags(role, tenant string) error {
	switch {
	case role == "":
		return errors.New("user add needs --role: admin, operator, customer or viewer")
	case !auth.ValidRole(role):
		return fmt.Errorf("unknown role %q; use admin, operator, customer or viewer", role)
	case auth.RoleNeedsTenant(role) && tenant == "":
		return fmt.Errorf("%s needs --tenant (the customer the user belongs to)", role)
	case !auth.RoleNeedsTenant(role) && tenant != "":
		return fmt.Errorf("%s sees all tenants: drop --tenant (or use --role customer or viewer)", role)
	}
	return auth.ValidateRole(role, tenant)
}

// cmdUser: mamori user add|passwd|list|disable|enable.
func cmdUser(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, userUsage)
		return 2
	}
	if isHelp(args[:1]) {
		fmt.Fprintln(stdout, userUsage)
		return 0
	}
	uc, code := parseUserArgs(args[0], args[1:], stderr)
	if code >= 0 {
		return code
	}
	var password string
	generated := false
	if uc.sub == "add" || uc.sub == "passwd" {
		var ok bool
		if password, generated, ok = uc.password(stderr); !ok {
			return 2
		}
	}
	a, code := openAuth(uc.path, stderr)
	if a == nil {
		return code
	}
	defer a.st.Close()
	ctx := context.Background()
	name := uc.name
	switch uc.sub {
	case "add":
		return userAdd(ctx, a, uc, password, generated, stdout, stderr)
	case "passwd":
		if err := a.svc.SetPassword(ctx, name, password); err != nil {
			return a.fail(err)
		}
		fmt.Fprintf(stdout, "password of %s changed; their console sessions ended\n", name)
		if generated {
			fmt.Fprintf(stdout, "password: %s\n", password)
		}
		return 0
	case "list":
		return userList(ctx, a, stdout)
	case "disable":
		if err := a.svc.DisableUser(ctx, name); err != nil {
			return a.fail(err)
		}
		fmt.Fprintf(stdout, "user %s disabled: sessions ended, API tokens refused\n", name)
		return 0
	case "enable":
		if err := a.svc.EnableUser(ctx, name); err != nil {
			return a.fail(err)
		}
		fmt.Fprintf(stdout, "user %s enabled\n", name)
		return 0
	}
	return 2
}

// userCmd is a parsed mamori user command line.
type userCmd struct {
	sub, name, path        string
	role, tenant, lang, tz string
	fromStdin              bool
}

// parseUserArgs parses a user subcommand's flags and arguments. code is
// the exit code when the command ends here (help, a wrong command line),
// -1 when it goes on.
func parseUserArgs(sub string, args []string, stderr io.Writer) (userCmd, int) {
	uc := userCmd{sub: sub}
	fs := clidoc.NewFlagSet("mamori user "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, userUsage) }
	fs.StringVar(&uc.path, "config", "", "the server's config file (for data_dir)")
	want := 1 // positional arguments
	switch sub {
	case "add":
		fs.StringVar(&uc.role, "role", "", "admin, operator, customer or viewer")
		fs.StringVar(&uc.tenant, "tenant", "", "the customer a customer or viewer belongs to")
		fs.StringVar(&uc.lang, "lang", "", "console language: ja or en (default: the browser's)")
		fs.StringVar(&uc.tz, "time-zone", "", "IANA time zone (default: Asia/Tokyo for ja)")
		fs.BoolVar(&uc.fromStdin, "password-stdin", false, "read the password from the first line of standard input")
	case "passwd":
		fs.BoolVar(&uc.fromStdin, "password-stdin", false, "read the password from the first line of standard input")
	case "list":
		want = 0
	case "disable", "enable":
	default:
		fmt.Fprintf(stderr, "mamori: unknown user command %q (add, passwd, list, disable, enable)\n%s\n", sub, userUsage)
		return uc, 2
	}
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return uc, 0
	}
	if err != nil {
		return uc, 2
	}
	if len(pos) != want {
		fmt.Fprintf(stderr, "mamori: user %s takes %d argument(s), got %d\n%s\n", sub, want, len(pos), userUsage)
		return uc, 2
	}
	if want == 1 {
		uc.name = pos[0]
	}
	if sub == "add" {
		if err := errors.Join(auth.ValidateName(uc.name), checkRoleFlags(uc.role, uc.tenant), auth.ValidateLang(uc.lang), auth.ValidateTimeZone(uc.tz)); err != nil {
			for _, e := range strings.Split(err.Error(), "\n") {
				fmt.Fprintf(stderr, "mamori: %s\n", e)
			}
			return uc, 2
		}
	}
	return uc, -1
}

// password is the new password: read from standard input (and checked
// against the policy) or generated.
func (uc userCmd) password(stderr io.Writer) (password string, generated, ok bool) {
	if !uc.fromStdin {
		return auth.GeneratePassword(), true, true
	}
	password, err := readPassword()
	if err != nil {
		fmt.Fprintf(stderr, "mamori: %v\n", err)
		return "", false, false
	}
	if err := auth.CheckPasswordPolicy(uc.name, password); err != nil {
		fmt.Fprintf(stderr, "mamori: %v\n", err)
		return "", false, false
	}
	return password, false, true
}

func userAdd(ctx context.Context, a *authCmd, uc userCmd, password string, generated bool, stdout, stderr io.Writer) int {
	if uc.tenant != "" && !slices.Contains(tenantNames(a.cfg), uc.tenant) {
		return a.fail(fmt.Errorf("--tenant %q is not a tenant of %s%s", uc.tenant, a.cfg.File, knownList(tenantNames(a.cfg))))
	}
	u, err := a.svc.CreateUser(ctx, auth.User{Name: uc.name, Role: uc.role, Tenant: uc.tenant, Lang: uc.lang, TimeZone: uc.tz}, password)
	if err != nil {
		return a.fail(err)
	}
	scope := "all tenants"
	if u.Tenant != "" {
		scope = "tenant " + u.Tenant
	}
	fmt.Fprintf(stdout, "user %s added: role %s, %s\n", u.Name, u.Role, scope)
	if generated {
		fmt.Fprintf(stdout, "password: %s\n", password)
		fmt.Fprintln(stderr, "the password is shown only this once; change it with 'mamori user passwd "+u.Name+"'")
	}
	return 0
}

func userList(ctx context.Context, a *authCmd, stdout io.Writer) int {
	us, err := a.svc.Users(ctx)
	if err != nil {
		return a.fail(err)
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tTENANT\tLANG\tSTATUS\tCREATED")
	for _, u := range us {
		status := "enabled"
		if u.Disabled {
			status = "disabled"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", u.Name, u.Role, dash(u.Tenant), dash(u.Lang), status, u.CreatedAt.Local().Format("2006-01-02 15:04"))
	}
	tw.Flush()
	return 0
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// parseExpiry reads --expires: "never", or a duration with a unit (90d, 12h, 1d12h).
func parseExpiry(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "never" || s == "0" {
		return 0, nil
	}
	if !strings.ContainsAny(s, "dhms") {
		return 0, fmt.Errorf("--expires %q: give a unit, e.g. 90d, 12h or never", s)
	}
	d, err := duration.Parse(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("--expires %q: use e.g. 90d, 12h or never", s)
	}
	return d, nil
}

// apiBase is the URL to show in examples.
func apiBase(cfg *config.Config) string {
	if cfg.PublicURL != "" {
		return strings.TrimRight(cfg.PublicURL, "/")
	}
	host, port, err := net.SplitHostPort(cfg.Listen)
	if err != nil {
		return "http://" + cfg.Listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func fmtTime(t time.Time, zero string) string {
	if t.IsZero() {
		return zero
	}
	return t.Local().Format("2006-01-02 15:04")
}

// cmdToken: mamori token create|list|revoke.
func cmdToken(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, tokenUsage)
		return 2
	}
	if isHelp(args[:1]) {
		fmt.Fprintln(stdout, tokenUsage)
		return 0
	}
	sub, args := args[0], args[1:]
	fs := clidoc.NewFlagSet("mamori token "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, tokenUsage) }
	path := fs.String("config", "", "the server's config file (for data_dir)")
	var label, expires string
	switch sub {
	case "create":
		fs.StringVar(&label, "label", "", "what the token is for (default: cli)")
		fs.StringVar(&expires, "expires", "never", "lifetime: e.g. 90d, 12h, or never")
	case "list", "revoke":
	default:
		fmt.Fprintf(stderr, "mamori: unknown token command %q (create, list, revoke)\n%s\n", sub, tokenUsage)
		return 2
	}
	pos, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	if len(pos) != 1 && !(sub == "list" && len(pos) == 0) {
		fmt.Fprintf(stderr, "mamori: token %s takes 1 argument, got %d\n%s\n", sub, len(pos), tokenUsage)
		return 2
	}
	var ttl time.Duration
	var id int64
	switch sub {
	case "create":
		if ttl, err = parseExpiry(expires); err != nil {
			fmt.Fprintf(stderr, "mamori: %v\n", err)
			return 2
		}
		if label == "" {
			label = "cli"
		}
	case "revoke":
		if id, err = strconv.ParseInt(pos[0], 10, 64); err != nil || id <= 0 {
			fmt.Fprintln(stderr, "mamori: token revoke takes the token's ID (see 'mamori token list NAME')")
			return 2
		}
	}

	a, code := openAuth(*path, stderr)
	if a == nil {
		return code
	}
	defer a.st.Close()
	ctx := context.Background()
	switch sub {
	case "create":
		return createToken(ctx, a, pos[0], label, ttl, stdout, stderr)
	case "list":
		return listTokens(ctx, a, pos, stdout)
	case "revoke":
		if err := a.svc.RevokeToken(ctx, "", id); err != nil {
			return a.fail(err)
		}
		fmt.Fprintf(stdout, "token %d revoked\n", id)
		return 0
	}
	return 2
}

// createToken creates an API token for user name and prints it once.
func createToken(ctx context.Context, a *authCmd, name, label string, ttl time.Duration, stdout, stderr io.Writer) int {
	plain, t, err := a.svc.CreateToken(ctx, name, label, ttl)
	if err != nil {
		return a.fail(err)
	}
	u, err := a.svc.UserByName(ctx, t.User)
	if err != nil {
		return a.fail(err)
	}
	scope := "all tenants"
	if u.Tenant != "" {
		scope = "tenant " + u.Tenant
	}
	fmt.Fprintln(stdout, plain)
	fmt.Fprintf(stderr, "API token %d %q for %s (role %s, %s), expires %s.\n", t.ID, t.Label, u.Name, u.Role, scope, fmtTime(t.ExpiresAt, "never"))
	fmt.Fprintln(stderr, "It is shown only this once: store it now. Example:")
	fmt.Fprintf(stderr, "  curl -H 'Authorization: Bearer %s' %s/api/v1/checks\n", plain, apiBase(a.cfg))
	return 0
}

// listTokens prints NAME's tokens, or every user's (pos empty).
func listTokens(ctx context.Context, a *authCmd, pos []string, stdout io.Writer) int {
	var names []string
	if len(pos) == 1 {
		names = pos
	} else {
		us, err := a.svc.Users(ctx)
		if err != nil {
			return a.fail(err)
		}
		for _, u := range us {
			names = append(names, u.Name)
		}
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tUSER\tLABEL\tCREATED\tLAST USED\tEXPIRES")
	now := time.Now()
	for _, name := range names {
		ts, err := a.svc.Tokens(ctx, name)
		if err != nil {
			return a.fail(err)
		}
		for _, t := range ts {
			exp := fmtTime(t.ExpiresAt, "never")
			if !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt) {
				exp += " (expired)"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", t.ID, name, t.Label, fmtTime(t.CreatedAt, "-"), fmtTime(t.LastUsedAt, "never"), exp)
		}
	}
	tw.Flush()
	return 0
}
