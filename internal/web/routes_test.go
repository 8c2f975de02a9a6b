package web

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestRoutesCoexistWithAPI: the console's patterns register next to the
// API's on one mux (as `mamori server` wires them) without a conflict, and
// each request reaches the right one.
func TestRoutesCoexistWithAPI(t *testing.T) {
	e := newEnv(t)
	mux := http.NewServeMux()
	api := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Header().Set("X-Api", "1") })
	for _, p := range []string{"/api/", "/healthz", "/metrics", "/ack/", "/hooks/"} {
		mux.Handle(p, api)
	}
	e.con.Routes(mux)
	for path, isAPI := range map[string]bool{"/api/v1/checks": true, "/healthz": true, "/metrics": true, "/ack/tok": true,
		"/hooks/twilio/gather/x": true, "/": false, "/checks/web1/http": false, "/static/app.css": false, "/login": false} {
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, e.req(uOperator.Name, "GET", path, nil))
		if got := rec.Header().Get("X-Api") == "1"; got != isAPI {
			t.Errorf("%s: API handler %v, want %v", path, got, isAPI)
		}
	}
}
