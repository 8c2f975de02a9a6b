package httpcheck

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/checktest"
)

// The seed's second table: a response over 5 s is WARNING; the first: no
// answer within 10 s is CRITICAL.
func TestSeedDefaults(t *testing.T) {
	for _, https := range []bool{false, true} {
		s := newSpec(https)
		if s.Warning != 5*time.Second || s.Critical != 10*time.Second {
			t.Errorf("https=%v: warning %s critical %s, want 5s and 10s", https, s.Warning, s.Critical)
		}
	}
}

// protoRecorder answers with the status in ?s= and remembers the request
// line's protocol of every request.
type protoRecorder struct {
	mu     sync.Mutex
	protos []string
	hosts  []string
}

func (p *protoRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.protos = append(p.protos, r.Proto)
	p.hosts = append(p.hosts, r.Host)
	p.mu.Unlock()
	code, _ := strconv.Atoi(r.URL.Query().Get("s"))
	if code == 0 {
		code = 200
	}
	w.WriteHeader(code)
	io.WriteString(w, "hello mamori")
}

func (p *protoRecorder) last() (string, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.protos) == 0 {
		return "", ""
	}
	return p.protos[len(p.protos)-1], p.hosts[len(p.hosts)-1]
}

// http_version "1.0" sends "GET / HTTP/1.0", as the seed's HTTP rows say,
// and grades the answer as usual.
func TestHTTP10(t *testing.T) {
	rec := &protoRecorder{}
	plain := httptest.NewServer(rec)
	defer plain.Close()
	ca := checktest.NewCA(t)
	tlsSrv := httptest.NewUnstartedServer(rec)
	tlsSrv.TLS = tlsConfigFor(ca.ValidFor(t, 200*24*time.Hour))
	tlsSrv.StartTLS()
	defer tlsSrv.Close()
	caFile := writeCA(t, ca)

	tests := []struct {
		name   string
		https  bool
		mod    func(*Spec)
		status check.Status
		output string
	}{
		{"200", false, func(s *Spec) { s.URL = plain.URL + "/" }, check.OK, "200 in"},
		{"404 WARNING", false, func(s *Spec) { s.URL = plain.URL + "/?s=404" }, check.Warning, "404 in"},
		{"503 CRITICAL", false, func(s *Spec) { s.URL = plain.URL + "/?s=503" }, check.Critical, "503 in"},
		{"body", false, func(s *Spec) { s.URL = plain.URL + "/"; s.ExpectBody = "mamori" }, check.OK, "200 in"},
		{"virtual host", false, func(s *Spec) { s.URL = plain.URL + "/"; s.Headers = map[string]string{"Host": "www.example.test"} }, check.OK, "200 in"},
		{"over TLS", true, func(s *Spec) { s.URL = tlsSrv.URL + "/"; s.CAFile = caFile }, check.OK, "200 in"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := spec(tt.https, func(s *Spec) { s.HTTPVersion = "1.0" })
			tt.mod(s)
			r := run(t, s, 5*time.Second)
			if r.Status != tt.status || !strings.Contains(r.Output, tt.output) {
				t.Fatalf("got %s %q, want %s containing %q", r.Status, r.PluginLine(), tt.status, tt.output)
			}
			p, host := rec.last()
			if p != "HTTP/1.0" {
				t.Fatalf("request sent as %q, want HTTP/1.0", p)
			}
			if v := s.Headers["Host"]; v != "" && host != v {
				t.Fatalf("Host %q, want %q", host, v)
			}
		})
	}
	s := spec(false, func(s *Spec) { s.URL = plain.URL; s.HTTPVersion = "2" })
	if errs := s.Validate(); len(errs) != 1 || errs[0].Field != "http_version" {
		t.Fatalf("http_version 2: %v", errs)
	}
}

// also_http: the seed's HTTPS row needs both port 80 and port 443 to answer.
func TestHTTPSAlsoHTTP(t *testing.T) {
	ca := checktest.NewCA(t)
	secure, caFile := tlsServer(t, ca, ca.ValidFor(t, 200*24*time.Hour))
	rec := &protoRecorder{}
	plain := httptest.NewServer(rec)
	defer plain.Close()
	closed := checktest.ClosedPort(t)
	port := func(raw string) int {
		u, _ := url.Parse(raw)
		n, _ := strconv.Atoi(u.Port())
		return n
	}
	tests := []struct {
		name     string
		httpPort int
		path     string
		status   check.Status
		output   string
	}{
		{"both answer", port(plain.URL), "/", check.OK, "200 in"},
		{"port 80 down", closed, "/", check.Critical, fmt.Sprintf("http port %d: GET http://127.0.0.1:%d/", closed, closed)},
		{"port 80 answers 503", port(plain.URL), "/?s=503", check.Critical, "http port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := spec(true, func(s *Spec) {
				s.URL = secure.URL + tt.path
				s.CAFile, s.AlsoHTTP, s.HTTPPort, s.HTTPVersion = caFile, true, tt.httpPort, "1.0"
			})
			r := run(t, s, 5*time.Second)
			if r.Status != tt.status || !strings.Contains(r.Output, tt.output) {
				t.Fatalf("got %s %q, want %s containing %q", r.Status, r.PluginLine(), tt.status, tt.output)
			}
			found := false
			for _, m := range r.Perf {
				found = found || m.Label == "http_time"
			}
			if !found {
				t.Fatalf("no http_time perfdata: %v", r.Perf)
			}
		})
	}
	if p, _ := rec.last(); p != "HTTP/1.0" {
		t.Fatalf("port 80 request sent as %q", p)
	}
	s := spec(false, func(s *Spec) { s.URL = "http://127.0.0.1/"; s.AlsoHTTP = true })
	if errs := s.Validate(); len(errs) != 1 || errs[0].Field != "also_http" {
		t.Fatalf("also_http on http: %v", errs)
	}
}

func tlsConfigFor(cert tls.Certificate) *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{cert}}
}
