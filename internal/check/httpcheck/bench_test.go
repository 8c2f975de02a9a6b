//go:build unix

package httpcheck

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
)

// The benchmarks' server runs in a child process (this test binary, in
// TestBenchServer) so that the figures are the client's alone: ns/op is
// wall time per run, cpu-ns/op this process's CPU (user + system) per run,
// B/op and allocs/op its allocations, conns/op the server's connections.
const benchServerEnv = "HTTPCHECK_BENCH_SERVER"

// TestBenchServer is the benchmarks' server when started by them: a
// net/http server on 127.0.0.1 answering a small fixed body, until stdin
// closes.
func TestBenchServer(t *testing.T) {
	if os.Getenv(benchServerEnv) != "1" {
		t.Skip("the benchmarks' server process")
	}
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/conns" {
			fmt.Fprint(w, conns.Load())
			return
		}
		io.WriteString(w, "ok mamori")
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	fmt.Println(srv.URL)
	io.Copy(io.Discard, os.Stdin)
}

func benchCheck(b *testing.B, keepalive bool) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestBenchServer$")
	cmd.Env = append(os.Environ(), benchServerEnv+"=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		b.Fatal(err)
	}
	base := strings.TrimSpace(line)
	fresh := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	connsNow := func() int64 {
		resp, err := fresh.Get(base + "/conns")
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		var n int64
		fmt.Fscan(resp.Body, &n)
		return n
	}

	s := spec(false, func(s *Spec) { s.URL = base + "/"; s.Keepalive = keepalive; s.ExpectBody = "mamori" })
	c, err := s.New(check.Env{})
	if err != nil {
		b.Fatal(err)
	}
	conns0 := connsNow()
	ctx := context.Background()
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		r := c.Check(cctx)
		cancel()
		if r.Status != check.OK {
			b.Fatal(r.Output)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
	// The second connsNow's own connection is one of them.
	b.ReportMetric(float64(connsNow()-conns0-1)/float64(b.N), "conns/op")
}

// cpuTime is this process's CPU time so far (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCheckKeepAlive: one run on a kept-alive connection.
func BenchmarkCheckKeepAlive(b *testing.B) { benchCheck(b, true) }

// BenchmarkCheckFresh: one run on a fresh connection.
func BenchmarkCheckFresh(b *testing.B) { benchCheck(b, false) }
