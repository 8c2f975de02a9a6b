package check

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/mamori/mamori/internal/registry"
)

// Checker runs one check. It must honour ctx's deadline and turn every
// failure into a Result (CRITICAL for "the service is not healthy",
// UNKNOWN for "the check itself could not decide", e.g. bad arguments).
type Checker interface {
	Check(ctx context.Context) Result
}

// CheckerFunc adapts a function to Checker.
type CheckerFunc func(ctx context.Context) Result

// Check calls f.
func (f CheckerFunc) Check(ctx context.Context) Result { return f(ctx) }

// Spec is a check type's configuration: a pointer to a struct whose exported
// fields carry `yaml:"key"` and `help:"..."` tags (and optionally
// `required:"true"`). The config loader decodes a check entry's own keys into
// it strictly, and `mamori check TYPE` turns the same fields into flags
// (yaml key with '_' → '-'). Supported field types: string, bool, int,
// float64, time.Duration, []string, []int, map[string]string, Secret, Range.
type Spec interface {
	// Validate reports every problem with the decoded fields (nil if none).
	// Field names are yaml keys.
	Validate() []FieldError
	// New builds a Checker from the validated spec.
	New(env Env) (Checker, error)
}

// Deadliner is implemented by checkers whose verdict changes at a known
// time without anything happening (a push check turns CRITICAL when period
// + grace has passed since the job's last report). The engine runs them at
// that time too, not only on their interval.
type Deadliner interface {
	// NextDeadline is the next time a run would judge differently from a
	// run now (zero: none known).
	NextDeadline(now time.Time) time.Time
}

// HostDefaulter is implemented by specs that can take their target from the
// host a check is declared under (hosts[].address) when they have none.
type HostDefaulter interface {
	DefaultHost(address string)
}

// HostNamer is implemented by specs that need the name of the host they
// are declared under (e.g. the agent heartbeat).
type HostNamer interface {
	SetHostName(name string)
}

// Env is what a check type may use when it builds its Checker.
type Env struct {
	Logger *slog.Logger
	// Passive is the server's record of what agents and jobs reported; nil
	// outside the server (e.g. in `mamori check`).
	Passive Passive
	// Shared holds what the process shares across checks beyond the
	// network: cloud accounts with their cached clients and batched API
	// calls. A check package reads its own entry with a key type it owns
	// (see internal/check/awscheck); nil where there is none (e.g. in
	// `mamori check`, where such a package builds its own from the
	// environment).
	Shared Shared
}

// Shared finds a process-wide facility by key.
type Shared interface {
	Lookup(key any) (any, bool)
}

// SharedMap is a Shared filled once by the process assembly.
type SharedMap map[any]any

// Lookup implements Shared.
func (m SharedMap) Lookup(key any) (any, bool) {
	v, ok := m[key]
	return v, ok
}

// AccountUser is implemented by specs of cloud check types, which name an
// account of the configuration (aws_accounts) with `account:`. The config
// loader checks that the account exists and belongs to the check's tenant.
type AccountUser interface {
	// CloudAccount returns the provider ("aws") and the account named
	// ("" for the credentials of the process environment).
	CloudAccount() (provider, name string)
}

// Passive answers freshness questions for heartbeat and push checks.
type Passive interface {
	// AgentSeen is when the host's agent last reached the server.
	AgentSeen(host string) (last time.Time, ok bool)
	// LastPush is the last result a job pushed for a check.
	LastPush(check string) (r Result, at time.Time, ok bool)
}

// AgentDelivery is implemented by a Passive that knows whether a host's
// agent batches are being stored (not only whether the agent connects).
type AgentDelivery interface {
	AgentDelivery(host string) Delivery
}

// Delivery is the state of a host's agent batches on the server.
type Delivery struct {
	Stored       time.Time // last batch stored; zero if none since Since
	Since        time.Time // since when the server keeps this record
	RefusedSince time.Time // first batch not stored since the last stored one
	Refused      int       // batches not stored since then
	Reason       string    // why the last one was not stored
}

// FieldError is a problem with one field of a spec.
type FieldError struct {
	Field string // yaml key, e.g. "url" or "expect_status"
	Msg   string
}

func (e FieldError) Error() string { return e.Field + ": " + e.Msg }

// Errf builds a FieldError.
func Errf(field, format string, args ...any) FieldError {
	return FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Scope says where a check runs.
type Scope int

const (
	// ScopeServer checks run on the server (or a poller).
	ScopeServer Scope = iota
	// ScopeAgent checks run on the monitored host's agent.
	ScopeAgent
	// ScopePassive checks are results pushed to the server (jobs); the
	// server still runs their Checker on the interval to detect silence.
	ScopePassive
)

// Kind describes a check type.
type Kind struct {
	Name    string        // config "type", e.g. "http"
	Label   string        // output prefix, e.g. "HTTP" ("HTTP OK - ..."); "" for exec (plugins print their own)
	Summary string        // one line for --help and docs
	Scope   Scope         // where it runs
	Timeout time.Duration // default per-check timeout
	// Attempts, if set, is this type's default for `attempts` (e.g. 1 for
	// log matches and job reports: each result is an event of its own).
	Attempts int
	New      func() Spec // a spec with this type's defaults filled in
	// Args, if set, receives the command-line arguments after "--"
	// (mamori check exec -- PLUGIN ARGS...).
	Args func(s Spec, args []string) error
	// Inline says that this type's checker bounds every blocking call by
	// its context's deadline (name resolution, dial, handshake, each read
	// and write): Run then calls it on the caller's goroutine instead of
	// handing it to a runner goroutine, which saves a hand-off and a
	// wake-up per run. Leave it false for anything that may block beyond
	// the context (a plugin process, a library call without a context).
	Inline bool
}

var kinds = registry.New("check", func(k *Kind) string { return k.Name })

// Register adds a kind. It panics on a duplicate or incomplete kind: that is a
// programming error found by every test run.
func Register(k *Kind) {
	if k.Name == "" || k.New == nil || k.Timeout <= 0 {
		panic("check: Register: kind needs Name, New and Timeout")
	}
	kinds.Register(k)
}

// Lookup finds a kind by name.
func Lookup(name string) (*Kind, bool) { return kinds.Lookup(name) }

// Kinds lists all registered kinds sorted by name.
func Kinds() []*Kind { return kinds.All() }

// Names lists the registered kind names, sorted.
func Names() []string { return kinds.Names() }
