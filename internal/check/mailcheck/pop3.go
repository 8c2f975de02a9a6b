package mailcheck

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/proto"
)

// pop3Box logs in for each look; the UIDs it has looked at are not read
// again.
type pop3Box struct {
	c    *checker
	seen map[string]bool
}

// openPOP3 logs in once before anything is sent, so that a mailbox that
// cannot be read fails the check without leaving a message behind.
func openPOP3(ctx context.Context, c *checker) (*pop3Box, error) {
	b := &pop3Box{c: c, seen: map[string]bool{}}
	p, err := b.session(ctx)
	if err != nil {
		return nil, err
	}
	// What is there now is not our message.
	if lines, err := p.Multi("UIDL failed", "UIDL"); err == nil {
		for _, l := range lines {
			if f := strings.Fields(l); len(f) == 2 {
				b.seen[f[1]] = true
			}
		}
	}
	p.Quit()
	p.Close()
	return b, nil
}

func (b *pop3Box) session(ctx context.Context) (*proto.POP3, error) {
	c := b.c
	conn, err := proto.Connect(ctx, c.spec.POP3Host, c.spec.POP3Port)
	if err != nil {
		return nil, err
	}
	conn.MaxLines = 1 << 20
	p := &proto.POP3{Conn: conn}
	fail := func(e error) (*proto.POP3, error) { conn.Close(); return nil, e }
	if _, ok, err := p.Line(); err != nil {
		return fail(proto.Step(ctx, "greeting", err))
	} else if !ok {
		return fail(proto.Fail(check.Critical, "greeting is not +OK"))
	}
	if c.spec.StartTLS {
		if _, err := p.StartTLS(c.boxTLS); err != nil {
			return fail(proto.Step(ctx, "STLS", err))
		}
	}
	if err := p.Login(c.spec.User, c.spec.Password.Reveal()); err != nil {
		return fail(proto.Step(ctx, "login as '"+c.spec.User+"'", err))
	}
	return p, nil
}

func (b *pop3Box) proto() string { return "POP3" }

func (b *pop3Box) find(ctx context.Context, tag string) (time.Time, error) {
	p, err := b.session(ctx)
	if err != nil {
		return time.Time{}, err
	}
	defer p.Close()
	lines, err := p.Multi("UIDL failed", "UIDL")
	if err != nil {
		return time.Time{}, proto.Step(ctx, "UIDL", err)
	}
	want := strings.ToLower(header + ": " + tag)
	for i := len(lines) - 1; i >= 0; i-- { // newest first
		f := strings.Fields(lines[i])
		if len(f) != 2 || b.seen[f[1]] {
			continue
		}
		n, err := strconv.Atoi(f[0])
		if err != nil {
			continue
		}
		head, err := p.Multi("TOP failed", "TOP %d 0", n)
		if err != nil {
			return time.Time{}, proto.Step(ctx, "TOP", err)
		}
		b.seen[f[1]] = true
		for _, h := range head {
			if strings.ToLower(strings.TrimSpace(h)) == want {
				seen := time.Now()
				if _, err := p.Cmd("DELE failed", "DELE %d", n); err != nil {
					return seen, proto.Fail(check.Warning, "found, but could not delete it: %v", err)
				}
				p.Quit() // the deletion takes effect at QUIT
				return seen, nil
			}
		}
	}
	p.Quit()
	return time.Time{}, nil
}

func (b *pop3Box) close() {}
