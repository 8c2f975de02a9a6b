package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
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

	"github.com/mamori/mamori/internal/cli"
)

// The test binary doubles as the mamori binary: with MAMORI_E2E_MAIN=1 it
// runs the real command line, so these tests start real server processes
// (and can kill -9 them) without a separate build.
func TestMain(m *testing.M) {
	if os.Getenv("MAMORI_E2E_MAIN") == "1" {
		os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

const token = "e2e-operator-token"

type server struct {
	t      *testing.T
	cmd    *exec.Cmd
	base   string
	client *http.Client // nil: http.DefaultClient
	mu     sync.Mutex
	output strings.Builder
}

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// mamori runs the CLI in a subprocess and returns its combined output and exit code.
func mamori(t *testing.T, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "MAMORI_E2E_MAIN=1")
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return string(out), code
}

func startServer(t *testing.T, cfgPath string, port int) *server {
	t.Helper()
	return startServerAt(t, cfgPath, fmt.Sprintf("http://127.0.0.1:%d", port), nil)
}

// startServerAt starts a server reached at base with client (nil: the default).
func startServerAt(t *testing.T, cfgPath, base string, client *http.Client) *server {
	t.Helper()
	s := &server{t: t, base: base, client: client}
	s.cmd = exec.Command(os.Args[0], "server", "--config", cfgPath)
	s.cmd.Env = append(os.Environ(), "MAMORI_E2E_MAIN=1", "MAMORI_ADMIN_TOKEN="+token)
	pr, pw := io.Pipe()
	s.cmd.Stdout, s.cmd.Stderr = pw, pw
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			s.mu.Lock()
			s.output.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
		}
	}()
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			s.cmd.Process.Kill()
			s.cmd.Wait()
		}
		if t.Failed() {
			s.mu.Lock()
			t.Logf("server output:\n%s", s.output.String())
			s.mu.Unlock()
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := s.httpClient().Get(s.base + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return s
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("server did not come up")
	return nil
}

func (s *server) httpClient() *http.Client {
	if s.client != nil {
		return s.client
	}
	return http.DefaultClient
}

func (s *server) kill9() {
	s.cmd.Process.Signal(syscall.SIGKILL)
	s.cmd.Wait()
}

func (s *server) get(path string, v any) int {
	s.t.Helper()
	req, _ := http.NewRequest("GET", s.base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := s.httpClient().Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	if v != nil {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			s.t.Fatalf("GET %s: %v", path, err)
		}
	}
	return resp.StatusCode
}

type apiCheck struct {
	Name        string `json:"name"`
	State       string `json:"state"`
	StateType   string `json:"state_type"`
	Attempt     int    `json:"attempt"`
	LastCheck   string `json:"last_check"`
	Output      string `json:"output"`
	Unreachable bool   `json:"unreachable"`
}

type apiEvent struct {
	ID          int64  `json:"id"`
	Check       string `json:"check"`
	State       string `json:"state"`
	StateType   string `json:"state_type"`
	Hard        bool   `json:"hard"`
	Notify      bool   `json:"notify"`
	Recovery    bool   `json:"recovery"`
	Unreachable bool   `json:"unreachable"`
}

func (s *server) check(name string) apiCheck {
	var c apiCheck
	if code := s.get("/api/v1/checks/"+name+"?results=0&events=0", &c); code != 200 {
		s.t.Fatalf("GET check %s: %d", name, code)
	}
	return c
}

// waitFor polls until cond holds for the named check.
func (s *server) waitFor(name string, d time.Duration, what string, cond func(apiCheck) bool) apiCheck {
	s.t.Helper()
	deadline := time.Now().Add(d)
	var c apiCheck
	for time.Now().Before(deadline) {
		c = s.check(name)
		if cond(c) {
			return c
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Fatalf("%s: %s not reached within %s; last %+v", name, what, d, c)
	return c
}

// target is a TCP port the test opens and closes to drive a check.
type target struct {
	port int
	ln   net.Listener
}

func (tg *target) up(t *testing.T) {
	var err error
	for i := 0; i < 50; i++ {
		if tg.ln, err = net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", tg.port)); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	go func(ln net.Listener) {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}(tg.ln)
}

func (tg *target) down() { tg.ln.Close() }

func writeConfig(t *testing.T, path string, port, svcPort, parentPort int, svcInterval string) {
	t.Helper()
	cfg := fmt.Sprintf(`listen: 127.0.0.1:%d
data_dir: %s
defaults:
  interval: 1s
  attempts: 4
checks:
  - name: svc
    type: tcp
    host: 127.0.0.1
    port: %d
    interval: %s
  - name: gateway
    type: tcp
    host: 127.0.0.1
    port: %d
    attempts: 1
  - name: behind
    type: tcp
    host: 127.0.0.1
    port: %d
    attempts: 2
    depends_on: [gateway]
`, port, filepath.Join(filepath.Dir(path), "data"), svcPort, svcInterval, parentPort, parentPort)
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestServerSoftHardRestartDependencies(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "mamori.yaml")
	port := freePort(t)
	svc := &target{port: freePort(t)}
	gw := &target{port: freePort(t)}
	svc.up(t)
	gw.up(t)
	writeConfig(t, cfgPath, port, svc.port, gw.port, "1s")
	s := startServer(t, cfgPath, port)

	// An SSE client sees state changes as they are committed.
	sse := make(chan string, 100)
	go func() {
		req, _ := http.NewRequest("GET", s.base+"/api/v1/events/stream?check=svc", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return
		}
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "data: ") {
				sse <- strings.TrimPrefix(sc.Text(), "data: ")
			}
		}
	}()

	s.waitFor("svc", 5*time.Second, "OK", func(c apiCheck) bool { return c.State == "OK" && c.LastCheck != "" })

	// 1. Four consecutive failures: soft 1..3, then hard CRITICAL.
	svc.down()
	seen := map[int]bool{}
	c := s.waitFor("svc", 15*time.Second, "hard CRITICAL", func(c apiCheck) bool {
		if c.State == "CRITICAL" && c.StateType == "soft" {
			seen[c.Attempt] = true
		}
		return c.State == "CRITICAL" && c.StateType == "hard"
	})
	if c.Attempt != 4 || !strings.Contains(c.Output, "refused") {
		t.Fatalf("hard state: %+v", c)
	}
	if len(seen) < 2 {
		t.Errorf("soft attempts observed on the way: %v (want several of 1..3)", seen)
	}
	var evs []apiEvent
	s.get("/api/v1/events?check=svc&hard=1", &evs)
	if len(evs) != 1 || evs[0].State != "CRITICAL" || !evs[0].Notify {
		t.Fatalf("want exactly one notified hard CRITICAL event, got %+v", evs)
	}

	// 2. Recovery is a hard OK.
	svc.up(t)
	s.waitFor("svc", 10*time.Second, "hard OK", func(c apiCheck) bool { return c.State == "OK" && c.StateType == "hard" })
	s.get("/api/v1/events?check=svc&hard=1&order=asc", &evs)
	if len(evs) != 2 || !evs[1].Recovery {
		t.Fatalf("want the recovery event, got %+v", evs)
	}
	gotSSE := 0
	for len(sse) > 0 {
		var e apiEvent
		json.Unmarshal([]byte(<-sse), &e)
		if e.Check == "svc" {
			gotSSE++
		}
	}
	if gotSSE < 3 { // soft CRITICAL, hard CRITICAL, recovery
		t.Errorf("SSE delivered %d svc events, want at least 3", gotSSE)
	}

	// 3. A child under a hard-down parent is not alerted separately.
	gw.down()
	s.waitFor("gateway", 10*time.Second, "hard CRITICAL", func(c apiCheck) bool { return c.State == "CRITICAL" && c.StateType == "hard" })
	child := s.waitFor("behind", 10*time.Second, "hard CRITICAL", func(c apiCheck) bool { return c.State == "CRITICAL" && c.StateType == "hard" })
	if !child.Unreachable {
		t.Errorf("child not marked unreachable: %+v", child)
	}
	s.get("/api/v1/events?check=behind&check=gateway&hard=1", &evs)
	notified := map[string]int{}
	for _, e := range evs {
		if e.Notify {
			notified[e.Check]++
		}
	}
	if notified["gateway"] != 1 || notified["behind"] != 0 {
		t.Fatalf("notifications: %v (want the parent once, the child never); events %+v", notified, evs)
	}

	// 4. kill -9 in the middle of a soft problem: state and attempt survive.
	svc.down()
	soft := s.waitFor("svc", 10*time.Second, "soft attempt 2", func(c apiCheck) bool { return c.StateType == "soft" && c.Attempt == 2 })
	s.kill9()
	// Restart with a long interval so that nothing runs before we look.
	writeConfig(t, cfgPath, port, svc.port, gw.port, "1h")
	s = startServer(t, cfgPath, port)
	after := s.check("svc")
	if after.State != soft.State || after.StateType != "soft" || after.Attempt != 2 || after.LastCheck != soft.LastCheck {
		t.Fatalf("after kill -9 and restart: %+v, before: %+v", after, soft)
	}
	if gwc := s.check("gateway"); gwc.State != "CRITICAL" || gwc.StateType != "hard" {
		t.Fatalf("hard CRITICAL lost across restart: %+v", gwc)
	}
}

func TestReloadKeepsStateAndRefusesBadConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "mamori.yaml")
	port := freePort(t)
	svc := &target{port: freePort(t)}
	gw := &target{port: freePort(t)}
	gw.up(t)
	writeConfig(t, cfgPath, port, svc.port, gw.port, "1s")
	s := startServer(t, cfgPath, port)
	before := s.waitFor("svc", 10*time.Second, "soft attempt 2", func(c apiCheck) bool { return c.Attempt >= 2 && c.State == "CRITICAL" })

	post := func() (int, map[string]any) {
		req, _ := http.NewRequest("POST", s.base+"/api/v1/reload", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	// A broken config is refused with its errors; the old one keeps running.
	good, _ := os.ReadFile(cfgPath)
	os.WriteFile(cfgPath, append(good, []byte("  - name: extra\n    type: tcp\n    port: nope\n")...), 0o644)
	code, body := post()
	if code != http.StatusUnprocessableEntity || !strings.Contains(fmt.Sprint(body["details"]), "port") {
		t.Fatalf("bad reload: %d %v", code, body)
	}
	if s.check("svc").Attempt < before.Attempt {
		t.Fatal("state lost on a refused reload")
	}
	// A good config with a new check: added, and svc keeps its state.
	os.WriteFile(cfgPath, append(good, []byte("  - name: extra\n    type: tcp\n    host: 127.0.0.1\n    port: "+fmt.Sprint(gw.port)+"\n")...), 0o644)
	if code, body := post(); code != 200 {
		t.Fatalf("good reload: %d %v", code, body)
	}
	if c := s.check("svc"); c.State != "CRITICAL" || c.Attempt < before.Attempt {
		t.Fatalf("state lost on reload: %+v (before %+v)", c, before)
	}
	s.waitFor("extra", 5*time.Second, "OK", func(c apiCheck) bool { return c.State == "OK" })
	// SIGHUP works the same way.
	os.WriteFile(cfgPath, good, 0o644)
	s.cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && s.get("/api/v1/checks/extra", nil) != 404 {
		time.Sleep(50 * time.Millisecond)
	}
	if code := s.get("/api/v1/checks/extra", nil); code != 404 {
		t.Fatalf("SIGHUP reload did not remove the check: %d", code)
	}
}

func TestAPIAuthAndErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "mamori.yaml")
	port := freePort(t)
	writeConfig(t, cfgPath, port, freePort(t), freePort(t), "1s")
	extra := `api_tokens:
  - name: grafana
    token: viewer-token-0123456789
    role: viewer
    tenant: acme
  - name: acme
    token: acme-token-0123456789
    role: viewer
    tenant: acme
`
	b, _ := os.ReadFile(cfgPath)
	os.WriteFile(cfgPath, append(b, []byte(extra)...), 0o644)
	s := startServer(t, cfgPath, port)
	do := func(method, path, tok string) (int, string) {
		req, _ := http.NewRequest(method, s.base+path, nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if ct := resp.Header.Get("Content-Type"); path != "/metrics" && !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%s %s: content type %q", method, path, ct)
		}
		return resp.StatusCode, string(body)
	}
	tests := []struct {
		method, path, tok string
		code              int
		body              string
	}{
		{"GET", "/healthz", "", 200, `"ok"`},
		{"GET", "/api/v1/checks", "", 401, "authentication required"},
		{"GET", "/api/v1/checks", "wrong", 401, "invalid token"},
		{"GET", "/api/v1/checks", token, 200, `"name":"svc"`},
		{"GET", "/api/v1/checks", "viewer-token-0123456789", 200, "[]"}, // a viewer sees its tenant only
		{"POST", "/api/v1/reload", "viewer-token-0123456789", 403, "operator"},
		{"GET", "/api/v1/checks/nope", token, 404, "no check"},
		{"GET", "/api/v1/checks/svc", "acme-token-0123456789", 404, "no check"}, // other tenant's check
		{"GET", "/api/v1/checks", "acme-token-0123456789", 200, "[]"},
		{"GET", "/api/v1/events?since=yesterday", token, 400, "RFC 3339"},
		{"GET", "/api/v1/checks?state=PURPLE", token, 400, "unknown status"},
		{"GET", "/api/v1/nope", token, 404, "no such API route"},
	}
	for _, tt := range tests {
		code, body := do(tt.method, tt.path, tt.tok)
		if code != tt.code || !strings.Contains(body, tt.body) {
			t.Errorf("%s %s (token %q): %d %s; want %d containing %q", tt.method, tt.path, tt.tok, code, strings.TrimSpace(body), tt.code, tt.body)
		}
	}
	s.waitFor("svc", 5*time.Second, "a first run", func(c apiCheck) bool { return c.LastCheck != "" })
	code, metrics := do("GET", "/metrics", "")
	for _, m := range []string{"mamori_checks_run_total", "mamori_check_duration_seconds", "mamori_scheduler_lag_seconds", "mamori_checks{state=\"OK\"", "mamori_scheduler_jobs 3"} {
		if code != 200 || !strings.Contains(metrics, m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
}

func TestValidateReportsEveryError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.yaml")
	os.WriteFile(path, []byte(`listen: 127.0.0.1:1
checks:
  - name: web
    type: http
    url: http://127.0.0.1/
    interval: often
  - name: db
    type: postgres
    critical: 3 seconds
    depends_on: [nothing]
  - name: dns
    type: dnss
hosts:
  - name: h1
    checks:
      - name: ssh
        type: ssh
        prot: 22
`), 0o644)
	out, code := mamori(t, "validate", "--config", path)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	for _, want := range []string{
		path + ":6:15: checks[0].interval",
		path + ":9:15: checks[1].critical",
		path + ":10:18: checks[1].depends_on[0]: unknown check \"nothing\"",
		path + ":12:11: checks[2].type: unknown check type \"dnss\"",
		path + ":18:9: hosts[0].checks[0].prot: unknown field",
		"problems found",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("validate output lacks %q:\n%s", want, out)
		}
	}
	out, code = mamori(t, "validate")
	if code != 0 || !strings.Contains(out, "OK") {
		t.Fatalf("embedded default config invalid (%d):\n%s", code, out)
	}
}

func TestCheckCommandIsANagiosPlugin(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	port := fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	out, code := mamori(t, "check", "tcp", "--host", "127.0.0.1", "--port", port)
	if code != 0 || !strings.HasPrefix(out, "TCP OK - ") || !strings.Contains(out, "| time=") {
		t.Fatalf("OK: exit %d %q", code, out)
	}
	ln.Close()
	out, code = mamori(t, "check", "tcp", "--host", "127.0.0.1", "--port", port)
	if code != 2 || !strings.HasPrefix(out, "TCP CRITICAL - ") {
		t.Fatalf("closed port: exit %d %q", code, out)
	}
	out, code = mamori(t, "check", "tcp", "--port", "x")
	if code != 3 || !strings.Contains(out, "UNKNOWN") {
		t.Fatalf("bad flag: exit %d %q", code, out)
	}
	out, code = mamori(t, "check", "nosuch")
	if code != 3 || !strings.Contains(out, "unknown check type") {
		t.Fatalf("unknown type: exit %d %q", code, out)
	}
	out, code = mamori(t, "check", "http", "--help")
	if code != 0 || !strings.Contains(out, "--expect-status") || !strings.Contains(out, "--timeout") {
		t.Fatalf("help: exit %d %q", code, out)
	}
}

func TestUserAndTokenCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	dir := t.TempDir()
	port := freePort(t)
	cfgPath := filepath.Join(dir, "mamori.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`listen: 127.0.0.1:%d
data_dir: %s
hosts:
  - name: a1
    address: 127.0.0.1
    tenant: acme
    checks: [{name: svc, type: tcp, port: 1}]
  - name: o1
    address: 127.0.0.1
    tenant: other
    checks: [{name: svc, type: tcp, port: 1}]
`, port, filepath.Join(dir, "data"))), 0o644)
	s := startServer(t, cfgPath, port)
	out, code := mamori(t, "user", "add", "bob", "--role", "viewer", "--tenant", "acme", "--config", cfgPath)
	if code != 0 || !strings.Contains(out, "bob") {
		t.Fatalf("user add: %d %s", code, out)
	}
	if out, code := mamori(t, "user", "add", "eve", "--role", "customer", "--config", cfgPath); code == 0 || !strings.Contains(out, "tenant") {
		t.Fatalf("a customer without a tenant was accepted: %d %s", code, out)
	}
	cmd := exec.Command(os.Args[0], "token", "create", "bob", "--config", cfgPath)
	cmd.Env = append(os.Environ(), "MAMORI_E2E_MAIN=1")
	stdout, err := cmd.Output()
	tok := strings.TrimSpace(string(stdout))
	if err != nil || !strings.HasPrefix(tok, "mamori_") {
		t.Fatalf("token create: %v %q", err, stdout)
	}
	req, _ := http.NewRequest("GET", s.base+"/api/v1/checks", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var checks []apiCheck
	json.NewDecoder(resp.Body).Decode(&checks)
	resp.Body.Close()
	if resp.StatusCode != 200 || len(checks) != 1 || checks[0].Name != "a1/svc" {
		t.Fatalf("viewer of acme sees %d %+v", resp.StatusCode, checks)
	}
	req, _ = http.NewRequest("POST", s.base+"/api/v1/reload", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, _ = http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("viewer reload: %d, want 403", resp.StatusCode)
	}
	req, _ = http.NewRequest("GET", s.base+"/api/v1/checks/o1/svc", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, _ = http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("other tenant's check: %d, want 404", resp.StatusCode)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "initial-admin-password")); err != nil {
		t.Errorf("first start did not leave the admin's password file: %v", err)
	}
}
