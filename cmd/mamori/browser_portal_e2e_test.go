package main

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserCustomerPortal drives the customer's side of the console in
// headless Chromium: a customer user fails to log in twice and then logs
// in, sees its incident with the comment meant for it and without the
// operators' internal comment, notification log or nag, and its login
// attempts under Settings. Screenshots: docs/screenshots/portal-incident.png
// and login-attempts.png.
func TestBrowserCustomerPortal(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process and a browser")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("MAMORI_INTEGRATION") == "1" {
			t.Fatalf("MAMORI_INTEGRATION=1 but %s is missing (%v)", chromiumPath, err)
		}
		t.Skipf("%s not installed (set MAMORI_INTEGRATION=1 to make this a failure)", chromiumPath)
	}
	hook := newHookReceiver(t)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "runbooks"), 0o755)
	os.WriteFile(filepath.Join(dir, "runbooks", "web-down.md"), []byte("---\ntitle: Web server on web01 is down\nchecks: [web01/http]\n---\n"+
		"# Web server down\n\n1. We look at the web server and restart it.\n2. You are told when it is back.\n"), 0o644)
	port := freePort(t)
	cfg := writeAlertConfig(t, dir, port, fmt.Sprintf(`runbooks_dir: runbooks
channels:
  - {name: ops, type: webhook, url: "%s/hook"}
hosts:
  - name: web01
    address: 127.0.0.1
    tenant: acme
    checks:
      - {name: http, type: tcp, port: %d, interval: 1s, attempts: 2, notify: [ops]}
`, hook.srv.URL, freePort(t)))
	s := startServer(t, cfg, port)
	const pw = "portal test password 2026"
	add := exec.Command(os.Args[0], "user", "add", "taro", "--role", "customer", "--tenant", "acme", "--lang", "en", "--password-stdin", "--config", cfg)
	add.Env, add.Stdin = append(os.Environ(), "MAMORI_E2E_MAIN=1"), strings.NewReader(pw+"\n")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("user add: %v %s", err, out)
	}
	if out, code := mamori(t, "user", "add", "hanako", "--role", "operator", "--config", cfg); code != 0 {
		t.Fatalf("operator add: %d %s", code, out)
	}
	tokCmd := exec.Command(os.Args[0], "token", "create", "hanako", "--config", cfg)
	tokCmd.Env = append(os.Environ(), "MAMORI_E2E_MAIN=1")
	tokOut, err := tokCmd.Output()
	opToken := strings.TrimSpace(string(tokOut))
	if err != nil || opToken == "" {
		t.Fatalf("token create: %v %q", err, tokOut)
	}
	in := s.waitIncident(20*time.Second, "for web01/http", func(in apiIncident) bool { return in.Check == "web01/http" })
	const internal = "INTERNAL: the hosting vendor's ticket 4711, do not share"
	const public = "We restarted the web server and are watching it."
	for _, body := range []string{
		fmt.Sprintf(`{"text":%q}`, internal),
		fmt.Sprintf(`{"text":%q,"visibility":"customer"}`, public),
	} {
		req, _ := http.NewRequest("POST", fmt.Sprintf("%s/api/v1/incidents/%d/comments", s.base, in.ID), strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+opToken)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("comment %s: %d", body, resp.StatusCode)
		}
	}

	b := startBrowser(t, s.base)
	login := func(password string) {
		b.do("the login form", chromedp.Navigate(s.base+"/login"), chromedp.WaitVisible(chromedp.ID("name")),
			chromedp.SendKeys(chromedp.ID("name"), "taro"), chromedp.SendKeys(chromedp.ID("password"), password),
			chromedp.Click(chromedp.CSS("#login-submit")))
	}
	for range 2 {
		login("not the password")
		b.do("the login error", chromedp.WaitVisible(chromedp.ID("login-error")))
	}
	login(pw)
	b.do("the overview", chromedp.WaitVisible(chromedp.ID("overview-body")))

	b.do("the incident", chromedp.Navigate(fmt.Sprintf("%s/incidents/%d", s.base, in.ID)), chromedp.WaitVisible(chromedp.ID("timeline")))
	page := b.text(chromedp.CSS("main"))
	for _, want := range []string{public, "We look at the web server"} {
		if !strings.Contains(page, want) {
			t.Errorf("the customer's incident lacks %q", want)
		}
	}
	for _, not := range []string{"INTERNAL", "notified", "Notification log", "no runbook"} {
		if strings.Contains(page, not) {
			t.Errorf("the customer's incident shows %q", not)
		}
	}
	if n := b.eval(`String(document.querySelectorAll("#notifications, a[href='/notifications']").length)`); n != "0" {
		t.Errorf("the notification log is offered to the customer (%s elements)", n)
	}
	b.shot("portal-incident")

	b.do("settings", chromedp.Navigate(s.base+"/settings"), chromedp.WaitVisible(chromedp.ID("login-attempts")))
	rows := b.eval(`Array.from(document.querySelectorAll("#login-attempts tbody tr")).map(r => r.className).join(",")`)
	if rows != "login-success,login-failure,login-failure" {
		t.Errorf("the customer's login attempts: %q", rows)
	}
	if n := b.eval(`String(document.querySelectorAll("#users, #login-attempts-all").length)`); n != "0" {
		t.Errorf("a customer sees the admin's lists")
	}
	b.shot("login-attempts")

	// The operator's view of the same incident (not kept in docs): every
	// comment with its visibility, the choice on the form, the log.
	b.submit("log out", chromedp.CSS(`form[action="/logout"] button`))
	b.do("log in as admin", chromedp.WaitVisible(chromedp.ID("name")),
		chromedp.SendKeys(chromedp.ID("name"), "admin"),
		chromedp.SendKeys(chromedp.ID("password"), readAdminPassword(t, filepath.Join(dir, "data", "initial-admin-password"))),
		chromedp.Click(chromedp.CSS("#login-submit")), chromedp.WaitVisible(chromedp.ID("overview-body")))
	b.do("the operator's incident", chromedp.Navigate(fmt.Sprintf("%s/incidents/%d", s.base, in.ID)), chromedp.WaitVisible(chromedp.ID("notifications")))
	if page := b.text(chromedp.CSS("main")); !strings.Contains(page, internal) || !strings.Contains(page, public) {
		t.Errorf("the operator does not see both comments")
	}
	if n := b.eval(`String(document.querySelectorAll("select[name=visibility]").length)`); n != "2" {
		t.Errorf("visibility choices on the operator's incident: %s, want 2 (acknowledge, comment)", n)
	}
	saved := screenshotDir
	screenshotDir = os.TempDir()
	b.shot("mamori-operator-incident")
	screenshotDir = saved
}
