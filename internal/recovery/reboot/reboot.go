// Package reboot is the `reboot` recovery action: the host's agent runs its
// allowlist entry (`reboot` by default), then the server waits for the
// agent to come back — a hello after the action, as an agent starting
// after a reboot says (or, where hellos are not known, a contact after the
// agent went quiet).
package reboot

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/recovery/action"
	"github.com/mamori/mamori/internal/recovery/command"
)

// Spec configures the action.
type Spec struct {
	Command  string        `yaml:"command" help:"the agent allowlist entry that reboots the host (default reboot)"`
	WaitBack time.Duration `yaml:"wait_back" help:"how long to wait for the agent to come back (default 10m)"`
}

func init() {
	action.Register(&action.Kind{Name: "reboot", Summary: "reboot the host through its agent and wait for the agent to come back", ViaAgent: true,
		New: func() action.Spec { return &Spec{Command: "reboot", WaitBack: 10 * time.Minute} }})
}

// Validate implements action.Spec.
func (s *Spec) Validate() []check.FieldError {
	var errs []check.FieldError
	if !command.NameRE.MatchString(s.Command) {
		errs = append(errs, check.Errf("command", "%q is not an allowlist name", s.Command))
	}
	if s.WaitBack < time.Second {
		errs = append(errs, check.Errf("wait_back", "must be at least 1s"))
	}
	return errs
}

// New implements action.Spec.
func (s *Spec) New(env action.Env) (action.Action, error) {
	return &act{agent: command.Agent{Env: env, Name: s.Command}, waitBack: s.WaitBack}, nil
}

type act struct {
	agent    command.Agent
	waitBack time.Duration
}

func (a *act) Describe(t action.Target) string {
	return fmt.Sprintf("reboot %s (agent action %s), then wait up to %s for its agent", t.Host, a.agent.Name, a.waitBack)
}

func (a *act) Run(ctx context.Context, t action.Target) action.Result {
	env := a.agent.Env
	now := time.Now
	if env.Now != nil {
		now = env.Now
	}
	start := now()
	if t.DryRun || env.Agent == nil {
		return a.agent.Run(ctx, t)
	}
	// The agent may go down before it can answer (that is what a reboot
	// looks like): wait for its answer and for its return at once.
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	answer := make(chan action.Result, 1)
	go func() { answer <- a.agent.Run(sctx, t) }()
	backCh := make(chan error, 1)
	var back time.Time
	go func() {
		var err error
		back, err = WaitBack(sctx, env, t.Host, start, a.waitBack)
		backCh <- err
	}()
	var r action.Result
	select {
	case r = <-answer:
		if r.Refused {
			return r
		}
		if err := <-backCh; err != nil {
			r.Error = strings.TrimSpace(r.Error + "; " + err.Error())
			if r.ExitCode == 0 {
				r.ExitCode = -1
			}
			return r
		}
	case err := <-backCh:
		cancel()
		if err != nil {
			return action.Result{ExitCode: -1, Error: err.Error()}
		}
		r = action.Result{Output: "the agent went away before it answered (as in a reboot)"}
	}
	r.Output = strings.TrimSpace(r.Output + fmt.Sprintf("\nagent of %s back at %s (%s after the action)", t.Host, back.UTC().Format(time.RFC3339), back.Sub(start).Round(time.Second)))
	return r
}

// WaitBack waits until the host's agent says hello after since (it was
// restarted), up to limit.
func WaitBack(ctx context.Context, env action.Env, host string, since time.Time, limit time.Duration) (time.Time, error) {
	poll := env.Poll
	if poll <= 0 {
		poll = time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		if h := env.Agent.Hello(host); h.After(since) {
			return h, nil
		}
		select {
		case <-ctx.Done():
			last, _ := env.Agent.Seen(host)
			return time.Time{}, fmt.Errorf("the agent of %s did not come back within %s (last contact %s)", host, limit, last.UTC().Format(time.RFC3339))
		case <-t.C:
		}
	}
}
