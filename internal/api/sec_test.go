package api

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// A customer cannot create a maintenance window or a ticket that names
// another tenant's hosts, checks or incidents (nor unknown ones: the same
// answer, so nothing leaks).
func TestCustomerRefsOwnTenantOnly(t *testing.T) {
	e := newSecEnv(t, "")
	refused := []struct{ path, body string }{
		{"/api/v1/maintenances", `{"name":"x","hosts":["o1"],"start":"2030-01-01T00:00:00Z","end":"2030-01-01T01:00:00Z"}`},
		{"/api/v1/maintenances", `{"name":"x","checks":["o1/svc"],"start":"2030-01-01T00:00:00Z","end":"2030-01-01T01:00:00Z"}`},
		{"/api/v1/maintenances", `{"name":"x","hosts":["nosuch"],"start":"2030-01-01T00:00:00Z","end":"2030-01-01T01:00:00Z"}`},
		{"/api/v1/tickets", `{"title":"x","hosts":["o1"]}`},
		{"/api/v1/tickets", `{"title":"x","checks":["o1/svc"]}`},
		{"/api/v1/tickets", fmt.Sprintf(`{"title":"x","incident_ids":[%d]}`, e.ids["other"])},
		{"/api/v1/tickets", `{"title":"x","incident_ids":[999999]}`},
	}
	for _, r := range refused {
		if code, body := e.do(tokAcme, "POST", r.path, r.body); code != 400 || strings.Contains(body, "other") && !strings.Contains(body, "acme") {
			t.Errorf("POST %s %s: %d %s, want 400", r.path, r.body, code, body)
		}
	}
	accepted := []struct{ path, body string }{
		{"/api/v1/maintenances", `{"name":"x","hosts":["a1"],"checks":["a1/*"],"start":"2030-01-01T00:00:00Z","end":"2030-01-01T01:00:00Z"}`},
		{"/api/v1/tickets", fmt.Sprintf(`{"title":"x","hosts":["a1"],"checks":["a1/svc"],"incident_ids":[%d]}`, e.ids["acme"])},
	}
	for _, r := range accepted {
		if code, body := e.do(tokAcme, "POST", r.path, r.body); code != 201 {
			t.Errorf("POST %s %s: %d %s, want 201", r.path, r.body, code, body)
		}
	}
	// An operator's ticket for a tenant follows the tenant too.
	if code, body := e.do(tokOp, "POST", "/api/v1/tickets", `{"title":"x","tenant":"acme","hosts":["o1"]}`); code != 400 {
		t.Errorf("operator's acme ticket naming o1: %d %s", code, body)
	}
}

// /metrics without a token leaves out series that name hosts (and so
// tenants); with http.metrics_token it requires the token and shows all.
func TestMetricsView(t *testing.T) {
	e := newSecEnv(t, "")
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "mamori_test_last_seen", Help: "x"}, []string{"host"})
	g.WithLabelValues("o1").Set(1)
	e.eng.Metrics.Registry.MustRegister(g)
	code, body := e.do("", "GET", "/metrics", "")
	if code != 200 || strings.Contains(body, `host="o1"`) || !strings.Contains(body, "mamori_checks{") {
		t.Fatalf("anonymous /metrics: %d, names a host or lacks mamori_checks:\n%s", code, body)
	}
	if code, body := e.do(tokOp, "GET", "/metrics", ""); code != 200 || !strings.Contains(body, `host="o1"`) {
		t.Fatalf("operator /metrics: %d", code)
	}
	if code, body := e.do(tokAcme, "GET", "/metrics", ""); code != 200 || strings.Contains(body, `host="o1"`) {
		t.Fatalf("a customer's token sees other tenants' hosts: %d", code)
	}
	e.s.SetMetricsToken("metrics-token-0123456789")
	if code, _ := e.do("", "GET", "/metrics", ""); code != 401 {
		t.Fatalf("metrics_token set, no token: %d", code)
	}
	if code, _ := e.do("wrong", "GET", "/metrics", ""); code != 401 {
		t.Fatalf("metrics_token set, wrong token: %d", code)
	}
	if code, body := e.do("metrics-token-0123456789", "GET", "/metrics", ""); code != 200 || !strings.Contains(body, `host="o1"`) {
		t.Fatalf("with the metrics token: %d", code)
	}
}
