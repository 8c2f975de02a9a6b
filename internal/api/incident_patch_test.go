package api

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// PATCH /api/v1/incidents/{id}: an operator sets the level, the root cause
// and the remediation; the customer of the tenant (and its viewer) sees
// them, another tenant sees nothing, customers cannot change them, and a
// bad payload is refused with the field named.
func TestIncidentPatchRoundTripAndTenancy(t *testing.T) {
	e := newSecEnv(t, "")
	id := fmt.Sprint(e.ids["acme"])
	path := "/api/v1/incidents/" + id
	code, out := e.do(tokOp, "PATCH", path, `{"level":3,"root_cause":"RC-disk full on /var","remediation":"REM-log rotation weekly"}`)
	if code != 200 {
		t.Fatalf("PATCH: %d %s", code, out)
	}
	var got struct {
		Level       int    `json:"level"`
		RootCause   string `json:"root_cause"`
		Remediation string `json:"remediation"`
		Timeline    []struct{ Kind, Actor, Text string }
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if got.Level != 3 || got.RootCause != "RC-disk full on /var" || got.Remediation != "REM-log rotation weekly" {
		t.Errorf("PATCH answered %+v", got)
	}
	kinds := map[string]string{}
	for _, tl := range got.Timeline {
		kinds[tl.Kind] = tl.Actor
	}
	if kinds["level"] != "op" || kinds["root_cause"] != "op" || kinds["remediation"] != "op" {
		t.Errorf("timeline lacks the changes by op: %v", kinds)
	}
	for _, tok := range []string{tokAcme, tokViewer} {
		code, body := e.do(tok, "GET", path, "")
		if code != 200 || !strings.Contains(body, "RC-disk full") || !strings.Contains(body, "REM-log rotation") || !strings.Contains(body, `"level":3`) {
			t.Errorf("the customer does not see the analysis: %d %s", code, body)
		}
	}
	if code, body := e.do(tokOther, "GET", path, ""); code != 404 || strings.Contains(body, "RC-") {
		t.Errorf("another tenant: %d %s", code, body)
	}
	if code, body := e.do(tokOther, "GET", "/api/v1/incidents", ""); strings.Contains(body, "RC-") {
		t.Errorf("another tenant's list shows the root cause: %d", code)
	}
	for _, c := range []struct {
		tok, body string
		want      int
		says      string
	}{
		{tokAcme, `{"level":1}`, 403, ""},
		{tokOther, `{"root_cause":"x"}`, 403, ""},
		{tokOp, `{"level":0}`, 400, "level: must be 1, 2 or 3"},
		{tokOp, `{"level":"high"}`, 400, "level"},
		{tokOp, `{}`, 400, "nothing to change"},
		{tokOp, `{"severity":2}`, 400, "unknown field"},
		{tokOp, `{"root_cause":"` + strings.Repeat("x", 20001) + `"}`, 400, "root_cause"},
	} {
		if code, body := e.do(c.tok, "PATCH", path, c.body); code != c.want || !strings.Contains(body, c.says) {
			t.Errorf("PATCH %.40s: %d %s, want %d saying %q", c.body, code, body, c.want, c.says)
		}
	}
	if code, _ := e.do(tokOp, "PATCH", "/api/v1/incidents/999999", `{"level":1}`); code != 404 {
		t.Errorf("unknown incident: %d", code)
	}
}
