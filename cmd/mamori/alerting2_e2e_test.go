package main

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check/checktest"
)

// fakeTwilio accepts Calls API requests and remembers each call's TwiML.
type fakeTwilio struct {
	srv   *httptest.Server
	mu    sync.Mutex
	calls []url.Values
}

func newFakeTwilio(t *testing.T) *fakeTwilio {
	f := &fakeTwilio{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if r.Method != "POST" || !strings.HasSuffix(r.URL.Path, "/Calls.json") || !ok || user != twilioSID || pass != "tok" {
			t.Errorf("twilio: unexpected request %s %s", r.Method, r.URL.Path)
			http.Error(w, "bad", 400)
			return
		}
		r.ParseForm()
		f.mu.Lock()
		f.calls = append(f.calls, r.PostForm)
		f.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		fmt.Fprintf(w, `{"sid": "CA%032d", "status": "queued"}`, len(f.calls))
	}))
	t.Cleanup(f.srv.Close)
	return f
}

const twilioSID = "AC0123456789abcdef0123456789abcdef"

func (f *fakeTwilio) waitCall(t *testing.T, d time.Duration) url.Values {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		f.mu.Lock()
		if len(f.calls) > 0 {
			c := f.calls[0]
			f.mu.Unlock()
			return c
		}
		f.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("no call placed")
	return nil
}

// twilioSign computes X-Twilio-Signature as Twilio documents it.
func twilioSign(token, fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString(fullURL)
	for _, k := range keys {
		for _, v := range form[k] {
			b.WriteString(k + v)
		}
	}
	m := hmac.New(sha1.New, []byte(token))
	m.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestAlertMaintenanceThenPhoneKeypressAck(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	hook := newHookReceiver(t)
	tw := newFakeTwilio(t)
	x := &target{port: freePort(t)}
	x.up(t)
	port := freePort(t)
	dir := t.TempDir()
	cfg := writeAlertConfig(t, dir, port, fmt.Sprintf(`public_url: http://127.0.0.1:%d
channels:
  - {name: hook, type: webhook, url: "%s/hook"}
  - {name: phone, type: twilio, account_sid: %s, auth_token: tok, from: "+15005550006", base_url: "%s"}
contacts:
  - {name: taro, phone: "+81312345678", lang: ja}
escalations:
  - name: oncall
    levels:
      - {after: 0s, notify: [hook, {channel: phone, contact: taro}]}
checks:
  - {name: x, type: tcp, host: 127.0.0.1, port: %d, attempts: 2, notify: [oncall]}
`, port, hook.srv.URL, twilioSID, tw.srv.URL, x.port))
	s := startServer(t, cfg, port)
	s.waitFor("x", 5*time.Second, "a first run", func(c apiCheck) bool { return c.LastCheck != "" })

	// A window for x, added with the CLI while the server runs.
	out, code := mamori(t, "maintenance", "add", "--config", cfg, "--check", "x", "--duration", "6s", "--reason", "deploy")
	if code != 0 {
		t.Fatalf("maintenance add: %d %s", code, out)
	}
	var wins []map[string]any
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		s.get("/api/v1/maintenances", &wins)
		if len(wins) == 1 && wins[0]["active"] == true {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(wins) != 1 || wins[0]["active"] != true || wins[0]["reason"] != "deploy" {
		t.Fatalf("maintenance windows: %v", wins)
	}
	x.down()
	s.waitFor("x", 10*time.Second, "hard CRITICAL", func(c apiCheck) bool { return c.StateType == "hard" && c.State == "CRITICAL" })
	time.Sleep(time.Second)
	if n := len(hook.messages()); n != 0 || len(s.incidents("")) != 0 {
		t.Fatalf("alerted during maintenance: %d messages, incidents %+v", n, s.incidents(""))
	}

	// The window ends with the problem still there: alerted then.
	in := s.waitIncident(20*time.Second, "after the window", func(in apiIncident) bool { return in.Check == "x" })
	hook.waitCount(t, 1, 10*time.Second)
	call := tw.waitCall(t, 10*time.Second)
	if call.Get("To") != "+81312345678" || call.Get("From") != "+15005550006" || !strings.Contains(call.Get("Twiml"), `<Say language="ja-JP">`) {
		t.Fatalf("call: %v", call)
	}
	m := regexp.MustCompile(`<Gather[^>]*action="([^"]+)"`).FindStringSubmatch(call.Get("Twiml"))
	if m == nil {
		t.Fatalf("no <Gather action> in %s", call.Get("Twiml"))
	}
	gather := strings.ReplaceAll(m[1], "&amp;", "&")

	// Twilio posts the keypress; a forged signature is refused.
	form := url.Values{"Digits": {"1"}, "CallSid": {"CA00000000000000000000000000000001"}, "AccountSid": {twilioSID}}
	post := func(sig string) int {
		req, _ := http.NewRequest("POST", gather, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := post(twilioSign("wrong-token", gather, form)); code != http.StatusForbidden {
		t.Fatalf("forged Twilio callback: %d, want 403", code)
	}
	if code := post(twilioSign("tok", gather, form)); code != 200 {
		t.Fatalf("Twilio callback: %d", code)
	}
	got := s.waitIncident(5*time.Second, "acknowledged by phone", func(i apiIncident) bool { return i.ID == in.ID && i.Status == "acknowledged" })
	if got.AckedBy != "taro" {
		t.Errorf("acknowledged by %q, want taro", got.AckedBy)
	}
	var sawMaint bool
	for _, e := range got.Timeline {
		sawMaint = sawMaint || e.Kind == "maintenance"
	}
	if !sawMaint {
		t.Errorf("timeline does not say the problem outlived the maintenance: %+v", got.Timeline)
	}
}

func TestAlertEmailReachesRealMailbox(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	smtpAddr := checktest.Daemon(t, "postfix", "MAMORI_ITEST_SMTP_PORT", "2525")
	imapAddr := checktest.Daemon(t, "dovecot imap", "MAMORI_ITEST_IMAP_PORT", "10143")
	ca := checktest.Env("MAMORI_ITEST_CA", "/tmp/mamori-itest/certs/ca.pem")
	_, smtpPort, _ := net.SplitHostPort(smtpAddr)
	x := &target{port: freePort(t)}
	port := freePort(t)
	marker := fmt.Sprintf("mail%d", time.Now().UnixNano())
	cfg := writeAlertConfig(t, t.TempDir(), port, fmt.Sprintf(`channels:
  - name: mail
    type: email
    smtp_host: 127.0.0.1
    smtp_port: %s
    starttls: true
    ca_file: %s
    username: mtest
    password: mtestpass
    from: mamori@localhost
    to: [mtest@localhost]
checks:
  - {name: %s, type: tcp, host: 127.0.0.1, port: %d, attempts: 1, notify: [mail]}
`, smtpPort, ca, marker, x.port))
	s := startServer(t, cfg, port)
	s.waitIncident(10*time.Second, "for the mail check", func(in apiIncident) bool { return in.Check == marker })
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if subj := imapFindSubject(t, imapAddr, marker); subj != "" {
			if !strings.Contains(subj, "障害検知") || !strings.Contains(subj, marker) {
				t.Fatalf("subject %q", subj)
			}
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatal("the notification never reached mtest's mailbox")
}

// imapFindSubject logs in to the real Dovecot as mtest and returns the
// decoded Subject of a message whose subject mentions marker ("" if none).
func imapFindSubject(t *testing.T, addr, marker string) string {
	c, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(c)
	var lines []string
	cmd := func(tag, line string) {
		fmt.Fprintf(c, "%s %s\r\n", tag, line)
		lines = lines[:0]
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("imap %s: %v", line, err)
			}
			lines = append(lines, l)
			if strings.HasPrefix(l, tag+" ") {
				return
			}
		}
	}
	r.ReadString('\n')
	cmd("a1", "LOGIN mtest mtestpass")
	cmd("a2", "SELECT INBOX")
	cmd("a3", "SEARCH SUBJECT "+marker)
	var id string
	for _, l := range lines {
		if strings.HasPrefix(l, "* SEARCH ") {
			if f := strings.Fields(l); len(f) > 2 {
				id = f[len(f)-1]
			}
		}
	}
	if id == "" {
		return ""
	}
	cmd("a4", "FETCH "+id+" BODY.PEEK[HEADER.FIELDS (SUBJECT)]")
	raw := strings.Join(lines, "")
	i := strings.Index(raw, "Subject:")
	if i < 0 {
		return ""
	}
	hdr := raw[i+len("Subject:"):]
	if j := strings.Index(hdr, "\r\n\r\n"); j >= 0 {
		hdr = hdr[:j]
	}
	hdr = strings.ReplaceAll(strings.ReplaceAll(hdr, "\r\n ", " "), "\r\n\t", " ")
	dec, err := wordDecoder.DecodeHeader(strings.TrimSpace(strings.Split(hdr, "\r\n")[0]))
	if err != nil {
		t.Fatalf("decode subject %q: %v", hdr, err)
	}
	cmd("a5", "LOGOUT")
	return dec
}

var wordDecoder = new(mime.WordDecoder)

func TestAlertRunbookLinkedAndVersioned(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	hook := newHookReceiver(t)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "runbooks"), 0o755)
	os.WriteFile(filepath.Join(dir, "runbooks", "web-down.md"), []byte("---\ntitle: Web is down\nchecks: [web]\n---\n# Restart nginx\n\n1. `systemctl restart nginx`\n"), 0o644)
	web := &target{port: freePort(t)}
	port := freePort(t)
	cfg := writeAlertConfig(t, dir, port, fmt.Sprintf(`runbooks_dir: runbooks
channels:
  - {name: ops, type: webhook, url: "%s/hook"}
checks:
  - {name: web, type: tcp, host: 127.0.0.1, port: %d, attempts: 1, notify: [ops]}
`, hook.srv.URL, web.port))
	s := startServer(t, cfg, port)
	in := s.waitIncident(10*time.Second, "for web", func(in apiIncident) bool { return in.Check == "web" })
	if in.RunbookMissing {
		t.Fatalf("incident not linked to its runbook: %+v", in)
	}
	msg := hook.waitCount(t, 1, 10*time.Second)[0]
	if u, _ := msg["runbook_url"].(string); !strings.HasSuffix(u, "/runbooks/web-down") {
		t.Errorf("notification runbook_url %q", msg["runbook_url"])
	}
	req, _ := http.NewRequest("PUT", s.base+"/api/v1/runbooks/web-down", strings.NewReader("---\nchecks: [web]\n---\n# Restart nginx, then check the upstream\n<script>alert(1)</script>\n"))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("PUT runbook: %v %v", resp, err)
	}
	resp.Body.Close()
	var rb struct {
		Version  int    `json:"version"`
		HTML     string `json:"html"`
		Versions []any  `json:"versions"`
	}
	s.get("/api/v1/runbooks/web-down", &rb)
	if rb.Version != 1 || len(rb.Versions) != 1 || strings.Contains(rb.HTML, "<script>") || !strings.Contains(rb.HTML, "upstream") {
		t.Fatalf("runbook after edit: %+v", rb)
	}
	req, _ = http.NewRequest("PUT", s.base+"/api/v1/runbooks/web-down", strings.NewReader("---\nchecks: [web\n---\nbroken"))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, _ = http.DefaultClient.Do(req)
	if resp.StatusCode != 400 {
		t.Errorf("a broken runbook was accepted: %d", resp.StatusCode)
	}
	resp.Body.Close()
}
