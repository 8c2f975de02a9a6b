package config

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Nested aliases name exponentially many nodes; loading such a file
// must still end (with or without errors), not walk them all.
func TestAliasBombEnds(t *testing.T) {
	var b strings.Builder
	b.WriteString("x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "x%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	b.WriteString("checks:\n  - {name: c, type: tcp, host: 127.0.0.1, port: 1, tags: *a9}\n")
	done := make(chan struct{})
	go func() {
		defer close(done)
		Parse("bomb.yaml", []byte(b.String()))
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Parse of 10^10 aliased nodes did not end within 30 s")
	}
}
