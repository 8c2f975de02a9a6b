package service

import (
	"context"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/recovery/action"
	"github.com/mamori/mamori/internal/wire"
)

// hostAgent answers like an agent whose allowlist is names.
type hostAgent struct {
	names []string
	known bool
	ran   []string
}

func (a *hostAgent) Send(ctx context.Context, host string, req wire.Request) (wire.Response, error) {
	a.ran = append(a.ran, req.Action)
	for _, n := range a.names {
		if n == req.Action {
			return wire.Response{ID: req.ID}, nil
		}
	}
	return wire.Response{ID: req.ID, Refused: true, ExitCode: -1}, nil
}
func (a *hostAgent) Seen(string) (time.Time, bool)   { return time.Now(), true }
func (a *hostAgent) Hello(string) time.Time          { return time.Time{} }
func (a *hostAgent) Actions(string) ([]string, bool) { return a.names, a.known }

var _ action.ActionLister = (*hostAgent)(nil)

// With no service written, port 80 restarts whichever of nginx, httpd and
// apache2 the host's agent allows (issue 14 #14).
func TestServiceDetectedFromTheAllowlist(t *testing.T) {
	for _, c := range []struct {
		names []string
		known bool
		want  string
	}{
		{[]string{"reboot", "restart_httpd"}, true, "restart_httpd"},
		{[]string{"restart_apache2"}, true, "restart_apache2"},
		{[]string{"restart_nginx", "restart_httpd"}, true, "restart_nginx"},
		{nil, false, "restart_nginx"}, // no hello yet: the first of the port
	} {
		s := &Spec{}
		s.DefaultService("nginx")
		s.DefaultServices([]string{"nginx", "httpd", "apache2"})
		ag := &hostAgent{names: c.names, known: c.known}
		a, err := s.New(action.Env{Agent: ag})
		if err != nil {
			t.Fatal(err)
		}
		tg := action.Target{Check: "web1/http", Host: "web1", Port: 80}
		a.Run(context.Background(), tg)
		if len(ag.ran) != 1 || ag.ran[0] != c.want {
			t.Errorf("allowlist %v: ran %v, want %s (%s)", c.names, ag.ran, c.want, a.Describe(tg))
		}
	}
	// A service written in the config is kept.
	s := &Spec{Service: "lighttpd"}
	s.DefaultServices([]string{"nginx", "httpd"})
	ag := &hostAgent{names: []string{"restart_httpd", "restart_lighttpd"}, known: true}
	a, _ := s.New(action.Env{Agent: ag})
	a.Run(context.Background(), action.Target{Host: "web1"})
	if len(ag.ran) != 1 || ag.ran[0] != "restart_lighttpd" {
		t.Errorf("written service: ran %v", ag.ran)
	}
}
