package poller

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/broker"
	"github.com/mamori/mamori/internal/check/checktest"
)

// natsServer starts a nats-server of the test on a free port with the
// given max_payload; stop ends it.
func natsServer(t testing.TB, maxPayload int) (url string, stop func()) {
	t.Helper()
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		for _, p := range []string{"/usr/sbin/nats-server", "/usr/local/bin/nats-server"} {
			if _, e := os.Stat(p); e == nil {
				bin, err = p, nil
			}
		}
	}
	if err != nil {
		if os.Getenv("MAMORI_INTEGRATION") != "" {
			t.Fatal("nats-server not found (MAMORI_INTEGRATION is set)")
		}
		t.Skip("nats-server not installed")
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	conf := filepath.Join(t.TempDir(), "nats.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf("listen: 127.0.0.1:%d\nmax_payload: %d\n", port, maxPayload)), 0o600)
	cmd := exec.Command(bin, "-c", conf)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() { once.Do(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }) }
	t.Cleanup(stop)
	for i := 0; i < 300; i++ {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			return fmt.Sprintf("nats://127.0.0.1:%d", port), stop
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("nats-server did not come up")
	return "", nil
}

// seen is what the server side's handler was given.
type seen struct {
	method, uri, auth, encoding, remote, zone, poller string
	body                                              []byte
}

// relayEnv: a poller with --agent-listen and a server side answering
// relayed requests with an echo handler.
type relayEnv struct {
	base      string
	got       chan seen
	cancelled chan struct{}
	stopNATS  func()
	stopServe context.CancelFunc
	served    chan struct{}
	client    http.Client
}

func newRelayEnv(t testing.TB, maxPayload int, tc ...*tls.Config) *relayEnv {
	url, stopNATS := natsServer(t, maxPayload)
	e := &relayEnv{got: make(chan seen, 16), cancelled: make(chan struct{}, 1), stopNATS: stopNATS, served: make(chan struct{})}
	nc, err := broker.Connect(broker.ConnOptions{URL: url, Name: "test server", Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	ctx, cancel := context.WithCancel(context.Background())
	e.stopServe = cancel
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rl := r.Context().Value(relayTag{}).([2]string)
		e.got <- seen{r.Method, r.URL.RequestURI(), r.Header.Get("Authorization"), r.Header.Get("Content-Encoding"), r.RemoteAddr, rl[0], rl[1], b}
		if r.URL.Path == "/api/v1/agent/poll" {
			select {
			case <-r.Context().Done():
				e.cancelled <- struct{}{}
				return
			case <-time.After(1500 * time.Millisecond):
			}
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintf(w, `{"n":%d}`, len(b))
	})
	annotate := func(r *http.Request, zone, poller string) *http.Request {
		return r.WithContext(context.WithValue(r.Context(), relayTag{}, [2]string{zone, poller}))
	}
	go func() {
		defer close(e.served)
		broker.ServeAgents(ctx, nc, broker.AgentRelay{Handler: echo, Annotate: annotate})
	}()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.base = "http://" + ln.Addr().String()
	o := Options{Broker: broker.ConnOptions{URL: url}, Zone: "z1", Name: "p1", StateDir: t.TempDir(), Agents: ln, Log: slog.New(slog.DiscardHandler)}
	if len(tc) > 0 {
		o.AgentTLS, e.base = tc[0], "https://"+ln.Addr().String()
	}
	p, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	pctx, pcancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(pctx); close(done) }()
	t.Cleanup(func() { pcancel(); <-done })
	return e
}

type relayTag struct{}

func (e *relayEnv) do(t testing.TB, method, path string, body []byte) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, e.base+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer tok-1")
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// waitRelayed retries until the poller is connected and a server answers.
func (e *relayEnv) waitRelayed(t testing.TB) {
	for i := 0; i < 100; i++ {
		if resp, _ := e.do(t, "POST", "/api/v1/agent/hello", nil); resp.StatusCode == http.StatusAccepted {
			<-e.got
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("the relay never answered")
}

// TestRelayRoundTrip: method, path and query, the headers the agent API
// reads, the agent's address and the body reach the server's handler with
// the poller's zone and name; its status, headers and body come back; a
// long poll outlives NATS's usual request timeouts.
func TestRelayRoundTrip(t *testing.T) {
	e := newRelayEnv(t, 1<<20)
	e.waitRelayed(t)
	body := bytes.Repeat([]byte("x"), 300<<10)
	resp, text := e.do(t, "POST", "/api/v1/agent/batch?a=1", body)
	if resp.StatusCode != http.StatusAccepted || text != fmt.Sprintf(`{"n":%d}`, len(body)) || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("reply %d %q %v", resp.StatusCode, text, resp.Header)
	}
	g := <-e.got
	if g.method != "POST" || g.uri != "/api/v1/agent/batch?a=1" || g.auth != "Bearer tok-1" || g.encoding != "gzip" || g.zone != "z1" || g.poller != "p1" ||
		!strings.HasPrefix(g.remote, "127.0.0.1:") || !strings.HasSuffix(g.remote, " via poller p1") || !bytes.Equal(g.body, body) {
		t.Fatalf("server saw %+v (body %d bytes)", g, len(g.body))
	}
	start := time.Now()
	if resp, text := e.do(t, "GET", "/api/v1/agent/poll?wait=1s", nil); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("poll: %d %s", resp.StatusCode, text)
	}
	<-e.got
	t.Logf("long poll held %s", time.Since(start).Round(time.Millisecond))
	// An agent hanging up a long poll ends it on the server too.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.base+"/api/v1/agent/poll?wait=30s", nil)
	if _, err := http.DefaultClient.Do(req); err == nil {
		t.Fatal("the poll answered before the agent hung up")
	}
	<-e.got
	select {
	case <-e.cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("the server kept holding a long poll the agent had hung up")
	}
	if resp, _ := e.do(t, "GET", "/api/v1/users", nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("a path outside the agent API: %d", resp.StatusCode)
	}
}

// TestRelayTooLarge: a body over the broker's max payload (less the
// headers' room) is answered 413 with the limit; the relay goes on.
func TestRelayTooLarge(t *testing.T) {
	e := newRelayEnv(t, 64<<10)
	e.waitRelayed(t)
	resp, text := e.do(t, "POST", "/api/v1/agent/batch", make([]byte, 60<<10))
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(text, "limit of 57344 bytes") {
		t.Fatalf("%d %s", resp.StatusCode, text)
	}
	if resp, text := e.do(t, "POST", "/api/v1/agent/batch", make([]byte, 50<<10)); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("a body within the limit: %d %s", resp.StatusCode, text)
	}
}

// TestRelayUnavailable: without an answering server, then without NATS,
// the relay answers 503 with Retry-After at once.
func TestRelayUnavailable(t *testing.T) {
	e := newRelayEnv(t, 1<<20)
	e.waitRelayed(t)
	e.stopServe()
	<-e.served
	for _, what := range []string{"no mamori server answers", "not connected to the centre's broker"} {
		if what != "no mamori server answers" {
			e.stopNATS()
		}
		var resp *http.Response
		var text string
		for i := 0; i < 50; i++ {
			start := time.Now()
			resp, text = e.do(t, "POST", "/api/v1/agent/batch", []byte("b"))
			if strings.Contains(text, what) {
				if took := time.Since(start); took > 2*time.Second {
					t.Errorf("%s: answered after %s", what, took)
				}
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || !strings.Contains(text, what) {
			t.Fatalf("%s: %d %v %s", what, resp.StatusCode, resp.Header, text)
		}
	}
}

// TestRelayTLS: with --agent-tls-cert/--agent-tls-key the relay serves
// HTTPS.
func TestRelayTLS(t *testing.T) {
	ca := checktest.NewCA(t)
	e := newRelayEnv(t, 1<<20, &tls.Config{Certificates: []tls.Certificate{ca.ValidFor(t, time.Hour)}})
	e.client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool}}
	e.waitRelayed(t)
	if resp, text := e.do(t, "POST", "/api/v1/agent/respond", []byte("{}")); resp.StatusCode != http.StatusAccepted || resp.TLS == nil {
		t.Fatalf("%d %s (TLS %v)", resp.StatusCode, text, resp.TLS != nil)
	}
}

// BenchmarkRelay: a 1 KiB batch relayed agent → poller → NATS → server
// handler and back, 8 agents at once.
func BenchmarkRelay(b *testing.B) {
	e := newRelayEnv(b, 1<<20)
	e.waitRelayed(b)
	go func() {
		for range e.got {
		}
	}()
	e.client.Transport = &http.Transport{MaxIdleConnsPerHost: 16}
	body := bytes.Repeat([]byte("x"), 1024)
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if resp, text := e.do(b, "POST", "/api/v1/agent/batch", body); resp.StatusCode != http.StatusAccepted {
				b.Errorf("%d %s", resp.StatusCode, text)
				return
			}
		}
	})
}
