package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The incident page: an operator sets the level, the root cause and the
// remediation; the tenant's customer and viewer read them (no form);
// customers cannot post the form; another tenant gets 404.
func TestIncidentEditLevelAndAnalysis(t *testing.T) {
	e := newEnv(t)
	id := itoa(e.incident["acme"])
	path := "/incidents/" + id
	form := url.Values{"level": {"3"}, "root_cause": {"RC-nightly batch filled /var"}, "remediation": {"REM-moved the batch output to /data"}}
	if rec := e.do(uOperator.Name, "POST", path+"/edit", form); rec.Code != http.StatusSeeOther {
		t.Fatalf("edit: %d %s", rec.Code, firstLine(rec.Body.String(), "<p>"))
	}
	op := e.do(uOperator.Name, "GET", path, nil).Body.String()
	if !strings.Contains(op, `id="edit-form"`) || !strings.Contains(op, `<option value="3" selected>`) || !strings.Contains(op, "RC-nightly batch") {
		t.Errorf("the operator's page lacks the saved form")
	}
	for _, u := range []User{uCustomer, uViewer} {
		body := e.do(u.Name, "GET", path, nil).Body.String()
		if strings.Contains(body, `id="edit-form"`) {
			t.Errorf("%s gets the edit form", u.Name)
		}
		if !strings.Contains(body, "RC-nightly batch") || !strings.Contains(body, "REM-moved the batch") || !strings.Contains(body, e.con.cat.msgs["en"]["incident.level.3"]) {
			t.Errorf("%s does not see the level and the analysis", u.Name)
		}
	}
	if code := e.do(uCustomer.Name, "POST", path+"/edit", url.Values{"level": {"1"}}).Code; code != http.StatusForbidden {
		t.Errorf("a customer edited: %d", code)
	}
	if code := e.do(uGlobex.Name, "GET", path, nil).Code; code != http.StatusNotFound {
		t.Errorf("another tenant reads it: %d", code)
	}
	if code := e.do(uOperator.Name, "POST", path+"/edit", url.Values{"level": {"7"}}).Code; code != http.StatusBadRequest {
		t.Errorf("level 7: %d", code)
	}
	ja := e.con.cat.msgs["ja"]
	for _, k := range []string{"incident.level", "incident.level.3", "incident.rootcause", "incident.remediation", "timeline.level"} {
		if ja[k] == "" || ja[k] == e.con.cat.msgs["en"][k] {
			t.Errorf("catalogue: %s has no Japanese", k)
		}
	}
}
