package httpcheck

import (
	"bufio"
	"context"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/checktest"
)

// newChecker validates s and builds its checker.
func newChecker(t testing.TB, s *Spec) check.Checker {
	t.Helper()
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatalf("Validate: %v", errs)
	}
	c, err := s.New(check.Env{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

// runN runs c n times and wants each result to have status want and its
// output to contain out.
func runN(t *testing.T, s *Spec, c check.Checker, n int, want check.Status, out string) {
	t.Helper()
	for i := 0; i < n; i++ {
		if r := runChecker(t, s, c, 5*time.Second); r.Status != want || !strings.Contains(r.Output, out) {
			t.Fatalf("run %d: got %s %q, want %s containing %q", i, r.Status, r.PluginLine(), want, out)
		}
	}
}

// countedServer starts a test server counting its connections.
func countedServer(t testing.TB, h http.Handler) (*httptest.Server, *atomic.Int32) {
	srv := httptest.NewUnstartedServer(h)
	n := connCounter(srv)
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, n
}

// Keep-alive runs share one connection and never ask to close it; fresh
// runs open one each and send Connection: close.
func TestConnectionPerMode(t *testing.T) {
	for _, keepalive := range []bool{true, false} {
		t.Run(fmt.Sprintf("keepalive=%v", keepalive), func(t *testing.T) {
			var closes, requests atomic.Int32
			srv, conns := countedServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				requests.Add(1)
				if r.Close {
					closes.Add(1)
				}
				io.WriteString(w, "ok mamori")
			}))
			s := spec(false, func(s *Spec) { s.URL = srv.URL + "/"; s.Keepalive = keepalive; s.ExpectBody = "mamori" })
			runN(t, s, newChecker(t, s), 10, check.OK, "200 in")
			wantConns, wantCloses := int32(1), int32(0)
			if !keepalive {
				wantConns, wantCloses = 10, 10
			}
			if conns.Load() != wantConns || closes.Load() != wantCloses || requests.Load() != 10 {
				t.Fatalf("%d connections, %d requests with Connection: close, %d requests; want %d, %d, 10",
					conns.Load(), closes.Load(), requests.Load(), wantConns, wantCloses)
			}
		})
	}
}

// rawServer answers "ok mamori" to each request with keep-alive; after
// answering a connection's first request, closeAfter closes it; a
// connection's second request, with dropSecond, is read and the connection
// closed without an answer.
type rawServer struct {
	ln         net.Listener
	closeAfter bool
	dropSecond bool
	conns      atomic.Int32
	answered   atomic.Int32
	dropped    atomic.Int32
	closed     chan struct{}
	mu         sync.Mutex
	open       []net.Conn
}

func newRawServer(t *testing.T, closeAfter, dropSecond bool) *rawServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{ln: ln, closeAfter: closeAfter, dropSecond: dropSecond, closed: make(chan struct{}, 100)}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, c := range s.open {
			c.Close()
		}
		s.mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			s.mu.Lock()
			s.open = append(s.open, c)
			s.mu.Unlock()
			wg.Add(1)
			go func() { defer wg.Done(); s.serve(c) }()
		}
	}()
	return s
}

func (s *rawServer) serve(c net.Conn) {
	defer func() { c.Close(); s.closed <- struct{}{} }()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	for i := 0; ; i++ {
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		io.Copy(io.Discard, req.Body)
		if i == 1 && s.dropSecond {
			s.dropped.Add(1)
			return
		}
		s.answered.Add(1)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\nok mamori")
		if s.closeAfter {
			return
		}
	}
}

func (s *rawServer) url() string { return "http://" + s.ln.Addr().String() + "/" }

func (s *rawServer) waitClosed(t *testing.T) {
	t.Helper()
	select {
	case <-s.closed:
	case <-time.After(5 * time.Second):
		t.Fatal("server did not close the connection")
	}
}

// A server that closes idle connections (its idle timeout): the next run
// gets an answer on a new connection, with no error result — a GET by
// sending again once the closed one failed, a POST with a body (never sent
// twice) by probing the idle connection before sending.
func TestIdleClosedByServer(t *testing.T) {
	for _, method := range []string{"GET", "POST"} {
		t.Run(method, func(t *testing.T) {
			if method == "POST" && !probesIdle {
				t.Skip("idle connections are not probed on " + runtime.GOOS)
			}
			srv := newRawServer(t, true, false)
			s := spec(false, func(s *Spec) { s.URL = srv.url(); s.Keepalive = true; s.ExpectBody = "mamori"; s.Method = method })
			if method == "POST" {
				s.Body = "x=1"
			}
			c := newChecker(t, s)
			for i := 0; i < 3; i++ {
				runN(t, s, c, 1, check.OK, "200 in")
				srv.waitClosed(t)
			}
			if srv.conns.Load() != 3 || srv.answered.Load() != 3 {
				t.Fatalf("%d connections, %d answers, want 3 and 3", srv.conns.Load(), srv.answered.Load())
			}
		})
	}
}

// A server that closes a kept connection as the request arrives: a GET is
// sent again once on a fresh connection; a POST with a body is not resent.
func TestRetryOnClosedReusedConn(t *testing.T) {
	t.Run("GET retried", func(t *testing.T) {
		srv := newRawServer(t, false, true)
		s := spec(false, func(s *Spec) { s.URL = srv.url(); s.Keepalive = true; s.ExpectBody = "mamori" })
		runN(t, s, newChecker(t, s), 4, check.OK, "200 in")
		// 1: new conn A; 2: A dropped, retried on B; 3: B dropped, C; 4: C dropped, D.
		if srv.conns.Load() != 4 || srv.answered.Load() != 4 || srv.dropped.Load() != 3 {
			t.Fatalf("%d connections, %d answers, %d dropped; want 4, 4, 3", srv.conns.Load(), srv.answered.Load(), srv.dropped.Load())
		}
	})
	t.Run("POST not resent", func(t *testing.T) {
		srv := newRawServer(t, false, true)
		s := spec(false, func(s *Spec) { s.URL = srv.url(); s.Keepalive = true; s.Method = "POST"; s.Body = "x=1" })
		c := newChecker(t, s)
		runN(t, s, c, 1, check.OK, "200 in")
		r := runChecker(t, s, c, 5*time.Second)
		if r.Status != check.Critical || !strings.Contains(r.Output, "server closed the connection without an answer") && !strings.Contains(r.Output, "reset by peer") {
			t.Fatalf("got %s %q", r.Status, r.PluginLine())
		}
		if srv.conns.Load() != 1 || srv.dropped.Load() != 1 {
			t.Fatalf("%d connections, %d dropped; want 1 and 1", srv.conns.Load(), srv.dropped.Load())
		}
	})
}

// A body larger than max_body is not read to its end: its connection is
// closed, never reused with unread bytes.
func TestLongBodyNotReused(t *testing.T) {
	srv, conns := countedServer(t, testMux(t))
	s := spec(false, func(s *Spec) { s.URL = srv.URL + "/big"; s.Keepalive = true; s.ExpectBody = "NEEDLE"; s.MaxBody = 1024 })
	runN(t, s, newChecker(t, s), 3, check.Critical, "'NEEDLE' not found")
	if n := conns.Load(); n != 3 {
		t.Fatalf("%d connections, want 3", n)
	}
	// Read to the end, the same body leaves the connection for the next run.
	srv2, conns2 := countedServer(t, testMux(t))
	s2 := spec(false, func(s *Spec) { s.URL = srv2.URL + "/big"; s.Keepalive = true; s.ExpectBody = "NEEDLE" })
	runN(t, s2, newChecker(t, s2), 3, check.OK, "200 in")
	if n := conns2.Load(); n != 1 {
		t.Fatalf("%d connections, want 1", n)
	}
}

func TestChunkedAndHEAD(t *testing.T) {
	srv, conns := countedServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			w.Header().Set("Content-Length", "100")
			return
		}
		for _, part := range []string{"chunked ", "ok ", "mamori"} {
			io.WriteString(w, part)
			w.(http.Flusher).Flush()
		}
	}))
	s := spec(false, func(s *Spec) { s.URL = srv.URL + "/"; s.Keepalive = true; s.ExpectBody = "chunked ok mamori" })
	runN(t, s, newChecker(t, s), 3, check.OK, "200 in")
	h := spec(false, func(s *Spec) { s.URL = srv.URL + "/"; s.Keepalive = true; s.Method = http.MethodHead })
	runN(t, h, newChecker(t, h), 3, check.OK, "200 in")
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections, want 1", n)
	}
}

// A redirect to another server is followed; each server keeps its one
// connection across runs.
func TestRedirectAcrossHostsKeepalive(t *testing.T) {
	target, targetConns := countedServer(t, testMux(t))
	from, fromConns := countedServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/ok", http.StatusFound)
	}))
	s := spec(false, func(s *Spec) {
		s.URL = from.URL + "/start"
		s.Keepalive, s.FollowRedirects, s.ExpectBody = true, true, "ok mamori"
	})
	runN(t, s, newChecker(t, s), 3, check.OK, "from "+target.URL+"/ok (after redirects)")
	if a, b := fromConns.Load(), targetConns.Load(); a != 1 || b != 1 {
		t.Fatalf("connections %d and %d, want 1 and 1", a, b)
	}
}

// The run's deadline bounds a kept connection's answer; the connection is
// then dropped and the next run works.
func TestDeadlineKeepalive(t *testing.T) {
	srv, conns := countedServer(t, testMux(t))
	ok := spec(false, func(s *Spec) { s.URL = srv.URL + "/ok"; s.Keepalive = true })
	slow := spec(false, func(s *Spec) { s.URL = srv.URL + "/slow?d=10s"; s.Keepalive = true })
	okc, slowc := newChecker(t, ok), newChecker(t, slow)
	runN(t, ok, okc, 1, check.OK, "200 in")
	start := time.Now()
	if r := runChecker(t, slow, slowc, 200*time.Millisecond); r.Status != check.Critical || !strings.Contains(r.Output, "no answer within ") {
		t.Fatalf("got %s %q", r.Status, r.PluginLine())
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %s", d)
	}
	runN(t, ok, okc, 2, check.OK, "200 in")
	if n := conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2 (the timed-out one closed)", n)
	}

	// A server that never answers, kept-alive mode.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	s := spec(false, func(s *Spec) { s.URL = "http://" + ln.Addr().String() + "/"; s.Keepalive = true })
	if r := runChecker(t, s, newChecker(t, s), 200*time.Millisecond); r.Status != check.Critical || !strings.Contains(r.Output, "no answer within ") {
		t.Fatalf("got %s %q", r.Status, r.PluginLine())
	}
}

// A cancelled run ends at once, also while it waits for an answer.
func TestCancel(t *testing.T) {
	srv, _ := countedServer(t, testMux(t))
	s := spec(false, func(s *Spec) { s.URL = srv.URL + "/slow?d=10s"; s.Keepalive = true })
	c := newChecker(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	r := c.Check(ctx)
	if r.Status != check.Critical || time.Since(start) > 2*time.Second {
		t.Fatalf("got %s %q after %s", r.Status, r.Output, time.Since(start))
	}
}

// Over TLS a kept connection carries its certificate: days left are graded
// on every run, not only the one that did the handshake.
func TestTLSKeepalive(t *testing.T) {
	ca := checktest.NewCA(t)
	srv := httptest.NewUnstartedServer(testMux(t))
	conns := connCounter(srv)
	srv.TLS = tlsConfigFor(ca.ValidFor(t, 20*24*time.Hour))
	srv.StartTLS()
	t.Cleanup(srv.Close)
	s := spec(true, func(s *Spec) {
		s.URL = srv.URL + "/ok"
		s.CAFile = writeCA(t, ca)
		s.Keepalive = true
		s.ExpectBody = "mamori"
	})
	runN(t, s, newChecker(t, s), 3, check.Warning, "certificate 'localhost' expires in 19 days")
	if n := conns.Load(); n != 1 {
		t.Fatalf("%d connections, want 1", n)
	}

	// httptest's own server and certificate, trusted through ca_file.
	std := httptest.NewTLSServer(testMux(t))
	t.Cleanup(std.Close)
	caFile := writeCertPEM(t, std.Certificate().Raw)
	s2 := spec(true, func(s *Spec) { s.URL = std.URL + "/ok"; s.CAFile = caFile; s.Keepalive = true; s.ExpectBody = "mamori" })
	runN(t, s2, newChecker(t, s2), 3, check.OK, "200 in")
}

// An idle connection older than idleTimeout is closed, not used.
func TestIdleExpiry(t *testing.T) {
	srv, conns := countedServer(t, testMux(t))
	s := spec(false, func(s *Spec) { s.URL = srv.URL + "/ok"; s.Keepalive = true })
	c := newChecker(t, s)
	runN(t, s, c, 1, check.OK, "200 in")
	tr := c.(*checker).transport
	tr.mu.Lock()
	for _, list := range tr.idle {
		for _, pc := range list {
			if pc.key.addr == srv.Listener.Addr().String() {
				pc.idleAt = pc.idleAt.Add(-idleTimeout - time.Second)
			}
		}
	}
	tr.mu.Unlock()
	runN(t, s, c, 2, check.OK, "200 in")
	if n := conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2", n)
	}
}

// Many goroutines share one transport (run with -race).
func TestConcurrentRuns(t *testing.T) {
	srv, conns := countedServer(t, testMux(t))
	const workers, runs = 50, 20
	s := spec(false, func(s *Spec) { s.URL = srv.URL + "/ok"; s.Keepalive = true; s.ExpectBody = "mamori" })
	c := newChecker(t, s)
	k, _ := check.Lookup("http")
	var wg sync.WaitGroup
	errs := make(chan string, workers*runs)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < runs; i++ {
				if r := check.Run(context.Background(), k, c, 10*time.Second); r.Status != check.OK {
					errs <- r.PluginLine()
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	tr := c.(*checker).transport
	tr.mu.Lock()
	idle := len(tr.idle[connKey{addr: srv.Listener.Addr().String()}])
	tr.mu.Unlock()
	if idle > idlePerHost || conns.Load() >= workers*runs {
		t.Fatalf("%d idle (max %d), %d connections for %d runs", idle, idlePerHost, conns.Load(), workers*runs)
	}
}

func writeCertPEM(t *testing.T, der []byte) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}
