package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's chromium (apt-get install chromium; the
// integration setup scripts/itest-daemons.sh installs it).
const chromiumPath = "/usr/bin/chromium"

// browserTimeout bounds the whole browser scenario (start to last screenshot).
const browserTimeout = 90 * time.Second

// screenshotDir is where the run leaves full-page PNGs of the main pages
// (docs/screenshots at the repository root; overwritten on every run).
var screenshotDir = filepath.Join("..", "..", "docs", "screenshots")

// TestBrowserConsole drives the console in headless Chromium with a real
// server: log in, see a failing check arrive on the overview over the live
// stream (no reload), open its incident, acknowledge it, comment, look at
// the host's graphs, switch to Japanese, and save screenshots of the main
// pages under docs/screenshots/.
func TestBrowserConsole(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a server process and a browser")
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("MAMORI_INTEGRATION") == "1" {
			t.Fatalf("MAMORI_INTEGRATION=1 but %s is missing (%v): install Debian's chromium "+
				"(apt-get install --no-install-recommends chromium, or scripts/itest-daemons.sh start)", chromiumPath, err)
		}
		t.Skipf("%s not installed (set MAMORI_INTEGRATION=1 to make this a failure)", chromiumPath)
	}
	// Without a Japanese font the Japanese screenshots show empty boxes
	// (the assertions read the DOM and do not notice).
	if out, err := exec.Command("fc-list", ":lang=ja", "family").Output(); err == nil && len(bytes.TrimSpace(out)) == 0 {
		t.Log("warning: no Japanese font installed (apt-get install fonts-ipafont-gothic): Japanese text in the screenshots will be boxes")
	}
	t0 := time.Now()
	lap := func(what string) { t.Logf("%6.2fs %s", time.Since(t0).Seconds(), what) }

	// ---- a real server: host web01 (tenant acme, agent token), a tcp
	// check on a port we open and close, a webhook channel, a runbook, a
	// maintenance window ----
	hook := newHookReceiver(t)
	svc := &target{port: freePort(t)}    // web01/http: taken down by the test
	steady := &target{port: freePort(t)} // always up
	svc.up(t)
	steady.up(t)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "runbooks"), 0o755)
	os.WriteFile(filepath.Join(dir, "runbooks", "web-down.md"), []byte(`---
title: Web server on web01 is down
checks: [web01/http]
---
# Web server down

1. Look at the service: `+"`systemctl status nginx`"+`
2. Restart it: `+"`systemctl restart nginx`"+`
3. Still down? Call the on-duty engineer and **acknowledge** the incident.
`), 0o644)
	port := freePort(t)
	cfg := writeAlertConfig(t, dir, port, fmt.Sprintf(`runbooks_dir: runbooks
channels:
  - {name: ops, type: webhook, url: "%s/hook"}
maintenance:
  - {name: db01-kernel, hosts: [db01], start: "%s 02:00", duration: 2h, reason: kernel update}
hosts:
  - name: web01
    address: 127.0.0.1
    tenant: acme
    agent_token: web01-browser-token
    checks:
      - {name: http, type: tcp, port: %d, interval: 1s, attempts: 2, notify: [ops]}
      - {name: ssh, type: tcp, port: %d, interval: 1s}
  - name: db01
    address: 127.0.0.1
    tenant: acme
    checks:
      - {name: postgres, type: tcp, port: %d, interval: 1s}
`, hook.srv.URL, time.Now().AddDate(0, 0, 14).Format("2006-01-02"), svc.port, steady.port, steady.port))
	s := startServer(t, cfg, port)
	// The agent's first contact, before the heartbeat check first runs (its
	// phase puts that ~28 s after start): it stays OK for its 3 min ttl.
	postHostMetrics(t, s, "web01-browser-token")
	password := readAdminPassword(t, filepath.Join(dir, "data", "initial-admin-password"))
	s.waitFor("web01/http", 10*time.Second, "OK", func(c apiCheck) bool { return c.State == "OK" && c.LastCheck != "" })
	lap("server up, metrics posted, web01/http OK")

	// ---- the browser ----
	b := startBrowser(t, s.base)
	lap("chromium started")

	// Log in (the first start's admin; its password from the data dir).
	b.do("open the console", chromedp.Navigate(s.base+"/"))
	b.do("the login form", chromedp.WaitVisible(chromedp.ID("name")))
	if u := b.location(); !strings.Contains(u, "/login") {
		t.Fatalf("without a session / should lead to /login, at %s", u)
	}
	b.do("fill the login form",
		chromedp.SendKeys(chromedp.ID("name"), "admin"),
		chromedp.SendKeys(chromedp.ID("password"), password))
	b.submit("log in", chromedp.CSS("#login-submit"))
	b.do("the overview after login", chromedp.WaitVisible(chromedp.ID("overview-body")))
	if n := b.text(chromedp.CSS("#n-critical")); n != "0" {
		t.Fatalf("CRITICAL count before the outage: %q", n)
	}
	// The live stream is connected before the outage starts.
	b.do("the live stream connects", liveConnected())
	lap("logged in, overview live")

	// The target goes down: the problem arrives on the open overview,
	// pushed over /live. A marker on window proves there was no reload, and
	// Poll itself fails if the page navigates.
	b.do("mark the page", chromedp.Evaluate[chromedp.Void](`window.__mamoriNoReload = "still-here"`))
	svc.down()
	downAt := time.Now()
	b.do("the problem appears live on the overview", chromedp.Poll[chromedp.Void](`(() => {
		const t = document.getElementById("problems");
		const n = document.getElementById("n-critical");
		return !!t && t.textContent.includes("web01/http") && t.textContent.includes("CRITICAL") && !!n && n.textContent.trim() === "1";
	})()`, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second)))
	liveAfter := time.Since(downAt)
	if m := b.eval(`String(window.__mamoriNoReload)`); m != "still-here" {
		t.Fatalf("the overview reloaded instead of updating live (marker %q)", m)
	}
	if got := b.eval(`String(document.querySelectorAll("#live-log li").length)`); got == "0" {
		t.Errorf("the live log shows no state change")
	}
	lap(fmt.Sprintf("problem on the overview %.1fs after the target went down, without reload", liveAfter.Seconds()))

	// Its incident (opened by the alerting service right after the hard
	// state): on the overview too, live if it was opened before the
	// refresh, else after a reload.
	in := s.waitIncident(10*time.Second, "for web01/http", func(in apiIncident) bool { return in.Check == "web01/http" })
	incLink := chromedp.CSS(fmt.Sprintf(`#open-incidents a[href="/incidents/%d"]`, in.ID))
	if !b.try(5*time.Second, chromedp.WaitVisible(incLink)) {
		t.Logf("incident #%d not on the live overview yet: reloading", in.ID)
		b.do("reload the overview", chromedp.Navigate(s.base+"/"))
		b.do("the incident on the overview", chromedp.WaitVisible(incLink))
	}
	b.shot("overview")

	// Open it, acknowledge, comment.
	b.submit("open the incident", incLink)
	b.do("the incident page", chromedp.WaitVisible(chromedp.Search(`//span[@id="incident-status"][normalize-space(.)="open"]`)))
	if !strings.Contains(b.text(chromedp.CSS("#runbook")), "systemctl restart nginx") {
		t.Errorf("the incident page does not show its runbook")
	}
	b.do("ack comment", chromedp.SendKeys(chromedp.CSS(`#ack-form input[name="comment"]`), "on it"))
	b.submit("acknowledge", chromedp.CSS("#ack-button"))
	b.do("the incident is acknowledged", chromedp.WaitVisible(chromedp.Search(`//span[@id="incident-status"][normalize-space(.)="acknowledged"]`)))
	if txt := b.text(chromedp.CSS("p.flash")); txt == "" {
		t.Errorf("no confirmation after acknowledging")
	}
	comment := fmt.Sprintf("nginx restarted by the browser test at %s", time.Now().Format("15:04:05"))
	b.do("write a comment", chromedp.SendKeys(chromedp.ID("comment-text"), comment))
	b.submit("add the comment", chromedp.CSS("#comment-button"))
	b.do("the comment on the timeline", chromedp.WaitVisible(chromedp.Search(
		fmt.Sprintf(`//ol[@id="timeline"]/li[contains(., %q) and contains(., "admin")]`, comment))))
	api := s.waitIncident(5*time.Second, "acknowledged by admin", func(x apiIncident) bool { return x.ID == in.ID && x.Status == "acknowledged" })
	if api.AckedBy != "admin" {
		t.Errorf("acknowledged by %q, want admin", api.AckedBy)
	}
	b.shot("incident")
	lap(fmt.Sprintf("incident #%d acknowledged and commented", in.ID))

	// The host's graphs: uPlot canvases with the posted samples drawn.
	b.submit("open the host", chromedp.CSS(`dl.facts a[href="/hosts/web01"]`))
	b.do("the host page", chromedp.WaitVisible(chromedp.ID("host-checks")))
	b.do("the load graph is drawn", chromedp.WaitVisible(chromedp.CSS("#chart-load canvas")))
	stats := b.chartStats()
	for _, id := range []string{"load", "cpu", "memory", "disk", "network"} {
		st := stats[id]
		if !st.Canvas || st.Empty || st.Width < 300 || st.Painted == 0 || st.Stroke < 20 {
			t.Errorf("graph %s not drawn with data: %+v", id, st)
		}
	}
	if l := stats["load"].Labels; !strings.Contains(strings.Join(l, ","), "1 min") || !strings.Contains(strings.Join(l, ","), "15 min") {
		t.Errorf("load graph legend %v, want 1 min, 5 min, 15 min", l)
	}
	if l := strings.Join(stats["disk"].Labels, ","); !strings.Contains(l, "/var") {
		t.Errorf("disk graph legend %q, want one series per mount", l)
	}
	b.shot("host")
	lap("host graphs drawn")

	// The other main pages.
	for _, p := range []struct{ name, path, ready string }{
		{"checks", "/checks", "checks"},
		{"incidents", "/incidents", "incidents"},
		{"maintenance", "/maintenance", "windows"},
		{"hosts-grid", "/hosts?view=grid", "host-grid"},
		{"runbook", "/runbooks/web-down", "runbook"},
	} {
		b.do("open "+p.path, chromedp.Navigate(s.base+p.path), chromedp.WaitVisible(chromedp.ID(p.ready)))
		b.shot(p.name)
	}
	if !strings.Contains(b.text(chromedp.CSS("#runbook")), "systemctl restart nginx") {
		t.Errorf("runbook page without its body")
	}
	lap("checks, incidents, maintenance, runbook")

	// Switch to Japanese (from the overview) and stay there.
	b.do("back to the overview", chromedp.Navigate(s.base+"/"), chromedp.WaitVisible(chromedp.ID("overview-body")))
	b.submit("switch to Japanese", chromedp.CSS("#lang-switch"))
	b.do("the overview in Japanese", chromedp.WaitReady(chromedp.Search(`//html[@lang="ja"]`)),
		chromedp.WaitVisible(chromedp.Search(`//nav/a[@href="/"][normalize-space(.)="概要"]`)),
		chromedp.WaitVisible(chromedp.Search(`//h1[normalize-space(.)="概要"]`)))
	if sw := b.text(chromedp.CSS("#lang-switch")); sw != "English" {
		t.Errorf("language switch reads %q in Japanese, want English", sw)
	}
	b.do("the live stream connects again", liveConnected())
	b.shot("overview-ja")
	b.do("the incident in Japanese", chromedp.Navigate(fmt.Sprintf("%s/incidents/%d", s.base, in.ID)),
		chromedp.WaitVisible(chromedp.Search(`//span[@id="incident-status"][normalize-space(.)="確認済み"]`)))
	b.shot("incident-ja")
	b.noEnglish("incident (ja)")
	b.do("the host in Japanese", chromedp.Navigate(s.base+"/hosts/web01?range=1h"), chromedp.WaitVisible(chromedp.CSS("#chart-load canvas")))
	b.chartStats()
	b.noEnglish("host (ja)")
	b.ticksInUserZone("load", time.Hour)
	b.shot("host-ja")
	b.do("the overview in Japanese again", chromedp.Navigate(s.base+"/"), chromedp.WaitVisible(chromedp.ID("overview-body")))
	b.noEnglish("overview (ja)")
	b.do("the host grid in Japanese", chromedp.Navigate(s.base+"/hosts?view=grid"), chromedp.WaitVisible(chromedp.ID("host-grid")))
	b.noEnglish("host grid (ja)")
	lap("Japanese")
	t.Logf("screenshots in %s", mustAbs(screenshotDir))
}

// startBrowser starts headless Chromium on a fresh profile (closed when
// the test ends) with a tab whose actions have browserTimeout.
func startBrowser(t *testing.T, base string) *browser {
	t.Helper()
	profile, err := os.MkdirTemp("", "mamori-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(profile) })
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox, // root in CI
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		// The machine's network is closed: no background connections.
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-features", "Translate,MediaRouter,OptimizationHints"),
		chromedp.Flag("lang", "en-US"),
		// The browser's zone is neither the user's (Asia/Tokyo) nor UTC:
		// the graphs must use the user's (issue 14).
		chromedp.Env("TZ=America/Los_Angeles"),
		chromedp.Flag("accept-lang", "en-US,en"),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 800),
	)
	tabCtx, cancelTab := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	// The first action starts the browser and binds its life to its
	// context: that one has no deadline, so that a failure can still take
	// a screenshot; the scenario's own actions have browserTimeout.
	if err := chromedp.Do(tabCtx, chromedp.EmulateViewport(1280, 800)); err != nil {
		t.Fatalf("start %s: %v", chromiumPath, err)
	}
	ctx, cancelTimeout := context.WithTimeout(tabCtx, browserTimeout)
	t.Cleanup(cancelTimeout)
	return &browser{t: t, ctx: ctx, tab: tabCtx, base: base}
}

// browser is one chromedp tab with the test's helpers; every failure saves
// a screenshot and the page text for the log.
type browser struct {
	t    *testing.T
	ctx  context.Context // the scenario's, with its deadline
	tab  context.Context // the tab's, without
	base string
}

func (b *browser) fail(what string, err error) {
	b.t.Helper()
	// A fresh context: the test's may be the one that expired.
	ctx, cancel := context.WithTimeout(b.tab, 5*time.Second)
	defer cancel()
	msg := fmt.Sprintf("%s: %v", what, err)
	if u, err := chromedp.Run(ctx, chromedp.Location()); err == nil {
		msg += "\n  at " + u
	}
	if txt, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`)); err == nil {
		if len(txt) > 1500 {
			txt = txt[:1500] + "…"
		}
		msg += "\n  page text:\n" + txt
	}
	if png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)); err == nil {
		f := filepath.Join(os.TempDir(), fmt.Sprintf("mamori-browser-failure-%d.png", time.Now().UnixNano()))
		if os.WriteFile(f, png, 0o644) == nil {
			msg += "\n  screenshot: " + f
		}
	}
	b.t.Fatal(msg)
}

func (b *browser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.fail(what, err)
	}
}

// try runs actions for at most d; it reports whether they succeeded.
func (b *browser) try(d time.Duration, actions ...chromedp.Action[chromedp.Void]) bool {
	ctx, cancel := context.WithTimeout(b.ctx, d)
	defer cancel()
	return chromedp.Do(ctx, actions...) == nil
}

// submit clicks something that loads a page (a link, a form's button) and
// waits for it; the page must answer 200 (after any redirect).
func (b *browser) submit(what string, sel chromedp.CSS) {
	b.t.Helper()
	resp, err := chromedp.RunResponse(b.ctx, chromedp.Click(sel))
	if err != nil {
		b.fail(what, err)
	}
	if resp == nil || resp.Status != http.StatusOK {
		b.fail(what, fmt.Errorf("response %+v", resp))
	}
}

func (b *browser) text(sel chromedp.CSS) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(sel, chromedp.NodeReady))
	if err != nil {
		b.fail("text of "+string(sel), err)
	}
	return strings.TrimSpace(s)
}

func (b *browser) eval(js string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](js))
	if err != nil {
		b.fail("evaluate "+js, err)
	}
	return s
}

func (b *browser) location() string {
	b.t.Helper()
	u, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.fail("location", err)
	}
	return u
}

// shot saves a full-page PNG of the current page as docs/screenshots/NAME.png.
func (b *browser) shot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		b.fail("screenshot "+name, err)
	}
	if !bytes.HasPrefix(png, []byte("\x89PNG")) {
		b.fail("screenshot "+name, errors.New("not a PNG"))
	}
	if err := os.MkdirAll(screenshotDir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(screenshotDir, name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// chartStat is what the page tells of one uPlot graph.
type chartStat struct {
	Canvas  bool     `json:"canvas"`
	Empty   bool     `json:"empty"` // the "no data" placeholder
	Width   int      `json:"width"`
	Painted int      `json:"painted"` // non-transparent pixels
	Stroke  int      `json:"stroke"`  // pixels in the first series' colour (#1f5fbf)
	Labels  []string `json:"labels"`  // legend
}

// chartStats waits until every graph of the host page has its canvas
// painted and reads what is on it.
func (b *browser) chartStats() map[string]chartStat {
	b.t.Helper()
	const js = `(() => {
		const out = {};
		let ready = true;
		for (const el of document.querySelectorAll(".chart[data-chart]")) {
			const id = el.id.replace(/^chart-/, "");
			const cv = el.querySelector("canvas");
			const st = {canvas: !!cv, empty: !!el.querySelector(".empty"), width: 0, painted: 0, stroke: 0,
				labels: [...el.querySelectorAll(".u-legend .u-label")].map(e => e.textContent.trim())};
			if (cv) {
				st.width = cv.width;
				const d = cv.getContext("2d").getImageData(0, 0, cv.width, cv.height).data;
				for (let i = 0; i < d.length; i += 4) {
					if (d[i+3] === 0) continue;
					st.painted++;
					if (d[i+3] > 100 && Math.abs(d[i]-31) < 40 && Math.abs(d[i+1]-95) < 40 && Math.abs(d[i+2]-191) < 40) st.stroke++;
				}
			}
			if (!st.empty && st.stroke === 0) ready = false;
			out[id] = st;
		}
		return ready && Object.keys(out).length === 5 ? JSON.stringify(out) : false;
	})()`
	raw, err := chromedp.Run(b.ctx, chromedp.Poll[string](js, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil {
		// Report what is there rather than only a timeout.
		last, _ := chromedp.Run(b.ctx, chromedp.Evaluate[[]byte](strings.Replace(js, "ready && Object.keys(out).length === 5 ? JSON.stringify(out) : false", "out", 1)))
		b.fail("graphs drawn", fmt.Errorf("%v; graphs: %s", err, last))
	}
	out := map[string]chartStat{}
	if err := json.Unmarshal([]byte(raw), &out); err != nil {
		b.fail("graph stats", err)
	}
	return out
}

// liveConnected waits until the overview's live stream is open (the status
// shows the element's data-on text, set by the EventSource's open event).
func liveConnected() chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](`(() => {
		const s = document.getElementById("live-status");
		return !!s && s.textContent !== "" && s.textContent === s.getAttribute("data-label-on");
	})()`, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second))
}

// readAdminPassword waits for the first start's admin password file.
func readAdminPassword(t *testing.T, path string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if b, err := os.ReadFile(path); err == nil && len(bytes.TrimSpace(b)) > 0 {
			return string(bytes.TrimSpace(b))
		}
		if time.Now().After(deadline) {
			t.Fatalf("no initial admin password in %s", path)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// postHostMetrics sends, as the host's agent, six hours of node_exporter
// style samples (one a minute) for every graph of the host page.
func postHostMetrics(t *testing.T, s *server, agentToken string) {
	t.Helper()
	now := time.Now().Truncate(time.Minute)
	type sample struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels,omitempty"`
		T      int64             `json:"t"`
		V      float64           `json:"v"`
	}
	var samples []sample
	const steps = 360
	const gib = 1 << 30
	var cpu = map[string]float64{}
	var rx, tx float64
	for i := 0; i <= steps; i++ { // in time order: every series is appended in order
		ts := now.Add(time.Duration(i-steps) * time.Minute).UnixMilli()
		w := float64(i) / steps
		wave := math.Sin(w * 6 * math.Pi)
		add := func(name string, v float64, kv ...string) {
			var l map[string]string
			if len(kv) > 0 {
				l = map[string]string{}
				for j := 0; j+1 < len(kv); j += 2 {
					l[kv[j]] = kv[j+1]
				}
			}
			samples = append(samples, sample{Name: name, Labels: l, T: ts, V: v})
		}
		add("node_load1", 1.2+0.8*wave+0.3*math.Sin(w*40))
		add("node_load5", 1.1+0.6*wave)
		add("node_load15", 1.0+0.4*wave)
		for _, c := range []string{"0", "1"} {
			for mode, share := range map[string]float64{"user": 0.25 + 0.1*wave, "system": 0.08, "iowait": 0.03 + 0.02*wave} {
				cpu[c+mode] += 60 * share
				add("node_cpu_seconds_total", cpu[c+mode], "cpu", c, "mode", mode)
			}
			cpu[c+"idle"] += 60 * (0.64 - 0.1*wave)
			add("node_cpu_seconds_total", cpu[c+"idle"], "cpu", c, "mode", "idle")
		}
		add("node_memory_MemTotal_bytes", 8*gib)
		add("node_memory_MemAvailable_bytes", (3.5+wave)*gib)
		add("node_memory_SwapTotal_bytes", 2*gib)
		add("node_memory_SwapFree_bytes", (1.8-0.2*w)*gib)
		add("node_filesystem_size_bytes", 50*gib, "mountpoint", "/", "device", "/dev/vda1", "fstype", "ext4")
		add("node_filesystem_avail_bytes", (22-6*w)*gib, "mountpoint", "/", "device", "/dev/vda1", "fstype", "ext4")
		add("node_filesystem_size_bytes", 200*gib, "mountpoint", "/var", "device", "/dev/vdb1", "fstype", "xfs")
		add("node_filesystem_avail_bytes", (140-20*w)*gib, "mountpoint", "/var", "device", "/dev/vdb1", "fstype", "xfs")
		rx += 60 * (1.5e6 + 0.8e6*wave)
		tx += 60 * (3e5 + 1e5*wave)
		add("node_network_receive_bytes_total", rx, "device", "eth0")
		add("node_network_transmit_bytes_total", tx, "device", "eth0")
	}
	body, _ := json.Marshal(map[string]any{"seq": 1, "sent": time.Now().UnixMilli(), "samples": samples})
	req, _ := http.NewRequest("POST", s.base+"/api/v1/agent/batch", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+agentToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ack map[string]any
	json.NewDecoder(resp.Body).Decode(&ack)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("agent batch: %d %v", resp.StatusCode, ack)
	}
}

func mustAbs(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// noEnglish fails when the page's visible text holds an English catalogue
// string whose Japanese differs (the timeline's free text is data, not UI).
func (b *browser) noEnglish(page string) {
	b.t.Helper()
	read := func(lang string) map[string]string {
		raw, err := os.ReadFile(filepath.Join("..", "..", "internal", "web", "i18n", lang+".json"))
		if err != nil {
			b.t.Fatal(err)
		}
		m := map[string]string{}
		if err := json.Unmarshal(raw, &m); err != nil {
			b.t.Fatal(err)
		}
		return m
	}
	en, ja := read("en"), read("ja")
	text := b.eval(`(() => { const c = document.body.cloneNode(true); c.querySelectorAll("script,style,.tl-text,#live-log").forEach(e => e.remove()); return c.textContent; })()`)
	word := regexp.MustCompile(`[a-z]{3}`)
	for k, v := range en {
		// "admin" is also the scenario's user name (data): skipped.
		if len(v) < 4 || ja[k] == v || strings.Contains(v, "{") || !word.MatchString(v) || v == "admin" {
			continue
		}
		if regexp.MustCompile(`(^|[^A-Za-z])` + regexp.QuoteMeta(v) + `([^A-Za-z]|$)`).MatchString(text) {
			b.t.Errorf("%s shows the English %q (%s)", page, v, k)
		}
	}
}

// ticksInUserZone: the x axis of graph id (range d) is labelled in the
// user's zone (body data-tz), not the browser's: every HH:MM tick lies in
// the last d there.
func (b *browser) ticksInUserZone(id string, d time.Duration) {
	b.t.Helper()
	tz := b.eval(`document.body.getAttribute("data-tz")`)
	loc, err := time.LoadLocation(tz)
	if err != nil || tz == "" {
		b.t.Fatalf("user zone %q: %v", tz, err)
	}
	ticks := b.eval(`document.querySelector("#chart-` + id + ` .uplot").getAttribute("data-xticks") || ""`)
	if ticks == "" {
		b.t.Fatalf("graph %s: no x ticks", id)
	}
	now := time.Now().In(loc)
	for _, tk := range strings.Split(ticks, "|") {
		hm, err := time.Parse("15:04", tk)
		if err != nil {
			b.t.Errorf("graph %s: tick %q is not HH:MM", id, tk)
			continue
		}
		at := time.Date(now.Year(), now.Month(), now.Day(), hm.Hour(), hm.Minute(), 0, 0, loc)
		if at.After(now.Add(5 * time.Minute)) {
			at = at.AddDate(0, 0, -1)
		}
		if at.Before(now.Add(-d-5*time.Minute)) || at.After(now.Add(5*time.Minute)) {
			b.t.Errorf("graph %s: tick %q is not within the last %s in %s (ticks %s): the browser's zone?", id, tk, d, tz, ticks)
		}
	}
}
