package server

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/mamori/mamori/internal/store/sqlstore"
)

func TestForwardHeader(t *testing.T) {
	key := forwardKey([]byte("0123456789abcdef0123456789abcdef"))
	now := time.Unix(1_800_000_000, 0)
	v := signForward(key, forwarded{addr: "192.0.2.7:51234"}, "POST", "/api/v1/agent/batch", now)
	if c, ok := verifyForward(key, v, "POST", "/api/v1/agent/batch", now.Add(59*time.Second)); !ok || c != (forwarded{addr: "192.0.2.7:51234"}) {
		t.Fatalf("valid header refused: %+v %v", c, ok)
	}
	withCert := signForward(key, forwarded{addr: "[2001:db8::1]:443", cert: true}, "GET", "/api/v1/agent/poll", now)
	if c, ok := verifyForward(key, withCert, "GET", "/api/v1/agent/poll", now.Add(-59*time.Second)); !ok || c != (forwarded{addr: "[2001:db8::1]:443", cert: true}) {
		t.Fatalf("valid header refused: %+v %v", c, ok)
	}
	other := forwardKey([]byte("another database's key, 32 bytes"))
	forged := strings.Replace(v, "192.0.2.7", "192.0.2.8", 1)
	certClaimed := strings.Replace(v, ";0;", ";1;", 1)
	for name, c := range map[string]struct {
		key          []byte
		v, method, p string
		at           time.Time
	}{
		"other key":    {other, v, "POST", "/api/v1/agent/batch", now},
		"address":      {key, forged, "POST", "/api/v1/agent/batch", now},
		"cert claimed": {key, certClaimed, "POST", "/api/v1/agent/batch", now},
		"path":         {key, v, "POST", "/api/v1/agent/hello", now},
		"method":       {key, v, "GET", "/api/v1/agent/batch", now},
		"stale":        {key, v, "POST", "/api/v1/agent/batch", now.Add(61 * time.Second)},
		"future":       {key, v, "POST", "/api/v1/agent/batch", now.Add(-61 * time.Second)},
		"malformed":    {key, "192.0.2.7:51234", "POST", "/api/v1/agent/batch", now},
		"not hex":      {key, "192.0.2.7:51234;1800000000;zz", "POST", "/api/v1/agent/batch", now},
		"bad address":  {key, signForward(key, forwarded{addr: "evil"}, "POST", "/x", now), "POST", "/x", now},
		"empty header": {key, "", "POST", "/api/v1/agent/batch", now},
	} {
		if got, ok := verifyForward(c.key, c.v, c.method, c.p, c.at); ok {
			t.Errorf("%s: accepted as %+v", name, got)
		}
	}
}

func TestLeaderOnly(t *testing.T) {
	for _, c := range []struct {
		method, path string
		want         bool
	}{
		{"POST", "/api/v1/agent/batch", true}, {"GET", "/api/v1/agent/poll", true}, {"POST", "/api/v1/push/abc", true},
		{"POST", "/api/v1/run/web/http", true}, {"POST", "/api/v1/recover/web/http", true},
		{"GET", "/api/v1/recover/web/http", false}, {"GET", "/api/v1/checks", false}, {"POST", "/api/v1/reload", false},
		{"GET", "/", false}, {"POST", "/api/v1/incidents/1/ack", false},
		{"POST", "/run/web/http", true}, {"GET", "/checks/web/http", false}, {"POST", "/incidents/1/ack", false},
	} {
		r := httptest.NewRequest(c.method, c.path, nil)
		if got := leaderOnly(r); got != c.want {
			t.Errorf("%s %s: %v, want %v", c.method, c.path, got, c.want)
		}
	}
}

// pair is a leader and a follower, each an HTTP server with a forwarder.
type pair struct {
	leader, follower *httptest.Server
	fwd              *forwarder
	addr             atomic.Pointer[sqlstore.LeaderAddr]
	release          chan struct{}
}

func newPair(t testing.TB) *pair {
	p := &pair{release: make(chan struct{})}
	secret := []byte("0123456789abcdef0123456789abcdef")
	log := slog.New(slog.DiscardHandler)
	lf, _ := newForwarder("", "", secret, func() bool { return true }, nil, log)
	p.leader = httptest.NewServer(lf.arrive(lf.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/agent/poll" { // a long poll: a first line, then wait
			io.WriteString(w, "waiting\n")
			http.NewResponseController(w).Flush()
			<-p.release
		}
		io.WriteString(w, "leader saw "+r.RemoteAddr+" xff="+r.Header.Get("X-Forwarded-For")+" host="+r.Host+"\n")
	}))))
	read := func(context.Context) (sqlstore.LeaderAddr, bool, error) {
		a := p.addr.Load()
		if a == nil {
			return sqlstore.LeaderAddr{}, false, nil
		}
		return *a, true, nil
	}
	p.fwd, _ = newForwarder("http://follower.invalid/", "", secret, func() bool { return false }, read, log)
	p.follower = httptest.NewServer(p.fwd.arrive(p.fwd.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "follower answered", http.StatusServiceUnavailable)
	}))))
	p.addr.Store(&sqlstore.LeaderAddr{URL: p.leader.URL + "/", Server: "leader-id"})
	t.Cleanup(func() { p.follower.Close(); p.leader.Close() })
	return p
}

// do sends a request and returns the answer and the client's own address.
func do(t *testing.T, method, url string, hdr http.Header) (int, string, string) {
	t.Helper()
	var local string
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil {
			local = c.LocalAddr().String()
		}
		return c, err
	}}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest(method, url, nil)
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), local
}

func TestFollowerForwards(t *testing.T) {
	p := newPair(t)
	code, body, local := do(t, "POST", p.follower.URL+"/api/v1/agent/batch", http.Header{"X-Forwarded-For": {"203.0.113.9"}})
	if code != 200 || body != "leader saw "+local+" xff= host="+strings.TrimPrefix(p.follower.URL, "http://")+"\n" {
		t.Fatalf("forwarded batch: %d %q (client %s)", code, body, local)
	}
	if code, body, _ := do(t, "GET", p.follower.URL+"/api/v1/checks", nil); code != 503 || !strings.Contains(body, "follower answered") {
		t.Errorf("a read was forwarded: %d %q", code, body)
	}
	if n := testutil.ToFloat64(p.fwd.count.WithLabelValues("forwarded")); n != 1 {
		t.Errorf("forwarded counted %v times", n)
	}
	// The leader trusts neither a plain X-Forwarded-For nor a forged header.
	code, body, local = do(t, "POST", p.leader.URL+"/api/v1/agent/batch",
		http.Header{"X-Forwarded-For": {"203.0.113.9"}, forwardHeader: {"203.0.113.9:1;1;00"}})
	if code != 200 || !strings.HasPrefix(body, "leader saw "+local+" ") {
		t.Errorf("forged address taken: %d %q (client %s)", code, body, local)
	}
}

func TestFollowerNeverLoops(t *testing.T) {
	p := newPair(t)
	// A request already forwarded (by anyone) is not forwarded again.
	if code, body, _ := do(t, "POST", p.follower.URL+"/api/v1/agent/batch", http.Header{forwardHeader: {"x"}}); code != 503 || !strings.Contains(body, "follower answered") {
		t.Errorf("a forwarded request went on: %d %q", code, body)
	}
	for _, self := range []sqlstore.LeaderAddr{{URL: p.leader.URL, Server: p.fwd.id}, {URL: "http://follower.invalid", Server: "x"}, {Server: "x"}} {
		p.addr.Store(&self)
		p.fwd.forget()
		if code, body, _ := do(t, "POST", p.follower.URL+"/api/v1/run/a", nil); code != 503 || !strings.Contains(body, "follower answered") {
			t.Errorf("record %+v: forwarded: %d %q", self, code, body)
		}
	}
	if n := testutil.ToFloat64(p.fwd.count.WithLabelValues("local")); n != 3 {
		t.Errorf("local counted %v times, want 3", n)
	}
}

func TestFollowerLeaderUnreachable(t *testing.T) {
	p := newPair(t)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + ln.Addr().String() + "/"
	ln.Close()
	p.addr.Store(&sqlstore.LeaderAddr{URL: dead, Server: "gone"})
	resp, err := http.Post(p.follower.URL+"/api/v1/agent/hello", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "1" || !strings.Contains(string(b), "could not be reached") {
		t.Fatalf("unreachable leader: %d %q %q", resp.StatusCode, resp.Header.Get("Retry-After"), b)
	}
	if n := testutil.ToFloat64(p.fwd.count.WithLabelValues("unreachable")); n != 1 {
		t.Errorf("unreachable counted %v times", n)
	}
}

func TestFollowerStreamsLongPoll(t *testing.T) {
	p := newPair(t)
	resp, err := http.Get(p.follower.URL + "/api/v1/agent/poll")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	first := make(chan string, 1)
	go func() { l, _ := br.ReadString('\n'); first <- l }()
	select {
	case l := <-first:
		if l != "waiting\n" {
			t.Fatalf("first line %q", l)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the leader's first bytes were held back by the follower")
	}
	close(p.release)
	if rest, _ := io.ReadAll(br); !strings.HasPrefix(string(rest), "leader saw 127.0.0.1:") {
		t.Fatalf("rest %q", rest)
	}
}

// BenchmarkForward: a small agent request straight to the leader and
// through a follower (loopback, keep-alive connections).
func BenchmarkForward(b *testing.B) {
	p := newPair(b)
	body := strings.Repeat("x", 512)
	for _, c := range []struct{ name, base string }{{"direct", p.leader.URL}, {"forwarded", p.follower.URL}} {
		b.Run(c.name, func(b *testing.B) {
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
			for b.Loop() {
				resp, err := client.Post(c.base+"/api/v1/agent/batch", "application/json", strings.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}
