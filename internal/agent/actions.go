package agent

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/mamori/mamori/internal/wire"
)

// MaxActionOutput bounds the output tail an action answers with.
const MaxActionOutput = 16 << 10

// runAction answers an "action" request: only a name of the local
// allowlist runs, with its local argv; anything else is refused.
func (r *Runtime) runAction(ctx context.Context, req *wire.Request) wire.Response {
	resp := wire.Response{ID: req.ID}
	argv, ok := r.cfg.Actions[req.Action]
	if !ok {
		resp.Refused = true
		resp.ExitCode = -1
		allowed := strings.Join(r.cfg.ActionNames(), ", ")
		if allowed == "" {
			allowed = "none"
		}
		resp.Error = fmt.Sprintf("action %q is not in this agent's local allowlist (allowed: %s); add it under actions: in the agent's config", req.Action, allowed)
		r.log.Warn("refused an action that is not in the local allowlist", "action", req.Action, "request", req.ID)
		return resp
	}
	timeout := r.cfg.ActionTimeout
	if req.Timeout > 0 && time.Duration(req.Timeout) < timeout {
		timeout = time.Duration(req.Timeout)
	}
	if req.DryRun {
		resp.Output = fmt.Sprintf("dry run: would run %s (action %q, timeout %s)", quoteArgv(argv), req.Action, timeout)
		r.log.Info("action dry run", "action", req.Action, "request", req.ID)
		return resp
	}
	r.log.Info("running action", "action", req.Action, "argv", quoteArgv(argv), "timeout", timeout, "request", req.ID)
	code, out, dur, err := RunArgv(ctx, argv, timeout)
	resp.ExitCode, resp.Output, resp.Duration = code, out, dur.Seconds()
	if err != nil {
		resp.Error = err.Error()
	}
	r.log.Info("action finished", "action", req.Action, "exit_code", code, "duration", dur.Round(time.Millisecond), "error", resp.Error)
	return resp
}

// RunArgv runs argv (no shell) in a process group of its own, killed when
// timeout passes, and returns its exit code (-1 when it did not exit by
// itself), the tail of its combined output and how long it ran.
func RunArgv(ctx context.Context, argv []string, timeout time.Duration) (int, string, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	tail := &tailBuffer{max: MaxActionOutput}
	cmd.Stdout, cmd.Stderr = tail, tail
	cmd.WaitDelay = 2 * time.Second
	setProcessGroup(cmd)
	err := cmd.Run()
	dur := time.Since(start)
	out := tail.String()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, out, dur, nil
	case ctx.Err() != nil:
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return -1, out, dur, fmt.Errorf("timed out after %s; process group killed", timeout)
		}
		return -1, out, dur, errors.New("cancelled: the agent is stopping; process group killed")
	case errors.As(err, &ee):
		if ee.ExitCode() < 0 {
			return -1, out, dur, fmt.Errorf("ended by %s", ee.ProcessState.String())
		}
		return ee.ExitCode(), out, dur, nil
	case errors.Is(err, exec.ErrWaitDelay):
		return cmd.ProcessState.ExitCode(), out, dur, nil
	}
	return -1, out, dur, fmt.Errorf("cannot run %s: %v", argv[0], err)
}

func quoteArgv(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if a == "" || strings.ContainsAny(a, " \t\"'\\$;&|<>") {
			q[i] = fmt.Sprintf("%q", a)
		} else {
			q[i] = a
		}
	}
	return strings.Join(q, " ")
}

// tailBuffer keeps the last max bytes written.
type tailBuffer struct {
	mu    sync.Mutex
	buf   []byte
	max   int
	total int64
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.total += int64(len(p))
	if len(p) >= t.max {
		t.buf = append(t.buf[:0], p[len(p)-t.max:]...)
		return len(p), nil
	}
	if over := len(t.buf) + len(p) - t.max; over > 0 {
		t.buf = append(t.buf[:0], t.buf[over:]...)
	}
	t.buf = append(t.buf, p...)
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := string(t.buf)
	if t.total > int64(len(t.buf)) {
		// Do not start inside a UTF-8 sequence.
		for len(s) > 0 && (s[0]&0xC0) == 0x80 {
			s = s[1:]
		}
		prefix := fmt.Sprintf("[%d bytes before cut]\n", t.total-int64(len(s)))
		if cut := len(prefix) + len(s) - t.max; cut >= len(s) {
			s, prefix = "", prefix[:min(len(prefix), t.max)]
		} else if cut > 0 {
			s = s[cut:]
			for len(s) > 0 && (s[0]&0xC0) == 0x80 {
				s = s[1:]
			}
		}
		s = prefix + s
	}
	return s
}
