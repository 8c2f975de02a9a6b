package report

import (
	"fmt"
	"strings"
	"time"
)

// labels are the report's words in each language.
var labels = map[string]map[string]string{
	"ja": {
		"title":              "稼働状況レポート",
		"period":             "対象期間",
		"customer":           "お客様",
		"generated":          "作成日時",
		"summary":            "サマリー",
		"availability":       "稼働率",
		"target":             "目標",
		"incidents":          "障害件数",
		"downtime":           "停止時間",
		"ack_met":            "受付目標達成",
		"report_met":         "復旧報告目標達成",
		"tickets":            "運用作業・お問い合わせ",
		"hosts_avail":        "ホスト別稼働率",
		"checks_avail":       "監視項目別稼働率",
		"worst":              "停止時間の長かったもの",
		"host":               "ホスト",
		"address":            "アドレス",
		"check":              "監視項目",
		"type":               "種別",
		"unknown":            "不明",
		"no_data":            "データなし",
		"maint":              "メンテナンス",
		"outages":            "停止回数",
		"met":                "達成",
		"missed":             "未達",
		"na":                 "—",
		"incident_list":      "障害一覧",
		"id":                 "番号",
		"detected":           "検知",
		"alerted":            "通報",
		"acked":              "受付",
		"recovered":          "復旧",
		"reported":           "復旧報告",
		"acked_by":           "受付者",
		"actions":            "自動復旧処置",
		"root_cause":         "根本原因",
		"remediation":        "根本解決策",
		"level":              "障害対応レベル",
		"ticket_list":        "運用作業・お問い合わせ一覧",
		"kind":               "区分",
		"subject":            "件名",
		"status":             "状態",
		"opened":             "受付日",
		"closed":             "完了日",
		"maint_list":         "メンテナンス期間",
		"name":               "名称",
		"scope":              "対象",
		"from":               "開始",
		"to":                 "終了",
		"trends":             "リソース推移",
		"trend_note":         "日ごとの最小・平均・最大",
		"none":               "該当なし",
		"cpu":                "CPU使用率",
		"load":               "ロードアベレージ",
		"memory":             "メモリ使用率",
		"disk":               "ディスク使用率",
		"network":            "ネットワーク転送量",
		"inquiry":            "お問い合わせ",
		"ticket_open":        "受付",
		"ticket_in_progress": "対応中",
		"ticket_waiting":     "回答待ち",
		"ticket_resolved":    "解決",
		"ticket_closed":      "完了",
		"operation":          "運用作業",
		"page":               "ページ",
		"targets_note":       "目標: 通報から%sで受付、復旧から%sで復旧報告",
		"gaps":               "監視サーバー停止（データなし）",
		"basis_checks":       "全監視項目",
		"avail_note":         "稼働率 = 稼働時間 ÷ (稼働時間 + 停止時間)。メンテナンス中、不明、データなしの時間は含みません。",
	},
	"en": {
		"title":              "Service Availability Report",
		"period":             "Period",
		"customer":           "Customer",
		"generated":          "Generated",
		"summary":            "Summary",
		"availability":       "Availability",
		"target":             "Target",
		"incidents":          "Incidents",
		"downtime":           "Downtime",
		"ack_met":            "Acknowledged on time",
		"report_met":         "Recovery reported on time",
		"tickets":            "Operations work and inquiries",
		"hosts_avail":        "Availability by host",
		"checks_avail":       "Availability by check",
		"worst":              "Longest downtimes",
		"host":               "Host",
		"address":            "Address",
		"check":              "Check",
		"type":               "Type",
		"unknown":            "Unknown",
		"no_data":            "No data",
		"maint":              "Maintenance",
		"outages":            "Outages",
		"met":                "met",
		"missed":             "missed",
		"na":                 "—",
		"incident_list":      "Incidents",
		"id":                 "No.",
		"detected":           "Detected",
		"alerted":            "Alerted",
		"acked":              "Acknowledged",
		"recovered":          "Recovered",
		"reported":           "Recovery reported",
		"acked_by":           "By",
		"actions":            "Recovery actions",
		"root_cause":         "Root cause",
		"remediation":        "Remediation",
		"level":              "Incident level",
		"ticket_list":        "Operations work and inquiries",
		"kind":               "Kind",
		"subject":            "Subject",
		"status":             "Status",
		"opened":             "Opened",
		"closed":             "Closed",
		"maint_list":         "Maintenance windows",
		"name":               "Name",
		"scope":              "Scope",
		"from":               "From",
		"to":                 "To",
		"trends":             "Resource trends",
		"trend_note":         "daily minimum, average and maximum",
		"none":               "None",
		"cpu":                "CPU usage",
		"load":               "Load average",
		"memory":             "Memory usage",
		"disk":               "Disk usage",
		"network":            "Network traffic",
		"inquiry":            "Inquiry",
		"ticket_open":        "Open",
		"ticket_in_progress": "In progress",
		"ticket_waiting":     "Waiting",
		"ticket_resolved":    "Resolved",
		"ticket_closed":      "Closed",
		"operation":          "Operations work",
		"page":               "Page",
		"targets_note":       "Targets: acknowledged within %s of the alert; recovery reported within %s of recovery",
		"gaps":               "Monitoring server not running (no data)",
		"basis_checks":       "all checks",
		"avail_note":         "Availability = up / (up + down). Maintenance, unknown and no-data time count neither way.",
	},
}

// T returns a label in the report's language.
func (r *Report) T(key string) string {
	if s, ok := labels[r.Lang][key]; ok {
		return s
	}
	return key
}

// Time formats a time in the report's zone.
func (r *Report) Time(t time.Time) string {
	if t.IsZero() {
		return r.T("na")
	}
	return t.In(r.Location()).Format("2006-01-02 15:04")
}

// TimeP formats an optional time.
func (r *Report) TimeP(t *time.Time) string {
	if t == nil {
		return r.T("na")
	}
	return r.Time(*t)
}

// Short formats a time within the period without its year.
func (r *Report) Short(t *time.Time) string {
	if t == nil {
		return r.T("na")
	}
	return t.In(r.Location()).Format("01/02 15:04")
}

// Period is the report's period as people write it.
func (r *Report) Period() string {
	loc := r.Location()
	if r.Month != "" {
		f := r.From.In(loc)
		if r.Lang == "ja" {
			return fmt.Sprintf("%d年%d月", f.Year(), int(f.Month()))
		}
		return f.Format("January 2006")
	}
	return r.From.In(loc).Format("2006-01-02 15:04") + " – " + r.To.In(loc).Format("2006-01-02 15:04")
}

// PeriodDetail is the exact period with the zone.
func (r *Report) PeriodDetail() string {
	loc := r.Location()
	last := r.To.Add(-time.Second)
	return r.From.In(loc).Format("2006-01-02 15:04") + " – " + last.In(loc).Format("2006-01-02 15:04:05") + " (" + r.TimeZone + ")"
}

// Pct formats an availability.
func (r *Report) Pct(p *float64) string {
	if p == nil {
		return r.T("na")
	}
	return fmt.Sprintf("%.3f%%", *p)
}

// Dur formats seconds as a duration people read.
func (r *Report) Dur(secs float64) string {
	d := time.Duration(secs * float64(time.Second)).Round(time.Second)
	if d == 0 {
		return "0"
	}
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	var b strings.Builder
	units := [3]string{"h", "m", "s"}
	if r.Lang == "ja" {
		units = [3]string{"時間", "分", "秒"}
	}
	for i, v := range []int{h, m, s} {
		if v != 0 {
			if b.Len() > 0 && r.Lang != "ja" {
				b.WriteByte(' ')
			}
			fmt.Fprintf(&b, "%d%s", v, units[i])
		}
	}
	return b.String()
}

// Met formats a target verdict.
func (r *Report) Met(m *bool) string {
	switch {
	case m == nil:
		return r.T("na")
	case *m:
		return r.T("met")
	default:
		return r.T("missed")
	}
}

// Ratio formats "met of measured".
func (r *Report) Ratio(met, measured int) string {
	if measured == 0 {
		return r.T("na")
	}
	return fmt.Sprintf("%d / %d", met, measured)
}

// Kind names a ticket kind.
func (r *Report) Kind(k string) string { return r.T(k) }
