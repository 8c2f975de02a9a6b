package config

import (
	"errors"
	"fmt"

	"slices"
	"strings"

	"github.com/mamori/mamori/internal/check"

	"github.com/mamori/mamori/internal/runbook"
)

// finish fills defaults and resolves cross references: notify targets,
// dependencies, host checks, and dependency cycles.
func (l *loader) finish() {
	c := l.cfg
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir
	}
	if c.LogLevel == "" {
		c.LogLevel = "info"
	}
	if c.Retention.Results == 0 {
		c.Retention.Results = DefaultResults
	}
	if c.Retention.Events == 0 {
		c.Retention.Events = DefaultEvents
	} else if c.Retention.Events < MinEvents {
		l.errAt(c.File, nil, "retention.events", "must be at least 396d (13 months): state-change history feeds yearly reports")
	}
	l.boundTop()
	l.checkZones()
	l.resolveTLS()
	if c.Scheduler.MaxConcurrent == 0 {
		c.Scheduler.MaxConcurrent = DefaultMaxConcurrent
	}
	d := &c.Defaults
	if d.Interval == 0 {
		d.Interval = DefaultInterval
	}
	if d.Attempts == 0 {
		d.Attempts = DefaultAttempts
	}
	if d.FlapHigh == 0 && d.FlapLow == 0 {
		d.FlapLow, d.FlapHigh = 25, 50
	}
	if d.FlapLow > d.FlapHigh {
		l.errAt(c.File, nil, "defaults.flap_low", "must not exceed flap_high")
	}

	for _, ch := range c.Checks {
		if ch.Interval == 0 {
			ch.Interval = d.Interval
		}
		if ch.RetryInterval == 0 {
			ch.RetryInterval = d.RetryInterval
		}
		if ch.RetryInterval == 0 {
			ch.RetryInterval = ch.Interval
		}
		if ch.Attempts == 0 && ch.Kind != nil && ch.Kind.Attempts > 0 {
			ch.Attempts = ch.Kind.Attempts
		}
		if ch.Attempts == 0 {
			ch.Attempts = d.Attempts
		}
		if ch.Timeout == 0 && ch.Kind != nil {
			ch.Timeout = ch.Kind.Timeout
		}
		ch.FlapLow, ch.FlapHigh = d.FlapLow, d.FlapHigh
	}
	l.resolveAccounts() // before alerting: a check may take its account's tenant
	l.loadRunbooks()
	l.resolveHostChecks()
	l.resolveAlerting()
	l.finishReporting()
	l.finishTickets()
	l.resolveRefs()
	l.findCycles()
}

func (l *loader) resolveHostChecks() {
	for _, r := range l.hostCheckNodes {
		hc := l.cfg.Check(r.host.HostCheck)
		if hc == nil || hc.Host != r.host.Name {
			l.errAt(r.file, r.node, r.path, "no check %q under host %q", strings.TrimPrefix(r.host.HostCheck, r.host.Name+"/"), r.host.Name)
			r.host.HostCheck = ""
		}
	}
	for _, h := range l.cfg.Hosts {
		if h.HostCheck != "" {
			continue
		}
		var pings []*Check
		for _, ch := range l.cfg.Checks {
			if ch.Host == h.Name && ch.Type == "ping" {
				pings = append(pings, ch)
			}
		}
		switch {
		case len(pings) == 1:
			h.HostCheck = pings[0].Name
		case h.Heartbeat != "":
			h.HostCheck = h.Heartbeat
		}
	}
}

func (l *loader) resolveRefs() {
	channels := map[string]bool{}
	for _, ch := range l.cfg.Channels {
		channels[ch.Name] = true
	}
	for _, e := range l.cfg.Escalations {
		channels[e.Name] = true
	}
	hostCheck := map[string]string{}
	heartbeat := map[string]string{}
	for _, h := range l.cfg.Hosts {
		hostCheck[h.Name] = h.HostCheck
		heartbeat[h.Name] = h.Heartbeat
	}
	for _, ch := range l.cfg.Checks {
		r := l.refs[ch]
		ch.Notify = ch.Notify[:0]
		items := r.notify
		if len(items) == 0 && !r.written["notify"] {
			items = l.hostNotify[ch.Host] // the host's default
		}
		for i, n := range items {
			if !channels[n.Value] {
				l.errAt(r.file, n, fmt.Sprintf("%s.notify[%d]", r.path, i), "unknown channel or escalation policy %q%s", n.Value, suggestFrom(n.Value, channels))
				continue
			}
			ch.Notify = append(ch.Notify, n.Value)
		}
		ch.DependsOn = nil
		for i, n := range r.dependsOn {
			target := l.resolveCheckName(n.Value, ch.Host)
			if target == "" {
				l.errAt(r.file, n, fmt.Sprintf("%s.depends_on[%d]", r.path, i), "unknown check %q", n.Value)
				continue
			}
			if target == ch.Name {
				l.errAt(r.file, n, fmt.Sprintf("%s.depends_on[%d]", r.path, i), "a check cannot depend on itself")
				continue
			}
			ch.DependsOn = append(ch.DependsOn, target)
		}
		ch.Parents = append([]string(nil), ch.DependsOn...)
		if hc := hostCheck[ch.Host]; hc != "" && hc != ch.Name && !slices.Contains(ch.Parents, hc) {
			ch.Parents = append(ch.Parents, hc)
		}
		if hb := heartbeat[ch.Host]; hb != "" && ch.Kind != nil && ch.Kind.Scope == check.ScopeAgent && !slices.Contains(ch.Parents, hb) {
			ch.Parents = append(ch.Parents, hb)
		}
	}
}

// resolveCheckName finds a dependency: under a host, a bare name means that
// host's check first, then a top-level check; "HOST/NAME" is explicit.
func (l *loader) resolveCheckName(name, host string) string {
	if host != "" && !strings.Contains(name, "/") {
		if l.cfg.Check(host+"/"+name) != nil {
			return host + "/" + name
		}
	}
	if l.cfg.Check(name) != nil {
		return name
	}
	return ""
}

func suggestFrom(name string, set map[string]bool) string {
	if len(set) == 0 {
		return " (no channels or escalations are defined)"
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return " (known: " + strings.Join(keys, ", ") + ")"
}

// findCycles reports each dependency cycle once.
func (l *loader) findCycles() {
	byName := map[string]*Check{}
	for _, ch := range l.cfg.Checks {
		byName[ch.Name] = ch
	}
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack []string
	var visit func(name string)
	visit = func(name string) {
		color[name] = grey
		stack = append(stack, name)
		for _, p := range byName[name].Parents {
			switch color[p] {
			case white:
				if byName[p] != nil {
					visit(p)
				}
			case grey:
				i := slices.Index(stack, p)
				cycle := append(append([]string(nil), stack[i:]...), p)
				start := byName[p]
				r := l.refs[start]
				l.errAt(r.file, keyNode(r.node, "depends_on"), join(r.path, "depends_on"), "dependency cycle: %s", strings.Join(cycle, " → "))
			}
		}
		stack = stack[:len(stack)-1]
		color[name] = black
	}
	for _, ch := range l.cfg.Checks {
		if color[ch.Name] == white {
			visit(ch.Name)
		}
	}
}

// loadRunbooks reads runbooks_dir, reporting every bad runbook file.
func (l *loader) loadRunbooks() {
	c := l.cfg
	if c.RunbooksDir == "" {
		c.Runbooks = runbook.NewLibrary()
		return
	}
	lib, errs := runbook.LoadDir(c.RunbooksDir)
	for _, err := range errs {
		var re *runbook.Error
		if errors.As(err, &re) {
			l.errs = append(l.errs, Error{File: re.File, Line: re.Line, Path: "runbook", Msg: re.Msg})
			continue
		}
		l.errAt(c.File, nil, "runbooks_dir", "%v", err)
	}
	if lib == nil {
		lib = runbook.NewLibrary()
	}
	c.Runbooks = lib
}
