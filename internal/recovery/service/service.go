// Package service is the `service` recovery action: restart a service
// through the host's agent. By convention the agent's allowlist has an
// entry restart_<service> (e.g. restart_nginx: [systemctl, restart, nginx],
// or the init.d script, whichever the host has); `command:` names another
// entry. The service defaults from the check's port (80 → nginx, ...).
package service

import (
	"context"
	"fmt"
	"regexp"
	"slices"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/recovery/action"
	"github.com/mamori/mamori/internal/recovery/command"
)

// Spec configures the action.
type Spec struct {
	Service string `yaml:"service" help:"the service (default: by the check's port: 21 vsftpd, 22 sshd, 25 postfix or sendmail, 53 named, 80/443 nginx, httpd or apache2 (whichever the agent allows), 110/143 dovecot, 3306 mysqld, 5432 postgresql)"`
	Command string `yaml:"command" help:"the agent allowlist entry to run (default restart_<service>)"`

	alternatives []string // the port's services when none was written
}

var serviceRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.@\-]{0,55}$`)

func init() {
	action.Register(&action.Kind{Name: "service", Summary: "restart a service through the host agent (allowlist entry restart_<service>)", ViaAgent: true,
		New: func() action.Spec { return &Spec{} }})
}

// DefaultService implements policy.PortDefaulter.
func (s *Spec) DefaultService(name string) {
	if s.Service == "" {
		s.Service = name
	}
}

// DefaultServices implements policy.PortAlternatives: with no service
// written, the action restarts whichever of names the host's agent allows
// (restart_httpd rather than restart_nginx on a host with httpd).
func (s *Spec) DefaultServices(names []string) {
	if s.Command == "" && (s.Service == "" || (len(names) > 0 && s.Service == names[0])) {
		s.alternatives = append([]string(nil), names...)
	}
}

// ServiceName implements action.ServiceSetter.
func (s *Spec) ServiceName() string { return s.Service }

// Validate implements action.Spec.
func (s *Spec) Validate() []check.FieldError {
	var errs []check.FieldError
	if s.Service == "" && s.Command == "" {
		errs = append(errs, check.Errf("service", "is required: the check has no well-known port to take it from (or give command:)"))
	}
	if s.Service != "" && !serviceRE.MatchString(s.Service) {
		errs = append(errs, check.Errf("service", "%q is not a service name", s.Service))
	}
	if s.Command != "" && !command.NameRE.MatchString(s.Command) {
		errs = append(errs, check.Errf("command", "%q is not an allowlist name", s.Command))
	}
	return errs
}

// Entry is the allowlist entry the action runs.
func (s *Spec) Entry() string {
	if s.Command != "" {
		return s.Command
	}
	return "restart_" + s.Service
}

// New implements action.Spec.
func (s *Spec) New(env action.Env) (action.Action, error) {
	return &act{agent: command.Agent{Env: env, Name: s.Entry()}, service: s.Service, alternatives: s.alternatives}, nil
}

type act struct {
	agent        command.Agent
	service      string
	alternatives []string
}

// pick is the service to restart on a host: of the port's services, the
// first whose restart_<service> the host's agent listed in its hello; the
// configured (first) one when the agent's list is unknown or has none.
func (a *act) pick(host string) (string, string) {
	l, ok := a.agent.Env.Agent.(action.ActionLister)
	if len(a.alternatives) < 2 || !ok {
		return a.service, a.agent.Name
	}
	names, ok := l.Actions(host)
	if !ok {
		return a.service, a.agent.Name
	}
	for _, svc := range a.alternatives {
		if slices.Contains(names, "restart_"+svc) {
			return svc, "restart_" + svc
		}
	}
	return a.service, a.agent.Name
}

func (a *act) Describe(t action.Target) string {
	svc, entry := a.pick(t.Host)
	return fmt.Sprintf("restart %s on %s (agent action %s)", svc, t.Host, entry)
}

func (a *act) Run(ctx context.Context, t action.Target) action.Result {
	_, entry := a.pick(t.Host)
	ag := a.agent
	ag.Name = entry
	return ag.Run(ctx, t)
}
