package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestTailBuffer(t *testing.T) {
	tb := &tailBuffer{max: 8}
	tb.Write([]byte("hello "))
	tb.Write([]byte("world"))
	if got := tb.String(); got != "lo world" {
		t.Fatalf("%q", got)
	}
	tb.Write([]byte(strings.Repeat("x", 20) + "é"))
	if got := tb.String(); got != "xxxxxxé" {
		t.Fatalf("%q", got)
	}
	tb.Write([]byte("ab")) // cuts into é: the broken start is dropped
	if got := tb.String(); !strings.HasSuffix(got, "éab") || !strings.HasPrefix(got, "x") {
		t.Fatalf("%q", got)
	}
}

func TestRunReport(t *testing.T) {
	r := jobResult{code: 2, duration: 3200 * time.Millisecond, tail: "line 1\nlast line\n\n"}
	rep := r.report(nil)
	if rep.Status != "CRITICAL" || rep.Output != "exit code 2 after 3.2 s: last line" || rep.ExitCode != 2 || rep.Long != r.tail {
		t.Fatalf("%+v", rep)
	}
	if rep := r.report(map[int]bool{2: true}); rep.Status != "WARNING" {
		t.Fatalf("%+v", rep)
	}
	if rep := (jobResult{duration: time.Second}).report(nil); rep.Status != "OK" || rep.Output != "exit code 0 after 1.0 s" {
		t.Fatalf("%+v", rep)
	}
	if rep := (jobResult{code: 143, signal: "terminated"}).report(nil); rep.Output != "exit code 143 (killed by signal: terminated) after 0.0 s" {
		t.Fatalf("%+v", rep)
	}
}

func TestPushTarget(t *testing.T) {
	t.Setenv("MAMORI_PUSH_URL", "")
	if u, err := pushTarget("", "", "http://mamori:8484/", "tok en", ""); err != nil || u != "http://mamori:8484/api/v1/push/tok%20en" {
		t.Fatalf("%q %v", u, err)
	}
	for _, bad := range [][]string{
		{"", "", "", "", ""},
		{"", "ftp://x/api/v1/push/t", "", "", ""},
		{"", "http://x/elsewhere", "", "", ""},
		{"", "http://x/api/v1/push/t", "http://x", "t", ""},
		{"", "", "mamori:8484", "t", ""},
		{"", "", "", "", "/nonexistent.yaml"},
	} {
		if _, err := pushTarget(bad[0], bad[1], bad[2], bad[3], bad[4]); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	t.Setenv("MAMORI_PUSH_URL", "https://m.example/api/v1/push/abc")
	if u, err := pushTarget("", "", "", "", ""); err != nil || u != "https://m.example/api/v1/push/abc" {
		t.Fatalf("env: %q %v", u, err)
	}
	if got := redactPushURL("https://m.example/api/v1/push/secret"); got != "https://m.example/api/v1/push/***" {
		t.Fatalf("redact %q", got)
	}
}

// pushRecorder is a push endpoint that fails the first `fail` reports.
type pushRecorder struct {
	mu     sync.Mutex
	fail   int
	code   int
	bodies []map[string]any
}

func (p *pushRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fail > 0 {
		p.fail--
		http.Error(w, `{"error":"busy"}`, p.code)
		return
	}
	var m map[string]any
	b, _ := io.ReadAll(r.Body)
	json.Unmarshal(b, &m)
	p.bodies = append(p.bodies, m)
	w.WriteHeader(http.StatusAccepted)
}

func TestCmdRun(t *testing.T) {
	rec := &pushRecorder{fail: 1, code: 503}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	var out, errb bytes.Buffer
	code := cmdRun([]string{"--job", "backup", "--url", srv.URL + "/api/v1/push/tok", "--",
		"sh", "-c", `echo copying; sleep 0.2; echo "disk full" >&2; exit 3`}, &out, &errb)
	if code != 3 {
		t.Fatalf("exit %d; stderr %s", code, errb.String())
	}
	if out.String() != "copying\n" || !strings.Contains(errb.String(), "disk full") || !strings.Contains(errb.String(), "retrying") {
		t.Fatalf("stdout %q stderr %q", out.String(), errb.String())
	}
	if len(rec.bodies) != 1 {
		t.Fatalf("%d reports", len(rec.bodies))
	}
	b := rec.bodies[0]
	if b["status"] != "CRITICAL" || b["exit_code"] != float64(3) || !regexp.MustCompile(`^exit code 3 after \d+\.\d s: disk full$`).MatchString(b["output"].(string)) ||
		b["long_output"] != "copying\ndisk full\n" {
		t.Fatalf("report %v", b)
	}
	// A refused report is not retried; the job's exit code stays.
	rec.fail, rec.code = 5, 404
	errb.Reset()
	if code := cmdRun([]string{"--url", srv.URL + "/api/v1/push/tok", "--", "true"}, io.Discard, &errb); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if rec.fail != 4 || !strings.Contains(errb.String(), "could not report") || strings.Contains(errb.String(), "/push/tok") {
		t.Fatalf("fail %d stderr %q", rec.fail, errb.String())
	}
	// A command that does not exist: 127, reported CRITICAL.
	rec.fail = 0
	if code := cmdRun([]string{"--url", srv.URL + "/api/v1/push/tok", "--", "/nonexistent/job"}, io.Discard, io.Discard); code != 127 {
		t.Fatalf("exit %d", code)
	}
	if last := rec.bodies[len(rec.bodies)-1]; last["status"] != "CRITICAL" || !strings.Contains(last["output"].(string), "could not start") {
		t.Fatalf("report %v", last)
	}
	// Usage errors run nothing.
	if code := cmdRun([]string{"--url", srv.URL + "/api/v1/push/tok", "--warning-exit", "x", "--", "true"}, io.Discard, io.Discard); code != 2 {
		t.Fatalf("bad --warning-exit: %d", code)
	}
	if code := cmdRun([]string{"--url", srv.URL + "/api/v1/push/tok"}, io.Discard, io.Discard); code != 2 {
		t.Fatalf("no command: %d", code)
	}
}

func TestCmdHost(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "m.yaml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf(`listen: 127.0.0.1:8484
data_dir: %s
hosts:
  - name: web1
    tenant: acme
    agent: true
  - name: db1
`, filepath.Join(dir, "data"))), 0o644)
	run := func(args ...string) (int, string) {
		var out bytes.Buffer
		code := cmdHost(args, &out, &out)
		return code, out.String()
	}
	if code, out := run("add", "nosuch", "--config", cfgPath); code != 1 || !strings.Contains(out, `host "nosuch" is not in`) || !strings.Contains(out, "known: web1, db1") {
		t.Fatalf("%d %s", code, out)
	}
	if code, out := run("add", "web1", "--tenant", "other", "--config", cfgPath); code != 1 || !strings.Contains(out, `tenant "acme"`) {
		t.Fatalf("%d %s", code, out)
	}
	code, out := run("add", "web1", "--tenant", "acme", "--config", cfgPath)
	m := regexp.MustCompile(`mamori agent --server http://127\.0\.0\.1:8484 --token ([A-Za-z0-9_-]{43})\n`).FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("%d %s", code, out)
	}
	if code, out := run("add", "web1", "--config", cfgPath); code != 1 || !strings.Contains(out, "already has") {
		t.Fatalf("%d %s", code, out)
	}
	if code, out := run("add", "--config", cfgPath, "web1", "--rotate"); code != 0 || strings.Contains(out, m[1]) {
		t.Fatalf("rotate: %d %s", code, out)
	}
	if code, out := run("list", "--config", cfgPath); code != 0 || !strings.Contains(out, "web1") || !strings.Contains(out, "enrolled") || !strings.Contains(out, "never") {
		t.Fatalf("list: %d %s", code, out)
	}
	if code, out := run("revoke", "web1", "--config", cfgPath); code != 0 {
		t.Fatalf("revoke: %d %s", code, out)
	}
	if code, out := run("revoke", "web1", "--config", cfgPath); code != 1 || !strings.Contains(out, "no enrolled") {
		t.Fatalf("revoke again: %d %s", code, out)
	}
	if code, _ := run("add", "web1"); code != 2 {
		t.Fatalf("no config: %d", code)
	}
	if code, _ := run("frobnicate"); code != 2 {
		t.Fatalf("bad sub: %d", code)
	}
	// The database never holds the token itself.
	db, _ := os.ReadFile(filepath.Join(dir, "data", "mamori.db"))
	if bytes.Contains(db, []byte(m[1])) {
		t.Fatal("token stored in clear")
	}
}
