package proto

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check/checktest"
)

func pipe(t *testing.T, ctx context.Context, server string) *Conn {
	t.Helper()
	a, b := net.Pipe()
	go func() {
		io.WriteString(b, server)
		b.Close()
	}()
	t.Cleanup(func() { a.Close() })
	return NewConn(ctx, a, "127.0.0.1")
}

func TestReadLine(t *testing.T) {
	ctx := context.Background()
	c := pipe(t, ctx, "one\r\ntwo\nthree")
	for _, want := range []string{"one", "two"} {
		if got, err := c.ReadLine(); got != want || err != nil {
			t.Fatalf("ReadLine = %q, %v; want %q", got, err, want)
		}
	}
	if _, err := c.ReadLine(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("partial last line: %v", err)
	}
	c = pipe(t, ctx, strings.Repeat("x", MaxLine+1)+"\r\n")
	if _, err := c.ReadLine(); !errors.Is(err, ErrLineTooLong) {
		t.Errorf("long line: %v", err)
	}
	c = pipe(t, ctx, strings.Repeat("x", MaxLine)+"\r\n")
	if l, err := c.ReadLine(); err != nil || len(l) != MaxLine {
		t.Errorf("line of MaxLine: %d %v", len(l), err)
	}
	c = pipe(t, ctx, strings.Repeat("l\r\n", 10))
	c.MaxLines = 3
	var err error
	for i := 0; i < 4 && err == nil; i++ {
		_, err = c.ReadLine()
	}
	if !errors.Is(err, ErrTooManyLines) {
		t.Errorf("many lines: %v", err)
	}
}

func TestReadReply(t *testing.T) {
	tests := []struct {
		in   string
		code int
		text string
		bad  bool
	}{
		{"220 ready\r\n", 220, "220 ready", false},
		{"250-mail\r\n250-STARTTLS\r\n250 8BITMIME\r\n", 250, "250 mail STARTTLS 8BITMIME", false},
		{"220-Welcome\r\nfree text\r\n 220 not the end\r\n220 end\r\n", 220, "220 Welcome free text  220 not the end end", false},
		{"221\r\n", 221, "221", false},
		{"hello\r\n", 0, "", true},
		{"999 no\r\n", 0, "", true},
		{"22\r\n", 0, "", true},
	}
	for _, tt := range tests {
		c := pipe(t, context.Background(), tt.in)
		r, err := c.ReadReply()
		if tt.bad {
			if err == nil {
				t.Errorf("%q: no error", tt.in)
			}
			continue
		}
		if err != nil || r.Code != tt.code || r.Text() != tt.text {
			t.Errorf("%q: %d %q %v", tt.in, r.Code, r.Text(), err)
		}
	}
}

func TestDeadlineAndDescribe(t *testing.T) {
	srv := checktest.NewLineServer(t, checktest.Script{})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	c, err := Dial(ctx, srv.Host, srv.Port)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	_, err = c.ReadLine()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("read took %s", d)
	}
	if got := Describe(ctx, err); got != "timed out" {
		t.Errorf("Describe = %q", got)
	}
	_, err = Dial(context.Background(), "127.0.0.1", checktest.ClosedPort(t))
	if got := Describe(context.Background(), err); got != "connection refused" {
		t.Errorf("Describe = %q", got)
	}
	ctx2, cancel2 := context.WithCancel(context.Background())
	c2, err := Dial(ctx2, srv.Host, srv.Port)
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	go func() { time.Sleep(50 * time.Millisecond); cancel2() }()
	_, err = c2.ReadLine()
	if got := Describe(ctx2, err); got != "cancelled" {
		t.Errorf("Describe after cancel = %q", got)
	}
}

func TestPasvPort(t *testing.T) {
	for in, want := range map[string]int{
		"227 Entering Passive Mode (127,0,0,1,117,49).": 30001,
		"227 Entering Passive Mode 127,0,0,1,4,1":       1025,
	} {
		if got, err := pasvPort(in); got != want || err != nil {
			t.Errorf("pasvPort(%q) = %d, %v", in, got, err)
		}
	}
	if _, err := pasvPort("227 nonsense"); err == nil {
		t.Error("no error for nonsense")
	}
}

func TestQuote(t *testing.T) {
	if got := quote(`a"b\c`); got != `"a\"b\\c"` {
		t.Errorf("quote = %s", got)
	}
	if quotable("a\r\nb") || !quotable("p@ss w0rd") {
		t.Error("quotable")
	}
}
