// Package spec is the engine's own description of the checks it runs: what
// it needs to schedule a check, run it and decide its state, and nothing
// more. The server assembly builds it from the configuration
// (internal/server/specs); the engine never sees the configuration, so it
// links no recovery action, notification channel or cloud SDK.
package spec

import (
	"time"

	"github.com/mamori/mamori/internal/check"
)

// Check is one check as the engine runs it.
type Check struct {
	Name   string // full name ("HOST/NAME" under a host)
	Host   string // owning host, if any
	Tenant string
	Type   string      // check type
	Kind   *check.Kind // the registered type (check.Run uses its label and timeout)
	// Params are the type's decoded parameters: they build the checker.
	Params check.Spec
	// YAML is the type-specific keys as written: what a zone's poller decodes.
	YAML          string
	Tags          []string
	Parents       []string // checks this one depends on, host check included
	Interval      time.Duration
	RetryInterval time.Duration
	Timeout       time.Duration
	Attempts      int // consecutive problem results before a hard state
	FlapLow       float64
	FlapHigh      float64
	Disabled      bool   // configured but not run
	OnAgent       bool   // run by the host's agent; results arrive through Record
	Zone          string // run by the pollers of this zone ("": by the server)
	// Digest identifies the check's parameters: a reload rebuilds the
	// checker of a check whose digest changed.
	Digest string
	// File and Line are where the check was written (for errors).
	File string
	Line int
}

// Plan is everything the engine runs: the checks and its own settings.
type Plan struct {
	Checks []*Check
	// MaxConcurrent bounds concurrent runs (at least 1).
	MaxConcurrent int
	// KeepResults and KeepEvents bound the history the engine prunes.
	KeepResults time.Duration
	KeepEvents  time.Duration
}
