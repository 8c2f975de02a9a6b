// Package policy decodes recovery policies: the `recovery:` key of a check
// entry and the global `recovery:` section. It imports no server package,
// so the config loader can use it.
//
// A check's policy is a list of steps, or a mapping with steps and limits:
//
//	recovery:
//	  - {after: 20m, action: service}                       # restart_<service> on the host's agent
//	  - {action: reboot, verify_within: 10m}                # 5m after the previous step
//
//	recovery:
//	  budget: {max: 3, per: 1h}
//	  dry_run: true
//	  steps:
//	    - {after: 2m, action: command, command: restart_web, verify_within: 20s}
//
//	recovery: default                                      # one service restart after 20m
package policy

import (
	"fmt"
	"net"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/mamori/mamori/internal/check/fieldset"
	"github.com/mamori/mamori/internal/duration"
	"github.com/mamori/mamori/internal/recovery/action"
	"github.com/mamori/mamori/internal/yamlx"
)

// Defaults.
const (
	DefaultFirstAfter   = 20 * time.Minute
	DefaultNextAfter    = 5 * time.Minute // after the previous step's `after`
	DefaultVerifyWithin = 2 * time.Minute
	DefaultTimeout      = 5 * time.Minute
)

// DefaultCheckBudget and DefaultHostBudget apply when none is configured.
var (
	DefaultCheckBudget = Budget{Max: 3, Per: time.Hour}
	DefaultHostBudget  = Budget{Max: 5, Per: time.Hour}
)

// Step is one action of a policy.
type Step struct {
	After        time.Duration // how long the problem must have been hard before it runs
	Action       string        // the kind's name
	Kind         *action.Kind
	Spec         action.Spec
	VerifyWithin time.Duration // the check must be OK within this after the action
	Timeout      time.Duration // limit of the action itself
	DryRun       bool
	Service      string // the service the step acts on (service: or the port table)
	Line         int
}

// Budget bounds actions in a sliding window.
type Budget struct {
	Max int           `yaml:"max"`
	Per time.Duration `yaml:"per"`
}

func (b Budget) String() string { return fmt.Sprintf("%d per %s", b.Max, b.Per) }

// Policy is a check's recovery policy.
type Policy struct {
	Steps  []Step
	Budget Budget // per check
	DryRun bool
	Line   int
}

// Global is the top-level `recovery:` section.
type Global struct {
	Enabled     bool
	DryRun      bool
	CheckBudget Budget // default per-check budget
	HostBudget  Budget // per host, across its checks
}

// DefaultGlobal is the section's value when it is not written.
func DefaultGlobal() Global {
	return Global{Enabled: true, CheckBudget: DefaultCheckBudget, HostBudget: DefaultHostBudget}
}

// stepKeys are the keys every step has; the rest belong to the action.
var stepKeys = map[string]bool{"after": true, "action": true, "verify_within": true, "timeout": true, "dry_run": true}

// Ports maps well-known ports to their usual services (SPEC section 4),
// the most common first: where a port has several, the service action
// restarts the one the host's agent allows (restart_httpd or restart_nginx).
var Ports = map[int][]string{21: {"vsftpd"}, 22: {"sshd"}, 25: {"postfix", "sendmail"}, 53: {"named"},
	80: {"nginx", "httpd", "apache2"}, 443: {"nginx", "httpd", "apache2"},
	110: {"dovecot"}, 143: {"dovecot"}, 993: {"dovecot"}, 995: {"dovecot"}, 3306: {"mysqld"}, 5432: {"postgresql"}}

// ServiceForPort is the first default service of a port ("" if none).
func ServiceForPort(port int) string {
	if s := Ports[port]; len(s) > 0 {
		return s[0]
	}
	return ""
}

// PortOf finds a check spec's port: a `port` field, or the port of a `url`
// field (80/443 by scheme when not written). 0 if none.
func PortOf(spec any) int {
	if spec == nil {
		return 0
	}
	v := reflect.ValueOf(spec)
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return 0
		}
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return 0
	}
	port, rawURL := 0, ""
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			fv := v.Field(i)
			if f.Anonymous && fv.Kind() == reflect.Struct {
				walk(fv)
				continue
			}
			key := strings.Split(f.Tag.Get("yaml"), ",")[0]
			switch {
			case key == "port" && fv.CanInt() && port == 0:
				port = int(fv.Int())
			case key == "url" && fv.Kind() == reflect.String && rawURL == "":
				rawURL = fv.String()
			}
		}
	}
	walk(v)
	if port > 0 || rawURL == "" {
		return port
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return 0
	}
	if p := u.Port(); p != "" {
		n, _ := strconv.Atoi(p)
		return n
	}
	switch u.Scheme {
	case "http":
		return 80
	case "https":
		return 443
	}
	if _, p, err := net.SplitHostPort(u.Host); err == nil {
		n, _ := strconv.Atoi(p)
		return n
	}
	return 0
}

// defaultSteps are the seeds' rule, `recovery: default`: restart the
// service of the check's port after 20 minutes, then reboot the host 20
// minutes later if the check still fails.
func defaultSteps(at *yaml.Node) *yaml.Node {
	str := func(v string) *yaml.Node {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v, Line: at.Line, Column: at.Column}
	}
	step := func(after, act string) *yaml.Node {
		return &yaml.Node{Kind: yaml.MappingNode, Line: at.Line, Column: at.Column,
			Content: []*yaml.Node{str("after"), str(after), str("action"), str(act)}}
	}
	first := DefaultFirstAfter
	return &yaml.Node{Kind: yaml.SequenceNode, Line: at.Line, Content: []*yaml.Node{
		step(first.String(), "service"), step((2 * first).String(), "reboot")}}
}

// Decode reads a check's `recovery:` value. checkSpec is the check type's
// decoded spec (for the default service of its port); it may be nil. Issue
// keys are relative to the check entry ("recovery[0].after").
func Decode(node *yaml.Node, checkSpec any) (*Policy, yamlx.Errors) {
	var issues yamlx.Errors
	bad := func(n *yaml.Node, key, format string, args ...any) {
		issues = append(issues, yamlx.Error{Path: key, Line: n.Line, Col: n.Column, Msg: fmt.Sprintf(format, args...)})
	}
	if node.Kind == yaml.AliasNode {
		node = node.Alias
	}
	p := &Policy{Line: node.Line}
	port := PortOf(checkSpec)
	var steps *yaml.Node
	stepsPath := "recovery"
	switch node.Kind {
	case yaml.ScalarNode:
		if node.Value != "default" {
			bad(node, "recovery", "must be a list of steps, a mapping with steps:, or \"default\"")
			return nil, issues
		}
		svc := ServiceForPort(port)
		if svc == "" {
			bad(node, "recovery", "\"default\" restarts the service of the check's port, and this check has no well-known port: write the steps")
			return nil, issues
		}
		steps = defaultSteps(node)
	case yaml.SequenceNode:
		steps = node
	case yaml.MappingNode:
		stepsPath = "recovery.steps"
		for i := 0; i+1 < len(node.Content); i += 2 {
			k, v := node.Content[i], node.Content[i+1]
			switch k.Value {
			case "steps":
				steps = v
			case "budget":
				b, is := DecodeBudget(v, "recovery.budget")
				issues = append(issues, is...)
				p.Budget = b
			case "dry_run":
				if err := v.Decode(&p.DryRun); err != nil {
					bad(v, "recovery.dry_run", "must be true or false")
				}
			default:
				bad(k, "recovery."+k.Value, "unknown field%s", fieldset.SuggestKey(k.Value, []string{"steps", "budget", "dry_run"}))
			}
		}
		if steps == nil {
			bad(node, "recovery.steps", "is required: the actions to take, in order")
			return nil, issues
		}
	default:
		bad(node, "recovery", "must be a list of steps")
		return nil, issues
	}
	if steps.Kind != yaml.SequenceNode {
		bad(steps, stepsPath, "must be a list of steps")
		return nil, issues
	}
	if len(steps.Content) == 0 {
		bad(steps, stepsPath, "needs at least one step")
	}
	var prevAfter time.Duration
	for i, sn := range steps.Content {
		path := fmt.Sprintf("%s[%d]", stepsPath, i)
		st, is := decodeStep(sn, path, i, prevAfter, port)
		issues = append(issues, is...)
		if st == nil {
			continue
		}
		prevAfter = st.After
		p.Steps = append(p.Steps, *st)
	}
	return p, issues
}

type stepFields struct {
	After        time.Duration `yaml:"after" help:"how long the problem must have been hard (default 20m for the first step, 5m after the previous for the others)"`
	Action       string        `yaml:"action" required:"true" help:"service, command, reboot, ssh, aws_ec2 or http"`
	VerifyWithin time.Duration `yaml:"verify_within" help:"the check must be OK again within this (default 2m)"`
	Timeout      time.Duration `yaml:"timeout" help:"limit of the action itself (default 5m)"`
	DryRun       bool          `yaml:"dry_run" help:"record what would run without running it"`
}

func decodeStep(n *yaml.Node, path string, i int, prevAfter time.Duration, port int) (*Step, yamlx.Errors) {
	var issues yamlx.Errors
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Kind != yaml.MappingNode {
		return nil, yamlx.Errors{{Path: path, Line: n.Line, Col: n.Column, Msg: "a step must be a mapping ({after: 20m, action: service})"}}
	}
	notStep := map[string]bool{}
	for j := 0; j+1 < len(n.Content); j += 2 {
		if !stepKeys[n.Content[j].Value] {
			notStep[n.Content[j].Value] = true
		}
	}
	var sf stepFields
	issues = append(issues, yamlx.Issues("", path, fieldset.DecodeMapping(n, &sf, notStep))...)
	written := map[string]*yaml.Node{}
	for j := 0; j+1 < len(n.Content); j += 2 {
		written[n.Content[j].Value] = n.Content[j+1]
	}
	at := func(key string) *yaml.Node {
		if v := written[key]; v != nil {
			return v
		}
		return n
	}
	bad := func(key, format string, args ...any) {
		nn := at(key)
		issues = append(issues, yamlx.Error{Path: path + "." + key, Line: nn.Line, Col: nn.Column, Msg: fmt.Sprintf(format, args...)})
	}
	st := &Step{After: sf.After, Action: sf.Action, VerifyWithin: sf.VerifyWithin, Timeout: sf.Timeout, DryRun: sf.DryRun, Line: n.Line}
	st.defaultTimings(written["after"] != nil, i, prevAfter, bad)
	if sf.Action == "" {
		bad("action", "is required (one of %s)", strings.Join(action.Names(), ", "))
		return nil, issues
	}
	kind, ok := action.Lookup(sf.Action)
	if !ok {
		bad("action", "unknown action %q%s (known: %s)", sf.Action, fieldset.SuggestKey(sf.Action, action.Names()), strings.Join(action.Names(), ", "))
		return nil, issues
	}
	st.Kind, st.Spec = kind, kind.New()
	issues = append(issues, yamlx.Issues("", path, fieldset.DecodeMapping(n, st.Spec, stepKeys))...)
	if pd, ok := st.Spec.(PortDefaulter); ok {
		pd.DefaultService(ServiceForPort(port))
	}
	if pd, ok := st.Spec.(PortAlternatives); ok {
		pd.DefaultServices(Ports[port])
	}
	for _, fe := range append(fieldset.MissingRequired(st.Spec), st.Spec.Validate()...) {
		bad(fe.Field, "%s", fe.Msg)
	}
	if ss, ok := st.Spec.(action.ServiceSetter); ok {
		st.Service = ss.ServiceName()
	}
	return st, issues
}

// defaultTimings fills the step's unset after, verify_within and timeout
// and reports values out of range through bad. afterSet tells whether
// after was written; step i follows a step due at prevAfter.
func (st *Step) defaultTimings(afterSet bool, i int, prevAfter time.Duration, bad func(key, format string, args ...any)) {
	if !afterSet {
		if i == 0 {
			st.After = DefaultFirstAfter
		} else {
			st.After = prevAfter + DefaultNextAfter
		}
	}
	if st.After < 0 {
		bad("after", "must not be negative")
	}
	if afterSet && i > 0 && st.After < prevAfter {
		bad("after", "is %s, before the previous step's %s: steps run in order", st.After, prevAfter)
	}
	if st.VerifyWithin == 0 {
		st.VerifyWithin = DefaultVerifyWithin
	}
	if st.VerifyWithin < time.Second {
		bad("verify_within", "must be at least 1s")
	}
	if st.Timeout == 0 {
		st.Timeout = DefaultTimeout
	}
	if st.Timeout < time.Second {
		bad("timeout", "must be at least 1s")
	}
}

// PortDefaulter is implemented by specs that take the service of the
// check's port when they have none.
type PortDefaulter interface{ DefaultService(name string) }

// PortAlternatives is implemented by specs that, given no service, choose
// among the port's services the one the host has.
type PortAlternatives interface{ DefaultServices(names []string) }

// DecodeBudget reads {max: 3, per: 1h} or "3/1h".
func DecodeBudget(v *yaml.Node, path string) (Budget, yamlx.Errors) {
	var b Budget
	bad := func(n *yaml.Node, format string, args ...any) yamlx.Errors {
		return yamlx.Errors{{Path: path, Line: n.Line, Col: n.Column, Msg: fmt.Sprintf(format, args...)}}
	}
	switch v.Kind {
	case yaml.ScalarNode:
		mx, per, ok := strings.Cut(v.Value, "/")
		if !ok {
			return b, bad(v, "must be {max: 3, per: 1h} or \"3/1h\"")
		}
		n, err := strconv.Atoi(strings.TrimSpace(mx))
		d, err2 := duration.Parse(strings.TrimSpace(per))
		if err != nil || err2 != nil {
			return b, bad(v, "must be {max: 3, per: 1h} or \"3/1h\"")
		}
		b = Budget{Max: n, Per: d}
	case yaml.MappingNode:
		var f struct {
			Max int           `yaml:"max" required:"true" help:"actions at most"`
			Per time.Duration `yaml:"per" required:"true" help:"in any window this long"`
		}
		var issues yamlx.Errors
		issues = append(issues, yamlx.Issues("", path, fieldset.DecodeMapping(v, &f, nil))...)
		for _, fe := range fieldset.MissingRequired(&f) {
			issues = append(issues, yamlx.Error{Path: path + "." + fe.Field, Line: v.Line, Col: v.Column, Msg: fe.Msg})
		}
		if len(issues) > 0 {
			return b, issues
		}
		b = Budget{Max: f.Max, Per: f.Per}
	default:
		return b, bad(v, "must be {max: 3, per: 1h}")
	}
	if b.Max < 1 || b.Per < time.Second {
		return Budget{}, bad(v, "max must be at least 1 and per at least 1s")
	}
	return b, nil
}

// DecodeGlobal reads the top-level `recovery:` section:
//
//	recovery: {enabled: true, dry_run: false, budget_per_check: {max: 3, per: 1h}, budget_per_host: {max: 5, per: 1h}}
func DecodeGlobal(v *yaml.Node) (Global, yamlx.Errors) {
	g := DefaultGlobal()
	if v.Kind != yaml.MappingNode {
		return g, yamlx.Errors{{Path: "recovery", Line: v.Line, Col: v.Column, Msg: "must be a mapping"}}
	}
	var issues yamlx.Errors
	keys := []string{"enabled", "dry_run", "budget_per_check", "budget_per_host"}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		path := "recovery." + k.Value
		switch k.Value {
		case "enabled", "dry_run":
			var b bool
			if err := val.Decode(&b); err != nil {
				issues = append(issues, yamlx.Error{Path: path, Line: val.Line, Col: val.Column, Msg: "must be true or false"})
				continue
			}
			if k.Value == "enabled" {
				g.Enabled = b
			} else {
				g.DryRun = b
			}
		case "budget_per_check", "budget_per_host":
			b, is := DecodeBudget(val, path)
			issues = append(issues, is...)
			if len(is) == 0 {
				if k.Value == "budget_per_check" {
					g.CheckBudget = b
				} else {
					g.HostBudget = b
				}
			}
		default:
			issues = append(issues, yamlx.Error{Path: path, Line: k.Line, Col: k.Column, Msg: "unknown field" + fieldset.SuggestKey(k.Value, keys)})
		}
	}
	return g, issues
}

// CheckBudget is the budget that applies to a policy's check.
func (p *Policy) CheckBudget(g Global) Budget {
	if p != nil && p.Budget.Max > 0 {
		return p.Budget
	}
	return g.CheckBudget
}
