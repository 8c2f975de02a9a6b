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
	"github.com/mamori/mamori/internal/server/specs"
	"github.com/mamori/mamori/internal/store/sqlite"
)

// secEnv is a real API on a real engine, alerting and store with two
// tenants (acme: host a1, other: host o1), each with an open incident.
type secEnv struct {
	t   testing.TB
	s   *Server
	eng *engine.Engine
	al  *alerting.Service
	st  *sqlite.Store
	ids map[string]int64 // incident id by tenant
}

func newSecEnv(t testing.TB, extra string) *secEnv {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dir := t.TempDir()
	cfg, err := config.Parse(filepath.Join(dir, "t.yaml"), []byte(ticketTestConfig+fmt.Sprintf(`data_dir: %s
hosts:
  - name: a1
    address: 127.0.0.1
    tenant: acme
    checks: [{name: svc, type: stubcheck, interval: 1h, attempts: 1}]
  - name: o1
    address: 127.0.0.1
    tenant: other
    checks: [{name: svc, type: stubcheck, interval: 1h, attempts: 1}]
`, filepath.Join(dir, "data"))+extra))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
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
	t.Cleanup(func() { cancel(); <-done; st.Close() })
	s := New(Deps{Engine: eng, Config: func() *config.Config { return cfg }, Store: st, Tickets: st, Events: bus, Log: log, Alerting: al})
	e := &secEnv{t: t, s: s, eng: eng, al: al, st: st, ids: map[string]int64{}}
	for _, c := range []string{"a1/svc", "o1/svc"} {
		if _, err := eng.Record(ctx, c, check.Result{Status: check.Critical, Output: "down", Time: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(e.ids) < 2 && time.Now().Before(deadline) {
		ins, _ := st.Incidents(ctx, incident.Query{})
		for _, in := range ins {
			e.ids[in.Tenant] = in.ID
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(e.ids) < 2 {
		t.Fatalf("incidents: %v", e.ids)
	}
	return e
}

// do sends a request with a bearer token ("" for none); body is sent as is.
func (e *secEnv) do(tok, method, path, body string) (int, string) {
	e.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if body != "" && strings.HasPrefix(body, "{") {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	e.s.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

var _ = http.StatusOK
