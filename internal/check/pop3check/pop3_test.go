package pop3check

import (
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/checktest"
)

var kind = checktest.Kind[*Spec]{Name: "pop3"}

func server(t *testing.T, greeting string, mod func(*checktest.Script)) *checktest.LineServer {
	sc := checktest.Script{
		Greeting: greeting,
		Default:  "-ERR unknown command",
		Rules: []checktest.Rule{
			{Match: "STLS", Reply: "+OK Begin TLS negotiation now.", StartTLS: true},
			{Match: "USER mtest", Reply: "+OK"},
			{Match: "USER", Reply: "-ERR no such user"},
			{Match: "PASS good", Reply: "+OK Logged in."},
			{Match: "PASS", Reply: "-ERR [AUTH] Authentication failed."},
			{Match: "STAT", Reply: "+OK 3 4096"},
			{Match: "QUIT", Reply: "+OK Logging out.", Close: true},
		},
	}
	if mod != nil {
		mod(&sc)
	}
	if sc.TLS == nil {
		sc.Rules = sc.Rules[1:] // no STLS: the default -ERR answers it
	}
	return checktest.NewLineServer(t, sc)
}

func TestPOP3(t *testing.T) {
	ca := checktest.NewCA(t)
	caFile := ca.PEMFile(t)
	tlsOK := checktest.ServerTLS(ca.ValidFor(t, 365*24*time.Hour))
	ok := server(t, "+OK Dovecot ready.", func(s *checktest.Script) { s.TLS = tlsOK })
	soon := server(t, "+OK Dovecot ready.", func(s *checktest.Script) { s.TLS = checktest.ServerTLS(ca.ValidFor(t, 3*24*time.Hour)) })
	noSTLS := server(t, "+OK Dovecot ready.", nil)
	busy := server(t, "-ERR too many connections", nil)
	pop3s := server(t, "+OK Dovecot ready.", func(s *checktest.Script) { s.TLS = tlsOK; s.ImplicitTLS = true })
	silent := checktest.NewLineServer(t, checktest.Script{})
	huge := server(t, "+OK "+strings.Repeat("y", 10000), nil)
	closed := checktest.ClosedPort(t)
	login := func(pass string) func(*Spec) {
		return func(s *Spec) { s.User, s.Password = "mtest", check.NewSecret(pass) }
	}

	tests := []checktest.Case[*Spec]{
		{"greeting", ok.Port, nil, 0, check.OK, "greeting '+OK Dovecot ready.'"},
		{"expect mismatch warns", ok.Port, func(s *Spec) { s.Expect = "Courier" }, 0, check.Warning, "does not contain 'Courier'"},
		{"-ERR greeting warns", busy.Port, nil, 0, check.Warning, "unexpected greeting '-ERR too many connections'"},
		{"refused", closed, nil, 0, check.Critical, "connection refused"},
		{"silent times out", silent.Port, nil, 300 * time.Millisecond, check.Critical, "no greeting from 127.0.0.1 port"},
		{"silent says timed out", silent.Port, nil, 300 * time.Millisecond, check.Critical, "timed out"},
		{"oversized greeting", huge.Port, nil, 0, check.Critical, "longer than"},
		{"login and stat", ok.Port, login("good"), 0, check.OK, "logged in as 'mtest', 3 messages (4096 bytes)"},
		{"bad password", ok.Port, login("bad"), 0, check.Critical, "login failed for user 'mtest': -ERR [AUTH] Authentication failed."},
		{"stls", ok.Port, func(s *Spec) { s.StartTLS = true; s.CAFile = caFile; login("good")(s) }, 0, check.OK, "STLS ok"},
		{"stls missing", noSTLS.Port, func(s *Spec) { s.StartTLS = true }, 0, check.Critical, "STARTTLS (STLS) refused by 127.0.0.1 port"},
		{"stls unknown ca", ok.Port, func(s *Spec) { s.StartTLS = true }, 0, check.Critical, "unknown authority"},
		{"stls expiring", soon.Port, func(s *Spec) { s.StartTLS = true; s.CAFile = caFile; s.WarningDays = 30; s.CriticalDays = 1 }, 0, check.Warning, "expires in 2 days"},
		{"implicit tls", pop3s.Port, func(s *Spec) { s.TLS = true; s.CAFile = caFile; login("good")(s) }, 0, check.OK, "3 messages"},
		{"implicit tls on a plain port", noSTLS.Port, func(s *Spec) { s.TLS = true; s.CAFile = caFile }, 300 * time.Millisecond, check.Critical, "TLS handshake with 127.0.0.1 port"},
	}
	kind.Table(t, tests, checktest.Hides[*Spec]("good"))
}

func TestValidate(t *testing.T) {
	k, _ := check.Lookup("pop3")
	s := k.New().(*Spec)
	if s.Port != 110 || s.Warning != 6*time.Second || s.Critical != 11*time.Second || k.Label != "POP" {
		t.Errorf("defaults: %+v", s)
	}
	s.Password = check.NewSecret("x")
	s.TLS, s.StartTLS = true, true
	fields := map[string]bool{}
	for _, e := range s.Validate() {
		fields[e.Field] = true
	}
	for _, f := range []string{"host", "user", "starttls"} {
		if !fields[f] {
			t.Errorf("no error for %s: %v", f, fields)
		}
	}
	s = kind.Spec("", 110)
	s.DefaultHost("pop.example")
	s.TLS = true
	c, err := s.New(check.Env{})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.(*checker).spec.Port; got != 995 || c.(*checker).spec.Host != "pop.example" {
		t.Errorf("port %d host %q", got, c.(*checker).spec.Host)
	}
}
