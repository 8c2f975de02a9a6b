package report

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// sampleReport is a month of a small customer, with every section filled.
func sampleReport(lang string) *Report {
	from := at(1, 0, 0, 0)
	to := from.AddDate(0, 1, 0)
	target := 99.9
	r := &Report{Tenant: "acme", TenantName: "ACME 株式会社", Provider: "株式会社まもり運用", Contact: "support@mamori.example / 03-1234-5678",
		Lang: lang, TimeZone: "Asia/Tokyo", Month: "2026-11", From: from, To: to, GeneratedAt: time.Date(2026, 12, 1, 0, 0, 5, 0, tokyo),
		AvailabilityTarget: &target, AckTargetSeconds: 600, ReportTargetSecs: 300}
	month := to.Sub(from).Seconds()
	mk := func(down, maint float64) Avail {
		p := 100 * (month - maint - down) / (month - maint)
		met := p >= target
		return Avail{AvailabilityPercent: &p, UpSeconds: month - maint - down, DowntimeSeconds: down, MaintenanceSeconds: maint, TargetMet: &met, Outages: int(math.Ceil(down / 1800))}
	}
	// The numbers agree with the incidents below: web1/http is down from
	// its alert to its recovery (30 min), db1/ping likewise (5 min); a
	// host's availability is its ping check's.
	downs := map[string]float64{"web1/http": 1800, "db1/ping": 300}
	for i, h := range []string{"web1", "web2", "db1"} {
		r.Hosts = append(r.Hosts, HostAvail{Name: h, Address: fmt.Sprintf("10.0.0.%d", 11+i), Basis: h + "/ping", Checks: 4, Avail: mk(downs[h+"/ping"], 3600)})
		for j, c := range []string{"ping", "http", "https-cert", "disk /var/lib/mysql"} {
			r.Checks = append(r.Checks, CheckAvail{Name: h + "/" + c, Host: h, Type: []string{"ping", "http", "tls_cert", "exec"}[j], Avail: mk(downs[h+"/"+c], 3600)})
		}
	}
	t0 := at(10, 14, 0, 0)
	tp := func(d time.Duration) *time.Time { t := t0.Add(d); return &t }
	yes, no := true, false
	r.Worst = []Outage{{Check: "web1/http", From: t0.Add(15 * time.Minute), To: t0.Add(45 * time.Minute), Seconds: 1800},
		{Check: "db1/ping", From: t0.Add(96*time.Hour + 3*time.Minute), To: t0.Add(96*time.Hour + 8*time.Minute), Seconds: 300}}
	r.Incidents = []Incident{
		{ID: 41, Check: "web1/http", Host: "web1", Title: "web1/http CRITICAL: connection refused", State: "CRITICAL", Status: "closed", DetectedAt: t0, AlertedAt: t0.Add(15 * time.Minute),
			AcknowledgedAt: tp(19 * time.Minute), AcknowledgedBy: "山田 太郎", RecoveredAt: tp(45 * time.Minute), RecoveryReportedAt: tp(45*time.Minute + 40*time.Second),
			AckTargetMet: &yes, ReportTargetMet: &yes, Actions: []string{"nginx を再起動 (systemctl restart nginx): 成功"}, RootCause: "ログローテーション後に nginx が停止",
			Remediation: "ローテーション後の再読み込みを reload に変更", Level: 3},
		{ID: 42, Check: "db1/ping", Host: "db1", Title: "db1 DOWN", State: "CRITICAL", Status: "resolved", DetectedAt: t0.Add(96 * time.Hour), AlertedAt: t0.Add(96*time.Hour + 3*time.Minute),
			RecoveredAt: tp(96*time.Hour + 8*time.Minute), RecoveryReportedAt: tp(96*time.Hour + 14*time.Minute), ReportTargetMet: &no},
	}
	r.Tickets = []Ticket{
		{ID: 7, Kind: "operation", Title: "SSL 証明書の更新 (www.acme.example)", Status: "closed", CreatedAt: at(3, 10, 0, 0), ClosedAt: tp(-7*24*time.Hour + 3*time.Hour)},
		{ID: 8, Kind: "inquiry", Title: "11/10 の Web サイト停止について", Status: "closed", CreatedAt: at(10, 16, 0, 0), ClosedAt: tp(26 * time.Hour)},
	}
	r.Maintenance = []Window{{Name: "月次パッチ適用", Reason: "OS セキュリティ更新", Scope: "hosts: web1, web2, db1", From: at(20, 2, 0, 0), To: at(20, 3, 0, 0)}}
	for _, h := range []string{"web1", "db1"} {
		ht := HostTrends{Host: h}
		for gi, id := range GraphIDs {
			g := Graph{ID: id, Unit: map[string]string{"cpu": "%", "memory": "%", "disk": "%", "network": "B/s"}[id]}
			names := map[string][]string{"disk": {"/", "/var/lib/mysql"}, "network": {"rx", "tx"}}[id]
			if names == nil {
				names = []string{id}
			}
			for si, n := range names {
				s := Series{Name: n}
				for d := 0; d < 30; d++ {
					base := 20 + 10*math.Sin(float64(d+gi+si)/4) + float64(si*15)
					if id == "network" {
						base *= 40000
					}
					if id == "load" {
						base /= 20
					}
					s.Days = append(s.Days, Day{Date: from.AddDate(0, 0, d).Format("2006-01-02"), Min: base * 0.5, Avg: base, Max: base * 1.6})
				}
				g.Series = append(g.Series, s)
			}
			ht.Graphs = append(ht.Graphs, g)
		}
		r.Trends = append(r.Trends, ht)
	}
	r.summarize()
	return r
}

// The PDF renders every section in both languages; its text (poppler's
// pdftotext) has the Japanese headings and the data. MAMORI_REPORT_SAMPLE
// keeps the Japanese sample for a look (docs/screenshots).
func TestPDFSample(t *testing.T) {
	if !FontAvailable("") {
		t.Skip("no Japanese TrueType font (fonts-ipaexfont-gothic)")
	}
	for _, lang := range []string{"ja", "en"} {
		r := sampleReport(lang)
		pdf, err := r.PDF(PDFOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(pdf, []byte("%PDF-")) || len(pdf) > 2<<20 {
			t.Fatalf("%s: not a PDF of a sensible size (%d bytes)", lang, len(pdf))
		}
		html, err := r.HTML()
		if err != nil || !bytes.Contains(html, []byte("<svg")) || !bytes.Contains(html, []byte("web1/http")) {
			t.Fatalf("%s html: %v", lang, err)
		}
		for _, w := range []string{r.T("root_cause") + ": ログローテーション後", r.T("remediation") + ": ローテーション後の再読み込み", r.T("level") + ": 3"} {
			if !bytes.Contains(html, []byte(w)) {
				t.Errorf("%s html lacks %q", lang, w)
			}
		}
		if bytes.Contains(html, []byte("%!")) || !bytes.Contains(html, []byte(r.T("target")+" 99.900%")) {
			t.Errorf("%s html: a value is not formatted (the availability target must read %q)", lang, r.T("target")+" 99.900%")
		}
		if p := os.Getenv("MAMORI_REPORT_SAMPLE"); p != "" {
			os.WriteFile(p+"-"+lang+".pdf", pdf, 0o644)
			os.WriteFile(p+"-"+lang+".html", html, 0o644)
		}
		tool, err := exec.LookPath("pdftotext")
		if err != nil {
			continue
		}
		f := t.TempDir() + "/r.pdf"
		os.WriteFile(f, pdf, 0o644)
		out, err := exec.Command(tool, f, "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		want := map[string][]string{"ja": {"稼働状況レポート", "障害一覧", "運用作業・お問い合わせ一覧", "リソース推移", "web1/http", "山田 太郎", "2026年11月", "根本原因", "根本解決策", "reload に変更", "障害対応レベル"},
			"en": {"Service Availability Report", "Incidents", "November 2026", "web1/http", "Root cause", "Remediation", "reload", "Incident level"}}[lang]
		for _, w := range want {
			if !strings.Contains(string(out), w) {
				t.Errorf("%s: PDF text lacks %q", lang, w)
			}
		}
	}
}
