package tcpcheck

import (
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/checktest"
	"github.com/mamori/mamori/internal/check/proto"
)

var kind = checktest.Kind[*Spec]{Name: "tcp"}

func TestTCP(t *testing.T) {
	ca := checktest.NewCA(t)
	banner := checktest.NewLineServer(t, checktest.Script{Greeting: "SSH-2.0-OpenSSH_9.2p1 Debian-2"})
	echo := checktest.NewLineServer(t, checktest.Script{Rules: []checktest.Rule{{Match: "PING", Reply: "PONG here"}}})
	silent := checktest.NewLineServer(t, checktest.Script{})
	tlsSrv := checktest.NewLineServer(t, checktest.Script{ImplicitTLS: true, TLS: checktest.ServerTLS(ca.ValidFor(t, 48*time.Hour)), Greeting: "hello over tls"})
	slow := checktest.NewLineServer(t, checktest.Script{GreetDelay: 300 * time.Millisecond, Greeting: "late"})
	closed := checktest.ClosedPort(t)
	caFile := ca.PEMFile(t)

	tests := []checktest.Case[*Spec]{
		{"connect ok", banner.Port, nil, 0, check.OK, "TCP OK - 0.0"},
		{"connect ok output", banner.Port, nil, 0, check.OK, "second response time on 127.0.0.1 port"},
		{"refused", closed, nil, 0, check.Critical, "connection refused"},
		{"expect ok", banner.Port, func(s *Spec) { s.Expect = "OpenSSH" }, 0, check.OK, "response time"},
		{"expect mismatch warns", banner.Port, func(s *Spec) { s.Expect = "WRONG" }, 0, check.Warning, "unexpected answer 'SSH-2.0-OpenSSH_9.2p1 Debian-2' (expected 'WRONG')"},
		{"expect mismatch critical", banner.Port, func(s *Spec) { s.Expect = "WRONG"; s.Mismatch = "critical" }, 0, check.Critical, "unexpected answer"},
		{"send and expect", echo.Port, func(s *Spec) { s.Send = `PING\r\n`; s.Expect = "PONG" }, 0, check.OK, ""},
		{"silent server with expect times out", silent.Port, func(s *Spec) { s.Expect = "x" }, 300 * time.Millisecond, check.Critical, "timed out"},
		{"silent server without expect connects", silent.Port, nil, 0, check.OK, ""},
		{"tls verified", tlsSrv.Port, func(s *Spec) { s.TLS = true; s.Expect = "hello"; s.CAFile = caFile }, 0, check.OK, ""},
		{"tls unknown ca", tlsSrv.Port, func(s *Spec) { s.TLS = true }, 0, check.Critical, "unknown authority"},
		{"tls insecure", tlsSrv.Port, func(s *Spec) { s.TLS = true; s.InsecureSkipVerify = true }, 0, check.OK, ""},
		{"slow answer warns", slow.Port, func(s *Spec) { s.Expect = "late"; s.Warning = 100 * time.Millisecond; s.Critical = time.Second }, 0, check.Warning, ""},
		{"slow answer critical", slow.Port, func(s *Spec) {
			s.Expect = "late"
			s.Warning = 50 * time.Millisecond
			s.Critical = 100 * time.Millisecond
		}, 0, check.Critical, ""},
	}
	kind.Table(t, tests, func(t *testing.T, _ checktest.Case[*Spec], _ *Spec, r check.Result) {
		if len(r.Perf) == 0 || r.Perf[0].Label != "time" {
			t.Errorf("perfdata %v lacks time", r.Perf)
		}
	})
}

func TestValidate(t *testing.T) {
	s := &Spec{Timing: proto.Timing{Warning: 2 * time.Second, Critical: time.Second}, Mismatch: "maybe"}
	errs := s.Validate()
	fields := map[string]bool{}
	for _, e := range errs {
		fields[e.Field] = true
	}
	for _, f := range []string{"host", "port", "warning", "mismatch"} {
		if !fields[f] {
			t.Errorf("no error for %s in %v", f, errs)
		}
	}
	s = kind.Spec("", 80)
	s.DefaultHost("10.0.0.1")
	if s.Host != "10.0.0.1" {
		t.Errorf("DefaultHost: %q", s.Host)
	}
	s.DefaultHost("10.0.0.2")
	if s.Host != "10.0.0.1" {
		t.Errorf("DefaultHost overwrote host: %q", s.Host)
	}
}

func TestUnescape(t *testing.T) {
	if got := Unescape(`a\r\nb\\n\tc`); got != "a\r\nb\\n\tc" {
		t.Errorf("Unescape = %q", got)
	}
}
