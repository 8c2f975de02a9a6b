// Package tmpl renders a notification's Subject, Text, HTML and Speech from
// its fields, per message kind and language (Japanese by default, English).
// The templates are embedded: text/template for the subject, the plain text
// and the speech of phone calls, html/template for HTML, so that output from
// monitored systems (untrusted) is escaped there.
package tmpl

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"regexp"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"
	"unicode/utf8"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/notify"
)

//go:embed templates/*.tmpl
var files embed.FS

// Languages supported; anything else renders in Japanese.
const (
	Japanese = "ja"
	English  = "en"
)

type langTemplates struct {
	text *texttemplate.Template
	html *htmltemplate.Template
}

var (
	loadOnce sync.Once
	loaded   map[string]langTemplates
	loadErr  error
)

func load() (map[string]langTemplates, error) {
	loadOnce.Do(func() {
		loaded = map[string]langTemplates{}
		for _, lang := range []string{Japanese, English} {
			t, err := texttemplate.New(lang).Option("missingkey=error").ParseFS(files, "templates/"+lang+".txt.tmpl", "templates/"+lang+".ticket.txt.tmpl")
			if err != nil {
				loadErr = err
				return
			}
			h, err := htmltemplate.New(lang).Option("missingkey=error").ParseFS(files, "templates/"+lang+".html.tmpl", "templates/"+lang+".ticket.html.tmpl")
			if err != nil {
				loadErr = err
				return
			}
			loaded[lang] = langTemplates{text: t, html: h}
		}
	})
	return loaded, loadErr
}

// Lang normalises a message language: "en…" is English, anything else Japanese.
func Lang(lang string) string {
	if strings.HasPrefix(strings.ToLower(lang), English) {
		return English
	}
	return Japanese
}

// Location is where the message's times are shown: m.TimeZone, else
// Asia/Tokyo for Japanese and UTC for English. An unknown zone falls back to
// the language's default (configuration validation reports it).
func Location(m *notify.Message) *time.Location {
	if m.TimeZone != "" {
		if loc, err := time.LoadLocation(m.TimeZone); err == nil {
			return loc
		}
	}
	if Lang(m.Lang) == English {
		return time.UTC
	}
	if loc, err := time.LoadLocation("Asia/Tokyo"); err == nil {
		return loc
	}
	return time.FixedZone("JST", 9*60*60)
}

// When is the message's time as shown to people ("2025-01-02 03:04:05 JST"),
// "" when it has none.
func When(m *notify.Message) string {
	if m.Time.IsZero() {
		return ""
	}
	return m.Time.In(Location(m)).Format("2006-01-02 15:04:05 MST")
}

// Duration formats d for people: "1時間5分" / "1h5m", "12分" / "12m", "45秒" / "45s".
func Duration(lang string, d time.Duration) string {
	if d <= 0 {
		return ""
	}
	ja := Lang(lang) == Japanese
	if d < time.Minute {
		s := int((d + time.Second/2) / time.Second)
		if s == 0 {
			s = 1
		}
		if ja {
			return fmt.Sprintf("%d秒", s)
		}
		return fmt.Sprintf("%ds", s)
	}
	mins := int((d + 30*time.Second) / time.Minute)
	days, hours, m := mins/(24*60), mins/60%24, mins%60
	var b strings.Builder
	unit := func(n int, jaUnit, enUnit string) {
		if n == 0 {
			return
		}
		if ja {
			fmt.Fprintf(&b, "%d%s", n, jaUnit)
		} else {
			fmt.Fprintf(&b, "%d%s", n, enUnit)
		}
	}
	unit(days, "日", "d")
	unit(hours, "時間", "h")
	unit(m, "分", "m")
	return b.String()
}

// Fact is one labelled value of a message, for channels with their own
// layout (Slack fields).
type Fact struct{ Label, Value string }

var words = map[string]map[string]string{
	Japanese: {
		"check": "チェック", "host": "ホスト", "tenant": "テナント", "state": "状態", "time": "日時",
		"output": "出力", "incident": "インシデント", "runbook": "ランブック", "ack": "確認（アクノリッジ）する",
		"attached": "影響を受ける関連チェック", "actions": "実施した復旧アクション", "previous": "前回",
		"acked_by": "確認者", "level": "エスカレーション レベル", "down": "停止時間",
		"incident_level": "障害対応レベル", "ticket": "チケット", "title": "件名", "from": "送信者", "priority": "優先度", "url": "URL",
	},
	English: {
		"check": "Check", "host": "Host", "tenant": "Tenant", "state": "State", "time": "Time",
		"output": "Output", "incident": "Incident", "runbook": "Runbook", "ack": "Acknowledge",
		"attached": "Dependent checks attached", "actions": "Recovery actions taken", "previous": "was",
		"acked_by": "Acknowledged by", "level": "Escalation level", "down": "Down for",
		"incident_level": "Incident level", "ticket": "Ticket", "title": "Subject", "from": "From", "priority": "Priority", "url": "URL",
	},
}

// Word is a label in the message's language: check, host, tenant, state,
// time, output, incident, runbook, ack, attached, actions, previous,
// acked_by, level, down.
func Word(lang, key string) string {
	if w, ok := words[Lang(lang)][key]; ok {
		return w
	}
	return key
}

// StateLine is the state with its previous state and type:
// "CRITICAL（前回: OK、HARD）" / "CRITICAL (was OK, hard)".
func StateLine(m *notify.Message) string {
	var extra []string
	if m.PreviousState != "" {
		extra = append(extra, Word(m.Lang, "previous")+chooseSep(m.Lang)+m.PreviousState)
	}
	if m.StateType != "" {
		if Lang(m.Lang) == Japanese {
			extra = append(extra, strings.ToUpper(m.StateType))
		} else {
			extra = append(extra, strings.ToLower(m.StateType))
		}
	}
	if len(extra) == 0 {
		return m.State
	}
	if Lang(m.Lang) == Japanese {
		return m.State + "（" + strings.Join(extra, "、") + "）"
	}
	return m.State + " (" + strings.Join(extra, ", ") + ")"
}

func chooseSep(lang string) string {
	if Lang(lang) == Japanese {
		return ": "
	}
	return " "
}

// Facts lists the check, host, tenant, state and time of m in its language
// (host, tenant and time only when set).
func Facts(m *notify.Message) []Fact {
	lang := m.Lang
	if m.Ticket != nil {
		return ticketFacts(m)
	}
	out := []Fact{{Word(lang, "check"), m.Check}}
	if m.Host != "" {
		out = append(out, Fact{Word(lang, "host"), m.Host})
	}
	if m.Tenant != "" {
		out = append(out, Fact{Word(lang, "tenant"), m.Tenant})
	}
	out = append(out, Fact{Word(lang, "state"), StateLine(m)})
	if m.IncidentLevel > 0 {
		out = append(out, Fact{Word(lang, "incident_level"), fmt.Sprint(m.IncidentLevel)})
	}
	if w := When(m); w != "" {
		out = append(out, Fact{Word(lang, "time"), w})
	}
	return out
}

// Summary is the first line of the text: what happened, in one sentence.
func Summary(m *notify.Message) (string, error) {
	ts, err := load()
	if err != nil {
		return "", err
	}
	v, err := newView(m)
	if err != nil {
		return "", err
	}
	return execText(ts[v.Lang].text, v.prefix+"summary", v)
}

// view is what the templates see.
type view struct {
	*notify.Message
	Lang      string
	Name      string // "web1/http" or "http"
	Target    string // "web1 の http" / "http on web1"
	When      string
	Down      string // ProblemFor, formatted
	Output    string // one line
	Spoken    string // a short output for speech, without URLs
	Level     int    // 1-based escalation level
	StateText string // StateLine
	Summary   string
	Title     string // the rendered subject
	Words     map[string]string
	Actions   []string // the recovery actions in this language and zone
	prefix    string   // "ticket_" for ticket messages: their own templates
}

var kinds = map[string]bool{
	notify.KindProblem: true, notify.KindRecovery: true, notify.KindAcknowledge: true,
	notify.KindReminder: true, notify.KindTest: true, notify.KindTicket: true,
}

var urlRE = regexp.MustCompile(`(?i)\b(?:https?|ftp)://\S+`)

func newView(m *notify.Message) (*view, error) {
	if !kinds[m.Kind] {
		return nil, fmt.Errorf("notify template: unknown message kind %q", m.Kind)
	}
	if m.Kind == notify.KindTicket && m.Ticket == nil {
		return nil, fmt.Errorf("notify template: a ticket message without its ticket")
	}
	lang := Lang(m.Lang)
	v := &view{
		Message:   m,
		Lang:      lang,
		Name:      m.Check,
		When:      When(m),
		Down:      Duration(lang, m.ProblemFor),
		Output:    check.OneLine(m.Output),
		Level:     m.Level + 1,
		StateText: StateLine(m),
		Words:     words[lang],
		Actions:   m.Actions,
	}
	if len(m.ActionNotes) > 0 {
		v.Actions = ActionLines(lang, Location(m), m.ActionNotes)
	}
	if m.Kind == notify.KindTicket {
		v.prefix = "ticket_"
	}
	// A host's checks are configured as "host/check": say the host once.
	short := strings.TrimPrefix(m.Check, m.Host+"/")
	if m.Host != "" {
		v.Name = m.Host + "/" + short
	}
	switch {
	case m.Host == "":
		v.Target = m.Check
	case lang == Japanese:
		v.Target = m.Host + " の " + short
	default:
		v.Target = short + " on " + m.Host
	}
	spoken := strings.TrimSpace(urlRE.ReplaceAllString(v.Output, ""))
	if utf8.RuneCountInString(spoken) > 80 {
		spoken = string([]rune(spoken)[:80])
	}
	v.Spoken = strings.TrimRight(spoken, "。. ")
	return v, nil
}

func execText(t *texttemplate.Template, name string, v *view) (string, error) {
	var b bytes.Buffer
	if err := t.ExecuteTemplate(&b, name, v); err != nil {
		return "", fmt.Errorf("notify template %s/%s: %w", v.Lang, name, err)
	}
	return b.String(), nil
}

// Render fills m.Subject, m.Text, m.HTML and m.Speech from m's fields.
func Render(m *notify.Message) error {
	ts, err := load()
	if err != nil {
		return err
	}
	v, err := newView(m)
	if err != nil {
		return err
	}
	t := ts[v.Lang]
	if v.Summary, err = execText(t.text, v.prefix+"summary", v); err != nil {
		return err
	}
	v.Summary = strings.TrimSpace(v.Summary)
	subject, err := execText(t.text, v.prefix+"subject", v)
	if err != nil {
		return err
	}
	v.Title = strings.Join(strings.Fields(subject), " ")
	text, err := execText(t.text, v.prefix+"text", v)
	if err != nil {
		return err
	}
	speech, err := execText(t.text, v.prefix+"speech", v)
	if err != nil {
		return err
	}
	var h bytes.Buffer
	if err := t.html.ExecuteTemplate(&h, v.prefix+"html", v); err != nil {
		return fmt.Errorf("notify template %s/html: %w", v.Lang, err)
	}
	m.Subject = v.Title
	m.Text = tidy(text)
	m.HTML = h.String()
	m.Speech = strings.Join(strings.Fields(speech), " ")
	if v.Lang == Japanese {
		m.Speech = strings.ReplaceAll(m.Speech, "。 ", "。")
	}
	return nil
}

// tidy trims trailing spaces, collapses runs of blank lines and ends the text
// with one newline.
func tidy(s string) string {
	var out []string
	blank := false
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimRight(l, " \t\r")
		if l == "" {
			if !blank && len(out) > 0 {
				out = append(out, "")
			}
			blank = true
			continue
		}
		blank = false
		out = append(out, l)
	}
	return strings.TrimRight(strings.Join(out, "\n"), "\n") + "\n"
}

// ticketFacts are a ticket message's facts: the ticket, its subject, the
// tenant, who wrote and when.
func ticketFacts(m *notify.Message) []Fact {
	lang, tk := m.Lang, m.Ticket
	out := []Fact{{Word(lang, "ticket"), fmt.Sprintf("#%d", tk.ID)}, {Word(lang, "title"), tk.Title}}
	if m.Tenant != "" {
		out = append(out, Fact{Word(lang, "tenant"), m.Tenant})
	}
	if tk.Author != "" {
		out = append(out, Fact{Word(lang, "from"), tk.Author})
	}
	if w := When(m); w != "" {
		out = append(out, Fact{Word(lang, "time"), w})
	}
	if tk.URL != "" {
		out = append(out, Fact{Word(lang, "url"), tk.URL})
	}
	return out
}
