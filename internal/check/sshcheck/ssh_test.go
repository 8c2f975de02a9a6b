package sshcheck

import (
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/checktest"
)

var kind = checktest.Kind[*Spec]{Name: "ssh"}

func TestSSH(t *testing.T) {
	good := checktest.NewLineServer(t, checktest.Script{Greeting: "SSH-2.0-OpenSSH_9.2p1 Debian-2"})
	pre := checktest.NewLineServer(t, checktest.Script{Greeting: "Welcome\nto the host\nSSH-2.0-dropbear_2022.83"})
	old := checktest.NewLineServer(t, checktest.Script{Greeting: "SSH-1.99-OpenSSH_3.9p1"})
	smtp := checktest.NewLineServer(t, checktest.Script{Greeting: "220 mail.example ESMTP"})
	silent := checktest.NewLineServer(t, checktest.Script{})
	huge := checktest.NewLineServer(t, checktest.Script{Greeting: strings.Repeat("A", 100000)})
	malformed := checktest.NewLineServer(t, checktest.Script{Greeting: "SSH-2.0"})
	closed := checktest.ClosedPort(t)

	tests := []checktest.Case[*Spec]{
		{"ok", good.Port, nil, 0, check.OK, "SSH OK - OpenSSH_9.2p1 Debian-2 (protocol 2.0), 0.0"},
		{"lines before the banner", pre.Port, nil, 0, check.OK, "dropbear_2022.83 (protocol 2.0)"},
		{"expect version ok", good.Port, func(s *Spec) { s.Expect = "OpenSSH_9" }, 0, check.OK, ""},
		{"expect version mismatch", good.Port, func(s *Spec) { s.Expect = "OpenSSH_7" }, 0, check.Critical, "version does not contain 'OpenSSH_7'"},
		{"protocol ok", good.Port, func(s *Spec) { s.Protocol = "2.0" }, 0, check.OK, ""},
		{"protocol mismatch", old.Port, func(s *Spec) { s.Protocol = "2.0" }, 0, check.Critical, "protocol 1.99, expected 2.0"},
		{"wrong banner", smtp.Port, nil, 0, check.Critical, "banner '220 mail.example ESMTP' from 127.0.0.1 port"},
		{"wrong banner says SSH missing", smtp.Port, nil, 0, check.Critical, "does not contain 'SSH'"},
		{"refused", closed, nil, 0, check.Critical, "connection refused"},
		{"silent", silent.Port, nil, 300 * time.Millisecond, check.Critical, "no banner from 127.0.0.1 port"},
		{"silent times out", silent.Port, nil, 300 * time.Millisecond, check.Critical, "timed out"},
		{"oversized line", huge.Port, nil, 0, check.Critical, "longer than"},
		{"malformed", malformed.Port, nil, 0, check.Critical, "malformed SSH banner"},
	}
	kind.Table(t, tests)
	// The checker identifies itself after reading the banner.
	time.Sleep(50 * time.Millisecond)
	if cmds := good.Commands(); len(cmds) == 0 || !strings.HasPrefix(cmds[0], "SSH-2.0-mamori") {
		t.Errorf("client identification not sent: %q", cmds)
	}
}

func TestValidate(t *testing.T) {
	k, _ := check.Lookup("ssh")
	s := k.New().(*Spec)
	if s.Port != 22 || s.Warning != 6*time.Second || s.Critical != 11*time.Second || k.Timeout != 12*time.Second {
		t.Errorf("defaults: %+v timeout %s", s, k.Timeout)
	}
	s.Protocol = "two"
	errs := s.Validate()
	if len(errs) != 2 || errs[0].Field != "host" || errs[1].Field != "protocol" {
		t.Errorf("errors %v", errs)
	}
	s.DefaultHost("192.0.2.1")
	if s.Host != "192.0.2.1" {
		t.Errorf("DefaultHost: %q", s.Host)
	}
}
