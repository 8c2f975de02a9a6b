package smtpcheck

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/checktest"
)

var kind = checktest.Kind[*Spec]{Name: "smtp"}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// server is a fake SMTP server; ext are the EHLO extension lines.
func server(t *testing.T, greeting string, ext []string, mod func(*checktest.Script)) *checktest.LineServer {
	ehlo := "250-mail.test"
	for _, e := range ext {
		ehlo += "\n250-" + e
	}
	ehlo += "\n250 8BITMIME"
	sc := checktest.Script{
		Greeting: greeting,
		Default:  "502 5.5.2 command not recognized",
		Rules: []checktest.Rule{
			{Match: "EHLO", Reply: ehlo},
			{Match: "STARTTLS", Reply: "220 2.0.0 Ready to start TLS", StartTLS: true},
			{Match: "AUTH PLAIN " + b64("\x00mtest\x00good"), Reply: "235 2.7.0 Authentication successful"},
			{Match: "AUTH PLAIN", Reply: "535 5.7.8 Error: authentication failed"},
			{Match: "AUTH LOGIN", Reply: "334 VXNlcm5hbWU6"},
			{Match: b64("mtest"), Reply: "334 UGFzc3dvcmQ6"},
			{Match: b64("good"), Reply: "235 2.7.0 Authentication successful"},
			{Match: b64("bad"), Reply: "535 5.7.8 Error: authentication failed"},
			{Match: "QUIT", Reply: "221 2.0.0 Bye", Close: true},
		},
	}
	if mod != nil {
		mod(&sc)
	}
	return checktest.NewLineServer(t, sc)
}

func TestSMTP(t *testing.T) {
	ca := checktest.NewCA(t)
	caFile := ca.PEMFile(t)
	tlsOK := checktest.ServerTLS(ca.ValidFor(t, 365*24*time.Hour))
	tlsSoon := checktest.ServerTLS(ca.ValidFor(t, 5*24*time.Hour))
	tlsExpired := checktest.ServerTLS(ca.Expired(t))
	full := []string{"PIPELINING", "STARTTLS", "AUTH PLAIN LOGIN"}
	ok := server(t, "220 mail.test ESMTP fake", full, func(s *checktest.Script) { s.TLS = tlsOK })
	soon := server(t, "220 mail.test ESMTP fake", full, func(s *checktest.Script) { s.TLS = tlsSoon })
	expired := server(t, "220 mail.test ESMTP fake", full, func(s *checktest.Script) { s.TLS = tlsExpired })
	loginOnly := server(t, "220 mail.test ESMTP fake", []string{"AUTH LOGIN"}, nil)
	noTLS := server(t, "220 mail.test ESMTP fake", []string{"AUTH PLAIN"}, nil)
	multi := server(t, "220-mail.test ESMTP fake\n220-second line\n220 last", nil, nil)
	busy := server(t, "421 4.3.2 Service not available, closing", nil, nil)
	silent := checktest.NewLineServer(t, checktest.Script{})
	huge := server(t, "220 "+strings.Repeat("x", 9000), nil, nil)
	garbage := server(t, "hello there", nil, nil)
	smtps := server(t, "220 mail.test ESMTP fake", []string{"AUTH PLAIN"}, func(s *checktest.Script) { s.TLS = tlsOK; s.ImplicitTLS = true })
	closed := checktest.ClosedPort(t)

	tests := []checktest.Case[*Spec]{
		{"greeting ok", ok.Port, nil, 0, check.OK, "greeting '220 mail.test ESMTP fake'"},
		{"multi-line greeting", multi.Port, nil, 0, check.OK, "greeting '220 mail.test ESMTP fake second line last'"},
		{"expect ok", ok.Port, func(s *Spec) { s.Expect = "ESMTP" }, 0, check.OK, ""},
		{"expect mismatch warns", ok.Port, func(s *Spec) { s.Expect = "Postfix" }, 0, check.Warning, "does not contain 'Postfix'"},
		{"other code warns", busy.Port, nil, 0, check.Warning, "unexpected greeting '421 4.3.2 Service not available, closing'"},
		{"garbage greeting", garbage.Port, nil, 0, check.Critical, "malformed reply"},
		{"refused", closed, nil, 0, check.Critical, "connection refused"},
		{"silent", silent.Port, nil, 300 * time.Millisecond, check.Critical, "no greeting from 127.0.0.1 port"},
		{"silent times out", silent.Port, nil, 300 * time.Millisecond, check.Critical, "timed out"},
		{"oversized greeting", huge.Port, nil, 0, check.Critical, "longer than 8192 bytes"},
		{"starttls", ok.Port, func(s *Spec) { s.StartTLS = true; s.CAFile = caFile }, 0, check.OK, "STARTTLS ok (TLS 1.3)"},
		{"starttls unknown ca", ok.Port, func(s *Spec) { s.StartTLS = true }, 0, check.Critical, "STARTTLS handshake: certificate signed by an unknown authority"},
		{"starttls insecure", ok.Port, func(s *Spec) { s.StartTLS = true; s.InsecureSkipVerify = true }, 0, check.OK, ""},
		{"starttls missing", noTLS.Port, func(s *Spec) { s.StartTLS = true }, 0, check.Critical, "STARTTLS is not offered"},
		{"cert days ok", ok.Port, func(s *Spec) { s.StartTLS = true; s.CAFile = caFile; s.WarningDays = 30; s.CriticalDays = 7 }, 0, check.OK, "expires in 364 days"},
		{"cert expiring warns", soon.Port, func(s *Spec) { s.StartTLS = true; s.CAFile = caFile; s.WarningDays = 30; s.CriticalDays = 2 }, 0, check.Warning, "expires in 4 days"},
		{"cert expiring critical", soon.Port, func(s *Spec) { s.StartTLS = true; s.CAFile = caFile; s.WarningDays = 30; s.CriticalDays = 7 }, 0, check.Critical, "expires in 4 days"},
		{"cert expired fails verification", expired.Port, func(s *Spec) { s.StartTLS = true; s.CAFile = caFile }, 0, check.Critical, "expired"},
		{"cert expired insecure graded", expired.Port, func(s *Spec) { s.StartTLS = true; s.InsecureSkipVerify = true; s.WarningDays = 30 }, 0, check.Critical, "SMTP CRITICAL - certificate 'localhost' expired"},
		{"auth plain", ok.Port, func(s *Spec) { s.User = "mtest"; s.Password = check.NewSecret("good") }, 0, check.OK, "authenticated as 'mtest' (PLAIN)"},
		{"auth plain bad password", ok.Port, func(s *Spec) { s.User = "mtest"; s.Password = check.NewSecret("bad") }, 0, check.Critical, "authentication failed for user 'mtest': 535 5.7.8 Error: authentication failed"},
		{"auth login", loginOnly.Port, func(s *Spec) { s.User = "mtest"; s.Password = check.NewSecret("good") }, 0, check.OK, "(LOGIN)"},
		{"auth login bad password", loginOnly.Port, func(s *Spec) { s.User = "mtest"; s.Password = check.NewSecret("bad") }, 0, check.Critical, "authentication failed"},
		{"auth not offered", multi.Port, func(s *Spec) { s.User = "mtest"; s.Password = check.NewSecret("good") }, 0, check.Critical, "does not offer AUTH"},
		{"starttls then auth", ok.Port, func(s *Spec) {
			s.StartTLS = true
			s.CAFile = caFile
			s.User = "mtest"
			s.Password = check.NewSecret("good")
		}, 0, check.OK, "authenticated"},
		{"implicit tls", smtps.Port, func(s *Spec) { s.TLS = true; s.CAFile = caFile; s.WarningDays = 10 }, 0, check.OK, "expires in 364 days"},
		{"slow warns", ok.Port, func(s *Spec) { s.Warning = time.Nanosecond; s.Critical = time.Minute }, 0, check.Warning, ""},
	}
	kind.Table(t, tests, checktest.Hides[*Spec]("good", b64("\x00mtest\x00good")))
	if cmds := ok.Commands(); len(cmds) == 0 || cmds[len(cmds)-1] != "QUIT" {
		t.Errorf("last command %q, want QUIT", cmds)
	}
}

func TestValidate(t *testing.T) {
	k, _ := check.Lookup("smtp")
	s := k.New().(*Spec)
	if s.Port != 25 || s.Warning != 5*time.Second || s.Critical != 10*time.Second || s.Helo != "mamori" || k.Timeout != 10*time.Second || k.Label != "SMTP" {
		t.Errorf("defaults: %+v timeout %s", s, k.Timeout)
	}
	s.TLS, s.StartTLS = true, true
	s.User = "u"
	s.WarningDays, s.CriticalDays = 5, 10
	fields := map[string]bool{}
	for _, e := range s.Validate() {
		fields[e.Field] = true
	}
	for _, f := range []string{"host", "starttls", "password", "critical_days"} {
		if !fields[f] {
			t.Errorf("no error for %s: %v", f, fields)
		}
	}
	s = kind.Spec("", 25)
	s.DefaultHost("mx.example")
	s.TLS = true
	c, err := s.New(check.Env{})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.(*checker).spec.Port; got != 465 {
		t.Errorf("tls on the default port goes to %d, want 465", got)
	}
}
