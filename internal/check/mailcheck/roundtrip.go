package mailcheck

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/proto"
)

// header carries the tag that finds the message again.
const header = "X-Mamori-Roundtrip"

type checker struct {
	spec            Spec
	smtpTLS, boxTLS *tls.Config
}

// mailbox is the receiving side: IMAP keeps one session, POP3 logs in
// for each look (a POP3 session never sees new mail).
type mailbox interface {
	proto() string
	// find looks once for the tagged message and deletes it if found;
	// seen is when it was seen (zero: not there yet).
	find(ctx context.Context, tag string) (seen time.Time, err error)
	close()
}

// legError is a failure of one leg, as a result.
type legError struct {
	leg string
	err error
}

func (c *checker) Check(ctx context.Context) check.Result {
	start := time.Now()
	res, err := c.roundtrip(ctx, start)
	if err != nil {
		st, msg := proto.Verdict(ctx, err.err)
		r := check.Result{Status: st, Output: check.OneLine(err.leg + ": " + msg)}
		return r.With(check.Seconds("time", time.Since(start), 0, 0))
	}
	return res
}

func (c *checker) roundtrip(ctx context.Context, start time.Time) (check.Result, *legError) {
	box, err := c.openBox(ctx)
	if err != nil {
		return check.Result{}, &legError{c.boxName(), err}
	}
	defer box.close()
	tag, err := newTag()
	if err != nil {
		return check.Result{}, &legError{"tag", err}
	}
	sendStart := time.Now()
	if err := c.send(ctx, tag); err != nil {
		return check.Result{}, &legError{"SMTP", err}
	}
	sent := time.Since(sendStart)
	foundAt, findDur, err := c.wait(ctx, box, tag, sendStart)
	if err != nil {
		return check.Result{}, &legError{box.proto(), err}
	}
	delivery := foundAt.Sub(sendStart)
	st := check.ByDuration(delivery, c.spec.Warning, c.spec.Critical)
	out := fmt.Sprintf("mail from %s to %s found over %s after %.3f s (sent in %.3f s), deleted",
		c.spec.From, c.spec.To, box.proto(), delivery.Seconds(), sent.Seconds())
	if st != check.OK {
		limit := c.spec.Warning
		if st == check.Critical {
			limit = c.spec.Critical
		}
		out += ", slower than " + limit.String()
	}
	return check.Resultf(st, "%s", out).With(
		check.Seconds("delivery", delivery, c.spec.Warning, c.spec.Critical),
		check.Seconds("send", sent, 0, 0),
		check.Seconds("fetch", findDur, 0, 0),
		check.Seconds("time", time.Since(start), 0, 0),
	), nil
}

func (c *checker) boxName() string {
	if c.spec.IMAPHost != "" {
		return "IMAP"
	}
	return "POP3"
}

func (c *checker) openBox(ctx context.Context) (mailbox, error) {
	if c.spec.IMAPHost != "" {
		return openIMAP(ctx, c)
	}
	return openPOP3(ctx, c)
}

// wait polls the mailbox until the message is there, the critical delivery
// time has passed, or the context ends. It returns when the message was
// found and how long the successful look (with the delete) took.
func (c *checker) wait(ctx context.Context, box mailbox, tag string, sent time.Time) (time.Time, time.Duration, error) {
	pause := 200 * time.Millisecond
	for {
		t := time.Now()
		seen, err := box.find(ctx, tag)
		if err != nil {
			return time.Time{}, 0, err
		}
		if !seen.IsZero() {
			return seen, time.Since(t), nil
		}
		waited := time.Since(sent)
		if c.spec.Critical > 0 && waited > c.spec.Critical {
			return time.Time{}, 0, proto.Fail(check.Critical, "mail to %s not delivered within %s", c.spec.To, c.spec.Critical)
		}
		select {
		case <-ctx.Done():
			return time.Time{}, 0, proto.Fail(check.Critical, "mail to %s not delivered within %s", c.spec.To, waited.Round(time.Millisecond))
		case <-time.After(pause):
		}
		pause = min(pause*3/2, 2*time.Second)
	}
}

func newTag() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return "mamori-" + hex.EncodeToString(b), nil
}

// message is the test mail: the tag in a header of its own and in the
// subject, so that a person who finds one left behind knows what it is.
func (c *checker) message(tag string, now time.Time) []byte {
	host, _ := os.Hostname()
	if host == "" {
		host = "mamori"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "From: <%s>\r\nTo: <%s>\r\n", c.spec.From, c.spec.To)
	fmt.Fprintf(&b, "Subject: mamori mail round trip %s\r\n", tag)
	fmt.Fprintf(&b, "Date: %s\r\n", now.Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s@%s>\r\n", tag, host)
	fmt.Fprintf(&b, "%s: %s\r\n", header, tag)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	b.WriteString("This message tests mail delivery and is deleted when it arrives.\r\n")
	b.WriteString("配信確認のためのテストメールです。受信後に自動で削除されます。\r\n")
	return []byte(b.String())
}

// send submits the message through SMTP: greeting, EHLO, STARTTLS when
// asked (EHLO again), AUTH unless turned off, then the message.
func (c *checker) send(ctx context.Context, tag string) error {
	conn, err := proto.Connect(ctx, c.spec.SMTPHost, c.spec.SMTPPort)
	if err != nil {
		return err
	}
	defer conn.Close()
	s := &proto.SMTP{Conn: conn}
	g, err := s.Greeting()
	if err != nil {
		return proto.Step(ctx, "greeting", err)
	}
	if g.Code != 220 {
		return proto.Fail(check.Critical, "greeting %d %s", g.Code, proto.Clip(g.Text()))
	}
	if err := s.Hello("mamori"); err != nil {
		return proto.Step(ctx, "EHLO", err)
	}
	if c.spec.StartTLS {
		if _, err := s.StartTLS(c.smtpTLS); err != nil {
			return proto.Step(ctx, "STARTTLS", err)
		}
		if err := s.Hello("mamori"); err != nil {
			return proto.Step(ctx, "EHLO after STARTTLS", err)
		}
	}
	if user, pass := c.spec.smtpLogin(); user != "" {
		if _, err := s.Auth(user, pass); err != nil {
			return proto.Step(ctx, fmt.Sprintf("AUTH as '%s'", user), err)
		}
	}
	if err := s.Send(c.spec.From, c.spec.To, c.message(tag, time.Now())); err != nil {
		return proto.Step(ctx, "sending", err)
	}
	s.Quit()
	return nil
}
