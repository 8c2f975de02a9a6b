package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/store/postgres/pgtest"
	"github.com/mamori/mamori/internal/wire"
)

const fwdAgentToken = "web01-forwarded-agent-token-0123"

// forwardServers starts n servers with advertise_url on one fresh
// database: the first leads, the others follow. web01 has an agent check;
// up is a tcp check run every hour (a run-now shows in its last check).
func forwardServers(t *testing.T, up *target, n int) (servers []*server, dataDirs []string) {
	dsn := pgtest.DSN(t)
	start := func(name string) *server {
		dir := t.TempDir()
		dataDirs = append(dataDirs, filepath.Join(dir, "data"))
		port := freePort(t)
		cfg := writeFile(t, filepath.Join(dir, "mamori.yaml"), fmt.Sprintf(`listen: 127.0.0.1:%d
advertise_url: http://127.0.0.1:%d/
data_dir: %s
database: %s
hosts:
  - name: web01
    address: 127.0.0.1
    agent_token: %s
    checks:
      - {name: disk, type: disk, mounts: [/], interval: 1h}
checks:
  - {name: up, type: tcp, host: 127.0.0.1, port: %d, timeout: 1s, interval: 1h}
`, port, port, filepath.Join(dir, "data"), dsn, fwdAgentToken, up.port))
		s := startServer(t, cfg, port)
		t.Logf("server %s on port %d", name, port)
		return s
	}
	a := start("a")
	waitUntil(t, "server a leads", 20*time.Second, func() bool { return a.status().Leader })
	servers = []*server{a}
	for i := 1; i < n; i++ {
		servers = append(servers, start(string(rune('a'+i))))
	}
	return servers, dataDirs
}

// agentCall speaks the agent API with web01's token from a connection of
// its own; it returns the status, the body and the client's address.
func agentCall(t *testing.T, method, url string, body any) (int, []byte, string) {
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
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Authorization", "Bearer "+fwdAgentToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Transport: tr, Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b, local
}

// TestFollowerForwardsToLeader: an agent talking to the follower says
// hello (the leader logs the agent's own address), long-polls and sends a
// batch the leader stores; a run-now sent to the follower runs on the
// leader.
func TestFollowerForwardsToLeader(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	up := &target{port: freePort(t)}
	up.up(t)
	servers, dataDirs := forwardServers(t, up, 2)
	a, b := servers[0], servers[1]
	if st := b.status(); st.Leader {
		t.Fatalf("b leads: %+v", st)
	}
	hello := wire.Hello{Version: wire.Version, Agent: "e2e", OS: "linux", Arch: "amd64", Hostname: "web01"}
	code, body, local := agentCall(t, "POST", b.base+"/api/v1/agent/hello", hello)
	if code != 200 {
		t.Fatalf("hello through the follower: %d %s", code, body)
	}
	// The leader's log reaches the test through its stderr pipe, which
	// may trail the response: wait for the line rather than read once.
	waitUntil(t, "the leader to log the agent's own address "+local, 10*time.Second, func() bool {
		return strings.Contains(a.logs(), "remote="+local)
	})
	if code, body, _ := agentCall(t, "GET", b.base+"/api/v1/agent/poll?wait=1s", nil); code != 204 {
		t.Errorf("long poll through the follower: %d %s", code, body)
	}
	now := time.Now()
	batch := wire.Batch{Seq: 1, Sent: now.UnixMilli(), Results: []wire.Result{{Check: "disk", Status: 2, Output: "forwarded through b", Time: now.UnixMilli(), Duration: 0.01}}}
	if code, body, _ := agentCall(t, "POST", b.base+"/api/v1/agent/batch", batch); code != 200 {
		t.Fatalf("batch through the follower: %d %s", code, body)
	}
	a.waitFor("web01/disk", 10*time.Second, "the forwarded result on the leader", func(c apiCheck) bool {
		return strings.Contains(c.Output, "forwarded through b")
	})
	before := a.waitFor("up", 10*time.Second, "the first run of up", func(c apiCheck) bool { return c.LastCheck != "" }).LastCheck
	if code, body := b.post("/api/v1/run/up", ""); code != 202 {
		t.Fatalf("run-now through the follower: %d %s, want 202", code, body)
	}
	before = a.waitFor("up", 10*time.Second, "a run of up on the leader", func(c apiCheck) bool { return c.LastCheck != before }).LastCheck
	// The console's "run now" on the follower, too (session and CSRF token
	// are the database's: the leader accepts them).
	console := consoleLogin(t, b.base, readAdminPassword(t, filepath.Join(dataDirs[0], "initial-admin-password")))
	form := url.Values{"csrf_token": {formCSRF(t, console, b.base+"/checks/up")}}
	resp, err := console.PostForm(b.base+"/run/up", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != 303 || !strings.Contains(loc, "m=scheduled") {
		t.Fatalf("console run-now through the follower: %d %s", resp.StatusCode, loc)
	}
	a.waitFor("up", 10*time.Second, "the console's run of up on the leader", func(c apiCheck) bool { return c.LastCheck != before })
}

var csrfField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// formCSRF reads the CSRF token of the first form of a console page.
func formCSRF(t *testing.T, c *http.Client, page string) string {
	t.Helper()
	resp, err := c.Get(page)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := csrfField.FindSubmatch(b)
	if resp.StatusCode != 200 || m == nil {
		t.Fatalf("GET %s: %d, no CSRF token", page, resp.StatusCode)
	}
	return html.UnescapeString(string(m[1]))
}

// consoleLogin logs the first admin in on the console at base; the client
// keeps the session cookie and does not follow redirects.
func consoleLogin(t *testing.T, base, password string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 20 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	form := url.Values{"name": {"admin"}, "password": {password}, "next": {"/"}, "csrf_token": {formCSRF(t, c, base+"/login")}}
	resp, err := c.PostForm(base+"/login", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 303 {
		t.Fatalf("console login: %d", resp.StatusCode)
	}
	return c
}

// TestForwardingAcrossTakeover: three servers; kill -9 of the leader. An
// agent sending a batch every 200 ms to each of the two others is refused
// (503) until the new leader leads and has recorded its address; the
// figure is how long each server refused after the kill.
func TestForwardingAcrossTakeover(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	up := &target{port: freePort(t)}
	up.up(t)
	servers, _ := forwardServers(t, up, 3)
	seq := uint64(0)
	send := func(s *server) int {
		seq++
		now := time.Now()
		b := wire.Batch{Seq: seq, Sent: now.UnixMilli(), Results: []wire.Result{{Check: "disk", Status: 0, Output: fmt.Sprintf("batch %d", seq), Time: now.UnixMilli(), Duration: 0.01}}}
		code, _, _ := agentCall(t, "POST", s.base+"/api/v1/agent/batch", b)
		return code
	}
	for _, s := range servers[1:] {
		if code := send(s); code != 200 {
			t.Fatalf("batch through %s before the kill: %d", s.base, code)
		}
	}
	servers[0].kill9()
	killed := time.Now()
	back := map[*server]time.Duration{}
	for len(back) < 2 && time.Since(killed) < 30*time.Second {
		for _, s := range servers[1:] {
			if _, ok := back[s]; !ok && send(s) == 200 {
				back[s] = time.Since(killed)
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, s := range servers[1:] {
		d, ok := back[s]
		if !ok {
			t.Fatalf("%s refused batches for 30 s after the kill", s.base)
		}
		t.Logf("%s (%s): batches accepted again %s after the kill", s.base, s.status().Role, d.Round(10*time.Millisecond))
	}
	last := fmt.Sprintf("batch %d", seq)
	for _, s := range servers[1:] {
		if s.status().Leader {
			s.waitFor("web01/disk", 10*time.Second, "the last batch on the new leader", func(c apiCheck) bool { return strings.Contains(c.Output, last) })
		}
	}
}
