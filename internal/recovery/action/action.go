// Package action is the registry of recovery action types. Each type lives
// in a package of its own under internal/recovery and registers itself in
// init (internal/recovery/all imports them all), like check types.
package action

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/registry"
	"github.com/mamori/mamori/internal/wire"
)

// Spec is an action type's configuration: a pointer to a struct whose
// fields carry `yaml:"key"` and `help:"..."` tags, decoded strictly from the
// step's own keys (see internal/check/fieldset).
type Spec interface {
	// Validate reports every problem with the decoded fields.
	Validate() []check.FieldError
	// New builds the action.
	New(env Env) (Action, error)
}

// Action runs one recovery action against a target.
type Action interface {
	// Describe says what Run would do, for the record and for dry runs
	// ("agent action restart_nginx on web01").
	Describe(t Target) string
	// Run does it. It must honour ctx and turn every failure into a Result.
	Run(ctx context.Context, t Target) Result
}

// Target is what an action acts on: a check's host and service.
type Target struct {
	Check   string
	Host    string // the configured host name ("" for a top-level check)
	Address string // the host's address
	Port    int    // the check's port, if it has one
	Service string // the service by the port table (or the step's service:)
	State   string // the check's state (CRITICAL)
	Output  string // the check's output
	// Incident is the open incident's id, 0 if none.
	Incident int64
	Timeout  time.Duration
	DryRun   bool
}

// Result is an action's outcome.
type Result struct {
	ExitCode int
	Output   string // tail
	Error    string
	Refused  bool // the agent's allowlist does not have it
	DryRun   bool
}

// OK reports success: ran, exit code 0, no error.
func (r Result) OK() bool { return !r.Refused && r.Error == "" && r.ExitCode == 0 }

// Agent is the server side of the agent protocol, as actions use it.
type Agent interface {
	// Send asks a host's agent to run a request and waits for its answer.
	Send(ctx context.Context, host string, req wire.Request) (wire.Response, error)
	// Seen is the agent's last contact with the server.
	Seen(host string) (time.Time, bool)
	// Hello is the last time the agent said hello (it starts with one);
	// zero if unknown.
	Hello(host string) time.Time
}

// ActionLister is implemented by an Agent that knows the names in a host's
// allowlist (its agent's hello): the service action picks the service the
// host has (httpd or nginx, sendmail or postfix).
type ActionLister interface {
	Actions(host string) ([]string, bool)
}

// Env is what actions may use.
type Env struct {
	Agent Agent // nil where there is no agent API
	HTTP  *http.Client
	Log   *slog.Logger
	Now   func() time.Time
	Poll  time.Duration // how often waits re-check (default 1s)
	// Shared is what the process shares with check types (cloud accounts
	// and their clients, see check.Env.Shared); nil outside the server.
	Shared check.Shared
}

// Kind describes an action type.
type Kind struct {
	Name    string      // the step's action:
	Summary string      // one line for docs
	New     func() Spec // a spec with this type's defaults
	// ViaAgent: runs through the host's agent (needs a host with an agent).
	ViaAgent bool
}

var kinds = registry.New("action", func(k *Kind) string { return k.Name })

// Register adds a kind; it panics on a duplicate or incomplete one.
func Register(k *Kind) {
	if k.Name == "" || k.New == nil {
		panic("action: Register: kind needs Name and New")
	}
	kinds.Register(k)
}

// Lookup finds a kind.
func Lookup(name string) (*Kind, bool) { return kinds.Lookup(name) }

// Names lists the registered kinds, sorted.
func Names() []string { return kinds.Names() }

// ServiceSetter is implemented by specs that take the service the policy
// resolved (from service: or the port table).
type ServiceSetter interface{ ServiceName() string }

// AgentRun sends an allowlisted action name to a host's agent: the server
// never sends argv, only the name; the agent runs its own local argv.
func AgentRun(ctx context.Context, env Env, t Target, name string) Result {
	if env.Agent == nil {
		return Result{ExitCode: -1, Error: "no agent API in this server"}
	}
	if t.Host == "" {
		return Result{ExitCode: -1, Error: "the check is not under a host: no agent to ask"}
	}
	timeout := t.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	// The agent enforces its own limit; wait a little longer for its answer.
	cctx, cancel := context.WithTimeout(ctx, timeout+30*time.Second)
	defer cancel()
	resp, err := env.Agent.Send(cctx, t.Host, wire.Request{Kind: "action", Action: name, Check: t.Check, Timeout: wire.Duration(timeout), DryRun: t.DryRun})
	if err != nil {
		return Result{ExitCode: -1, Error: fmt.Sprintf("agent of %s did not answer: %v", t.Host, err), DryRun: t.DryRun}
	}
	return Result{ExitCode: resp.ExitCode, Output: resp.Output, Error: resp.Error, Refused: resp.Refused, DryRun: t.DryRun}
}
