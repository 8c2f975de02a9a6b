package imapcheck

import (
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/checktest"
)

var kind = checktest.Kind[*Spec]{Name: "imap"}

const caps = "* CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE STARTTLS AUTH=PLAIN"

func server(t *testing.T, greeting, capLine string, mod func(*checktest.Script)) *checktest.LineServer {
	sc := checktest.Script{
		Greeting: greeting,
		Tagged:   true,
		Default:  "{tag} BAD Error in IMAP command: Unknown command.",
		Rules: []checktest.Rule{
			{Match: "CAPABILITY", Reply: capLine + "\n{tag} OK Pre-login capabilities listed."},
			{Match: "STARTTLS", Reply: "{tag} OK Begin TLS negotiation now.", StartTLS: true},
			{Match: `LOGIN "mtest" "good"`, Reply: "{tag} OK [CAPABILITY IMAP4rev1] Logged in"},
			{Match: `LOGIN "we\"ird" "p\\ss"`, Reply: "{tag} OK Logged in"},
			{Match: "LOGIN", Reply: "{tag} NO [AUTHENTICATIONFAILED] Authentication failed."},
			{Match: "AUTHENTICATE PLAIN " + base64.StdEncoding.EncodeToString([]byte("\x00mtest\x00good")), Reply: "{tag} OK Logged in"},
			{Match: "AUTHENTICATE PLAIN", Reply: "{tag} NO [AUTHENTICATIONFAILED] Authentication failed."},
			{Match: `STATUS "INBOX"`, Reply: "* STATUS INBOX (MESSAGES 7 UNSEEN 2)\n{tag} OK Status completed."},
			{Match: "STATUS", Reply: "{tag} NO Mailbox doesn't exist: Nope"},
			{Match: "LOGOUT", Reply: "* BYE Logging out\n{tag} OK Logout completed.", Close: true},
		},
	}
	if mod != nil {
		mod(&sc)
	}
	if sc.TLS == nil {
		sc.Rules = append(sc.Rules[:1], sc.Rules[2:]...)
	}
	return checktest.NewLineServer(t, sc)
}

func TestIMAP(t *testing.T) {
	ca := checktest.NewCA(t)
	caFile := ca.PEMFile(t)
	tlsOK := checktest.ServerTLS(ca.ValidFor(t, 365*24*time.Hour))
	greeting := "* OK [CAPABILITY IMAP4rev1 STARTTLS] Dovecot (Debian) ready."
	ok := server(t, greeting, caps, func(s *checktest.Script) { s.TLS = tlsOK })
	expired := server(t, greeting, caps, func(s *checktest.Script) { s.TLS = checktest.ServerTLS(ca.Expired(t)) })
	noTLS := server(t, greeting, "* CAPABILITY IMAP4rev1 AUTH=PLAIN", nil)
	loginDisabled := server(t, greeting, "* CAPABILITY IMAP4rev1 LOGINDISABLED SASL-IR AUTH=PLAIN", nil)
	bye := server(t, "* BYE Too many connections", caps, nil)
	imaps := server(t, greeting, caps, func(s *checktest.Script) { s.TLS = tlsOK; s.ImplicitTLS = true })
	silent := checktest.NewLineServer(t, checktest.Script{})
	huge := server(t, "* OK "+strings.Repeat("z", 9000), caps, nil)
	closed := checktest.ClosedPort(t)
	login := func(user, pass string) func(*Spec) {
		return func(s *Spec) { s.User, s.Password = user, check.NewSecret(pass) }
	}

	tests := []checktest.Case[*Spec]{
		{"greeting", ok.Port, nil, 0, check.OK, "greeting '* OK [CAPABILITY IMAP4rev1 STARTTLS] Dovecot (Debian) ready.'"},
		{"expect mismatch warns", ok.Port, func(s *Spec) { s.Expect = "Cyrus" }, 0, check.Warning, "does not contain 'Cyrus'"},
		{"BYE greeting warns", bye.Port, nil, 0, check.Warning, "unexpected greeting '* BYE Too many connections'"},
		{"refused", closed, nil, 0, check.Critical, "connection refused"},
		{"silent", silent.Port, nil, 300 * time.Millisecond, check.Critical, "no greeting from 127.0.0.1 port"},
		{"silent says timed out", silent.Port, nil, 300 * time.Millisecond, check.Critical, "timed out"},
		{"oversized greeting", huge.Port, nil, 0, check.Critical, "longer than"},
		{"login and status", ok.Port, login("mtest", "good"), 0, check.OK, "logged in as 'mtest', INBOX: 7 messages"},
		{"quoted login", ok.Port, login(`we"ird`, `p\ss`), 0, check.OK, "7 messages"},
		{"bad password", ok.Port, login("mtest", "bad"), 0, check.Critical, "login failed for user 'mtest': NO [AUTHENTICATIONFAILED] Authentication failed."},
		{"authenticate plain when LOGIN is disabled", loginDisabled.Port, login("mtest", "good"), 0, check.OK, "7 messages"},
		{"authenticate plain bad password", loginDisabled.Port, login("mtest", "bad"), 0, check.Critical, "login failed"},
		{"missing mailbox", ok.Port, func(s *Spec) { login("mtest", "good")(s); s.Mailbox = "Nope" }, 0, check.Critical, "mailbox 'Nope': NO Mailbox doesn't exist"},
		{"starttls", ok.Port, func(s *Spec) { s.StartTLS = true; s.CAFile = caFile; login("mtest", "good")(s) }, 0, check.OK, "STARTTLS ok"},
		{"starttls missing", noTLS.Port, func(s *Spec) { s.StartTLS = true }, 0, check.Critical, "STARTTLS is not offered by 127.0.0.1 port"},
		{"starttls expired cert", expired.Port, func(s *Spec) { s.StartTLS = true; s.CAFile = caFile }, 0, check.Critical, "expired"},
		{"imaps", imaps.Port, func(s *Spec) { s.TLS = true; s.CAFile = caFile; login("mtest", "good")(s) }, 0, check.OK, "7 messages"},
	}
	kind.Table(t, tests, checktest.Hides[*Spec]("good"))
}

func TestValidate(t *testing.T) {
	k, _ := check.Lookup("imap")
	s := k.New().(*Spec)
	if s.Port != 143 || s.Mailbox != "INBOX" || k.Label != "IMAP" {
		t.Errorf("defaults: %+v", s)
	}
	s.User = "u"
	s.Mailbox = "a\r\nb"
	fields := map[string]bool{}
	for _, e := range s.Validate() {
		fields[e.Field] = true
	}
	for _, f := range []string{"host", "password", "mailbox"} {
		if !fields[f] {
			t.Errorf("no error for %s: %v", f, fields)
		}
	}
	s = kind.Spec("", 143)
	s.DefaultHost("imap.example")
	s.TLS = true
	c, err := s.New(check.Env{})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.(*checker).spec.Port; got != 993 {
		t.Errorf("port %d", got)
	}
}
