package web

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/incident"
)

// Issue 14, defect 4: system lines of an incident's and a ticket's timeline
// are in the reader's language, durations in its words and times in the
// reader's zone (the maintenance line said UTC inside a Japanese page).
func TestTimelineInTheReadersLanguageAndZone(t *testing.T) {
	e := newEnv(t)
	ja := User{Name: "hanako", Role: RoleOperator, Lang: "ja", TimeZone: "Asia/Tokyo"}
	e.auth.addUser(ja, "pw")
	e.sid[ja.Name] = e.auth.session(ja)
	id := e.incident["acme"]
	since := time.Date(2026, 12, 3, 0, 0, 0, 0, time.UTC)
	lines := []incident.Timeline{
		incident.Line(since, "maintenance", "maintenance.ended", "maintenance ended; the problem is still there (since 2026-12-03T00:00:00Z)", incident.At(since)),
		incident.Line(since, "recovered", "recovered", "web1/http recovered after 5m0s: HTTP OK {1}", incident.Str("web1/http"), incident.Dur(5*time.Minute), incident.Str("HTTP OK {1}")),
		incident.Line(since, "resolved", "status", "resolved by ops", incident.Word("incident.status.resolved"), incident.Str("ops")),
		incident.Line(since, "action", "action.finished", "agent action restart_web on web01 finished: exit code 0; verification: OK",
			incident.Str("agent action restart_web on web01"), incident.Str("0"), incident.Word("tl.verified.ok"), incident.Str("")).With("what", "agent action restart_web on web01"),
	}
	err := e.st.Write(context.Background(), func(tx incident.Tx) error {
		for _, l := range lines {
			if err := tx.AddTimeline(context.Background(), id, l); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	page := e.do(ja.Name, http.MethodGet, "/incidents/"+itoa(id), nil).Body.String()
	for _, want := range []string{"問題は続いています（2026-12-03 09:00:00 から）", "web1/http は 5分 で復旧しました：HTTP OK {1}", "ops が「解決済み」にしました", "agent action restart_web on web01 が終了しました（終了コード 0）。確認：成功"} {
		if !strings.Contains(page, want) {
			t.Errorf("ja incident page lacks %q", want)
		}
	}
	for _, bad := range []string{"maintenance ended", "recovered after", "resolved by ops", "T00:00:00Z", "finished: exit code"} {
		if strings.Contains(page, bad) {
			t.Errorf("ja incident page shows the English %q", bad)
		}
	}
	en := e.do(uOperator.Name, http.MethodGet, "/incidents/"+itoa(id), nil).Body.String()
	if !strings.Contains(en, "web1/http recovered after 5m: HTTP OK {1}") && !strings.Contains(en, "web1/http recovered after 5m0s") {
		t.Errorf("en incident page lacks the recovery line")
	}

	tk := e.ticket["acme"]
	_, err = e.st.UpdateTicket(context.Background(), tk, func(tick *incident.Ticket) error {
		tick.Status, tick.Priority = incident.TicketInProgress, incident.TicketHigh
		return nil
	}, "ops")
	if err != nil {
		t.Fatal(err)
	}
	tp := e.do(ja.Name, http.MethodGet, "/tickets/"+itoa(tk), nil).Body.String()
	for _, want := range []string{"ステータス：", "優先度："} {
		if !strings.Contains(tp, want) {
			t.Errorf("ja ticket page lacks %q", want)
		}
	}
	for _, bad := range []string{"status open → ", "priority normal → "} {
		if strings.Contains(tp, bad) {
			t.Errorf("ja ticket page shows the English %q", bad)
		}
	}
}
