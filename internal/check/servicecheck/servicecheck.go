// Package servicecheck is the agent-side "service" check type: a system
// service exists and is active. It asks systemd (systemctl is-active) when
// the host runs systemd, else the SysV script (/etc/init.d/NAME status), on
// Windows the service manager (sc query), or a given status command. Only
// an active / running service is OK.
package servicecheck

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/mamori/mamori/internal/check"
)

func init() {
	check.Register(&check.Kind{
		Name:    "service",
		Label:   "SERVICE",
		Summary: "a system service exists and is active (systemd, SysV init.d, Windows service manager, or a status command)",
		Scope:   check.ScopeAgent,
		Timeout: 15 * time.Second,
		New:     func() check.Spec { return &Spec{Manager: "auto"} },
	})
}

// Spec is the service check's configuration.
type Spec struct {
	Name          string   `yaml:"service" help:"service name (systemd unit, /etc/init.d script or Windows service); the key is not name, which names the check"`
	Manager       string   `yaml:"manager" help:"auto, systemd, sysv, windows or command (auto: systemd if running, else SysV)"`
	StatusCommand []string `yaml:"status_command" help:"argv of a command whose exit code 0 means running (instead of the service manager)"`
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9@._:+\- ]+$`)

// Validate reports every problem.
func (s *Spec) Validate() []check.FieldError {
	var errs []check.FieldError
	switch s.Manager {
	case "", "auto", "systemd", "sysv", "windows":
		if len(s.StatusCommand) == 0 && s.Name == "" {
			errs = append(errs, check.Errf("service", "is required (or give status_command)"))
		}
	case "command":
		if len(s.StatusCommand) == 0 {
			errs = append(errs, check.Errf("status_command", "is required with manager: command"))
		}
	default:
		errs = append(errs, check.Errf("manager", "%q is not auto, systemd, sysv, windows or command", s.Manager))
	}
	if s.Name != "" && (!nameRE.MatchString(s.Name) || strings.HasPrefix(s.Name, "-") || strings.Contains(s.Name, "..")) {
		errs = append(errs, check.Errf("service", "%q is not a service name", s.Name))
	}
	if len(s.StatusCommand) > 0 && strings.TrimSpace(s.StatusCommand[0]) == "" {
		errs = append(errs, check.Errf("status_command", "the first item must be the program"))
	}
	return errs
}

// Where the checker looks; tests replace them.
var (
	systemdRunDir = "/run/systemd/system"
	initDir       = "/etc/init.d"
	systemctl     = "systemctl"
)

// New builds the checker.
func (s *Spec) New(check.Env) (check.Checker, error) {
	sp := *s
	sp.StatusCommand = append([]string(nil), s.StatusCommand...)
	return &checker{spec: sp}, nil
}

type checker struct {
	spec Spec
	once sync.Once
	mgr  string
}

func (c *checker) manager() string {
	c.once.Do(func() {
		m := c.spec.Manager
		switch {
		case len(c.spec.StatusCommand) > 0:
			m = "command"
		case m == "" || m == "auto":
			m = Detect()
		}
		c.mgr = m
	})
	return c.mgr
}

// Detect names the service manager of this host: windows, systemd, sysv or "".
func Detect() string {
	if runtime.GOOS == "windows" {
		return "windows"
	}
	if fi, err := os.Stat(systemdRunDir); err == nil && fi.IsDir() {
		if _, err := exec.LookPath(systemctl); err == nil {
			return "systemd"
		}
	}
	if fi, err := os.Stat(initDir); err == nil && fi.IsDir() {
		return "sysv"
	}
	return ""
}

// Check asks the service manager.
func (c *checker) Check(ctx context.Context) check.Result {
	name := c.spec.Name
	switch c.manager() {
	case "command":
		code, out, err := run(ctx, c.spec.StatusCommand)
		label := name
		if label == "" {
			label = filepath.Base(c.spec.StatusCommand[0])
		}
		return verdict(ctx, label, code, out, err, "status command")
	case "systemd":
		code, out, err := run(ctx, []string{systemctl, "is-active", "--", name + unitSuffix(name)})
		if err != nil {
			return check.Resultf(check.Unknown, "%s: cannot run systemctl: %s", name, check.ErrText(ctx, err))
		}
		state := firstLine(out)
		if code == 0 && state == "active" {
			return check.Resultf(check.OK, "%s is active (systemd)", name)
		}
		if state == "" {
			state = fmt.Sprintf("exit code %d", code)
		}
		// is-active says "inactive" for a unit that does not exist: ask.
		if _, lo, err := run(ctx, []string{systemctl, "show", "--property=LoadState", "--value", "--", name + unitSuffix(name)}); err == nil && firstLine(lo) == "not-found" {
			return check.Resultf(check.Critical, "%s: no such systemd unit", name)
		}
		return check.Resultf(check.Critical, "%s is %s (systemd)", name, state)
	case "sysv":
		script := filepath.Join(initDir, name)
		if _, err := os.Stat(script); err != nil {
			return check.Resultf(check.Critical, "%s: no init script %s", name, script)
		}
		code, out, err := run(ctx, []string{script, "status"})
		return verdict(ctx, name, code, out, err, script+" status")
	case "windows":
		code, out, err := run(ctx, []string{"sc.exe", "query", name})
		if err != nil {
			return check.Resultf(check.Unknown, "%s: cannot run sc.exe: %s", name, check.ErrText(ctx, err))
		}
		return windowsVerdict(name, code, out)
	}
	return check.Resultf(check.Unknown, "%s: no systemd and no %s on this host; give status_command", name, initDir)
}

func unitSuffix(name string) string {
	if strings.Contains(name, ".") {
		return "" // already nginx.service, foo.socket, ...
	}
	return ".service"
}

// verdict reads an LSB-style status exit code: 0 running, 1..3 not running
// (3 = stopped), 4 unknown service.
func verdict(ctx context.Context, name string, code int, out string, err error, how string) check.Result {
	if err != nil {
		if ctx.Err() != nil {
			return check.Resultf(check.Critical, "%s: %s did not answer: %s", name, how, check.ErrText(ctx, err))
		}
		return check.Resultf(check.Unknown, "%s: cannot run %s: %v", name, how, err)
	}
	line := firstLine(out)
	suffix := ""
	if line != "" {
		suffix = ": " + line
	}
	switch code {
	case 0:
		return check.Resultf(check.OK, "%s is running%s", name, suffix)
	case 4:
		return check.Resultf(check.Critical, "%s: status unknown or no such service (exit 4)%s", name, suffix)
	}
	return check.Resultf(check.Critical, "%s is not running (exit %d)%s", name, code, suffix)
}

func windowsVerdict(name string, code int, out string) check.Result {
	if code == 1060 || strings.Contains(out, "1060") {
		return check.Resultf(check.Critical, "%s: no such Windows service", name)
	}
	for _, l := range strings.Split(out, "\n") {
		l = strings.TrimSpace(l)
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "STATE" {
			f := strings.Fields(v)
			state := strings.Join(f, " ")
			if len(f) >= 2 && f[1] == "RUNNING" {
				return check.Resultf(check.OK, "%s is running (Windows service)", name)
			}
			return check.Resultf(check.Critical, "%s is not running: %s", name, state)
		}
	}
	return check.Resultf(check.Unknown, "%s: sc query exit %d: %s", name, code, firstLine(out))
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return check.OneLine(s)
}

const maxOut = 16 << 10

// run runs argv with the context's deadline in its own process group and
// returns its exit code and (bounded) combined output; err is set only
// when it could not run or was killed.
func run(ctx context.Context, argv []string) (int, string, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var buf limited
	cmd.Stdout, cmd.Stderr = &buf, &buf
	cmd.Env = append(os.Environ(), "LC_ALL=C", "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0")
	cmd.WaitDelay = time.Second
	setProcessGroup(cmd)
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, buf.String(), nil
	case ctx.Err() != nil:
		return -1, buf.String(), fmt.Errorf("killed: %w", ctx.Err())
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		return ee.ExitCode(), buf.String(), nil
	case errors.Is(err, exec.ErrWaitDelay):
		return cmd.ProcessState.ExitCode(), buf.String(), nil
	}
	return -1, buf.String(), err
}

type limited struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *limited) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := maxOut - l.b.Len(); room > 0 {
		l.b.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (l *limited) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
