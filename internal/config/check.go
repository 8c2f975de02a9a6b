package config

import (
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/fieldset"
	"github.com/mamori/mamori/internal/duration"
	"github.com/mamori/mamori/internal/recovery/policy"
)

// commonFields are the keys every check entry shares; everything else
// belongs to the check type's spec.
type commonFields struct {
	Name          string        `yaml:"name" required:"true" help:"unique name (under a host: unique within the host)"`
	Type          string        `yaml:"type" required:"true" help:"check type"`
	Interval      time.Duration `yaml:"interval" help:"time between runs (default 5m)"`
	RetryInterval time.Duration `yaml:"retry_interval" help:"time between runs while a problem is soft (default: interval)"`
	Attempts      int           `yaml:"attempts" help:"consecutive problem results before a hard state (default 4)"`
	Timeout       time.Duration `yaml:"timeout" help:"give up after (default per type)"`
	Notify        []string      `yaml:"notify" help:"channels (or escalation policies) to notify"`
	Level         int           `yaml:"level" help:"incident level 1..3 (障害対応レベル) its incidents open with; escalation steps and targets with min_level above it are skipped (default: its host's level, else 2)"`
	DependsOn     []string      `yaml:"depends_on" help:"checks this one depends on; while one is hard down, this one is not alerted"`
	Tags          []string      `yaml:"tags" help:"free tags"`
	Description   string        `yaml:"description" help:"what it watches, for people"`
	Disabled      bool          `yaml:"disabled" help:"configured but not run"`
	OnAgent       bool          `yaml:"on_agent" help:"run this check on the host's agent instead of the server (e.g. a local tcp or http check)"`
	Zone          string        `yaml:"zone" help:"run this check on the pollers of this zone (needs broker:; default: its host's zone, else the server)"`
}

var commonKeys = func() map[string]bool {
	m := map[string]bool{}
	for _, f := range fieldset.Of(&commonFields{}) {
		m[f.Key] = true
	}
	m["recovery"] = true // decoded by internal/recovery/policy
	return m
}()

// CommonFields documents the common check keys (for the config reference).
func CommonFields() []fieldset.Field { return fieldset.Of(&commonFields{}) }

func (l *loader) check(file string, n *yaml.Node, path string, h *Host) {
	var cf commonFields
	notCommon := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i].Value; !commonKeys[k] || k == "recovery" {
			notCommon[k] = true
		}
	}
	l.issues(file, path, fieldset.DecodeMapping(n, &cf, notCommon))
	written := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		written[n.Content[i].Value] = true
	}
	if cf.Name == "" {
		l.errAt(file, n, join(path, "name"), "is required")
	} else if msg := badName(cf.Name); msg != "" {
		l.errAt(file, keyNode(n, "name"), join(path, "name"), "%s", msg)
	}
	if written["attempts"] {
		l.attemptsBound(file, valueNode(n, "attempts"), join(path, "attempts"), cf.Attempts)
	}
	for _, k := range []string{"interval", "retry_interval", "timeout"} {
		if v := valueNode(n, k); v != nil && v.Value != "" {
			if d, err := duration.Parse(v.Value); err == nil && d < time.Second {
				l.errAt(file, v, join(path, k), "must be at least 1s")
			}
		}
	}

	c := &Check{
		ShortName: cf.Name, Type: cf.Type, Interval: cf.Interval, RetryInterval: cf.RetryInterval,
		Timeout: cf.Timeout, Attempts: cf.Attempts, Notify: cf.Notify, Tags: cf.Tags,
		Description: cf.Description, Disabled: cf.Disabled, OnAgent: cf.OnAgent, Zone: cf.Zone, Pos: Pos{file, n.Line},
	}
	c.Name = cf.Name
	c.Level = l.incidentLevel(file, n, path, cf.Level, written["level"], h)
	if h != nil {
		c.Host, c.Tenant = h.Name, h.Tenant
		c.Name = h.Name + "/" + cf.Name
		c.Tags = append(append([]string(nil), h.Tags...), c.Tags...)
		if c.Zone == "" {
			c.Zone = h.Zone
		}
	}
	l.zone(file, n, path, cf.Zone)

	switch kind, ok := check.Lookup(cf.Type); {
	case cf.Type == "":
		l.errAt(file, n, join(path, "type"), "is required (one of %s)", strings.Join(check.Names(), ", "))
	case !ok:
		l.errAt(file, valueNode(n, "type"), join(path, "type"), "unknown check type %q%s (known: %s)", cf.Type, fieldset.SuggestKey(cf.Type, check.Names()), strings.Join(check.Names(), ", "))
	default:
		l.checkSpec(file, n, path, h, c, kind, cf.Zone)
	}
	if v := valueNode(n, "recovery"); v != nil {
		p, es := policy.Decode(v, c.Spec)
		l.place(file, path, es)
		c.Recovery = p
	}
	c.Digest = digest(n, c.Host, hostAddress(h))
	if c.Zone != "" || c.OnAgent {
		// The keys travel as text to a poller or an agent; a check the
		// server runs itself needs no copy of them.
		c.YAML = ownKeys(n)
	}

	l.recordRefs(file, n, path, c, written)
	if cf.Name != "" {
		if prev := l.cfg.Check(c.Name); prev != nil {
			l.errAt(file, keyNode(n, "name"), join(path, "name"), "duplicate check %q (first at %s:%d)", c.Name, prev.Pos.File, prev.Pos.Line)
			return
		}
	}
	l.addCheck(c)
}

// ownKeys is a check's YAML without the keys every check has.
func ownKeys(n *yaml.Node) string {
	own := &yaml.Node{Kind: yaml.MappingNode}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if !commonKeys[n.Content[i].Value] {
			own.Content = append(own.Content, n.Content[i], n.Content[i+1])
		}
	}
	if len(own.Content) == 0 {
		return ""
	}
	b, _ := yaml.Marshal(own)
	return string(b)
}

// DefaultLevel is the incident level of a check and host that set none.
const DefaultLevel = 2

// incidentLevel validates a written level (1..3) and otherwise inherits
// the host's (or DefaultLevel).
func (l *loader) incidentLevel(file string, n *yaml.Node, path string, v int, written bool, h *Host) int {
	switch {
	case written && (v < 1 || v > 3):
		l.errAt(file, valueNode(n, "level"), join(path, "level"), "must be 1, 2 or 3 (the incident level)")
		return DefaultLevel
	case written:
		return v
	}
	return h.IncidentLevel()
}

// checkSpec decodes the fields of check c's type (kind) from n, gives
// the spec what it takes from its host and reports missing or invalid
// fields at their place.
func (l *loader) checkSpec(file string, n *yaml.Node, path string, h *Host, c *Check, kind *check.Kind, zone string) {
	c.Kind = kind
	c.Spec = kind.New()
	l.issues(file, path, fieldset.DecodeMapping(n, c.Spec, commonKeys))
	if h != nil && h.Address != "" {
		if hd, ok := c.Spec.(check.HostDefaulter); ok {
			hd.DefaultHost(h.Address)
		}
	}
	if hn, ok := c.Spec.(check.HostNamer); ok && h != nil {
		hn.SetHostName(h.Name)
	}
	if cn, ok := c.Spec.(interface{ SetCheckName(string) }); ok {
		cn.SetCheckName(c.Name)
	}
	if kind.Scope == check.ScopeAgent {
		c.OnAgent = true
	}
	if (c.OnAgent || kind.Scope == check.ScopePassive) && zone != "" {
		l.errAt(file, valueNode(n, "zone"), join(path, "zone"), "%s check is not run by pollers: it takes no zone", map[bool]string{true: "an agent-side", false: "a passive"}[c.OnAgent])
	}
	if c.OnAgent || kind.Scope == check.ScopePassive {
		c.Zone = "" // runs on the agent, or is reported to the server
	}
	if c.OnAgent && h == nil {
		l.errAt(file, n, join(path, "on_agent"), "an agent-side check must be declared under a host")
	}
	reported := map[string]bool{}
	for _, fe := range append(fieldset.MissingRequired(c.Spec), c.Spec.Validate()...) {
		if reported[fe.Field] {
			continue
		}
		reported[fe.Field] = true
		at := keyNode(n, fe.Field)
		if v := valueNode(n, fe.Field); v != nil {
			at = v
		}
		msg := fe.Msg
		if at == n && h == nil && isTargetField(fe.Field) && !strings.Contains(msg, "(") {
			msg += " (or declare the check under a host with an address)"
		}
		l.errAt(file, at, join(path, fe.Field), "%s", msg)
	}
}

// recordRefs keeps where check c names channels (notify) and other checks
// (depends_on), resolved once every check is known.
func (l *loader) recordRefs(file string, n *yaml.Node, path string, c *Check, written map[string]bool) {
	if l.refs == nil {
		l.refs = map[*Check]*checkRefs{}
	}
	refs := &checkRefs{file: file, path: path, node: n, written: written}
	if v := valueNode(n, "notify"); v != nil {
		refs.notify = listItems(v)
	}
	if v := valueNode(n, "depends_on"); v != nil {
		refs.dependsOn = listItems(v)
	}
	l.refs[c] = refs
}

func isTargetField(f string) bool {
	switch f {
	case "host", "url", "server", "name":
		return true
	}
	return false
}

func hostAddress(h *Host) string {
	if h == nil {
		return ""
	}
	return h.Address
}

func listItems(v *yaml.Node) []*yaml.Node {
	if v.Kind == yaml.SequenceNode {
		return v.Content
	}
	if v.Kind == yaml.ScalarNode {
		var out []*yaml.Node
		for _, part := range strings.Split(v.Value, ",") {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, &yaml.Node{Kind: yaml.ScalarNode, Value: part, Line: v.Line, Column: v.Column})
			}
		}
		return out
	}
	return nil
}

// heartbeat gives a host with an agent its heartbeat check HOST/agent
// (unless one is declared): the agent's silence is a problem of its own,
// and the parent of the host's agent-side checks.
func (l *loader) heartbeat(file string, n *yaml.Node, path string, h *Host) {
	needs := h.Agent
	for _, c := range l.cfg.Checks {
		if c.Host != h.Name || c.Kind == nil {
			continue
		}
		if c.Type == "heartbeat" {
			h.Heartbeat, h.Agent = c.Name, true
			return
		}
		needs = needs || c.OnAgent
	}
	if !needs {
		return
	}
	h.Agent = true
	kind, ok := check.Lookup("heartbeat")
	if !ok {
		l.errAt(file, n, join(path, "agent"), "agent support (the heartbeat check type) is not part of this build")
		return
	}
	c := &Check{Name: h.Name + "/agent", ShortName: "agent", Type: "heartbeat", Kind: kind, Spec: kind.New(),
		Host: h.Name, Tenant: h.Tenant, Tags: h.Tags, Pos: Pos{file, n.Line}, Description: "mamori agent heartbeat",
		Interval: 30 * time.Second, Attempts: 1, Level: h.IncidentLevel()} // its ttl already waits out short gaps
	if hn, ok := c.Spec.(check.HostNamer); ok {
		hn.SetHostName(h.Name)
	}
	c.Digest = digest(&yaml.Node{Kind: yaml.ScalarNode, Value: "heartbeat"}, h.Name)
	if l.refs == nil {
		l.refs = map[*Check]*checkRefs{}
	}
	l.refs[c] = &checkRefs{file: file, path: join(path, "agent"), node: n, written: map[string]bool{}}
	h.Heartbeat = c.Name
	l.addCheck(c)
}

// addCheck appends a check and keeps the name index current, so that
// loading stays linear in the number of checks.
func (l *loader) addCheck(c *Check) {
	l.cfg.Checks = append(l.cfg.Checks, c)
	if l.cfg.byName == nil || len(l.cfg.byName) != len(l.cfg.Checks)-1 {
		l.cfg.byName = nil
		l.cfg.Check(c.Name) // rebuild the index
		return
	}
	l.cfg.byName[c.Name] = c
}

// IncidentLevel is the level of the host's checks that set none.
func (h *Host) IncidentLevel() int {
	if h == nil || h.Level == 0 {
		return DefaultLevel
	}
	return h.Level
}
