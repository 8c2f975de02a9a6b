package tmpl

import (
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/notify"
)

// Issue 14, defect 4: a recovery action in a Japanese message is told in
// Japanese, at the reader's time (it said "websvc restarted automatically
// at 07:30" in UTC inside a JST message).
func TestActionLinesInTheReadersLanguageAndZone(t *testing.T) {
	at := time.Date(2026, 12, 3, 7, 30, 0, 0, time.UTC)
	notes := []notify.ActionNote{
		{Action: "service", What: "websvc", Auto: true, At: at, Outcome: notify.ActionRecovered},
		{Action: "reboot", What: "web1", Who: "ops", At: at, Outcome: notify.ActionNoHelp, Exit: 1, Error: "timeout"},
		{Action: "exhausted", What: "CRITICAL hard for 20m", At: at, Outcome: notify.ActionGaveUp},
	}
	m := &notify.Message{Kind: notify.KindProblem, Lang: "ja", Check: "web1/http", Host: "web1", State: "CRITICAL", Time: at, ActionNotes: notes,
		Actions: ActionLines(English, time.UTC, notes)}
	if err := Render(m); err != nil {
		t.Fatal(err)
	}
	text := m.Text + m.HTML
	for _, want := range []string{"16:30 に websvc を自動で再起動しました（終了コード 0）。サービスは復旧しました", "16:30 に ops が web1 をリブートしました（終了コード 1）：timeout。効果はありませんでした", "16:30 に自動復旧を断念しました：CRITICAL hard for 20m"} {
		if !strings.Contains(text, want) {
			t.Errorf("ja message lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "restarted automatically") || strings.Contains(text, "07:30") {
		t.Errorf("ja message tells the action in English or in UTC:\n%s", text)
	}
	en := ActionLines(English, time.UTC, notes)
	if en[0] != "websvc restarted automatically at 07:30 (exit 0), service recovered" || en[1] != "web1 rebooted by ops at 07:30 (exit 1): timeout, did not help" {
		t.Errorf("en lines: %q", en)
	}
}
