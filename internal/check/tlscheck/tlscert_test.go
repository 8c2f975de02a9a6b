package tlscheck

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/checktest"
)

func spec(host string, port int) *Spec {
	k, _ := check.Lookup("tls_cert")
	s := k.New().(*Spec)
	s.Host, s.Port = host, port
	return s
}

func run(t *testing.T, s *Spec, timeout time.Duration) check.Result {
	t.Helper()
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatalf("validate: %v", errs)
	}
	c, err := s.New(check.Env{})
	if err != nil {
		t.Fatal(err)
	}
	k, _ := check.Lookup("tls_cert")
	r := check.Run(context.Background(), k, c, timeout)
	t.Logf("%s | %s", r.Output, check.PerfString(r.Perf))
	return r
}

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

	tests := []struct {
		name    string
		srv     *checktest.LineServer
		port    int
		mod     func(*Spec)
		timeout time.Duration
		want    check.Status
		out     string
	}{
		{"valid", good, 0, nil, 0, check.OK, "TLS_CERT OK - certificate 'localhost' expires in 364 days"},
		{"issuer shown", good, 0, nil, 0, check.OK, "issuer 'mamori test CA'"},
		{"expiring warns", soon, 0, nil, 0, check.Warning, "expires in 19 days"},
		{"expiring critical", verySoon, 0, nil, 0, check.Critical, "expires in 2 days"},
		{"expired", expired, 0, nil, 0, check.Critical, "TLS_CERT CRITICAL - certificate 'localhost' expired"},
		{"expired insecure still graded", expired, 0, func(s *Spec) { s.InsecureSkipVerify = true; s.CAFile = "" }, 0, check.Critical, "expired"},
		{"unknown authority", untrusted, 0, nil, 0, check.Critical, "invalid certificate: certificate signed by an unknown authority"},
		{"unknown authority insecure", untrusted, 0, func(s *Spec) { s.InsecureSkipVerify = true }, 0, check.OK, "expires in 364 days"},
		{"name mismatch", good, 0, func(s *Spec) { s.ServerName = "www.example.com" }, 0, check.Critical, "not valid for this host"},
		{"server name ok", good, 0, func(s *Spec) { s.ServerName = "localhost" }, 0, check.OK, ""},
		{"refused", nil, closed, nil, 0, check.Critical, "connection refused"},
		{"not tls", plain, 0, nil, 0, check.Critical, "TLS handshake with 127.0.0.1 port"},
		{"silent", silent, 0, nil, 300 * time.Millisecond, check.Critical, "timed out"},
		{"starttls smtp", smtp, 0, func(s *Spec) { s.StartTLS = "smtp" }, 0, check.OK, "via smtp STARTTLS"},
		{"starttls smtp missing", smtpNoTLS, 0, func(s *Spec) { s.StartTLS = "smtp" }, 0, check.Critical, "STARTTLS (smtp) on 127.0.0.1 port"},
		{"starttls imap", imap, 0, func(s *Spec) { s.StartTLS = "imap" }, 0, check.OK, "via imap STARTTLS"},
		{"starttls pop3", pop3, 0, func(s *Spec) { s.StartTLS = "pop3" }, 0, check.OK, "via pop3 STARTTLS"},
		{"starttls ftp", ftp, 0, func(s *Spec) { s.StartTLS = "ftp" }, 0, check.OK, "via ftp STARTTLS"},
		{"starttls ftp refused", ftpNoTLS, 0, func(s *Spec) { s.StartTLS = "ftp" }, 0, check.Critical, "AUTH TLS refused: 500 unknown command"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			port := tt.port
			if tt.srv != nil {
				port = tt.srv.Port
			}
			s := spec("127.0.0.1", port)
			s.CAFile = caFile
			if tt.mod != nil {
				tt.mod(s)
			}
			r := run(t, s, tt.timeout)
			if r.Status != tt.want || !strings.Contains(r.Output, tt.out) {
				t.Errorf("got %s %q, want %s containing %q", r.Status, r.Output, tt.want, tt.out)
			}
			if tt.want != check.Critical || strings.Contains(tt.out, "expire") {
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
	s = spec("", 443)
	s.DefaultHost("www.example")
	if s.Host != "www.example" {
		t.Errorf("DefaultHost: %q", s.Host)
	}
	s.CAFile = "/nonexistent/ca.pem"
	if _, err := s.New(check.Env{}); err == nil || !strings.Contains(err.Error(), "ca_file") {
		t.Errorf("New with a missing ca_file: %v", err)
	}
}
