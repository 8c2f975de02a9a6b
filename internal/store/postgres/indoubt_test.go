package postgres

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/store/postgres/pgtest"
)

// cutProxy relays TCP to PostgreSQL; when armed, it forwards the next
// COMMIT to the server, lets the server commit, and then cuts the
// connection before the answer reaches the client: the client cannot know
// whether its transaction committed.
type cutProxy struct {
	ln     net.Listener
	target string
	armed  atomic.Bool
	cuts   atomic.Int32
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.relay(c)
		}
	}()
	return p
}

func (p *cutProxy) relay(c net.Conn) {
	s, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	defer c.Close()
	defer s.Close()
	var mute atomic.Bool // drop what the server says from now on
	go func() {
		defer c.Close()
		buf := make([]byte, 64<<10)
		for {
			n, err := s.Read(buf)
			if n > 0 && !mute.Load() {
				if _, werr := c.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	buf := make([]byte, 64<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			cut := bytes.Contains(bytes.ToLower(buf[:n]), []byte("commit\x00")) && p.armed.CompareAndSwap(true, false)
			if cut {
				mute.Store(true)
			}
			if _, werr := s.Write(buf[:n]); werr != nil {
				return
			}
			if cut {
				time.Sleep(300 * time.Millisecond) // the server commits; its answer is dropped
				p.cuts.Add(1)
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// A connection cut after COMMIT reached the server: Commit finds out that
// the batch committed and neither fails nor stores it twice.
func TestCommitCutAfterCommit(t *testing.T) {
	ctx := context.Background()
	dsn := pgtest.DSN(t)
	p := newCutProxy(t, "127.0.0.1:5432")
	if !strings.Contains(dsn, "127.0.0.1:5432") {
		t.Skipf("the proxy needs the server at 127.0.0.1:5432, not %s", Redact(dsn))
	}
	s, err := Open(ctx, strings.Replace(dsn, "127.0.0.1:5432", p.ln.Addr().String(), 1))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Date(2026, 12, 3, 4, 0, 0, 0, time.UTC)
	for b := range 3 {
		p.armed.Store(b == 1)
		if _, err := s.Commit(ctx, writes(b, 10, t0)); err != nil {
			t.Fatalf("batch %d: %v", b, err)
		}
	}
	retried, found := s.WriterRecoveries()
	var n, distinct int
	if err := s.ReadDB().QueryRow(`SELECT count(*), count(DISTINCT (check_id, t)) FROM results`).Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	if n != 30 || distinct != 30 {
		t.Errorf("%d results (%d distinct), want 30", n, distinct)
	}
	if p.cuts.Load() != 1 || found != 1 || retried != 0 {
		t.Fatalf("cuts %d, batches found committed %d, retried %d: want 1, 1, 0", p.cuts.Load(), found, retried)
	}
}
