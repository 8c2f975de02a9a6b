package api

import (
	"encoding/json"
	"strings"
	"testing"
)

// Runbooks follow the tenancy of the checks and hosts they bind: a
// runbook bound only to acme's is acme's (and the operators'), an unbound
// one or one bound to several tenants is the operators' unless its front
// matter names tenants, and a new version without front matter cannot
// widen who reads it.
func TestRunbookTenancy(t *testing.T) {
	e := newSecEnv(t, "")
	put := func(name, md string) {
		t.Helper()
		if code, body := e.do(tokOp, "PUT", "/api/v1/runbooks/"+name, md); code != 200 {
			t.Fatalf("PUT %s: %d %s", name, code, body)
		}
	}
	readers := map[string]string{"acme": tokAcme, "viewer": tokViewer, "other": tokOther}
	want := func(name string, who ...string) {
		t.Helper()
		if code, _ := e.do(tokOp, "GET", "/api/v1/runbooks/"+name, ""); code != 200 {
			t.Errorf("operator GET %s: %d", name, code)
		}
		for r, tok := range readers {
			code, _ := e.do(tok, "GET", "/api/v1/runbooks/"+name, "")
			_, list := e.do(tok, "GET", "/api/v1/runbooks", "")
			listed := strings.Contains(list, `"name":"`+name+`"`)
			ok := false
			for _, w := range who {
				ok = ok || w == r
			}
			if (code == 200) != ok || listed != ok {
				t.Errorf("%s GET %s: %d, listed %v; want readable %v", r, name, code, listed, ok)
			}
		}
	}
	put("unbound", "# Anything\n1. look\n")
	want("unbound")
	put("a1-svc", "---\nchecks: [a1/svc]\n---\n# acme svc\n")
	want("a1-svc", "acme", "viewer")
	put("a1-host", "---\nhosts: [a1]\n---\n# acme host\n")
	want("a1-host", "acme", "viewer")
	put("both", "---\nhosts: ['?1']\n---\n# both hosts\n")
	want("both")
	put("both", "---\nhosts: ['?1']\ntenants: [acme, other]\n---\n# both hosts\n")
	want("both", "acme", "viewer", "other")
	put("lim", "---\ntenants: [acme]\n---\n# acme only\n")
	want("lim", "acme", "viewer")
	put("lim", "# acme only, front matter dropped\n")
	want("lim")
	put("a1-svc", "# front matter dropped\n")
	want("a1-svc")

	// The operator sees who reads a runbook.
	_, body := e.do(tokOp, "GET", "/api/v1/runbooks/a1-host", "")
	var got struct {
		Readers []string `json:"readers"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil || len(got.Readers) != 1 || got.Readers[0] != "acme" {
		t.Errorf("readers of a1-host: %v %v (%s)", got.Readers, err, body)
	}
}
