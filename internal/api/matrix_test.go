package api

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/alerting"
	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/config"
	"github.com/mamori/mamori/internal/engine"
	"github.com/mamori/mamori/internal/event"
	"github.com/mamori/mamori/internal/incident"
	"github.com/mamori/mamori/internal/report"
	"github.com/mamori/mamori/internal/server/specs"
	"github.com/mamori/mamori/internal/store"
	"github.com/mamori/mamori/internal/store/sqlite"
)

// TestAuthorizationMatrix: every role × the API routes × its own and
// another tenant's objects. Another tenant's object answers 404 (never 403,
// so IDs do not leak); a role that may not act answers 403.
func TestAuthorizationMatrix(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir := t.TempDir()
	cfg, err := config.Parse("t.yaml", []byte(ticketTestConfig+fmt.Sprintf(`data_dir: %s
hosts:
  - name: a1
    address: 127.0.0.1
    tenant: acme
    checks: [{name: svc, type: stubcheck, interval: 1h, attempts: 1}]
  - name: o1
    address: 127.0.0.1
    tenant: other
    checks: [{name: svc, type: stubcheck, interval: 1h, attempts: 1}]
`, filepath.Join(dir, "data"))))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	bus := event.NewBus()
	eng, err := engine.New(ctx, specs.Plan(cfg), st, log, engine.WithEvents(bus))
	if err != nil {
		t.Fatal(err)
	}
	al, err := alerting.New(alerting.Deps{Config: cfg, Store: st, States: eng, Events: bus, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { eng.Run(ctx); close(done) }()
	go al.Run(ctx)
	defer func() { cancel(); <-done }()
	rs := &report.Service{Config: func() *config.Config { return cfg }, Store: st, Log: log, Now: time.Now,
		Sources: func(context.Context) (report.Sources, error) {
			return report.Sources{Config: cfg, History: st, Alerts: st, Tickets: st}, nil
		}}
	s := New(Deps{Engine: eng, Config: func() *config.Config { return cfg }, Store: st, Tickets: st, Events: bus, Log: log, Alerting: al, Reports: rs})

	// A hard problem in each tenant opens an incident in each.
	for _, c := range []string{"a1/svc", "o1/svc"} {
		if _, err := eng.Record(ctx, c, check.Result{Status: check.Critical, Output: "down", Time: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	ids := map[string]int64{}
	deadline := time.Now().Add(10 * time.Second)
	for len(ids) < 2 && time.Now().Before(deadline) {
		ins, _ := st.Incidents(ctx, incident.Query{})
		for _, in := range ins {
			ids[in.Tenant] = in.ID
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(ids) != 2 {
		t.Fatalf("incidents not opened: %v", ids)
	}
	own, other := fmt.Sprint(ids["acme"]), fmt.Sprint(ids["other"])
	if !report.FontAvailable("") {
		t.Fatal("no font for PDF reports: install fonts-ipaexfont-gothic (scripts/itest-daemons.sh install)")
	}
	repID := map[string]string{}
	for _, tn := range []string{"acme", "other"} {
		row, err := rs.Generate(ctx, tn, time.Now().Add(-time.Hour), time.Now(), "", store.ReportOnDemand, "test")
		if err != nil {
			t.Fatal(err)
		}
		repID[tn] = fmt.Sprint(row.ID)
	}

	do := func(tok, method, path, body string) (int, string) {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		return rec.Code, rec.Body.String()
	}
	type row struct {
		method, path, body string
		op, cust, view     int // operator, customer of acme, viewer of acme
	}
	reads := []row{
		{"GET", "/api/v1/checks", "", 200, 200, 200},
		{"GET", "/api/v1/checks/a1/svc", "", 200, 200, 200},
		{"GET", "/api/v1/checks/o1/svc", "", 200, 404, 404},
		{"GET", "/api/v1/events", "", 200, 200, 200},
		{"GET", "/api/v1/incidents", "", 200, 200, 200},
		{"GET", "/api/v1/incidents/" + own, "", 200, 200, 200},
		{"GET", "/api/v1/incidents/" + other, "", 200, 404, 404},
		{"GET", "/api/v1/incidents/stats", "", 200, 200, 200},
		{"GET", "/api/v1/notifications", "", 200, 403, 403}, // the notification log is internal
		{"GET", "/api/v1/maintenances", "", 200, 200, 200},
		{"GET", "/api/v1/runbooks", "", 200, 200, 200},
		{"GET", "/api/v1/tickets", "", 200, 200, 200},
		{"GET", "/api/v1/reports", "", 200, 200, 200},
		{"GET", "/api/v1/reports/" + repID["acme"] + ".pdf", "", 200, 200, 200},
		{"GET", "/api/v1/reports/" + repID["acme"] + ".html", "", 200, 200, 200},
		{"GET", "/api/v1/reports/" + repID["other"] + ".pdf", "", 200, 404, 404},
		{"GET", "/api/v1/reports/" + repID["other"] + ".json", "", 200, 404, 404},
		{"GET", "/api/v1/reports/" + repID["other"], "", 200, 404, 404},
		{"POST", "/api/v1/reports", `{"tenant":"acme","month":"2026-11"}`, 201, 201, 403},
		{"POST", "/api/v1/reports", `{"month":"2026-11"}`, 400, 201, 403},
		{"POST", "/api/v1/reports", `{"tenant":"other","month":"2026-11"}`, 201, 403, 403},
		{"POST", "/api/v1/run/a1/svc", "", 202, 403, 403},
		{"POST", "/api/v1/run/o1/svc", "", 202, 403, 403},
		{"POST", "/api/v1/reload", "", 409, 403, 403}, // 409: this server has no config file to reload
		{"PUT", "/api/v1/runbooks/web", "# web\n", 200, 403, 403},
		{"GET", "/api/v1/runbooks/web", "", 200, 404, 404}, // bound to nothing: the operators'
		{"PUT", "/api/v1/runbooks/a1", "---\nhosts: [a1]\n---\n# a1\n", 200, 403, 403},
		{"GET", "/api/v1/runbooks/a1", "", 200, 200, 200}, // bound to acme's host only
		{"POST", "/api/v1/incidents/" + other + "/comments", `{"text":"x"}`, 200, 404, 403},
		{"POST", "/api/v1/incidents/" + own + "/comments", `{"text":"x"}`, 200, 200, 403},
		{"POST", "/api/v1/incidents/" + own + "/comments", `{"text":"x","visibility":"customer"}`, 200, 200, 403},
		{"POST", "/api/v1/incidents/" + own + "/comments", `{"text":"x","visibility":"internal"}`, 200, 403, 403},
		{"POST", "/api/v1/incidents/" + other + "/comments", `{"text":"x","visibility":"internal"}`, 200, 403, 403},
		{"POST", "/api/v1/incidents/" + own + "/resolve", "", 0, 403, 403}, // operator's turn comes below
		{"POST", "/api/v1/incidents/" + other + "/ack", "", 0, 404, 403},
		{"POST", "/api/v1/maintenances", `{"hosts":["a1"],"start":"2030-01-01T00:00:00Z","end":"2030-01-01T01:00:00Z"}`, 201, 201, 403},
		{"POST", "/api/v1/maintenances", `{"tenant":"other","hosts":["o1"],"start":"2030-01-01T00:00:00Z","end":"2030-01-01T01:00:00Z"}`, 201, 403, 403},
	}
	tokens := []struct {
		name, tok string
		col       func(row) int
	}{
		{"operator", tokOp, func(r row) int { return r.op }},
		{"customer", tokAcme, func(r row) int { return r.cust }},
		{"viewer", tokViewer, func(r row) int { return r.view }},
	}
	for _, tk := range tokens {
		for _, r := range reads {
			want := tk.col(r)
			if want == 0 {
				continue
			}
			code, body := do(tk.tok, r.method, r.path, r.body)
			if code != want {
				t.Errorf("%s %s %s: %d, want %d (%s)", tk.name, r.method, r.path, code, want, strings.TrimSpace(body))
			}
			if tk.name != "operator" && code == 200 && (strings.Contains(body, "o1/svc") || strings.Contains(body, `"tenant":"other"`)) {
				t.Errorf("%s %s %s: another tenant's data in the answer: %s", tk.name, r.method, r.path, body)
			}
		}
	}
	// Acknowledgement by the customer of its own incident; the operator
	// resolves the other tenant's.
	if code, body := do(tokAcme, "POST", "/api/v1/incidents/"+own+"/ack", ""); code != 200 {
		t.Errorf("customer ack own: %d %s", code, body)
	}
	if code, body := do(tokOp, "POST", "/api/v1/incidents/"+other+"/resolve", `{"force":true}`); code != 200 {
		t.Errorf("operator resolve: %d %s", code, body)
	}
	if code, _ := do(tokNotKnown, "GET", "/api/v1/checks", ""); code != 401 {
		t.Errorf("unknown token: %d", code)
	}
}

type stubCheckSpec struct{}

func (*stubCheckSpec) Validate() []check.FieldError { return nil }
func (*stubCheckSpec) New(check.Env) (check.Checker, error) {
	return check.CheckerFunc(func(context.Context) check.Result { return check.Result{Status: check.Critical, Output: "down"} }), nil
}

func init() {
	check.Register(&check.Kind{Name: "stubcheck", Timeout: time.Second, New: func() check.Spec { return &stubCheckSpec{} }})
}

var _ http.Handler = (*Server)(nil)
