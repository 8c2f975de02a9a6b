// Package execcheck implements the exec check type: it runs any Nagios /
// Monitoring-Plugins compatible plugin and takes its verdict from the exit
// code (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN) and its output
// ("TEXT | PERFDATA", long output and more perfdata on later lines, as the
// plugin guidelines define it). On a timeout the plugin's whole process group
// is killed, so a plugin that forked children leaves nothing behind.
package execcheck

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mamori/mamori/internal/check"
)

// maxOutput bounds what is kept of a plugin's stdout+stderr.
const maxOutput = 64 << 10

// waitDelay bounds how long Wait waits for the output pipes once the plugin
// has exited (a child it left behind may still hold them) or was killed.
const waitDelay = 2 * time.Second

func init() {
	check.Register(&check.Kind{
		Name:    "exec",
		Label:   "", // plugins print their own prefix
		Summary: "run a Nagios/Monitoring-Plugins plugin: exit code 0..3 and its output | perfdata",
		Scope:   check.ScopeServer,
		Timeout: 60 * time.Second,
		New:     func() check.Spec { return &Spec{} },
		Args: func(s check.Spec, args []string) error {
			sp, ok := s.(*Spec)
			if !ok {
				return fmt.Errorf("exec: unexpected spec %T", s)
			}
			if len(args) == 0 {
				return errors.New("exec: give the plugin and its arguments after --")
			}
			sp.Command = append([]string(nil), args...)
			return nil
		},
	})
}

// Spec is the configuration of an exec check.
type Spec struct {
	Command []string          `yaml:"command" required:"true" help:"plugin path and arguments (argv; no shell)"`
	Env     map[string]string `yaml:"env" help:"environment variables added to mamori's own"`
	Dir     string            `yaml:"dir" help:"working directory"`
}

// Validate reports every problem with the spec.
func (s *Spec) Validate() []check.FieldError {
	var errs []check.FieldError
	if len(s.Command) == 0 || strings.TrimSpace(s.Command[0]) == "" {
		errs = append(errs, check.Errf("command", "required: the plugin path and its arguments"))
	}
	for k := range s.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			errs = append(errs, check.Errf("env", "%q is not a variable name", k))
		}
	}
	if s.Dir != "" {
		if fi, err := os.Stat(s.Dir); err != nil {
			errs = append(errs, check.Errf("dir", "%v", err))
		} else if !fi.IsDir() {
			errs = append(errs, check.Errf("dir", "%s is not a directory", s.Dir))
		}
	}
	return errs
}

// New builds the checker.
func (s *Spec) New(check.Env) (check.Checker, error) {
	if len(s.Command) == 0 {
		return nil, errors.New("command is required")
	}
	c := &checker{argv: append([]string(nil), s.Command...), dir: s.Dir}
	if len(s.Env) > 0 {
		keys := make([]string, 0, len(s.Env))
		for k := range s.Env {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			c.env = append(c.env, k+"="+s.Env[k])
		}
	}
	return c, nil
}

type checker struct {
	argv []string
	env  []string // added to os.Environ(); later entries win
	dir  string
}

// Check runs the plugin once.
func (c *checker) Check(ctx context.Context) check.Result {
	start := time.Now()
	cmd := exec.CommandContext(ctx, c.argv[0], c.argv[1:]...)
	cmd.Dir = c.dir
	if len(c.env) > 0 {
		cmd.Env = append(os.Environ(), c.env...)
	}
	out := &boundedBuffer{max: maxOutput}
	cmd.Stdout, cmd.Stderr = out, out // one pipe: the order of lines is kept
	cmd.Stdin = nil
	cmd.WaitDelay = waitDelay
	setProcessGroup(cmd) // Cancel kills the whole group (see exec_unix.go)

	err := cmd.Run()
	text := out.String()

	if err != nil && ctx.Err() != nil {
		why := "timed out"
		if dl, ok := ctx.Deadline(); ok && errors.Is(ctx.Err(), context.DeadlineExceeded) {
			why = fmt.Sprintf("timed out after %s", dl.Sub(start).Round(time.Millisecond))
		} else if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			why = "cancelled"
		}
		r := check.Resultf(check.Critical, "plugin %s %s; process group killed", c.argv[0], why)
		if line := firstLine(text); line != "" {
			r.Long = "partial output: " + line
		}
		return r
	}

	var exitErr *exec.ExitError
	code := 0
	switch {
	case err == nil:
	case errors.As(err, &exitErr):
		code = exitErr.ExitCode()
		if code < 0 { // killed by a signal
			return check.Resultf(check.Unknown, "plugin %s: %s: %s", c.argv[0], exitErr.ProcessState.String(), firstLine(text))
		}
	case errors.Is(err, exec.ErrWaitDelay):
		// The plugin exited but something it started kept the output open.
		code = cmd.ProcessState.ExitCode()
	default:
		return check.Resultf(check.Unknown, "cannot run plugin %s: %v", c.argv[0], unwrapExecErr(err))
	}

	r := ParseOutput(text)
	if out.Truncated() {
		if r.Long != "" {
			r.Long += "\n"
		}
		r.Long += fmt.Sprintf("(output truncated at %d KiB)", maxOutput>>10)
	}
	if code < 0 || code > 3 {
		r.Status = check.Unknown
		r.Output = check.OneLine(fmt.Sprintf("exit code %d: %s", code, r.Output))
		return r
	}
	r.Status = check.Status(code)
	return r
}

func unwrapExecErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var ee *exec.Error
	if errors.As(err, &ee) {
		return ee.Err
	}
	return err
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return check.OneLine(s)
}

// ParseOutput splits plugin output by the Nagios plugin guidelines:
//
//	TEXT OUTPUT | OPTIONAL PERFDATA
//	LONG TEXT LINE 1
//	LONG TEXT LINE N | PERFDATA LINE 2
//	PERFDATA LINE 3
//
// The first line's text is Output, the long text lines Long, and every
// perfdata part is parsed with check.ParsePerf (unparsable items are noted in
// Long). Status is left OK for the caller to set.
func ParseOutput(s string) check.Result {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.TrimRight(s, "\n")
	var r check.Result
	if strings.TrimSpace(s) == "" {
		r.Output = "(no output returned from plugin)"
		return r
	}
	lines := strings.Split(s, "\n")
	first, perf, _ := strings.Cut(lines[0], "|")
	r.Output = check.OneLine(first)
	perfParts := []string{perf}
	var long []string
	inPerf := false
	for _, l := range lines[1:] {
		if inPerf {
			perfParts = append(perfParts, l)
			continue
		}
		if text, p, ok := strings.Cut(l, "|"); ok {
			long = append(long, text)
			perfParts = append(perfParts, p)
			inPerf = true
			continue
		}
		long = append(long, l)
	}
	var bad []string
	for _, p := range perfParts {
		m, b := check.ParsePerf(strings.TrimSpace(p))
		r.Perf = append(r.Perf, m...)
		bad = append(bad, b...)
	}
	for len(long) > 0 && strings.TrimSpace(long[len(long)-1]) == "" {
		long = long[:len(long)-1]
	}
	r.Long = strings.Join(long, "\n")
	if len(bad) > 0 {
		note := "unparsable perfdata: " + strings.Join(bad, " ")
		if r.Long != "" {
			r.Long += "\n"
		}
		r.Long += note
	}
	return r
}

// boundedBuffer keeps the first max bytes written and discards the rest
// while reporting success, so a chatty plugin never blocks or gets EPIPE.
type boundedBuffer struct {
	mu        sync.Mutex
	buf       []byte
	max       int
	truncated bool
}

func (b *boundedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	room := b.max - len(b.buf)
	if room <= 0 {
		b.truncated = true
		return len(p), nil
	}
	if len(p) > room {
		b.buf = append(b.buf, p[:room]...)
		b.truncated = true
		return len(p), nil
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}

// Truncated reports whether output was discarded.
func (b *boundedBuffer) Truncated() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.truncated
}

func (b *boundedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
