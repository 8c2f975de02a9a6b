package main

import (
	"encoding/json"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/check/checktest"
)

type reportJSON struct {
	Tenant string `json:"tenant"`
	Checks []struct {
		Name                string   `json:"name"`
		AvailabilityPercent *float64 `json:"availability_percent"`
		DowntimeSeconds     float64  `json:"downtime_seconds"`
		MaintenanceSeconds  float64  `json:"maintenance_seconds"`
		NoDataSeconds       float64  `json:"no_data_seconds"`
	} `json:"checks"`
	Hosts     []struct{ Name string } `json:"hosts"`
	Incidents []struct {
		ID                 int64   `json:"id"`
		Check              string  `json:"check"`
		DetectedAt         string  `json:"detected_at"`
		AlertedAt          string  `json:"alerted_at"`
		AcknowledgedAt     *string `json:"acknowledged_at"`
		RecoveredAt        *string `json:"recovered_at"`
		RecoveryReportedAt *string `json:"recovery_reported_at"`
		AckTargetMet       *bool   `json:"ack_target_met"`
		ReportTargetMet    *bool   `json:"report_target_met"`
	} `json:"incidents"`
	Tickets []any `json:"tickets"`
}

// pdfTool finds a poppler tool; required under MAMORI_INTEGRATION.
func pdfTool(t *testing.T, name string) string {
	p, err := exec.LookPath(name)
	if err != nil {
		if checktest.Integration() {
			t.Fatalf("%s is missing (poppler-utils): run scripts/itest-daemons.sh install", name)
		}
		t.Skipf("%s not installed", name)
	}
	return p
}

// A real server, a check down for a time the test knows: the report for
// that period gives the downtime within a second, lists the incident with
// its targets, and its PDF opens with the check and Japanese headings.
func TestReportAvailabilityMatchesAKnownOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	hook := newHookReceiver(t)
	dir := t.TempDir()
	svc := &target{port: freePort(t)}
	svc.up(t)
	port := freePort(t)
	cfg := writeAlertConfig(t, dir, port, fmt.Sprintf(`report:
  provider: 株式会社まもり運用
  contact: support@example.jp / 03-0000-0000
tenants:
  - {name: acme, display_name: ACME 株式会社, availability_target: 99.9}
channels:
  - {name: ops, type: webhook, url: "%s/hook"}
hosts:
  - name: web1
    address: 127.0.0.1
    tenant: acme
    checks:
      - {name: svc, type: tcp, host: 127.0.0.1, port: %d, interval: 1s, attempts: 1, notify: [ops]}
`, hook.srv.URL, svc.port))
	s := startServer(t, cfg, port)
	// OK from a result, not the state of a check that has not run yet.
	s.waitFor("web1/svc", 10*time.Second, "OK", func(c apiCheck) bool {
		return c.State == "OK" && c.LastCheck != "" && !strings.HasPrefix(c.LastCheck, "0001")
	})
	from := time.Now().Truncate(time.Second).Add(time.Second)
	time.Sleep(time.Until(from) + 2*time.Second)
	downAt := time.Now()
	svc.down()
	s.waitFor("web1/svc", 10*time.Second, "hard CRITICAL", func(c apiCheck) bool { return c.State == "CRITICAL" && c.StateType == "hard" })
	time.Sleep(4*time.Second - time.Since(downAt))
	svc.up(t)
	upAt := time.Now()
	s.waitFor("web1/svc", 10*time.Second, "OK again", func(c apiCheck) bool { return c.State == "OK" })
	s.waitIncident(10*time.Second, "recovery reported", func(in apiIncident) bool {
		for _, e := range in.Timeline {
			if e.Kind == "reported" {
				return true
			}
		}
		return false
	})
	to := time.Now().Truncate(time.Second).Add(time.Second)
	time.Sleep(time.Until(to) + 300*time.Millisecond)
	truth := upAt.Sub(downAt).Seconds()

	out := filepath.Join(dir, "r.json")
	args := []string{"report", "--config", cfg, "--tenant", "acme", "--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339)}
	if o, code := mamori(t, append(args, "--format", "json", "--out", out)...); code != 0 {
		t.Fatalf("mamori report: %d %s", code, o)
	}
	var r reportJSON
	b, _ := os.ReadFile(out)
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%v: %s", err, b)
	}
	if r.Tenant != "acme" || len(r.Checks) != 1 || len(r.Hosts) != 1 || r.Tickets == nil {
		t.Fatalf("report: %s", b)
	}
	c := r.Checks[0]
	period := to.Sub(from).Seconds()
	if c.Name != "web1/svc" || math.Abs(c.DowntimeSeconds-truth) > 1 || c.NoDataSeconds != 0 || c.AvailabilityPercent == nil {
		t.Fatalf("check %+v, truth: down %.3fs\n%s", c, truth, b)
	}
	if want := 100 * (period - truth) / period; math.Abs(*c.AvailabilityPercent-want) > 100/period {
		t.Errorf("availability %.4f%%, truth %.4f%%", *c.AvailabilityPercent, want)
	}
	if len(r.Incidents) != 1 {
		t.Fatalf("incidents: %s", b)
	}
	in := r.Incidents[0]
	if in.Check != "web1/svc" || in.RecoveredAt == nil || in.RecoveryReportedAt == nil || in.AcknowledgedAt != nil ||
		in.AckTargetMet != nil || in.ReportTargetMet == nil || !*in.ReportTargetMet {
		t.Errorf("incident targets: %+v", in)
	}

	pdf := filepath.Join(dir, "r.pdf")
	if o, code := mamori(t, append(args, "--lang", "ja", "--format", "pdf", "--out", pdf)...); code != 0 {
		t.Fatalf("mamori report pdf: %d %s", code, o)
	}
	info, err := exec.Command(pdfTool(t, "pdfinfo"), pdf).CombinedOutput()
	if err != nil || !strings.Contains(string(info), "Pages:") {
		t.Fatalf("pdfinfo: %v %s", err, info)
	}
	text, err := exec.Command(pdfTool(t, "pdftotext"), "-layout", pdf, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"web1/svc", "稼働状況レポート", "障害一覧", "ACME 株式会社", "株式会社まもり運用"} {
		if !strings.Contains(string(text), want) {
			t.Errorf("the PDF's text lacks %q:\n%s", want, text)
		}
	}
}

// The monthly report missed while the server was not running is generated
// at start, stored, listed through the API and mailed with the PDF
// attached to the tenant's report contact (Postfix → Dovecot).
func TestReportCatchUpMailedWithPDF(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	smtpAddr := checktest.Daemon(t, "postfix", "MAMORI_ITEST_SMTP_PORT", "2525")
	imapAddr := checktest.Daemon(t, "dovecot imap", "MAMORI_ITEST_IMAP_PORT", "10143")
	ca := checktest.Env("MAMORI_ITEST_CA", "/tmp/mamori-itest/certs/ca.pem")
	_, smtpPort, _ := net.SplitHostPort(smtpAddr)
	marker := fmt.Sprintf("rep%d", time.Now().UnixNano())
	port := freePort(t)
	cfg := writeAlertConfig(t, t.TempDir(), port, fmt.Sprintf(`report:
  provider: Mamori Operations
  channel: mail
tenants:
  - {name: acme, display_name: %s, lang: en, timezone: Asia/Tokyo, report_contacts: [taro]}
contacts:
  - {name: taro, email: mtest@localhost}
channels:
  - name: mail
    type: email
    smtp_host: 127.0.0.1
    smtp_port: %s
    starttls: true
    ca_file: %s
    username: mtest
    password: mtestpass
    from: mamori@localhost
hosts:
  - name: web1
    address: 127.0.0.1
    tenant: acme
    checks: [{name: up, type: tcp, host: 127.0.0.1, port: %d, interval: 1h}]
`, marker, smtpPort, ca, port))
	s := startServer(t, cfg, port)
	var rows []struct {
		ID    int64  `json:"id"`
		Kind  string `json:"kind"`
		Month string `json:"month"`
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) && len(rows) == 0 {
		s.get("/api/v1/reports?tenant=acme", &rows)
		time.Sleep(200 * time.Millisecond)
	}
	last := time.Now().In(time.FixedZone("JST", 9*3600)).AddDate(0, 0, -time.Now().In(time.FixedZone("JST", 9*3600)).Day()).Format("2006-01")
	if len(rows) != 1 || rows[0].Kind != "monthly" || rows[0].Month != last {
		t.Fatalf("reports after start: %+v, want last month's (%s)", rows, last)
	}
	for time.Now().Before(deadline.Add(30 * time.Second)) {
		if subj := imapFindSubject(t, imapAddr, marker); subj != "" {
			body := imapFetchBody(t, imapAddr, marker)
			if !strings.Contains(body, "application/pdf") || !strings.Contains(body, "filename=report-acme-"+last+".pdf") ||
				!strings.Contains(body, "JVBERi0") { // "%PDF-" in base64
				t.Fatalf("no PDF attached:\n%.2000s", body)
			}
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
	t.Fatal("the report never reached the contact's mailbox")
}

// imapFetchBody returns the raw message whose subject mentions marker.
func imapFetchBody(t *testing.T, addr, marker string) string {
	c, err := net.DialTimeout("tcp", addr, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 0, 1<<20)
	tmp := make([]byte, 32<<10)
	send := func(tag, line string) string {
		fmt.Fprintf(c, "%s %s\r\n", tag, line)
		start := len(buf)
		for !strings.Contains("\r\n"+string(buf[start:]), "\r\n"+tag+" ") {
			n, err := c.Read(tmp)
			if err != nil {
				t.Fatalf("imap %s: %v", line, err)
			}
			buf = append(buf, tmp[:n]...)
		}
		return string(buf[start:])
	}
	n, _ := c.Read(tmp) // greeting
	_ = n
	send("a1", "LOGIN mtest mtestpass")
	send("a2", "SELECT INBOX")
	res := send("a3", "SEARCH SUBJECT "+marker)
	var id string
	for _, l := range strings.Split(res, "\r\n") {
		if f := strings.Fields(l); len(f) > 2 && f[1] == "SEARCH" {
			id = f[len(f)-1]
		}
	}
	if id == "" {
		t.Fatal("message vanished")
	}
	return send("a4", "FETCH "+id+" BODY.PEEK[]")
}
