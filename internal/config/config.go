// Package config loads mamori's YAML configuration strictly: every unknown
// key, wrong type, bad duration, missing target, unknown reference and
// dependency cycle is reported — all of them at once, each with its file,
// line and field path. A check type decodes its own fields (see
// internal/check/fieldset); this package knows only the common keys.
package config

import (
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/cloud"
	"github.com/mamori/mamori/internal/maintenance"
	"github.com/mamori/mamori/internal/notify"
	"github.com/mamori/mamori/internal/recovery/policy"
	"github.com/mamori/mamori/internal/runbook"
)

// Config is a loaded, validated configuration.
type Config struct {
	File      string
	Listen    string
	DataDir   string
	Database  string // postgres://USER@HOST:PORT/DB; "" = SQLite in DataDir
	LogLevel  string
	PublicURL string
	// AdvertiseURL is the URL the other servers of the database reach this
	// one at ("": followers do not forward to it); AdvertiseCAFile the CAs
	// a follower trusts for a leader's https URL ("": the system's).
	AdvertiseURL    string
	AdvertiseCAFile string
	TLS             TLS
	HTTP            HTTP
	Retention       Retention
	Scheduler       Scheduler
	Defaults        Defaults
	APITokens       []APIToken
	Channels        []Channel
	Contacts        []*Contact
	Escalations     []*Escalation
	Incidents       Incidents
	Recovery        policy.Global // the top-level recovery: section
	RunbooksDir     string
	Runbooks        *runbook.Library // from runbooks_dir (empty if none)
	Maintenance     []*maintenance.Window
	Hosts           []*Host
	Report          Reporting // report:
	Tickets         Tickets   // tickets:
	Tenants         []*Tenant // tenants:
	// AWSAccounts are the AWS accounts checks name with account: (aws_accounts).
	AWSAccounts []cloud.AWSAccount
	// RemoteWrite are the Prometheus remote write receivers (remote_write:).
	RemoteWrite []RemoteWrite
	// Broker is the NATS JetStream the server hands zone checks to
	// (broker:, broker_creds:, broker_ca_file:); empty URL: none.
	Broker Broker
	// Checks holds every check, those under hosts included, by full name
	// ("HOST/NAME" under a host, "NAME" at the top level), in file order.
	Checks []*Check
	byName map[string]*Check // index of Checks, built on first use
}

// Retention bounds how long history is kept.
type Retention struct {
	Results time.Duration `yaml:"results" help:"raw check results kept for (default 35d)"`
	Events  time.Duration `yaml:"events" help:"state changes kept for (default 400d; at least 13 months)"`
}

// Scheduler tunes check execution.
type Scheduler struct {
	MaxConcurrent int `yaml:"max_concurrent" help:"checks running at once, server-wide (default 1000)"`
}

// Defaults apply to every check that does not set its own.
type Defaults struct {
	Interval      time.Duration `yaml:"interval" help:"time between runs while OK or hard (default 5m)"`
	RetryInterval time.Duration `yaml:"retry_interval" help:"time between runs while a problem is soft (default: interval)"`
	Attempts      int           `yaml:"attempts" help:"consecutive problem results before a hard state (default 4)"`
	FlapLow       float64       `yaml:"flap_low" help:"flapping stops below this state-change percentage (default 25)"`
	FlapHigh      float64       `yaml:"flap_high" help:"flapping starts above this state-change percentage (default 50; 0 disables)"`
}

// APIToken is a static API token from config.
type APIToken struct {
	Name   string       `yaml:"name" required:"true" help:"who uses it"`
	Token  check.Secret `yaml:"token" required:"true" help:"the bearer token, at least 16 characters (use ${ENV} or file:)"`
	Role   string       `yaml:"role" help:"admin, operator, customer or viewer (default viewer), as for mamori token create"`
	Tenant string       `yaml:"tenant" help:"the tenant of a customer or viewer (required for them; admin and operator take none)"`
}

// Channel is a notification channel; its type's own fields are decoded
// strictly into Spec by the notify registry.
type Channel struct {
	Name string
	Type string
	Lang string // default language of messages on this channel
	Kind *notify.Kind
	Spec notify.Spec
	Pos  Pos
}

// Host is a monitored machine.
type Host struct {
	Name            string
	Address         string
	Tenant          string
	Groups          []string
	Tags            []string
	HostCheck       string        // full name of the check that tells whether the host is up
	Agent           bool          // runs mamori agent
	AgentToken      check.Secret  // enrolment token from config (or `mamori host add`)
	MetricsInterval time.Duration // how often its agent sends metrics (0: default)
	Heartbeat       string        // full name of its agent heartbeat check, if it has an agent
	Zone            string        // its checks run on the pollers of this zone ("" : the server)
	Notify          []string
	Level           int // incident level of its checks that set none (0: DefaultLevel)
	Pos             Pos
}

// Check is one configured check.
type Check struct {
	Name          string // full name
	ShortName     string // as written
	Type          string
	Kind          *check.Kind
	Spec          check.Spec
	Host          string // owning host, if any
	Tenant        string
	Interval      time.Duration
	RetryInterval time.Duration
	Timeout       time.Duration
	Attempts      int
	FlapLow       float64
	FlapHigh      float64
	Notify        []string
	Level         int      // incident level 1..3 its incidents open with
	DependsOn     []string // full names, as configured
	Parents       []string // DependsOn plus the host check, resolved
	Tags          []string
	Description   string
	Disabled      bool
	OnAgent       bool   // runs on the host's agent
	Zone          string // run by the pollers of this zone ("": by the server)
	Pos           Pos
	// YAML is the entry's type-specific keys as YAML: what an agent decodes
	// for an agent-side check.
	YAML string
	// Digest identifies the check's configuration; a reload keeps the
	// state of a check whose name is unchanged and reschedules it if the
	// digest changed.
	Digest string
	// Recovery is the check's recovery policy (recovery:), nil if none.
	Recovery *policy.Policy
}

// Pos is where something was written.
type Pos struct {
	File string
	Line int
}

// Check returns the check with a full name.
func (c *Config) Check(name string) *Check {
	if c.byName == nil || len(c.byName) != len(c.Checks) {
		m := make(map[string]*Check, len(c.Checks))
		for _, ch := range c.Checks {
			if _, dup := m[ch.Name]; !dup {
				m[ch.Name] = ch
			}
		}
		c.byName = m
	}
	return c.byName[name]
}

// Built-in defaults.
const (
	DefaultListen        = "127.0.0.1:8484"
	DefaultDataDir       = "./data"
	DefaultInterval      = 5 * time.Minute
	DefaultAttempts      = 4
	DefaultResults       = 35 * 24 * time.Hour
	DefaultEvents        = 400 * 24 * time.Hour
	MinEvents            = 396 * 24 * time.Hour // 13 months
	DefaultMaxConcurrent = 1000
)

// Host returns a host by name.
func (c *Config) Host(name string) *Host {
	for _, h := range c.Hosts {
		if h.Name == name {
			return h
		}
	}
	return nil
}
