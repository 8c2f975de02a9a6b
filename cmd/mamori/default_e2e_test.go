package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestDefaultConfigGreenOnFreshMachine (issue 14, defect 2): `mamori
// server` with no --config, on a random port in an empty directory, must
// reach OK on every check — the self-check follows --listen, nothing needs
// a daemon the machine may lack — and must say that no notification channel
// is configured.
func TestDefaultConfigGreenOnFreshMachine(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process")
	}
	dir := t.TempDir()
	port := freePort(t)
	cmd := exec.Command(os.Args[0], "server", "--listen", fmt.Sprintf("127.0.0.1:%d", port))
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "MAMORI_E2E_MAIN=1", "MAMORI_ADMIN_TOKEN="+token)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	var mu sync.Mutex
	var out strings.Builder
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			mu.Lock()
			out.WriteString(sc.Text() + "\n")
			mu.Unlock()
		}
	}()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		_ = pw.Close()
		if t.Failed() {
			mu.Lock()
			t.Logf("server output:\n%s", out.String())
			mu.Unlock()
		}
	})
	s := &server{t: t, base: fmt.Sprintf("http://127.0.0.1:%d", port)}
	deadline := time.Now().Add(15 * time.Second)
	for {
		if resp, err := s.httpClient().Get(s.base + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("server did not come up")
		}
		time.Sleep(50 * time.Millisecond)
	}
	var checks []apiCheck
	deadline = time.Now().Add(100 * time.Second) // interval 1m: every check runs once in it
	for {
		checks = nil
		if code := s.get("/api/v1/checks", &checks); code != 200 {
			t.Fatalf("GET /api/v1/checks: %d", code)
		}
		ok := len(checks) > 0
		for _, c := range checks {
			if c.State != "OK" {
				ok = false
			}
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not every check is OK on a fresh machine: %+v", checks)
		}
		time.Sleep(500 * time.Millisecond)
	}
	mu.Lock()
	log := out.String()
	mu.Unlock()
	if !strings.Contains(log, "no notification channel is configured") {
		t.Errorf("the server does not say that no notification channel is configured:\n%s", log)
	}
	if _, err := os.Stat(dir + "/data"); err != nil {
		t.Errorf("data dir not in the working directory: %v", err)
	}
}
