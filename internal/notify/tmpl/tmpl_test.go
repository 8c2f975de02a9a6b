package tmpl

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/notify"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// Sample is the message the golden files are rendered from.
func sample(kind, lang string) notify.Message {
	m := notify.Message{
		ID:            "outbox-42-1",
		Kind:          kind,
		Lang:          lang,
		Check:         "http",
		Host:          "web1",
		Tenant:        "acme",
		State:         "CRITICAL",
		PreviousState: "OK",
		StateType:     "hard",
		Output:        "HTTP CRITICAL - connection refused\nsecond line is dropped",
		Time:          time.Date(2025, 1, 2, 18, 4, 5, 0, time.UTC),
		IncidentID:    42,
		IncidentURL:   "https://mamori.example.jp/incidents/42",
		RunbookURL:    "https://mamori.example.jp/runbooks/http",
		AckURL:        "https://mamori.example.jp/ack/42?sig=abc&exp=1",
		Attached:      []string{"web1/https", "web1/tls_cert"},
	}
	switch kind {
	case notify.KindRecovery:
		m.State, m.PreviousState = "OK", "CRITICAL"
		m.Output = "HTTP OK - 200 OK in 0.012s"
		m.ProblemFor = 12*time.Minute + 10*time.Second
		m.Actions = []string{"nginx restarted at 03:12"}
	case notify.KindAcknowledge:
		m.AckedBy = "yamada"
	case notify.KindReminder:
		m.Level = 1
	case notify.KindTest:
		m = notify.Message{ID: "test-1", Kind: kind, Lang: lang, Time: m.Time}
	}
	return m
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from golden file:\n--- got ---\n%s\n--- want ---\n%s", name, got, want)
	}
}

func TestRenderGolden(t *testing.T) {
	for _, lang := range []string{"ja", "en"} {
		for _, kind := range []string{notify.KindProblem, notify.KindRecovery, notify.KindAcknowledge, notify.KindReminder, notify.KindTest} {
			t.Run(kind+"_"+lang, func(t *testing.T) {
				m := sample(kind, lang)
				if err := Render(&m); err != nil {
					t.Fatal(err)
				}
				got := fmt.Sprintf("Subject: %s\n\nSpeech: %s\n\n--- text ---\n%s--- html ---\n%s", m.Subject, m.Speech, m.Text, m.HTML)
				golden(t, kind+"_"+lang, got)
				if strings.Contains(m.Speech, "http://") || strings.Contains(m.Speech, "https://") {
					t.Errorf("speech contains a URL: %q", m.Speech)
				}
			})
		}
	}
}

func TestSubjects(t *testing.T) {
	for _, tt := range []struct{ kind, lang, want string }{
		{notify.KindProblem, "ja", "【mamori】[CRITICAL] web1/http 障害検知"},
		{notify.KindRecovery, "ja", "【mamori】[OK] web1/http 復旧"},
		{notify.KindAcknowledge, "ja", "【mamori】[CRITICAL] web1/http 確認済み（yamada）"},
		{notify.KindReminder, "ja", "【mamori】[CRITICAL] web1/http 未確認（レベル 2）"},
		{notify.KindTest, "ja", "【mamori】テスト通知"},
		{notify.KindProblem, "en", "[mamori] CRITICAL web1/http — problem"},
		{notify.KindRecovery, "en", "[mamori] OK web1/http — recovered"},
		{notify.KindAcknowledge, "en", "[mamori] CRITICAL web1/http — acknowledged by yamada"},
		{notify.KindReminder, "en", "[mamori] CRITICAL web1/http — reminder (level 2)"},
		{notify.KindTest, "en", "[mamori] test notification"},
		{notify.KindProblem, "", "【mamori】[CRITICAL] web1/http 障害検知"},
	} {
		t.Run(tt.kind+"_"+tt.lang, func(t *testing.T) {
			m := sample(tt.kind, tt.lang)
			if err := Render(&m); err != nil {
				t.Fatal(err)
			}
			if m.Subject != tt.want {
				t.Errorf("subject %q, want %q", m.Subject, tt.want)
			}
		})
	}
}

func TestContent(t *testing.T) {
	for _, tt := range []struct {
		name   string
		kind   string
		lang   string
		mod    func(*notify.Message)
		text   []string // in Text
		speech []string // in Speech
		not    []string // in none of Text, HTML, Speech
	}{
		{"ja problem in Tokyo time", notify.KindProblem, "ja", nil,
			[]string{"日時: 2025-01-03 03:04:05 JST", "出力: HTTP CRITICAL - connection refused", "- web1/https", "インシデント #42: https://mamori.example.jp/incidents/42", "ランブック:", "確認（アクノリッジ）はこちら:"},
			[]string{"mamori からのお知らせです。web1 の http が CRITICAL です。", "確認した場合は 1 を押してください。"},
			[]string{"second line"}},
		{"en problem in UTC", notify.KindProblem, "en", nil,
			[]string{"Time: 2025-01-02 18:04:05 UTC", "State: CRITICAL (was OK, hard)"},
			[]string{"This is mamori. http on web1 is CRITICAL.", "Press 1 to acknowledge."}, nil},
		{"time zone of the contact", notify.KindProblem, "en", func(m *notify.Message) { m.TimeZone = "America/New_York" },
			[]string{"Time: 2025-01-02 13:04:05 EST"}, nil, nil},
		{"unknown time zone falls back", notify.KindProblem, "ja", func(m *notify.Message) { m.TimeZone = "Mars/Olympus" },
			[]string{"2025-01-03 03:04:05 JST"}, nil, nil},
		{"ja recovery duration", notify.KindRecovery, "ja", nil,
			[]string{"復旧しました（OK）。12分間停止していました。", "- nginx restarted at 03:12"},
			[]string{"12分間停止していました"}, []string{"確認した場合は"}},
		{"en recovery duration", notify.KindRecovery, "en", func(m *notify.Message) { m.ProblemFor = 95 * time.Minute },
			[]string{"It was down for 1h35m."}, []string{"was down for 1h35m"}, []string{"Acknowledge:"}},
		{"reminder level", notify.KindReminder, "en", func(m *notify.Message) { m.Level = 2 },
			[]string{"Escalation level: 3"}, []string{"Escalation level 3"}, nil},
		{"acknowledged by", notify.KindAcknowledge, "ja", nil,
			[]string{"yamada さんが確認しました", "確認者: yamada"}, []string{"yamada さんが確認しました"}, []string{"確認（アクノリッジ）はこちら"}},
		{"no host", notify.KindProblem, "ja", func(m *notify.Message) { m.Host = "" },
			[]string{"http で障害を検知しました"}, nil, []string{"ホスト:"}},
		{"no links", notify.KindProblem, "en", func(m *notify.Message) { m.IncidentURL, m.RunbookURL, m.AckURL = "", "", "" },
			nil, nil, []string{"Incident", "Runbook", "Acknowledge:", "href"}},
		{"speech drops URLs from the output", notify.KindProblem, "ja", func(m *notify.Message) { m.Output = "CRITICAL - http://10.0.0.1/health timed out" },
			nil, []string{"内容は、CRITICAL - timed out。"}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := sample(tt.kind, tt.lang)
			if tt.mod != nil {
				tt.mod(&m)
			}
			if err := Render(&m); err != nil {
				t.Fatal(err)
			}
			for _, s := range tt.text {
				if !strings.Contains(m.Text, s) {
					t.Errorf("text lacks %q:\n%s", s, m.Text)
				}
			}
			for _, s := range tt.speech {
				if !strings.Contains(m.Speech, s) {
					t.Errorf("speech lacks %q: %s", s, m.Speech)
				}
			}
			for _, s := range tt.not {
				if strings.Contains(m.Text, s) || strings.Contains(m.HTML, s) || strings.Contains(m.Speech, s) {
					t.Errorf("%q present:\n%s\n%s\n%s", s, m.Text, m.HTML, m.Speech)
				}
			}
		})
	}
}

func TestHTMLEscapesUntrustedOutput(t *testing.T) {
	for _, lang := range []string{"ja", "en"} {
		m := sample(notify.KindProblem, lang)
		m.Output = `<script>alert("x")</script> & <img src=x onerror=alert(1)>`
		m.Check = `http<b>`
		m.Attached = []string{`<script>evil()</script>`}
		m.RunbookURL = `javascript:alert(1)`
		if err := Render(&m); err != nil {
			t.Fatal(err)
		}
		for _, bad := range []string{"<script>", "<img", "<b>", "javascript:"} {
			if strings.Contains(m.HTML, bad) {
				t.Errorf("%s: HTML contains %q unescaped:\n%s", lang, bad, m.HTML)
			}
		}
		if !strings.Contains(m.HTML, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;img") {
			t.Errorf("%s: output not escaped as expected:\n%s", lang, m.HTML)
		}
		if !strings.Contains(m.Text, `<script>alert("x")</script>`) {
			t.Errorf("%s: plain text should keep the output as is:\n%s", lang, m.Text)
		}
	}
}

func TestUnknownKind(t *testing.T) {
	m := sample(notify.KindProblem, "ja")
	m.Kind = "bogus"
	if err := Render(&m); err == nil {
		t.Fatal("no error for an unknown kind")
	}
}

func TestDuration(t *testing.T) {
	for _, tt := range []struct {
		d      time.Duration
		ja, en string
	}{
		{0, "", ""},
		{45 * time.Second, "45秒", "45s"},
		{12*time.Minute + 10*time.Second, "12分", "12m"},
		{65 * time.Minute, "1時間5分", "1h5m"},
		{2 * time.Hour, "2時間", "2h"},
		{26*time.Hour + 3*time.Minute, "1日2時間3分", "1d2h3m"},
	} {
		if got := Duration("ja", tt.d); got != tt.ja {
			t.Errorf("ja %v: %q, want %q", tt.d, got, tt.ja)
		}
		if got := Duration("en", tt.d); got != tt.en {
			t.Errorf("en %v: %q, want %q", tt.d, got, tt.en)
		}
	}
}

func TestFacts(t *testing.T) {
	m := sample(notify.KindProblem, "en")
	got := Facts(&m)
	want := []Fact{{"Check", "http"}, {"Host", "web1"}, {"Tenant", "acme"}, {"State", "CRITICAL (was OK, hard)"}, {"Time", "2025-01-02 18:04:05 UTC"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("facts %v, want %v", got, want)
	}
}

// A host's check is named "host/check" in the configuration: the message
// must not say the host twice ("localhost/localhost/broken-web").
func TestHostNotDoubled(t *testing.T) {
	for _, lang := range []string{Japanese, English} {
		for _, kind := range []string{notify.KindProblem, notify.KindRecovery, notify.KindAcknowledge, notify.KindReminder} {
			m := sample(kind, lang)
			m.Host, m.Check = "localhost", "localhost/broken-web"
			if err := Render(&m); err != nil {
				t.Fatal(err)
			}
			for what, s := range map[string]string{"subject": m.Subject, "text": m.Text, "html": m.HTML, "speech": m.Speech} {
				if strings.Contains(s, "localhost/localhost") || strings.Contains(s, "localhost の localhost") || strings.Contains(s, "on localhost/") {
					t.Errorf("%s %s %s doubles the host: %q", lang, kind, what, s)
				}
			}
			if !strings.Contains(m.Subject, "localhost/broken-web") {
				t.Errorf("%s %s subject lost the check: %q", lang, kind, m.Subject)
			}
		}
	}
}
