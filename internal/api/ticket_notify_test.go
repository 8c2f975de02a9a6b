package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	_ "github.com/mamori/mamori/internal/notify/line"
	_ "github.com/mamori/mamori/internal/notify/slack"
)

// inbox is a local provider endpoint that keeps every request body.
type inbox struct {
	srv  *httptest.Server
	mu   sync.Mutex
	got  []string
	path []string
}

func newInbox(t *testing.T) *inbox {
	b := &inbox{}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		b.mu.Lock()
		b.got, b.path = append(b.got, string(body)), append(b.path, r.URL.Path)
		b.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, "{}")
	}))
	t.Cleanup(b.srv.Close)
	return b
}

// wait returns the bodies once n arrived (or after d).
func (b *inbox) wait(n int, d time.Duration) []string {
	deadline := time.Now().Add(d)
	for {
		b.mu.Lock()
		got := append([]string(nil), b.got...)
		b.mu.Unlock()
		if len(got) >= n || time.Now().After(deadline) {
			return got
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A customer opens a ticket at night: the operators' Slack hears of it at
// once (Japanese, the default); the customer's comment too; an internal
// operator comment tells no one; the operator's reply for the customer
// reaches the tenant's contact on LINE in the tenant's language (English).
func TestTicketNotifiesOperatorsAndCustomer(t *testing.T) {
	slack, line := newInbox(t), newInbox(t)
	e := newSecEnv(t, fmt.Sprintf(`channels:
  - {name: ops-slack, type: slack, webhook_url: "%s/hook"}
  - {name: line, type: line, channel_access_token: tok-0123456789, base_url: "%s"}
contacts:
  - {name: acme-admin, line_user_id: U0123456789abcdef0123456789abcdef, tenant: acme}
tenants:
  - {name: acme, lang: en, ticket_contacts: [acme-admin]}
tickets:
  notify: [ops-slack]
  customer_channel: line
`, slack.srv.URL, line.srv.URL))
	code, out := e.do(tokAcme, "POST", "/api/v1/tickets", `{"title":"夜間にサイトが遅い","body":"BODY-3時から応答が遅いです"}`)
	if code != 201 {
		t.Fatalf("create: %d %s", code, out)
	}
	var tk struct{ ID int64 }
	_ = json.Unmarshal([]byte(out), &tk)
	got := slack.wait(1, 10*time.Second)
	if len(got) != 1 || !strings.Contains(got[0], "新しいチケット") || !strings.Contains(got[0], "夜間にサイトが遅い") || !strings.Contains(got[0], "acme-user") {
		t.Fatalf("operators' Slack got %q", got)
	}
	id := fmt.Sprint(tk.ID)
	e.do(tokAcme, "POST", "/api/v1/tickets/"+id+"/comments", `{"text":"MORE-まだ遅いです"}`)
	if got := slack.wait(2, 10*time.Second); len(got) != 2 || !strings.Contains(got[1], "コメント") {
		t.Fatalf("the customer's comment: Slack got %d messages %q", len(got), got)
	}
	e.do(tokOp, "POST", "/api/v1/tickets/"+id+"/comments", `{"text":"INTERNAL-check the LB"}`)
	e.do(tokOp, "POST", "/api/v1/tickets/"+id+"/comments", `{"text":"REPLY-we restarted the cache","visibility":"customer"}`)
	lg := line.wait(1, 10*time.Second)
	if len(lg) != 1 || !strings.Contains(lg[0], "U0123456789abcdef0123456789abcdef") || !strings.Contains(lg[0], "replied to your ticket") ||
		!strings.Contains(lg[0], "REPLY-we restarted") {
		t.Fatalf("the customer's contact got %q", lg)
	}
	time.Sleep(300 * time.Millisecond)
	for _, b := range append(slack.wait(0, 0), line.wait(0, 0)...) {
		if strings.Contains(b, "INTERNAL-") {
			t.Errorf("an internal comment was sent: %s", b)
		}
	}
	if n := len(slack.wait(0, 0)); n != 2 {
		t.Errorf("Slack got %d messages, want 2 (the operators' own comments are not sent to them)", n)
	}
	ns, err := e.st.Notifications(context.Background(), 0, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	tickets := 0
	for _, n := range ns {
		if n.Kind == "ticket" {
			tickets++
			if n.TicketID != tk.ID || n.IncidentID != 0 || n.Status != "delivered" {
				t.Errorf("outbox row %+v", n)
			}
		}
	}
	if tickets != 3 {
		t.Errorf("%d ticket rows in the outbox, want 3", tickets)
	}
	if _, body := e.do(tokOp, "GET", "/api/v1/tickets/"+id, ""); strings.Count(body, `"kind":"notified"`) != 3 {
		t.Errorf("the operators' ticket timeline lacks the 3 deliveries: %s", body)
	}
	if _, body := e.do(tokAcme, "GET", "/api/v1/tickets/"+id, ""); strings.Contains(body, `"notified"`) {
		t.Errorf("the customer sees the delivery log")
	}
}
