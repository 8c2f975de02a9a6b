// Package command is the `command` recovery action: a named entry of the
// host agent's local allowlist. The server sends the name only; the agent
// runs its own argv, and refuses names it does not have.
package command

import (
	"context"
	"fmt"
	"regexp"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/recovery/action"
)

// Spec configures the action.
type Spec struct {
	Command string `yaml:"command" required:"true" help:"name of an entry of the agent's allowlist (actions: in its config)"`
}

// NameRE is what an allowlist name looks like (as the agent's config).
var NameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$`)

func init() {
	action.Register(&action.Kind{Name: "command", Summary: "run a named command of the host agent's allowlist", ViaAgent: true,
		New: func() action.Spec { return &Spec{} }})
}

// Validate implements action.Spec.
func (s *Spec) Validate() []check.FieldError {
	if s.Command != "" && !NameRE.MatchString(s.Command) {
		return []check.FieldError{check.Errf("command", "%q is not an allowlist name (letters, digits, _ . -; at most 64)", s.Command)}
	}
	return nil
}

// New implements action.Spec.
func (s *Spec) New(env action.Env) (action.Action, error) {
	return &Agent{Env: env, Name: s.Command}, nil
}

// Agent runs one allowlisted name on a host's agent (also used by service and reboot).
type Agent struct {
	Env  action.Env
	Name string
}

// Describe implements action.Action.
func (a *Agent) Describe(t action.Target) string {
	return fmt.Sprintf("agent action %s on %s", a.Name, t.Host)
}

// Run implements action.Action.
func (a *Agent) Run(ctx context.Context, t action.Target) action.Result {
	return action.AgentRun(ctx, a.Env, t, a.Name)
}
