package command_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/recovery/action"
	"github.com/mamori/mamori/internal/recovery/command"
	"github.com/mamori/mamori/internal/recovery/reboot"
	"github.com/mamori/mamori/internal/recovery/service"
	"github.com/mamori/mamori/internal/wire"
)

// agent is a fake of the agent API; the reboot action sends and polls for
// the agent's hello from different goroutines, so it is locked like the
// real one.
type agent struct {
	mu    sync.Mutex
	got   []wire.Request
	allow map[string]bool
	hello time.Time
	onRun func()
}

func (a *agent) Send(_ context.Context, _ string, req wire.Request) (wire.Response, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.got = append(a.got, req)
	if !a.allow[req.Action] {
		return wire.Response{Refused: true, ExitCode: -1, Error: "not allowed"}, nil
	}
	if a.onRun != nil {
		a.onRun()
	}
	return wire.Response{ExitCode: 3, Output: "out"}, nil
}
func (a *agent) Seen(string) (time.Time, bool) { return time.Now(), true }
func (a *agent) Hello(string) time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.hello
}

func TestAgentActionsSendNamesOnly(t *testing.T) {
	ag := &agent{allow: map[string]bool{"restart_nginx": true, "fix": true, "reboot": true}}
	env := action.Env{Agent: ag, Poll: 10 * time.Millisecond}
	tg := action.Target{Check: "web01/web", Host: "web01", Timeout: time.Minute}

	svc := &service.Spec{}
	svc.DefaultService("nginx")
	a, _ := svc.New(env)
	if r := a.Run(context.Background(), tg); r.ExitCode != 3 || r.Output != "out" || ag.got[0].Action != "restart_nginx" || ag.got[0].Kind != "action" ||
		time.Duration(ag.got[0].Timeout) != time.Minute {
		t.Errorf("%+v %+v", r, ag.got)
	}
	a, _ = (&command.Spec{Command: "fix"}).New(env)
	if r := a.Run(context.Background(), action.Target{Host: "web01", DryRun: true}); !r.DryRun || !ag.got[1].DryRun || ag.got[1].Action != "fix" {
		t.Errorf("%+v %+v", r, ag.got)
	}
	a, _ = (&command.Spec{Command: "format"}).New(env)
	if r := a.Run(context.Background(), tg); !r.Refused || r.OK() {
		t.Errorf("%+v", r)
	}
	if r := a.Run(context.Background(), action.Target{}); r.OK() || !strings.Contains(r.Error, "not under a host") {
		t.Errorf("%+v", r)
	}
	if errs := (&service.Spec{}).Validate(); len(errs) == 0 {
		t.Error("service without a name or port accepted")
	}

	// reboot: waits for the agent's hello after the action.
	ag.mu.Lock()
	ag.onRun = func() { ag.hello = time.Now().Add(50 * time.Millisecond) } // called under ag.mu
	ag.mu.Unlock()
	rs := &reboot.Spec{Command: "reboot", WaitBack: 2 * time.Second}
	a, _ = rs.New(env)
	if r := a.Run(context.Background(), tg); r.Error != "" || !strings.Contains(r.Output, "agent of web01 back at") {
		t.Errorf("%+v", r)
	}
	ag.mu.Lock()
	ag.onRun, ag.hello = nil, time.Time{}
	ag.mu.Unlock()
	rs.WaitBack = 100 * time.Millisecond
	a, _ = rs.New(env)
	if r := a.Run(context.Background(), tg); !strings.Contains(r.Error, "did not come back within 100ms") {
		t.Errorf("%+v", r)
	}
}
