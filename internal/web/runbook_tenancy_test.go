package web

import (
	"context"
	"net/http"
	"strings"
	"testing"
)

// Runbooks follow the tenancy of what they bind (alerting.RunbookReaders):
// the pages, the list and the incident page agree.
func TestRunbookTenancyPages(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for name, md := range map[string]string{
		"shared":    "# Shared steps\n1. look\n",
		"web-svc":   "---\nchecks: [web1/http]\n---\n# Web steps\n",
		"all-hosts": "---\nhosts: ['*1']\n---\n# Every host\n",
	} {
		if _, _, err := e.alert.SaveRunbook(ctx, name, md, "t"); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]map[string]bool{ // runbook → user → readable
		"shared":    {uOperator.Name: true},
		"web-svc":   {uOperator.Name: true, uCustomer.Name: true, uViewer.Name: true},
		"all-hosts": {uOperator.Name: true},
		"acme/main": {uOperator.Name: true, uCustomer.Name: true, uViewer.Name: true},
	}
	for rb, who := range want {
		for _, u := range []User{uOperator, uCustomer, uViewer, uGlobex} {
			code := e.do(u.Name, "GET", "/runbooks/"+rb, nil).Code
			listed := strings.Contains(e.do(u.Name, "GET", "/runbooks", nil).Body.String(), `href="/runbooks/`+rb+`"`)
			if (code == http.StatusOK) != who[u.Name] || listed != who[u.Name] {
				t.Errorf("%s reads %s: %d, listed %v; want %v", u.Name, rb, code, listed, who[u.Name])
			}
		}
	}
	// Saving without front matter narrows: acme/main becomes the operators'.
	if rec := e.do(uOperator.Name, "POST", "/runbooks/acme/main", map[string][]string{"markdown": {"# Steps\n"}}); rec.Code != http.StatusSeeOther {
		t.Fatalf("save: %d", rec.Code)
	}
	if code := e.do(uGlobex.Name, "GET", "/runbooks/acme/main", nil).Code; code != http.StatusNotFound {
		t.Errorf("globex reads acme/main after its front matter was dropped: %d", code)
	}
	if code := e.do(uCustomer.Name, "GET", "/runbooks/acme/main", nil).Code; code != http.StatusNotFound {
		t.Errorf("acme reads the now unbound acme/main: %d", code)
	}
	// The incident page shows the runbook only to those who may read it.
	body := e.do(uCustomer.Name, "GET", "/incidents/"+itoa(e.incident["acme"]), nil).Body.String()
	if strings.Contains(body, `id="runbook"`) {
		t.Errorf("the customer's incident page shows a runbook it may not read")
	}
	if body := e.do(uOperator.Name, "GET", "/incidents/"+itoa(e.incident["acme"]), nil).Body.String(); !strings.Contains(body, `id="runbook"`) {
		t.Errorf("the operator's incident page lacks the runbook")
	}
}
