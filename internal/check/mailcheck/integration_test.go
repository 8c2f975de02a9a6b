package mailcheck

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/checktest"
)

// itestSpec is a round trip through the integration daemons: Postfix on
// 127.0.0.1 (STARTTLS + AUTH) delivers to mtest's Maildir, which Dovecot
// serves over IMAP and POP3.
func itestSpec(t *testing.T) *Spec {
	smtp := checktest.DaemonPort(t, "postfix", "MAMORI_ITEST_SMTP_PORT", "2525")
	user, pass := checktest.ITestLogin()
	s := newTestSpec()
	s.SMTPHost, s.SMTPPort = "127.0.0.1", smtp
	s.From, s.To = user+"@localhost", user+"@localhost"
	s.User, s.Password = user, check.NewSecret(pass)
	s.StartTLS, s.CAFile = true, checktest.ITestCA()
	return s
}

func newTestSpec() *Spec {
	k, _ := check.Lookup("mail_roundtrip")
	return k.New().(*Spec)
}

func runSpec(t *testing.T, s *Spec, timeout time.Duration) check.Result {
	t.Helper()
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatalf("Validate: %v", errs)
	}
	c, err := s.New(check.Env{})
	if err != nil {
		t.Fatal(err)
	}
	k, _ := check.Lookup("mail_roundtrip")
	return check.Run(context.Background(), k, c, timeout)
}

func perf(r check.Result, label string) (check.Metric, bool) {
	for _, m := range r.Perf {
		if m.Label == label {
			return m, true
		}
	}
	return check.Metric{}, false
}

func TestIntegrationRoundTrip(t *testing.T) {
	imap := checktest.DaemonPort(t, "dovecot", "MAMORI_ITEST_IMAP_PORT", "10143")
	pop3 := checktest.DaemonPort(t, "dovecot", "MAMORI_ITEST_POP3_PORT", "10110")
	tests := []struct {
		name string
		mod  func(*Spec)
		via  string
	}{
		{"IMAP", func(s *Spec) { s.IMAPHost, s.IMAPPort = "127.0.0.1", imap }, "IMAP"},
		{"POP3", func(s *Spec) { s.POP3Host, s.POP3Port = "127.0.0.1", pop3 }, "POP3"},
		{"IMAP with smtp_user", func(s *Spec) {
			s.IMAPHost, s.IMAPPort = "127.0.0.1", imap
			s.SMTPUser, s.SMTPPassword = s.User, s.Password
		}, "IMAP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := itestSpec(t)
			tt.mod(s)
			r := runSpec(t, s, time.Minute)
			if r.Status != check.OK || !strings.Contains(r.Output, "found over "+tt.via) || !strings.Contains(r.Output, "deleted") {
				t.Fatalf("got %s %q", r.Status, r.PluginLine())
			}
			for _, leg := range []string{"send", "delivery", "fetch", "time"} {
				if _, ok := perf(r, leg); !ok {
					t.Errorf("no %s perfdata: %s", leg, r.PluginLine())
				}
			}
		})
	}
	// The messages were deleted: none of ours is left in the Maildir.
	dir := checktest.Env("MAMORI_ITEST_MAILDIR", "/tmp/mamori-itest/home/mtest/Maildir")
	time.Sleep(200 * time.Millisecond)
	if left := tagged(t, dir); len(left) > 0 {
		t.Fatalf("round-trip messages left behind: %v", left)
	}
}

func TestIntegrationFailures(t *testing.T) {
	imap := checktest.DaemonPort(t, "dovecot", "MAMORI_ITEST_IMAP_PORT", "10143")
	closed := checktest.ClosedPort(t)
	tests := []struct {
		name   string
		mod    func(*Spec)
		output string
	}{
		// Postfix stopped: a closed port on 127.0.0.1 stands for it (the
		// shared Postfix stays up for everyone else).
		{"SMTP down", func(s *Spec) { s.SMTPPort = closed }, "SMTP: connect to 127.0.0.1 port"},
		{"wrong SMTP password", func(s *Spec) {
			s.SMTPUser, s.SMTPPassword = s.User, check.NewSecret("wrong-password")
		}, "SMTP: AUTH as 'mtest'"},
		{"wrong mailbox password", func(s *Spec) { s.Password = check.NewSecret("wrong-password") }, "IMAP: login as 'mtest'"},
		{"IMAP down", func(s *Spec) { s.IMAPPort = closed }, "IMAP: connect to 127.0.0.1 port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := itestSpec(t)
			s.IMAPHost, s.IMAPPort = "127.0.0.1", imap
			tt.mod(s)
			r := runSpec(t, s, 20*time.Second)
			if r.Status != check.Critical || !strings.Contains(r.Output, tt.output) {
				t.Fatalf("got %s %q, want CRITICAL with %q", r.Status, r.PluginLine(), tt.output)
			}
			if strings.Contains(r.Output, "wrong-password") {
				t.Fatalf("output reveals the password: %q", r.Output)
			}
		})
	}
}
