package api

import (
	"encoding/json"
	"strings"
	"testing"
)

// Issue 14: resolving a failing incident needs confirmation; comments take
// text or comment on incidents and tickets alike; a runbook PUT as JSON is
// parsed; a maintenance window of only a duration starts now.
func TestAPIConsistency(t *testing.T) {
	e := newSecEnv(t, "")
	own := e.ids["acme"]
	inc := "/api/v1/incidents/" + itoa(own)

	code, body := e.do(tokOp, "POST", inc+"/resolve", "")
	if code != 409 || !strings.Contains(body, "still failing") || !strings.Contains(body, "force") {
		t.Errorf("resolve while CRITICAL: %d %s, want 409 naming the reason and force", code, body)
	}
	if code, body := e.do(tokOp, "POST", inc+"/resolve", `{"force":true,"text":"known, fixing"}`); code != 200 || !strings.Contains(body, `"status":"resolved"`) {
		t.Errorf("forced resolve: %d %s", code, body)
	}

	for _, field := range []string{"text", "comment"} {
		if code, body := e.do(tokOp, "POST", inc+"/comments", `{"`+field+`":"by `+field+`"}`); code != 200 || !strings.Contains(body, "by "+field) {
			t.Errorf("incident comment with %s: %d %s", field, code, body)
		}
	}
	code, body = e.do(tokAcme, "POST", "/api/v1/tickets", `{"title":"question"}`)
	var tk struct{ ID int64 }
	if code != 201 || json.Unmarshal([]byte(body), &tk) != nil {
		t.Fatalf("ticket: %d %s", code, body)
	}
	for _, field := range []string{"text", "comment"} {
		if code, body := e.do(tokAcme, "POST", "/api/v1/tickets/"+itoa(tk.ID)+"/comments", `{"`+field+`":"ticket by `+field+`"}`); code != 201 || !strings.Contains(body, "ticket by "+field) {
			t.Errorf("ticket comment with %s: %d %s", field, code, body)
		}
	}

	md := "---\nhosts: [a1]\n---\n# a1 down\n1. restart\n"
	jb, _ := json.Marshal(map[string]string{"markdown": md})
	if code, body := e.do(tokOp, "PUT", "/api/v1/runbooks/a1", string(jb)); code != 200 || strings.Contains(body, "markdown\\\"") || !strings.Contains(body, "a1 down") {
		t.Errorf("runbook PUT as JSON: %d %s", code, body)
	}
	if rb := e.al.Runbooks().Get("a1"); rb == nil || strings.Contains(string(rb.Markdown()), `"markdown"`) {
		t.Errorf("the JSON body was stored as the runbook's text: %+v", rb)
	}
	if code, body := e.do(tokOp, "PUT", "/api/v1/runbooks/a1", `{"text":"x"}`); code != 400 {
		t.Errorf("a JSON runbook without markdown: %d %s, want 400", code, body)
	}

	if code, body := e.do(tokOp, "POST", "/api/v1/maintenances", `{"hosts":["a1"],"duration":"30m","reason":"now"}`); code != 201 || !strings.Contains(body, `"active":true`) {
		t.Errorf("window of only a duration: %d %s, want 201 and active", code, body)
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }
