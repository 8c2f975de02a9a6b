package api

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/incident"
)

// Customers and viewers see only what is meant for them: operators'
// comments are internal unless marked for the customer, customers' own are
// shown; the runbook nag, escalations and the notification log are the
// operators' alone. Tickets alike.
func TestCustomerViewHidesInternal(t *testing.T) {
	e := newSecEnv(t, "")
	id := fmt.Sprint(e.ids["acme"])
	must := func(tok, method, path, body string, want int) string {
		t.Helper()
		code, out := e.do(tok, method, path, body)
		if code != want {
			t.Fatalf("%s %s %s: %d %s, want %d", method, path, body, code, out, want)
		}
		return out
	}
	must(tokOp, "POST", "/api/v1/incidents/"+id+"/comments", `{"text":"INTERNAL-NOTE vendor is slow"}`, 200)
	must(tokOp, "POST", "/api/v1/incidents/"+id+"/comments", `{"text":"FOR-CUSTOMER we are on it","visibility":"customer"}`, 200)
	must(tokAcme, "POST", "/api/v1/incidents/"+id+"/comments", `{"text":"CUSTOMER-ASK when?"}`, 200)
	must(tokAcme, "POST", "/api/v1/incidents/"+id+"/comments", `{"text":"x","visibility":"internal"}`, 403)
	must(tokOp, "POST", "/api/v1/incidents/"+id+"/comments", `{"text":"x","visibility":"everyone"}`, 400)
	must(tokOp, "POST", "/api/v1/incidents/"+id+"/ack", `{"comment":"ACK-INTERNAL paging Taro"}`, 200)
	ctx := context.Background()
	err := e.st.Write(ctx, func(tx incident.Tx) error {
		for _, k := range []string{"notified", "escalated", "notify_failed"} {
			if err := tx.AddTimeline(ctx, e.ids["acme"], incident.Timeline{Time: time.Now(), Kind: k, Text: "NAG-" + k}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var tk struct{ ID int64 }
	if err := json.Unmarshal([]byte(must(tokAcme, "POST", "/api/v1/tickets", `{"title":"question"}`, 201)), &tk); err != nil {
		t.Fatal(err)
	}
	tid := fmt.Sprint(tk.ID)
	must(tokOp, "POST", "/api/v1/tickets/"+tid+"/comments", `{"text":"TICKET-INTERNAL needs a change request"}`, 201)
	must(tokOp, "POST", "/api/v1/tickets/"+tid+"/comments", `{"text":"TICKET-PUBLIC on Sunday","visibility":"customer"}`, 201)
	must(tokAcme, "POST", "/api/v1/tickets/"+tid+"/comments", `{"text":"TICKET-ASK thanks"}`, 201)

	hidden := []string{"INTERNAL-NOTE", "ACK-INTERNAL", "NAG-", `"runbook_missing"`, "TICKET-INTERNAL", `"notify"`, `"escalation_`}
	shown := []string{"FOR-CUSTOMER", "CUSTOMER-ASK", "TICKET-PUBLIC", "TICKET-ASK"}
	for _, tok := range []string{tokAcme, tokViewer} {
		body := must(tok, "GET", "/api/v1/incidents/"+id, "", 200) + must(tok, "GET", "/api/v1/incidents", "", 200) +
			must(tok, "GET", "/api/v1/tickets/"+tid, "", 200)
		for _, s := range hidden {
			if strings.Contains(body, s) {
				t.Errorf("%s sees %s", tok, s)
			}
		}
		for _, s := range shown {
			if !strings.Contains(body, s) {
				t.Errorf("%s does not see %s", tok, s)
			}
		}
		must(tok, "GET", "/api/v1/notifications", "", 403)
		must(tok, "GET", "/api/v1/notifications?incident="+id, "", 403)
	}
	// What a customer's own write answers is the customer's view too.
	if out := must(tokAcme, "POST", "/api/v1/tickets/"+tid+"/comments", `{"text":"again"}`, 201); strings.Contains(out, "TICKET-INTERNAL") {
		t.Errorf("the answer to a customer's comment shows internal comments")
	}
	if out := must(tokAcme, "POST", "/api/v1/incidents/"+id+"/comments", `{"text":"again"}`, 200); strings.Contains(out, "INTERNAL-NOTE") {
		t.Errorf("the answer to a customer's comment shows internal comments")
	}
	body := must(tokOp, "GET", "/api/v1/incidents/"+id, "", 200) + must(tokOp, "GET", "/api/v1/tickets/"+tid, "", 200)
	for _, s := range append(append([]string{}, hidden[:5]...), shown...) {
		if !strings.Contains(body, s) {
			t.Errorf("the operator does not see %s", s)
		}
	}
	if !strings.Contains(body, `"visibility":"internal"`) || !strings.Contains(body, `"visibility":"customer"`) {
		t.Errorf("the operator's view lacks the comments' visibility")
	}
	must(tokOp, "GET", "/api/v1/notifications?incident="+id, "", 200)
}
