// Package proccheck is the agent-side "process" check type: how many
// processes match a name, a command-line regex, a pidfile and/or a user,
// against min/max bounds (by default: at least one), like check_procs.
package proccheck

import (
	"context"
	"errors"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/shirou/gopsutil/v4/process"
)

func init() {
	check.Register(&check.Kind{
		Name:    "process",
		Label:   "PROCS",
		Summary: "processes matching name / command line / pidfile / user, counted against min and max",
		Scope:   check.ScopeAgent,
		Timeout: 20 * time.Second,
		New:     func() check.Spec { return &Spec{Min: 1} },
	})
}

// Spec is the process check's configuration.
type Spec struct {
	Name         string `yaml:"process" help:"process name (as ps -e shows it, e.g. nginx); the key is not name, which names the check"`
	CmdlineRegex string `yaml:"cmdline_regex" help:"regular expression the full command line must match"`
	Pidfile      string `yaml:"pidfile" help:"file holding the pid of the process (it must exist and match the other filters)"`
	User         string `yaml:"user" help:"user name or numeric uid the process must run as"`
	Min          int    `yaml:"min" help:"fewer matching processes than this is CRITICAL"`
	Max          int    `yaml:"max" help:"more matching processes than this is WARNING (0: no limit)"`
	Zombies      bool   `yaml:"zombies" help:"count zombie (defunct) processes too"`
}

// Validate reports every problem.
func (s *Spec) Validate() []check.FieldError {
	var errs []check.FieldError
	if s.Name == "" && s.CmdlineRegex == "" && s.Pidfile == "" && s.User == "" {
		errs = append(errs, check.Errf("process", "give at least one of process, cmdline_regex, pidfile or user"))
	}
	if s.CmdlineRegex != "" {
		if _, err := regexp.Compile(s.CmdlineRegex); err != nil {
			errs = append(errs, check.Errf("cmdline_regex", "%v", err))
		}
	}
	if s.Min < 0 {
		errs = append(errs, check.Errf("min", "cannot be negative"))
	}
	if s.Max < 0 {
		errs = append(errs, check.Errf("max", "cannot be negative"))
	}
	if s.Max > 0 && s.Max < s.Min {
		errs = append(errs, check.Errf("max", "%d is below min %d", s.Max, s.Min))
	}
	return errs
}

// New builds the checker.
func (s *Spec) New(check.Env) (check.Checker, error) {
	c := &checker{spec: *s}
	if s.CmdlineRegex != "" {
		re, err := regexp.Compile(s.CmdlineRegex)
		if err != nil {
			return nil, err
		}
		c.re = re
	}
	return c, nil
}

type checker struct {
	spec Spec
	re   *regexp.Regexp
}

func (c *checker) describe() string {
	var parts []string
	s := c.spec
	if s.Name != "" {
		parts = append(parts, "name "+s.Name)
	}
	if s.CmdlineRegex != "" {
		parts = append(parts, "command line /"+s.CmdlineRegex+"/")
	}
	if s.Pidfile != "" {
		parts = append(parts, "pidfile "+s.Pidfile)
	}
	if s.User != "" {
		parts = append(parts, "user "+s.User)
	}
	return strings.Join(parts, ", ")
}

// Check counts matching processes.
func (c *checker) Check(ctx context.Context) check.Result {
	var pids []int32
	var why string
	if c.spec.Pidfile != "" {
		pid, err := readPidfile(c.spec.Pidfile)
		if err != nil {
			why = err.Error()
		} else {
			pids = []int32{pid}
		}
	} else {
		var err error
		pids, err = process.PidsWithContext(ctx)
		if err != nil {
			return check.Resultf(check.Unknown, "cannot list processes: %v", err)
		}
	}
	self := int32(os.Getpid())
	var matched []int32
	for _, pid := range pids {
		if ctx.Err() != nil {
			return check.Resultf(check.Unknown, "timed out after looking at %d processes", len(matched))
		}
		if pid == self {
			continue
		}
		ok, err := c.match(ctx, pid)
		if err != nil && c.spec.Pidfile != "" {
			why = fmt.Sprintf("pid %d from %s: %v", pid, c.spec.Pidfile, err)
		}
		if ok {
			matched = append(matched, pid)
		}
	}
	return c.grade(matched, why)
}

func (c *checker) grade(matched []int32, why string) check.Result {
	n := len(matched)
	what := c.describe()
	st := check.OK
	var out string
	switch {
	case n < c.spec.Min:
		st = check.Critical
		if n == 0 {
			out = fmt.Sprintf("no process with %s (need at least %d)", what, c.spec.Min)
		} else {
			out = fmt.Sprintf("%d process%s with %s, need at least %d", n, plural(n), what, c.spec.Min)
		}
		if why != "" {
			out += ": " + why
		}
	case c.spec.Max > 0 && n > c.spec.Max:
		st = check.Warning
		out = fmt.Sprintf("%d processes with %s, more than max %d", n, what, c.spec.Max)
	default:
		out = fmt.Sprintf("%d process%s with %s", n, plural(n), what)
	}
	if n > 0 {
		show := matched
		if len(show) > 10 {
			show = show[:10]
		}
		ps := make([]string, len(show))
		for i, p := range show {
			ps[i] = strconv.Itoa(int(p))
		}
		out += " (pid " + strings.Join(ps, ", ")
		if len(matched) > len(show) {
			out += ", …"
		}
		out += ")"
	}
	m := check.M("procs", float64(n), "")
	m.Min = 0
	if c.spec.Max > 0 {
		m.Warn = float64(c.spec.Max)
	}
	return check.Resultf(st, "%s", out).With(m)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "es"
}

func (c *checker) match(ctx context.Context, pid int32) (bool, error) {
	p, err := process.NewProcessWithContext(ctx, pid)
	if err != nil {
		if errors.Is(err, process.ErrorProcessNotRunning) {
			return false, errors.New("not running")
		}
		return false, err
	}
	if c.spec.Name != "" {
		name, err := p.NameWithContext(ctx)
		if err != nil || name != c.spec.Name {
			return false, fmt.Errorf("name is %q, not %q", name, c.spec.Name)
		}
	}
	if c.re != nil {
		cl, err := p.CmdlineWithContext(ctx)
		if err != nil || !c.re.MatchString(cl) {
			return false, fmt.Errorf("command line %q does not match", cl)
		}
	}
	if c.spec.User != "" {
		if uid, err := strconv.Atoi(c.spec.User); err == nil {
			uids, err := p.UidsWithContext(ctx)
			if err != nil || len(uids) == 0 || int(uids[0]) != uid {
				return false, fmt.Errorf("not running as uid %d", uid)
			}
		} else {
			u, err := p.UsernameWithContext(ctx)
			if err != nil || u != c.spec.User {
				return false, fmt.Errorf("runs as %q, not %q", u, c.spec.User)
			}
		}
	}
	if !c.spec.Zombies {
		if st, err := p.StatusWithContext(ctx); err == nil && slices.Contains(st, process.Zombie) {
			return false, errors.New("is a zombie")
		}
	}
	return true, nil
}

func readPidfile(path string) (int32, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("pidfile: %w", err)
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0, fmt.Errorf("pidfile %s is empty", path)
	}
	n, err := strconv.ParseInt(f[0], 10, 32)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("pidfile %s does not hold a pid (%q)", path, f[0])
	}
	return int32(n), nil
}
