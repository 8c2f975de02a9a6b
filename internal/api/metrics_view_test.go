package api

import (
	"compress/gzip"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

// The checks' series are on the full page only, after the registry's
// families, in the text format; gzipped when the scraper asks.
func TestMetricsCheckSeries(t *testing.T) {
	e := newSecEnv(t, "")
	if _, body := e.do("", "GET", "/metrics", ""); strings.Contains(body, "mamori_check_state") {
		t.Fatalf("anonymous /metrics carries check series:\n%s", body)
	}
	req := httptest.NewRequest("GET", "/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+tokOp)
	req.Header.Set("Accept-Encoding", "deflate, gzip;q=0.9")
	rec := httptest.NewRecorder()
	e.s.ServeHTTP(rec, req)
	if rec.Code != 200 || rec.Header().Get("Content-Encoding") != "gzip" || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("operator /metrics: %d %v", rec.Code, rec.Header())
	}
	zr, err := gzip.NewReader(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# TYPE mamori_check_state gauge\n", `mamori_check_state{check="`, "mamori_build_info{", "mamori_checks{"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
