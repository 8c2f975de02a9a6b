package mailcheck

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/checktest"
)

// fakeMail is an SMTP server and an IMAP server on 127.0.0.1 that share a
// mailbox: what the SMTP side accepts, the IMAP side's SEARCH finds (when
// deliver is set).
type fakeMail struct {
	mu      sync.Mutex
	tags    []string
	deliver bool
	smtp    *checktest.LineServer
	imap    *checktest.LineServer
}

func newFakeMail(t *testing.T, deliver bool) *fakeMail {
	f := &fakeMail{deliver: deliver}
	f.smtp = checktest.NewLineServer(t, checktest.Script{
		Greeting: "220 fake ESMTP",
		Rules: []checktest.Rule{
			{Match: "EHLO", Reply: "250-fake\n250 AUTH PLAIN LOGIN"},
			{Match: "AUTH PLAIN", Reply: "235 2.7.0 ok"},
			{Match: "MAIL FROM:", Reply: "250 ok"},
			{Match: "RCPT TO:", Reply: "250 ok"},
			{Match: "DATA", Reply: "354 go ahead", Do: f.data},
			{Match: "QUIT", Reply: "221 bye", Close: true},
		},
	})
	f.imap = checktest.NewLineServer(t, checktest.Script{
		Greeting: "* OK fake IMAP",
		Tagged:   true,
		Rules: []checktest.Rule{
			{Match: "CAPABILITY", Reply: "* CAPABILITY IMAP4rev1 UIDPLUS\n{tag} OK done"},
			{Match: "LOGIN", Reply: "{tag} OK logged in"},
			{Match: "SELECT", Reply: "* 3 EXISTS\n{tag} OK selected"},
			{Match: "NOOP", Reply: "{tag} OK noop"},
			{Match: "UID SEARCH", Do: f.search},
			{Match: "UID STORE", Reply: "{tag} OK stored"},
			{Match: "UID EXPUNGE", Reply: "* 3 EXPUNGE\n{tag} OK expunged"},
			{Match: "LOGOUT", Reply: "* BYE\n{tag} OK bye", Close: true},
		},
	})
	return f
}

func (f *fakeMail) data(c *checktest.LineConn, _ string) {
	for {
		line, err := c.ReadLine()
		if err != nil || line == "." {
			break
		}
		if v, ok := strings.CutPrefix(line, header+": "); ok {
			f.mu.Lock()
			f.tags = append(f.tags, v)
			f.mu.Unlock()
		}
	}
	c.Send("250 2.0.0 queued")
}

func (f *fakeMail) search(c *checktest.LineConn, cmd string) {
	f.mu.Lock()
	found := false
	for _, tag := range f.tags {
		found = found || (f.deliver && strings.Contains(cmd, `"`+tag+`"`))
	}
	f.mu.Unlock()
	if found {
		c.Send("* SEARCH 7\n{tag} OK search done")
		return
	}
	c.Send("* SEARCH\n{tag} OK search done")
}

func (f *fakeMail) spec() *Spec {
	s := newTestSpec()
	s.SMTPHost, s.SMTPPort = "127.0.0.1", f.smtp.Port
	s.IMAPHost, s.IMAPPort = "127.0.0.1", f.imap.Port
	s.From, s.To = "monitor@example.test", "box@example.test"
	s.User, s.Password = "box", check.NewSecret("secret")
	return s
}

func TestRoundTrip(t *testing.T) {
	f := newFakeMail(t, true)
	r := runSpec(t, f.spec(), 10*time.Second)
	if r.Status != check.OK || !strings.Contains(r.Output, "mail from monitor@example.test to box@example.test found over IMAP after") {
		t.Fatalf("got %s %q", r.Status, r.PluginLine())
	}
	// Only our message is expunged.
	time.Sleep(50 * time.Millisecond)
	cmds := strings.Join(f.imap.Commands(), "\n")
	if !strings.Contains(cmds, "UID STORE 7 +FLAGS.SILENT (\\Deleted)") || !strings.Contains(cmds, "UID EXPUNGE 7") {
		t.Fatalf("message not deleted by UID: %s", cmds)
	}
	if m, _ := perf(r, "delivery"); m.Warn != 30 || m.Crit != 90 {
		t.Errorf("delivery perfdata %+v", m)
	}
}

func TestNotDelivered(t *testing.T) {
	f := newFakeMail(t, false)
	s := f.spec()
	s.Warning, s.Critical = 200*time.Millisecond, time.Second
	start := time.Now()
	r := runSpec(t, s, 10*time.Second)
	if r.Status != check.Critical || !strings.Contains(r.Output, "IMAP: mail to box@example.test not delivered within 1s") {
		t.Fatalf("got %s %q", r.Status, r.PluginLine())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %s; critical is 1s", d)
	}
}

// SMTP down is CRITICAL, and nothing is left waiting in the mailbox.
func TestSMTPDown(t *testing.T) {
	f := newFakeMail(t, true)
	s := f.spec()
	closed := checktest.ClosedPort(t)
	s.SMTPPort = closed
	r := runSpec(t, s, 5*time.Second)
	want := fmt.Sprintf("SMTP: connect to 127.0.0.1 port %d: connection refused", closed)
	if r.Status != check.Critical || !strings.Contains(r.Output, want) {
		t.Fatalf("got %s %q, want CRITICAL %q", r.Status, r.PluginLine(), want)
	}
}

func TestValidate(t *testing.T) {
	s := newTestSpec()
	var fields []string
	for _, e := range s.Validate() {
		fields = append(fields, e.Field)
	}
	if got := strings.Join(fields, " "); got != "smtp_host imap_host" {
		t.Fatalf("empty spec: %s", got)
	}
	s = newTestSpec()
	s.SMTPHost, s.IMAPHost, s.POP3Host = "127.0.0.1", "127.0.0.1", "127.0.0.1"
	s.From, s.To = "no-at-sign", "a@b"
	s.SMTPUser = "u"
	fields = nil
	for _, e := range s.Validate() {
		fields = append(fields, e.Field)
	}
	if got := strings.Join(fields, " "); got != "pop3_host from smtp_user" {
		t.Fatalf("bad spec: %s", got)
	}
}
