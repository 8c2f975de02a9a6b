package httpserve

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/acme/autocert"
)

func serve(t *testing.T, l Limits, h http.Handler) string {
	t.Helper()
	ln, err := l.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := l.Server(h)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

// The connection cap holds: never more open connections than MaxConns.
func TestConnectionCap(t *testing.T) {
	l := DefaultLimits(5)
	var open, peak atomic.Int32
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := open.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-release
		open.Add(-1)
	})
	base := serve(t, l, h)
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if resp, err := client.Get(base); err == nil {
				resp.Body.Close()
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	close(release)
	wg.Wait()
	if p := peak.Load(); p > 5 || p == 0 {
		t.Fatalf("peak of %d requests at once with a cap of 5 connections", p)
	}
}

// Bodies are bounded per route, in size and time; a handler that has read
// its body is not cut by the body deadline.
func TestBodyLimits(t *testing.T) {
	l := DefaultLimits(10)
	l.BodyTimeout = 500 * time.Millisecond
	l.RouteBody = map[string]int64{"/big": 1000}
	l.MaxBody = 10
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
			return
		}
		select { // work after the body: not cancelled by its deadline
		case <-time.After(time.Second):
		case <-r.Context().Done():
			http.Error(w, "cancelled", 500)
			return
		}
		fmt.Fprintf(w, "%d", len(b))
	})
	base := serve(t, l, h)
	post := func(path string, n int) (int, string) {
		resp, err := http.Post(base+path, "text/plain", strings.NewReader(strings.Repeat("x", n)))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := post("/small", 11); code != 413 || !strings.Contains(body, "limit of 10") {
		t.Errorf("11 bytes to /small: %d %s", code, body)
	}
	if code, body := post("/big", 500); code != 200 || body != "500" {
		t.Errorf("500 bytes to /big: %d %s", code, body)
	}
	// Chunked (no Content-Length) over the limit: cut while reading.
	pr, pw := io.Pipe()
	go func() { pw.Write([]byte(strings.Repeat("y", 50))); pw.Close() }()
	resp, err := http.Post(base+"/small", "text/plain", pr)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 {
		t.Errorf("chunked over the limit: %d", resp.StatusCode)
	}
	// A slow body is cut at the body timeout.
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc")
	start := time.Now()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	io.ReadAll(c)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("slow body held %s", d)
	}
}

// ACME is wired with the configured names and cache folder, and answers
// the TLS-ALPN challenge protocol.
func TestACMEWiring(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "acme")
	st, err := NewTLS(TLSOptions{ACMEDomains: []string{"mamori.example.org"}, ACMECacheDir: dir, ACMEEmail: "ops@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	m := st.ACME
	if m == nil || m.Email != "ops@example.org" {
		t.Fatalf("manager %+v", m)
	}
	if c, ok := m.Cache.(autocert.DirCache); !ok || string(c) != dir {
		t.Fatalf("cache %#v, want DirCache(%s)", m.Cache, dir)
	}
	ctx := context.Background()
	if err := m.HostPolicy(ctx, "mamori.example.org"); err != nil {
		t.Errorf("configured name refused: %v", err)
	}
	if err := m.HostPolicy(ctx, "other.example.org"); err == nil {
		t.Error("a name not configured is allowed (anyone could make the server ask for certificates)")
	}
	if !strings.Contains(strings.Join(st.Config.NextProtos, ","), "acme-tls/1") {
		t.Errorf("NextProtos %v lack acme-tls/1", st.Config.NextProtos)
	}
	if st.Config.MinVersion < tls.VersionTLS12 {
		t.Error("TLS below 1.2 allowed")
	}
	// A name not configured never reaches the CA.
	if _, err := st.Config.GetCertificate(&tls.ClientHelloInfo{ServerName: "other.example.org"}); err == nil {
		t.Error("certificate for a name not configured")
	}
}
