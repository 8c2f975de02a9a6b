package sescheck

import (
	"net/smtp"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awscheck/awsfake"
	"github.com/mamori/mamori/internal/check/awssvc/svctest"
)

// deliveringSES is a fake SES whose SendEmail hands the message to the
// local Postfix, as SES would hand it to the recipient's MX.
func deliveringSES(t *testing.T, smtpPort string) (*awsfake.Server, check.Env) {
	f, env := svctest.Fake(t)
	f.Handle("ses", "SendEmail", func(r *awsfake.Request) (any, error) {
		from, to := r.Form.Get("Source"), r.Form.Get("Destination.ToAddresses.member.1")
		msg := "From: " + from + "\r\nTo: " + to + "\r\nSubject: " + r.Form.Get("Message.Subject.Data") + "\r\n\r\n" + r.Form.Get("Message.Body.Text.Data")
		if err := deliver("127.0.0.1:"+smtpPort, from, to, msg); err != nil {
			t.Errorf("fake SES: deliver: %v", err)
			return nil, &awsfake.Error{Status: 500, Code: "InternalFailure", Message: err.Error()}
		}
		return awsfake.XML("<MessageId>010f-fake-" + strconv.FormatInt(time.Now().UnixNano(), 36) + "</MessageId>"), nil
	})
	return f, env
}

// TestSESRoundTripIntegration sends through the fake SES into Postfix and
// reads the mail back from Dovecot over IMAP and POP3.
func TestSESRoundTripIntegration(t *testing.T) {
	if os.Getenv("MAMORI_INTEGRATION") != "1" {
		t.Skip("set MAMORI_INTEGRATION=1 (scripts/itest-daemons.sh) for the Postfix/Dovecot round trip")
	}
	env := func(k string) string {
		v := os.Getenv(k)
		if v == "" {
			t.Fatalf("%s is not set: eval \"$(bash scripts/itest-daemons.sh env)\"", k)
		}
		return v
	}
	smtpPort, user, pass := env("MAMORI_ITEST_SMTP_PORT"), env("MAMORI_ITEST_USER"), env("MAMORI_ITEST_PASSWORD")
	for _, c := range []struct{ proto, port string }{{"imap", env("MAMORI_ITEST_IMAP_PORT")}, {"pop3", env("MAMORI_ITEST_POP3_PORT")}} {
		t.Run(c.proto, func(t *testing.T) {
			f, env := deliveringSES(t, smtpPort)
			port, _ := strconv.Atoi(c.port)
			s := sendSpec(f, port)
			s.To = user + "@localhost"
			s.Mailbox.Protocol, s.Mailbox.User = c.proto, user
			s.Mailbox.Password = check.NewSecret(pass)
			s.Warning, s.Critical = 30*time.Second, 60*time.Second
			r := svctest.Check(t, env, "aws_ses", s)
			if r.Status != check.OK || !strings.Contains(r.Output, "arrived in") {
				t.Fatalf("%s %q", r.Status, r.Output)
			}
			// The check deletes its test mail from the mailbox.
			if left := testMails(t, os.Getenv("MAMORI_ITEST_MAILDIR")); len(left) > 0 {
				t.Fatalf("test mails left in the mailbox: %v", left)
			}
		})
	}
}

// testMails lists the messages of the maildir that carry a test token.
func testMails(t *testing.T, maildir string) []string {
	if maildir == "" {
		return nil
	}
	var left []string
	for _, sub := range []string{"new", "cur"} {
		files, _ := filepath.Glob(filepath.Join(maildir, sub, "*"))
		for _, f := range files {
			if b, err := os.ReadFile(f); err == nil && strings.Contains(string(b), "mamori-ses-") {
				left = append(left, f)
			}
		}
	}
	return left
}

// deliver speaks plain SMTP to the local Postfix (loopback: no STARTTLS).
func deliver(addr, from, to, msg string) error {
	c, err := smtp.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("fake-ses.localhost"); err != nil {
		return err
	}
	if err := c.Mail(from); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(msg)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}
