package sshcheck

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
)

// rawServer sends data on every connection, then holds it open (or closes
// it at once when hangUp).
func rawServer(t *testing.T, data string, hangUp bool) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte(data))
			if hangUp {
				c.Close()
				continue
			}
			go func() { time.Sleep(3 * time.Second); c.Close() }()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// A server that is not SSH: the output shows what it sent, whatever it was.
func TestNonSSHServerShown(t *testing.T) {
	mysql := "J\x00\x00\x00\n8.0.36\x00\x08\x00\x00\x00abc" // a MySQL greeting: binary, one stray LF
	tests := []struct {
		name   string
		port   int
		output string
	}{
		{"binary greeting", rawServer(t, mysql, false), `"J\x00\x00\x00\n8.0.36\x00\b\x00\x00\x00abc"`},
		{"empty line then silence", rawServer(t, "\r\n", false), "an empty line"},
		{"text without end of line, then close", rawServer(t, "HTTP/1.0 400 Bad request", true), "'HTTP/1.0 400 Bad request'"},
		{"text without end of line, then silence", rawServer(t, "+OK POP3", false), "'+OK POP3'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := kind.Run(t, kind.Spec("127.0.0.1", tt.port), 1500*time.Millisecond)
			if r.Status != check.Critical || !strings.Contains(r.Output, tt.output) {
				t.Fatalf("got %s %q, want CRITICAL showing %s", r.Status, r.Output, tt.output)
			}
			if strings.Contains(r.Output, "banner ''") {
				t.Fatalf("output hides what the server sent: %q", r.Output)
			}
		})
	}
}
