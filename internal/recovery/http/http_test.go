package http

import (
	"context"
	"io"
	nethttp "net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/recovery/action"
)

func TestCallsAutomationEndpoint(t *testing.T) {
	var got struct{ method, auth, body, hdr string }
	status := 200
	srv := httptest.NewServer(nethttp.HandlerFunc(func(w nethttp.ResponseWriter, r *nethttp.Request) {
		b, _ := io.ReadAll(r.Body)
		got.method, got.auth, got.body, got.hdr = r.Method, r.Header.Get("Authorization"), string(b), r.Header.Get("X-Job")
		w.WriteHeader(status)
		io.WriteString(w, `{"job": 42}`)
	}))
	defer srv.Close()
	spec := &Spec{URL: srv.URL + "/api/v2/job_templates/7/launch/?token=hidden", Method: "POST", Headers: map[string]string{"X-Job": "restart"},
		Body: `{"extra_vars": {"host": "{{.Host}}", "service": "{{.Service}}", "check": "{{.Check}}"}}`, Token: check.NewSecret("tok")}
	if errs := spec.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	a, err := spec.New(action.Env{})
	if err != nil {
		t.Fatal(err)
	}
	tg := action.Target{Check: "web01/web", Host: "web01", Service: "nginx"}
	res := a.Run(context.Background(), tg)
	if !res.OK() || got.method != "POST" || got.auth != "Bearer tok" || got.hdr != "restart" ||
		got.body != `{"extra_vars": {"host": "web01", "service": "nginx", "check": "web01/web"}}` || !strings.Contains(res.Output, `"job": 42`) {
		t.Errorf("%+v %+v", res, got)
	}
	if d := a.Describe(tg); strings.Contains(d, "hidden") {
		t.Errorf("the description shows the query string: %s", d)
	}
	status = 503
	if res := a.Run(context.Background(), tg); res.OK() || !strings.Contains(res.Error, "503") {
		t.Errorf("%+v", res)
	}
	got.method = ""
	if res := a.Run(context.Background(), action.Target{DryRun: true}); !res.DryRun || got.method != "" {
		t.Errorf("dry run called: %+v", res)
	}
	if errs := (&Spec{URL: "http://x", Method: "POST", Body: "{{.Nope"}).Validate(); len(errs) != 1 {
		t.Errorf("bad template: %v", errs)
	}
}
