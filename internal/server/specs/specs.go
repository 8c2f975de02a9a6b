// Package specs is the server assembly's translation of the configuration
// into what the engine runs (internal/engine/spec). It is the one place
// where a configured check becomes an engine check: the engine itself does
// not import the configuration.
package specs

import (
	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/engine/spec"
)

// Plan is the engine's plan for a validated configuration.
func Plan(cfg *config.Config) spec.Plan {
	p := spec.Plan{Checks: make([]*spec.Check, 0, len(cfg.Checks)), MaxConcurrent: cfg.Scheduler.MaxConcurrent,
		KeepResults: cfg.Retention.Results, KeepEvents: cfg.Retention.Events}
	for _, c := range cfg.Checks {
		p.Checks = append(p.Checks, Check(c))
	}
	return p
}

// Check is the engine's view of one configured check.
func Check(c *config.Check) *spec.Check {
	return &spec.Check{Name: c.Name, Host: c.Host, Tenant: c.Tenant, Type: c.Type, Kind: c.Kind, Params: c.Spec, YAML: c.YAML,
		Tags: c.Tags, Parents: c.Parents, Interval: c.Interval, RetryInterval: c.RetryInterval, Timeout: c.Timeout,
		Attempts: c.Attempts, FlapLow: c.FlapLow, FlapHigh: c.FlapHigh, Disabled: c.Disabled, OnAgent: c.OnAgent,
		Zone: c.Zone, Digest: c.Digest, File: c.Pos.File, Line: c.Pos.Line}
}
