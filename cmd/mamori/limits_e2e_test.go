package main

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// TestSlowBodiesAreCut: many connections that send a request body one
// byte at a time are cut after the body timeout, and the server keeps
// answering meanwhile (connection cap, bounded hold time).
func TestSlowBodiesAreCut(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	dir := t.TempDir()
	port := freePort(t)
	cfgPath := filepath.Join(dir, "mamori.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf("listen: 127.0.0.1:%d\ndata_dir: %s\nhttp: {body_timeout: 2s, max_connections: 100}\n",
		port, filepath.Join(dir, "data"))), 0o644)
	s := startServer(t, cfgPath, port)

	const conns = 300
	start := time.Now()
	var wg sync.WaitGroup
	held := make(chan time.Duration, conns)
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
			if err != nil {
				held <- 0
				return
			}
			defer c.Close()
			opened := time.Now()
			fmt.Fprintf(c, "POST /api/v1/reload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: 100000\r\n\r\n", token)
			// One byte a second until the server gives up (bounded by 60 s).
			done := make(chan struct{})
			go func() {
				bufio.NewReader(c).ReadByte() // a response or EOF: the server let go
				close(done)
			}()
			for k := 0; k < 60; k++ {
				select {
				case <-done:
					held <- time.Since(opened)
					return
				case <-time.After(time.Second):
					c.Write([]byte("x"))
				}
			}
			held <- time.Since(opened)
		}()
	}
	// The server answers while the slow senders are connected.
	time.Sleep(time.Second)
	hc := &http.Client{Timeout: 20 * time.Second}
	t0 := time.Now()
	resp, err := hc.Get(s.base + "/healthz")
	if err != nil {
		t.Fatalf("healthz during the slow-body flood: %v", err)
	}
	resp.Body.Close()
	t.Logf("healthz answered in %s during %d slow-body connections", time.Since(t0).Round(time.Millisecond), conns)
	wg.Wait()
	close(held)
	var longest time.Duration
	for d := range held {
		longest = max(longest, d)
	}
	t.Logf("%d slow-body connections: all released after %s (longest held %s)", conns, time.Since(start).Round(time.Millisecond), longest.Round(time.Millisecond))
	if longest > 30*time.Second {
		t.Fatalf("a slow-body connection was held %s (body_timeout 2s)", longest)
	}
}
