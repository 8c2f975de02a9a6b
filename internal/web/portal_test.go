package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/incident"
)

// The customer portal shows only what is meant for customers: operators'
// comments are internal unless they choose otherwise, customers' own are
// shown; the runbook nag, escalations and the notification log are the
// operators' alone.
func TestCustomerPortalHidesInternal(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	id := itoa(e.incident["acme"])
	post := func(user, path string, form url.Values) {
		t.Helper()
		if rec := e.do(user, "POST", path, form); rec.Code != http.StatusSeeOther {
			t.Fatalf("POST %s as %s: %d %s", path, user, rec.Code, firstLine(rec.Body.String(), "<p>"))
		}
	}
	post(uOperator.Name, "/incidents/"+id+"/comment", url.Values{"text": {"INTERNAL-NOTE the db vendor is slow"}})
	post(uOperator.Name, "/incidents/"+id+"/comment", url.Values{"text": {"FOR-CUSTOMER we are on it"}, "visibility": {"customer"}})
	post(uCustomer.Name, "/incidents/"+id+"/comment", url.Values{"text": {"CUSTOMER-ASK when is it fixed?"}})
	post(uOperator.Name, "/incidents/"+id+"/ack", url.Values{"comment": {"ACK-INTERNAL paging Taro"}})
	err := e.st.Write(ctx, func(tx incident.Tx) error {
		now := time.Now()
		for _, k := range []string{"runbook_missing", "notified", "escalated"} {
			if err := tx.AddTimeline(ctx, e.incident["acme"], incident.Timeline{Time: now, Kind: k, Text: "NAG-" + k + " oncall@ops.example"}); err != nil {
				return err
			}
		}
		_, err := tx.Enqueue(ctx, &incident.Notification{IncidentID: e.incident["acme"], Channel: "mail", Contact: "taro", Recipient: "oncall@ops.example",
			Kind: "problem", NextAt: now, CreatedAt: now, Payload: []byte("{}"), Dedup: "portal-test"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	bare := &incident.Incident{Check: "web1/alive", Host: "web1", Tenant: "acme", Scope: "check", Status: incident.Open, Title: "web1 down",
		DetectedAt: time.Now(), OpenedAt: time.Now(), EscLevel: -1} // no runbook
	if err := e.st.Write(ctx, func(tx incident.Tx) error { return tx.CreateIncident(ctx, bare) }); err != nil {
		t.Fatal(err)
	}
	tk := itoa(e.ticket["acme"])
	post(uOperator.Name, "/tickets/"+tk+"/comment", url.Values{"text": {"TICKET-INTERNAL reboot needs a change request"}})
	post(uOperator.Name, "/tickets/"+tk+"/comment", url.Values{"text": {"TICKET-PUBLIC scheduled for Sunday"}, "visibility": {"customer"}})
	post(uCustomer.Name, "/tickets/"+tk+"/comment", url.Values{"text": {"TICKET-ASK thanks"}})

	hidden := []string{"INTERNAL-NOTE", "ACK-INTERNAL", "NAG-", "oncall@ops.example", `id="notifications"`, "TICKET-INTERNAL"}
	shown := []string{"FOR-CUSTOMER", "CUSTOMER-ASK", "TICKET-PUBLIC", "TICKET-ASK"}
	for _, u := range []User{uCustomer, uViewer} {
		body := e.do(u.Name, "GET", "/incidents/"+id, nil).Body.String() + e.do(u.Name, "GET", "/tickets/"+tk, nil).Body.String()
		for _, s := range hidden {
			if strings.Contains(body, s) {
				t.Errorf("%s sees %q", u.Name, s)
			}
		}
		if strings.Contains(e.do(u.Name, "GET", "/incidents/"+itoa(bare.ID), nil).Body.String(), e.con.cat.msgs["en"]["incident.norunbook"]) {
			t.Errorf("%s sees the runbook nag", u.Name)
		}
		for _, s := range shown {
			if !strings.Contains(body, s) {
				t.Errorf("%s does not see %q", u.Name, s)
			}
		}
		if code := e.do(u.Name, "GET", "/notifications", nil).Code; code != http.StatusForbidden {
			t.Errorf("%s reads the notification log: %d", u.Name, code)
		}
		if strings.Contains(e.do(u.Name, "GET", "/", nil).Body.String(), `href="/notifications"`) {
			t.Errorf("%s has the notification log in the menu", u.Name)
		}
	}
	body := e.do(uOperator.Name, "GET", "/incidents/"+id, nil).Body.String() + e.do(uOperator.Name, "GET", "/tickets/"+tk, nil).Body.String()
	if !strings.Contains(e.do(uOperator.Name, "GET", "/incidents/"+itoa(bare.ID), nil).Body.String(), e.con.cat.msgs["en"]["incident.norunbook"]) {
		t.Errorf("the operator does not see the runbook nag")
	}
	for _, s := range append(hidden, shown...) {
		if !strings.Contains(body, s) {
			t.Errorf("the operator does not see %q", s)
		}
	}
	// The operator's form offers the choice; the customer's does not.
	if !strings.Contains(body, `name="visibility"`) {
		t.Errorf("the operator's comment form has no visibility")
	}
	if strings.Contains(e.do(uCustomer.Name, "GET", "/incidents/"+id, nil).Body.String(), `name="visibility"`) {
		t.Errorf("the customer's comment form offers a visibility")
	}
	// A customer cannot make its comment internal (nor anything else).
	if rec := e.do(uCustomer.Name, "POST", "/incidents/"+id+"/comment", url.Values{"text": {"x"}, "visibility": {"internal"}}); rec.Code != http.StatusForbidden {
		t.Errorf("customer's internal comment: %d", rec.Code)
	}
	if rec := e.do(uOperator.Name, "POST", "/incidents/"+id+"/comment", url.Values{"text": {"x"}, "visibility": {"public"}}); rec.Code != http.StatusBadRequest {
		t.Errorf("unknown visibility: %d", rec.Code)
	}
}
