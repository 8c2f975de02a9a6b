package mailcheck

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/proto"
)

type imapBox struct {
	m       *proto.IMAP
	uidplus bool
}

// openIMAP logs in and selects the mailbox before anything is sent: a
// mailbox that cannot be read fails the check without leaving a message.
func openIMAP(ctx context.Context, c *checker) (*imapBox, error) {
	conn, err := proto.Connect(ctx, c.spec.IMAPHost, c.spec.IMAPPort)
	if err != nil {
		return nil, err
	}
	conn.MaxLines = 1 << 20 // one session polls for up to the whole timeout
	m := &proto.IMAP{Conn: conn}
	b := &imapBox{m: m}
	if err := b.login(ctx, c); err != nil {
		conn.Close()
		return nil, err
	}
	return b, nil
}

func (b *imapBox) login(ctx context.Context, c *checker) error {
	m := b.m
	g, err := m.ReadLine()
	if err != nil {
		return proto.Step(ctx, "greeting", err)
	}
	if !proto.GreetingOK(g) {
		return proto.Fail(check.Critical, "greeting '%s'", proto.Clip(g))
	}
	caps, err := m.Capabilities()
	if err != nil {
		return proto.Step(ctx, "CAPABILITY", err)
	}
	if c.spec.StartTLS {
		if _, err := m.StartTLS(c.boxTLS); err != nil {
			return proto.Step(ctx, "STARTTLS", err)
		}
		if caps, err = m.Capabilities(); err != nil {
			return proto.Step(ctx, "CAPABILITY after STARTTLS", err)
		}
	}
	if _, err := m.Login(c.spec.User, c.spec.Password.Reveal(), caps); err != nil {
		return proto.Step(ctx, "login as '"+c.spec.User+"'", err)
	}
	if caps, err = m.Capabilities(); err == nil { // may change after login
		b.uidplus = caps["UIDPLUS"]
	}
	if _, err := m.Cmd("SELECT failed", "SELECT %s", quote(c.spec.Mailbox)); err != nil {
		return proto.Step(ctx, "SELECT "+c.spec.Mailbox, err)
	}
	return nil
}

func (b *imapBox) proto() string { return "IMAP" }

func (b *imapBox) find(ctx context.Context, tag string) (time.Time, error) {
	// NOOP makes the server look for new mail in the selected mailbox.
	if _, err := b.m.Cmd("NOOP failed", "NOOP"); err != nil {
		return time.Time{}, proto.Step(ctx, "NOOP", err)
	}
	lines, err := b.m.Cmd("SEARCH failed", "UID SEARCH HEADER %s %s", header, quote(tag))
	if err != nil {
		return time.Time{}, proto.Step(ctx, "SEARCH", err)
	}
	var uids []string
	for _, l := range lines {
		if rest, ok := strings.CutPrefix(strings.ToUpper(l), "* SEARCH"); ok {
			for _, f := range strings.Fields(rest) {
				if _, err := strconv.ParseUint(f, 10, 32); err == nil {
					uids = append(uids, f)
				}
			}
		}
	}
	if len(uids) == 0 {
		return time.Time{}, nil
	}
	seen := time.Now()
	set := strings.Join(uids, ",")
	if _, err := b.m.Cmd("STORE failed", "UID STORE %s +FLAGS.SILENT (\\Deleted)", set); err != nil {
		return seen, proto.Fail(check.Warning, "found, but could not delete it: %v", err)
	}
	expunge := "EXPUNGE"
	if b.uidplus {
		expunge = "UID EXPUNGE " + set // only our message
	}
	if _, err := b.m.Cmd("EXPUNGE failed", "%s", expunge); err != nil {
		return seen, proto.Fail(check.Warning, "found, but could not delete it: %v", err)
	}
	return seen, nil
}

func (b *imapBox) close() {
	b.m.Logout()
	b.m.Close()
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
