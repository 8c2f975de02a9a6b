package httpcheck

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/checktest"
)

// run validates spec, builds its checker and runs it once through check.Run,
// as the engine and `mamori check` do.
func run(t testing.TB, s *Spec, timeout time.Duration) check.Result {
	t.Helper()
	if errs := s.Validate(); len(errs) > 0 {
		t.Fatalf("Validate: %v", errs)
	}
	c, err := s.New(check.Env{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return runChecker(t, s, c, timeout)
}

func runChecker(t testing.TB, s *Spec, c check.Checker, timeout time.Duration) check.Result {
	t.Helper()
	name := "http"
	if s.https {
		name = "https"
	}
	k, ok := check.Lookup(name)
	if !ok {
		t.Fatalf("kind %s not registered", name)
	}
	return check.Run(context.Background(), k, c, timeout)
}

func spec(https bool, mod func(*Spec)) *Spec {
	s := newSpec(https)
	if mod != nil {
		mod(s)
	}
	return s
}

// testMux answers like the integration nginx, plus a few test-only paths.
func testMux(t testing.TB) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("/ok", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok mamori") })
	mux.HandleFunc("/notfound", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "not found", 404) })
	mux.HandleFunc("/fail", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "service unavailable", 503) })
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/ok", http.StatusFound) })
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) })
	mux.HandleFunc("/auth", func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != "mtest" || p != "mtestpass" {
			w.Header().Set("WWW-Authenticate", `Basic realm="mamori"`)
			http.Error(w, "unauthorized", 401)
			return
		}
		io.WriteString(w, "auth ok")
	})
	mux.HandleFunc("/json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"status":"up"}`)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		d, _ := time.ParseDuration(r.URL.Query().Get("d"))
		select {
		case <-time.After(d):
		case <-r.Context().Done():
		}
		io.WriteString(w, "slow ok")
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Repeat("x", 4096)))
		io.WriteString(w, "NEEDLE")
	})
	return mux
}

func TestStatusAndBody(t *testing.T) {
	srv := httptest.NewServer(testMux(t))
	defer srv.Close()
	u := srv.URL

	tests := []struct {
		name   string
		mod    func(*Spec)
		status check.Status
		output string // substring of the full output line
	}{
		{"200 OK", func(s *Spec) { s.URL = u + "/" }, check.OK, "HTTP OK - 200 in "},
		{"404 WARNING", func(s *Spec) { s.URL = u + "/notfound" }, check.Warning, "HTTP WARNING - 404 in "},
		{"503 CRITICAL", func(s *Spec) { s.URL = u + "/fail" }, check.Critical, "HTTP CRITICAL - 503 in "},
		{"expect_status exact", func(s *Spec) { s.URL = u + "/notfound"; s.ExpectStatus = []string{"404"} }, check.OK, "404 in"},
		{"expect_status class", func(s *Spec) { s.URL = u + "/fail"; s.ExpectStatus = []string{"2xx", "5xx"} }, check.OK, "503 in"},
		{"expect_status comma list", func(s *Spec) { s.URL = u + "/ok"; s.ExpectStatus = []string{"200-204,301"} }, check.OK, "200 in"},
		{"expect_status mismatch", func(s *Spec) { s.URL = u + "/ok"; s.ExpectStatus = []string{"201,3xx"} }, check.Critical, "status 200 is not in 201,3xx"},
		{"body substring", func(s *Spec) { s.URL = u + "/ok"; s.ExpectBody = "mamori" }, check.OK, "200 in"},
		{"body substring missing", func(s *Spec) { s.URL = u + "/ok"; s.ExpectBody = "nope" }, check.Critical, "'nope' not found in body"},
		{"body regex", func(s *Spec) { s.URL = u + "/json"; s.ExpectRegex = `"status":\s*"up"` }, check.OK, "200 in"},
		{"body regex mismatch", func(s *Spec) { s.URL = u + "/json"; s.ExpectRegex = `"status":\s*"down"` }, check.Critical, "body does not match"},
		{"invert body", func(s *Spec) { s.URL = u + "/ok"; s.ExpectBody = "error"; s.InvertBody = true }, check.OK, "200 in"},
		{"invert body found", func(s *Spec) { s.URL = u + "/ok"; s.ExpectBody = "mamori"; s.InvertBody = true }, check.Critical, "'mamori' found in body"},
		{"max_body bounds matching", func(s *Spec) { s.URL = u + "/big"; s.ExpectBody = "NEEDLE"; s.MaxBody = 1024 }, check.Critical, "not found"},
		{"body within max_body", func(s *Spec) { s.URL = u + "/big"; s.ExpectBody = "NEEDLE" }, check.OK, "200 in"},
		{"redirect not followed", func(s *Spec) { s.URL = u + "/redirect" }, check.OK, "302 in"},
		{"redirect followed", func(s *Spec) { s.URL = u + "/redirect"; s.FollowRedirects = true; s.ExpectBody = "ok mamori" }, check.OK, "200 in"},
		{"redirect loop", func(s *Spec) { s.URL = u + "/loop"; s.FollowRedirects = true; s.MaxRedirects = 3 }, check.Warning, "more than 3 redirects"},
		{"basic auth right", func(s *Spec) {
			s.URL = u + "/auth"
			s.BasicAuthUser = "mtest"
			s.BasicAuthPassword = check.NewSecret("mtestpass")
			s.ExpectBody = "auth ok"
		}, check.OK, "200 in"},
		{"basic auth wrong", func(s *Spec) {
			s.URL = u + "/auth"
			s.BasicAuthUser = "mtest"
			s.BasicAuthPassword = check.NewSecret("wrong")
		}, check.Warning, "401 in"},
		{"basic auth missing, 401 expected", func(s *Spec) { s.URL = u + "/auth"; s.ExpectStatus = []string{"401"} }, check.OK, "401 in"},
		{"slow WARNING", func(s *Spec) {
			s.URL = u + "/slow?d=80ms"
			s.Warning, s.Critical = 50*time.Millisecond, 400*time.Millisecond
		}, check.Warning, "slower than 50ms"},
		{"slow CRITICAL", func(s *Spec) {
			s.URL = u + "/slow?d=200ms"
			s.Warning, s.Critical = 50*time.Millisecond, 150*time.Millisecond
		}, check.Critical, "slower than 150ms"},
		{"host instead of url", func(s *Spec) {
			h, p, _ := net.SplitHostPort(strings.TrimPrefix(u, "http://"))
			s.Host = h
			fmt.Sscan(p, &s.Port)
		}, check.OK, "200 in"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := run(t, spec(false, tt.mod), 5*time.Second)
			if r.Status != tt.status || !strings.Contains(r.Output, tt.output) {
				t.Fatalf("got %s %q, want %s containing %q", r.Status, r.PluginLine(), tt.status, tt.output)
			}
			if len(r.Perf) == 0 || r.Perf[0].Label != "time" || r.Perf[0].Unit != "s" {
				t.Errorf("perfdata %v: want time first", r.Perf)
			}
		})
	}
}

func TestPluginLineFormat(t *testing.T) {
	srv := httptest.NewServer(testMux(t))
	defer srv.Close()
	r := run(t, spec(false, func(s *Spec) { s.URL = srv.URL + "/ok" }), 5*time.Second)
	line := r.PluginLine()
	// HTTP OK - 200 in 0.001 s | time=0.000612s;5;10;0 size=9B;;;0
	if !strings.HasPrefix(line, "HTTP OK - 200 in 0.0") || !strings.Contains(line, ";5;10;0 size=9B;;;0") {
		t.Fatalf("line %q", line)
	}
}

func TestRequestSent(t *testing.T) {
	type seen struct {
		method, path, host, ua, custom, body string
	}
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- seen{r.Method, r.URL.RequestURI(), r.Host, r.UserAgent(), r.Header.Get("X-Mamori"), string(b)}
		w.WriteHeader(201)
	}))
	defer srv.Close()
	r := run(t, spec(false, func(s *Spec) {
		s.URL = srv.URL + "/api/v1/push?x=1"
		s.Method = "POST"
		s.Headers = map[string]string{"X-Mamori": "yes", "Host": "vhost.example", "Content-Type": "application/json"}
		s.Body = `{"a":1}`
		s.ExpectStatus = []string{"201"}
	}), 5*time.Second)
	if r.Status != check.OK {
		t.Fatalf("%s", r.PluginLine())
	}
	want := seen{"POST", "/api/v1/push?x=1", "vhost.example", "mamori-http-check", "yes", `{"a":1}`}
	if s := <-got; s != want {
		t.Fatalf("server saw %+v, want %+v", s, want)
	}
}

// tlsServer starts an HTTPS test server with cert and returns it with a ca_file path.
func tlsServer(t *testing.T, ca *checktest.CA, cert tls.Certificate) (*httptest.Server, string) {
	t.Helper()
	srv := httptest.NewUnstartedServer(testMux(t))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshake failures are the point
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, writeCA(t, ca)
}

func writeCA(t *testing.T, ca *checktest.CA) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestTLS(t *testing.T) {
	ca := checktest.NewCA(t)
	other := checktest.NewCA(t)
	day := 24 * time.Hour
	valid, caFile := tlsServer(t, ca, ca.ValidFor(t, 200*day))
	soon, _ := tlsServer(t, ca, ca.ValidFor(t, 20*day))
	verySoon, _ := tlsServer(t, ca, ca.ValidFor(t, 3*day))
	expired, _ := tlsServer(t, ca, ca.Expired(t))
	untrusted, _ := tlsServer(t, other, other.ValidFor(t, 200*day))

	tests := []struct {
		name   string
		mod    func(*Spec)
		status check.Status
		output string
	}{
		{"valid", func(s *Spec) { s.URL = valid.URL + "/ok" }, check.OK, "HTTP OK - 200 in"},
		{"valid via localhost name", func(s *Spec) { s.URL = strings.Replace(valid.URL, "127.0.0.1", "localhost", 1) }, check.OK, "200 in"},
		{"expires in 20 days WARNING", func(s *Spec) { s.URL = soon.URL }, check.Warning, "certificate 'localhost' expires in 19 days"},
		{"expires in 3 days CRITICAL", func(s *Spec) { s.URL = verySoon.URL }, check.Critical, "expires in 2 days"},
		{"days thresholds off", func(s *Spec) { s.URL = verySoon.URL; s.WarningDays, s.CriticalDays = 0, 0 }, check.OK, "200 in"},
		{"expired CRITICAL", func(s *Spec) { s.URL = expired.URL }, check.Critical, "invalid certificate: certificate 'localhost' expired "},
		{"expired CRITICAL even when not verifying", func(s *Spec) { s.URL = expired.URL; s.InsecureSkipVerify = true }, check.Critical, " s, certificate 'localhost' expired "},
		{"untrusted CA CRITICAL", func(s *Spec) { s.URL = untrusted.URL }, check.Critical, "invalid certificate: certificate 'localhost' is signed by an unknown authority"},
		{"untrusted CA, insecure_skip_verify", func(s *Spec) { s.URL = untrusted.URL; s.InsecureSkipVerify = true }, check.OK, "200 in"},
		{"wrong server_name", func(s *Spec) { s.URL = valid.URL; s.ServerName = "www.example.org" }, check.Critical, "invalid certificate: x509: certificate is valid for localhost, not www.example.org"},
		{"plain http to a TLS port", func(s *Spec) { s.https = false; s.URL = strings.Replace(valid.URL, "https:", "http:", 1) }, check.Warning, "400 in"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := spec(true, func(s *Spec) { s.CAFile = caFile })
			tt.mod(s)
			r := run(t, s, 5*time.Second)
			if r.Status != tt.status || !strings.Contains(r.Output, tt.output) {
				t.Fatalf("got %s %q, want %s containing %q", r.Status, r.PluginLine(), tt.status, tt.output)
			}
		})
	}
}

func TestUnreachable(t *testing.T) {
	// A port nobody listens on: take one and close it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	// A server that accepts and never answers.
	silent, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	}()

	tests := []struct {
		name    string
		url     string
		timeout time.Duration
		output  string
		maxTime time.Duration
	}{
		{"connection refused", "http://" + addr + "/", 5 * time.Second, "connection refused", 2 * time.Second},
		{"no answer", "http://" + silent.Addr().String() + "/", 200 * time.Millisecond, "no answer within ", time.Second},
		{"no TLS handshake", "https://" + silent.Addr().String() + "/", 200 * time.Millisecond, "no answer within ", time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			r := run(t, spec(false, func(s *Spec) { s.URL = tt.url }), tt.timeout)
			if r.Status != check.Critical || !strings.Contains(r.Output, tt.output) {
				t.Fatalf("got %s %q, want CRITICAL containing %q", r.Status, r.Output, tt.output)
			}
			if d := time.Since(start); d > tt.maxTime {
				t.Fatalf("took %s", d)
			}
		})
	}
}

// connCounter counts the connections a test server accepts.
func connCounter(srv *httptest.Server) *atomic.Int32 {
	var n atomic.Int32
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			n.Add(1)
		}
	}
	return &n
}

func TestKeepalive(t *testing.T) {
	for _, tt := range []struct {
		keepalive bool
		conns     int32
	}{{false, 5}, {true, 1}} {
		t.Run(fmt.Sprintf("keepalive=%v", tt.keepalive), func(t *testing.T) {
			srv := httptest.NewUnstartedServer(testMux(t))
			n := connCounter(srv)
			srv.Start()
			defer srv.Close()
			s := spec(false, func(s *Spec) { s.URL = srv.URL + "/ok"; s.Keepalive = tt.keepalive; s.ExpectBody = "mamori" })
			c, err := s.New(check.Env{})
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < 5; i++ {
				if r := runChecker(t, s, c, 5*time.Second); r.Status != check.OK {
					t.Fatalf("run %d: %s", i, r.PluginLine())
				}
			}
			if got := n.Load(); got != tt.conns {
				t.Fatalf("server accepted %d connections, want %d", got, tt.conns)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		https  bool
		mod    func(*Spec)
		fields []string
	}{
		{"defaults need a target", false, nil, []string{"url"}},
		{"ok", false, func(s *Spec) { s.URL = "http://example.org/" }, nil},
		{"scheme added", true, func(s *Spec) { s.URL = "example.org/x" }, nil},
		{"https kind refuses http", true, func(s *Spec) { s.URL = "http://example.org/" }, []string{"url"}},
		{"bad scheme", false, func(s *Spec) { s.URL = "ftp://example.org/" }, []string{"url"}},
		{"everything wrong", false, func(s *Spec) {
			s.URL = "http://x/"
			s.Method = ""
			s.ExpectStatus = []string{"200,abc", "9xx"}
			s.ExpectRegex = "("
			s.Warning, s.Critical = 3*time.Second, time.Second
			s.MaxRedirects = -1
			s.BasicAuthPassword = check.NewSecret("p")
			s.CAFile = "/nonexistent/ca.pem"
			s.MaxBody = 0
			s.Port = 70000
		}, []string{"port", "method", "expect_status", "expect_regex", "warning", "max_redirects", "basic_auth_user", "ca_file", "max_body"}},
		{"invert without pattern", false, func(s *Spec) { s.URL = "http://x/"; s.InvertBody = true }, []string{"invert_body"}},
		{"status range backwards", false, func(s *Spec) { s.URL = "http://x/"; s.ExpectStatus = []string{"299-200"} }, []string{"expect_status"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := spec(tt.https, tt.mod)
			var got []string
			for _, e := range s.Validate() {
				got = append(got, e.Field)
			}
			if strings.Join(got, " ") != strings.Join(tt.fields, " ") {
				t.Fatalf("fields %v, want %v (%v)", got, tt.fields, s.Validate())
			}
		})
	}
}

func TestDefaultHost(t *testing.T) {
	for _, tt := range []struct {
		https bool
		addr  string
		port  int
		want  string
	}{
		{false, "192.0.2.1", 0, "http://192.0.2.1/"},
		{true, "web.example", 0, "https://web.example/"},
		{true, "2001:db8::1", 0, "https://[2001:db8::1]/"},
		{false, "2001:db8::1", 8080, "http://[2001:db8::1]:8080/"},
	} {
		s := newSpec(tt.https)
		var hd check.HostDefaulter = s
		hd.DefaultHost(tt.addr)
		s.Port = tt.port
		u, err := s.target()
		if err != nil || u.String() != tt.want {
			t.Errorf("%v %s: %v %v, want %s", tt.https, tt.addr, u, err, tt.want)
		}
	}
	// An explicit url wins.
	s := newSpec(false)
	s.URL = "http://explicit/"
	s.DefaultHost("192.0.2.1")
	if u, _ := s.target(); u.String() != "http://explicit/" {
		t.Errorf("url overridden: %s", u)
	}
}

func TestRegistered(t *testing.T) {
	for _, name := range []string{"http", "https"} {
		k, ok := check.Lookup(name)
		if !ok || k.Timeout != 10*time.Second || k.Label != "HTTP" {
			t.Fatalf("%s: %+v", name, k)
		}
	}
	k, _ := check.Lookup("https")
	s := k.New().(*Spec)
	if s.WarningDays != 30 || s.CriticalDays != 7 || s.Method != "GET" || s.MaxBody != 1<<20 || s.MaxRedirects != 10 {
		t.Fatalf("https defaults %+v", s)
	}
}

func benchServer(b *testing.B) (*httptest.Server, *atomic.Int32) {
	return countedServer(b, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok mamori")
	}))
}

// BenchmarkHTTPCheck measures one check run (client and server in this
// process) with a kept-alive and a fresh connection.
func BenchmarkHTTPCheck(b *testing.B) {
	for _, keepalive := range []bool{true, false} {
		name := "fresh"
		if keepalive {
			name = "keepalive"
		}
		b.Run(name, func(b *testing.B) {
			srv, conns := benchServer(b)
			s := spec(false, func(s *Spec) { s.URL = srv.URL + "/"; s.Keepalive = keepalive; s.ExpectBody = "mamori" })
			c, err := s.New(check.Env{})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.ReportAllocs()
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
			b.ReportMetric(float64(conns.Load())/float64(b.N), "conns/op")
		})
	}
}

// TestSharedTransport: checks with the same connection mode and TLS settings
// share one transport. Ten keep-alive checks of one server, run one after
// the other, reuse one connection between them; ten fresh-connection checks
// still open a connection per run.
func TestSharedTransport(t *testing.T) {
	for _, tt := range []struct {
		keepalive bool
		conns     int32
	}{{false, 20}, {true, 1}} {
		t.Run(fmt.Sprintf("keepalive=%v", tt.keepalive), func(t *testing.T) {
			srv := httptest.NewUnstartedServer(testMux(t))
			n := connCounter(srv)
			srv.Start()
			defer srv.Close()
			var first *h1Transport
			for i := 0; i < 10; i++ {
				s := spec(false, func(s *Spec) { s.URL = fmt.Sprintf("%s/ok?check=%d", srv.URL, i); s.Keepalive = tt.keepalive })
				c, err := s.New(check.Env{})
				if err != nil {
					t.Fatal(err)
				}
				tr := c.(*checker).transport
				if first == nil {
					first = tr
				} else if tr != first {
					t.Fatalf("check %d has its own transport", i)
				}
				for j := 0; j < 2; j++ {
					if r := runChecker(t, s, c, 5*time.Second); r.Status != check.OK {
						t.Fatalf("check %d run %d: %s", i, j, r.PluginLine())
					}
				}
			}
			if got := n.Load(); got != tt.conns {
				t.Fatalf("server accepted %d connections, want %d", got, tt.conns)
			}
			// Different TLS settings get a different transport.
			s := spec(false, func(s *Spec) { s.URL = srv.URL; s.Keepalive = tt.keepalive; s.ServerName = "other.example" })
			c, err := s.New(check.Env{})
			if err != nil {
				t.Fatal(err)
			}
			if c.(*checker).transport == first {
				t.Fatal("a check with another server_name shares the transport")
			}
		})
	}
}
