package tlscheck

import (
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/checktest"
)

var kind = checktest.Kind[*Spec]{Name: "tls_cert"}

func TestTLSCert(t *testing.T) {
	ca := checktest.NewCA(t)
	caFile := ca.PEMFile(t)
	other := checktest.NewCA(t)
	srv := func(sc checktest.Script) *checktest.LineServer { return checktest.NewLineServer(t, sc) }
	valid := checktest.ServerTLS(ca.ValidFor(t, 365*24*time.Hour))
	good := srv(checktest.Script{ImplicitTLS: true, TLS: valid})
	soon := srv(checktest.Script{ImplicitTLS: true, TLS: checktest.ServerTLS(ca.ValidFor(t, 20*24*time.Hour))})
	verySoon := srv(checktest.Script{ImplicitTLS: true, TLS: checktest.ServerTLS(ca.ValidFor(t, 3*24*time.Hour))})
	expired := srv(checktest.Script{ImplicitTLS: true, TLS: checktest.ServerTLS(ca.Expired(t))})
	untrusted := srv(checktest.Script{ImplicitTLS: true, TLS: checktest.ServerTLS(other.ValidFor(t, 365*24*time.Hour))})
	plain := srv(checktest.Script{Greeting: "220 not tls"})
	silent := srv(checktest.Script{})
	smtp := srv(checktest.Script{Greeting: "220 mail ESMTP", TLS: valid, Rules: []checktest.Rule{
		{Match: "EHLO", Reply: "250-mail\n250 STARTTLS"},
		{Match: "STARTTLS", Reply: "220 go ahead", StartTLS: true},
	}})
	smtpNoTLS := srv(checktest.Script{Greeting: "220 mail ESMTP", Rules: []checktest.Rule{{Match: "EHLO", Reply: "250-mail\n250 8BITMIME"}}})
	imap := srv(checktest.Script{Greeting: "* OK ready", Tagged: true, TLS: valid, Rules: []checktest.Rule{
		{Match: "STARTTLS", Reply: "{tag} OK Begin TLS", StartTLS: true},
	}})
	pop3 := srv(checktest.Script{Greeting: "+OK ready", TLS: valid, Rules: []checktest.Rule{
		{Match: "STLS", Reply: "+OK Begin TLS", StartTLS: true},
	}})
	ftp := srv(checktest.Script{Greeting: "220 ftp", TLS: valid, Rules: []checktest.Rule{
		{Match: "AUTH TLS", Reply: "234 Proceed", StartTLS: true},
	}})
	ftpNoTLS := srv(checktest.Script{Greeting: "220 ftp", Default: "500 unknown command"})
	closed := checktest.ClosedPort(t)

	tests := []checktest.Case[*Spec]{
		{"valid", good.Port, nil, 0, check.OK, "TLS_CERT OK - certificate 'localhost' expires in 364 days"},
		{"issuer shown", good.Port, nil, 0, check.OK, "issuer 'mamori test CA'"},
		{"expiring warns", soon.Port, nil, 0, check.Warning, "expires in 19 days"},
		{"expiring critical", verySoon.Port, nil, 0, check.Critical, "expires in 2 days"},
		{"expired", expired.Port, nil, 0, check.Critical, "TLS_CERT CRITICAL - certificate 'localhost' expired"},
		{"expired insecure still graded", expired.Port, func(s *Spec) { s.InsecureSkipVerify = true; s.CAFile = "" }, 0, check.Critical, "expired"},
		{"unknown authority", untrusted.Port, nil, 0, check.Critical, "invalid certificate: certificate signed by an unknown authority"},
		{"unknown authority insecure", untrusted.Port, func(s *Spec) { s.InsecureSkipVerify = true }, 0, check.OK, "expires in 364 days"},
		{"name mismatch", good.Port, func(s *Spec) { s.ServerName = "www.example.com" }, 0, check.Critical, "not valid for this host"},
		{"server name ok", good.Port, func(s *Spec) { s.ServerName = "localhost" }, 0, check.OK, ""},
		{"refused", closed, nil, 0, check.Critical, "connection refused"},
		{"not tls", plain.Port, nil, 0, check.Critical, "TLS handshake with 127.0.0.1 port"},
		{"silent", silent.Port, nil, 300 * time.Millisecond, check.Critical, "timed out"},
		{"starttls smtp", smtp.Port, func(s *Spec) { s.StartTLS = "smtp" }, 0, check.OK, "via smtp STARTTLS"},
		{"starttls smtp missing", smtpNoTLS.Port, func(s *Spec) { s.StartTLS = "smtp" }, 0, check.Critical, "STARTTLS (smtp) on 127.0.0.1 port"},
		{"starttls imap", imap.Port, func(s *Spec) { s.StartTLS = "imap" }, 0, check.OK, "via imap STARTTLS"},
		{"starttls pop3", pop3.Port, func(s *Spec) { s.StartTLS = "pop3" }, 0, check.OK, "via pop3 STARTTLS"},
		{"starttls ftp", ftp.Port, func(s *Spec) { s.StartTLS = "ftp" }, 0, check.OK, "via ftp STARTTLS"},
		{"starttls ftp refused", ftpNoTLS.Port, func(s *Spec) { s.StartTLS = "ftp" }, 0, check.Critical, "AUTH TLS refused: 500 unknown command"},
	}
	for i, tt := range tests {
		tests[i].Mod = func(s *Spec) {
			s.CAFile = caFile
			if tt.Mod != nil {
				tt.Mod(s)
			}
		}
	}
	kind.Table(t, tests, func(t *testing.T, tt checktest.Case[*Spec], _ *Spec, r check.Result) {
		if tt.Want != check.Critical || strings.Contains(tt.Out, "expire") {
			found := false
			for _, m := range r.Perf {
				found = found || m.Label == "days_left"
			}
			if !found {
				t.Errorf("no days_left perfdata: %v", r.Perf)
			}
		}
	})
}

func TestValidate(t *testing.T) {
	k, _ := check.Lookup("tls_cert")
	s := k.New().(*Spec)
	if s.Port != 443 || s.WarningDays != 30 || s.CriticalDays != 7 || k.Label != "TLS_CERT" {
		t.Errorf("defaults: %+v", s)
	}
	s.StartTLS = "ldap"
	s.WarningDays, s.CriticalDays = 5, 10
	fields := map[string]bool{}
	for _, e := range s.Validate() {
		fields[e.Field] = true
	}
	for _, f := range []string{"host", "starttls", "critical_days"} {
		if !fields[f] {
			t.Errorf("no error for %s: %v", f, fields)
		}
	}
	s = kind.Spec("", 443)
	s.DefaultHost("www.example")
	if s.Host != "www.example" {
		t.Errorf("DefaultHost: %q", s.Host)
	}
	s.CAFile = "/nonexistent/ca.pem"
	if _, err := s.New(check.Env{}); err == nil || !strings.Contains(err.Error(), "ca_file") {
		t.Errorf("New with a missing ca_file: %v", err)
	}
}
