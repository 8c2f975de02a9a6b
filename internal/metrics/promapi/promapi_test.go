package promapi

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/metrics"
	"github.com/mamori/mamori/internal/wire"
)

// base is a whole second, an hour ago.
var base = time.Now().Truncate(time.Hour).Add(-time.Hour)

func server(t *testing.T, opt ...metrics.Option) *httptest.Server {
	t.Helper()
	st, err := metrics.Open(t.TempDir(), 0, nil, opt...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	st.SetHostTenants(map[string]string{"web1": "acme", "db1": "globex"})
	for _, h := range []string{"web1", "db1"} {
		var ss []wire.Sample
		for i := 0; i < 60; i++ {
			ss = append(ss, wire.Sample{Name: "node_load1", Time: base.Add(time.Duration(i) * time.Minute).UnixMilli(), Value: 1.5 + float64(i)})
		}
		if _, err := st.Append(h, ss); err != nil {
			t.Fatal(err)
		}
	}
	mux := http.NewServeMux()
	Routes(mux, st, func(r *http.Request) (string, bool) {
		if r.Header.Get("X-Deny") != "" {
			return "", false
		}
		return r.Header.Get("X-Tenant"), true
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

type reply struct {
	code int
	raw  string
	body map[string]any
}

func call(t *testing.T, srv *httptest.Server, method, path string, q url.Values, tenant string) reply {
	t.Helper()
	var req *http.Request
	var err error
	if method == "POST" {
		req, err = http.NewRequest(method, srv.URL+path, strings.NewReader(q.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req, err = http.NewRequest(method, srv.URL+path+"?"+q.Encode(), nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	if tenant != "" {
		req.Header.Set("X-Tenant", tenant)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s %s: %v: %s", method, path, err, b)
	}
	return reply{resp.StatusCode, string(b), m}
}

func unix(t time.Time) string { return fmt.Sprint(t.Unix()) }

// The shape Prometheus documents for a range query:
//
//	{"status":"success","data":{"resultType":"matrix","result":[
//	  {"metric":{"<label_name>":"<label_value>",…},"values":[[<unix_time>,"<sample_value>"],…]},…]}}
func TestQueryRangeShape(t *testing.T) {
	srv := server(t)
	for _, method := range []string{"GET", "POST"} {
		q := url.Values{"query": {"node_load1"}, "start": {unix(base)}, "end": {base.Add(2 * time.Minute).Format(time.RFC3339)}, "step": {"60s"}}
		r := call(t, srv, method, "/api/v1/query_range", q, "acme")
		if r.code != 200 {
			t.Fatalf("%s: %d %s", method, r.code, r.raw)
		}
		if len(r.body) != 2 || r.body["status"] != "success" {
			t.Fatalf("envelope: %s", r.raw)
		}
		data := r.body["data"].(map[string]any)
		if len(data) != 2 || data["resultType"] != "matrix" {
			t.Fatalf("data: %s", r.raw)
		}
		result := data["result"].([]any)
		if len(result) != 1 {
			t.Fatalf("tenant acme sees %d series: %s", len(result), r.raw)
		}
		series := result[0].(map[string]any)
		if len(series) != 2 {
			t.Fatalf("series fields: %v", series)
		}
		wantMetric := map[string]any{"__name__": "node_load1", "host": "web1", "instance": "web1", "job": "node", "tenant": "acme"}
		if !reflect.DeepEqual(series["metric"], wantMetric) {
			t.Errorf("metric = %v", series["metric"])
		}
		values := series["values"].([]any)
		if len(values) != 3 {
			t.Fatalf("values: %v", values)
		}
		for i, v := range values {
			pair := v.([]any)
			ts, ok1 := pair[0].(float64)
			val, ok2 := pair[1].(string)
			if len(pair) != 2 || !ok1 || !ok2 {
				t.Fatalf("point %d = %#v, want [number, string]", i, pair)
			}
			if want := float64(base.Unix() + int64(60*i)); ts != want {
				t.Errorf("t = %v, want %v", ts, want)
			}
			if want := fmt.Sprint(1.5 + float64(i)); val != want {
				t.Errorf("v = %q, want %q", val, want)
			}
		}
		// Byte for byte, the first point: a JSON number of seconds, a string value.
		if want := fmt.Sprintf(`"values":[[%d,"1.5"],`, base.Unix()); !strings.Contains(r.raw, want) {
			t.Errorf("raw %s lacks %s", r.raw, want)
		}
	}
}

func TestQueryShapes(t *testing.T) {
	srv := server(t)
	at := base.Add(10*time.Minute + 500*time.Millisecond)
	ts := fmt.Sprintf("%d.5", at.Unix())
	cases := []struct {
		query, typ, want string
	}{
		{"node_load1", "vector", fmt.Sprintf(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{"__name__":"node_load1","host":"web1","instance":"web1","job":"node","tenant":"acme"},"value":[%s,"11.5"]}]}}`, ts)},
		{"1+1", "scalar", fmt.Sprintf(`{"status":"success","data":{"resultType":"scalar","result":[%s,"2"]}}`, ts)},
		{`"hi"`, "string", fmt.Sprintf(`{"status":"success","data":{"resultType":"string","result":[%s,"hi"]}}`, ts)},
		{"nothing_here", "vector", `{"status":"success","data":{"resultType":"vector","result":[]}}`},
		{"1/0", "scalar", fmt.Sprintf(`{"status":"success","data":{"resultType":"scalar","result":[%s,"+Inf"]}}`, ts)},
	}
	for _, c := range cases {
		r := call(t, srv, "GET", "/api/v1/query", url.Values{"query": {c.query}, "time": {ts}}, "acme")
		if r.code != 200 || strings.TrimSpace(r.raw) != c.want {
			t.Errorf("%s: %d\n got %s\nwant %s", c.query, r.code, r.raw, c.want)
		}
	}
	// No time: now.
	r := call(t, srv, "GET", "/api/v1/query", url.Values{"query": {"time()"}}, "")
	if r.code != 200 {
		t.Fatal(r.raw)
	}
}

func TestErrors(t *testing.T) {
	srv := server(t, metrics.WithQueryLimits(10*time.Second, 100))
	start, end := unix(base), unix(base.Add(time.Hour))
	cases := []struct {
		name, path string
		q          url.Values
		code       int
		typ, msg   string
	}{
		{"syntax", "/api/v1/query", url.Values{"query": {"sum("}}, 400, "bad_data", `invalid parameter "query"`},
		{"empty query", "/api/v1/query", url.Values{}, 400, "bad_data", `invalid parameter "query"`},
		{"bad time", "/api/v1/query", url.Values{"query": {"1"}, "time": {"yesterday"}}, 400, "bad_data", `invalid parameter "time"`},
		{"bad timeout", "/api/v1/query", url.Values{"query": {"1"}, "timeout": {"soon"}}, 400, "bad_data", `invalid parameter "timeout"`},
		{"no start", "/api/v1/query_range", url.Values{"query": {"1"}, "end": {end}, "step": {"60"}}, 400, "bad_data", `invalid parameter "start"`},
		{"no step", "/api/v1/query_range", url.Values{"query": {"1"}, "start": {start}, "end": {end}}, 400, "bad_data", `invalid parameter "step"`},
		{"zero step", "/api/v1/query_range", url.Values{"query": {"1"}, "start": {start}, "end": {end}, "step": {"0"}}, 400, "bad_data", "zero or negative"},
		{"end before start", "/api/v1/query_range", url.Values{"query": {"1"}, "start": {end}, "end": {start}, "step": {"60"}}, 400, "bad_data", "end timestamp must not be before start"},
		{"too many points", "/api/v1/query_range", url.Values{"query": {"1"}, "start": {start}, "end": {end}, "step": {"0.1"}}, 400, "bad_data", "11,000 points"},
		{"range of a matrix", "/api/v1/query_range", url.Values{"query": {"node_load1[5m]"}, "start": {start}, "end": {end}, "step": {"60"}}, 400, "bad_data", "range query"},
		{"too many samples", "/api/v1/query_range", url.Values{"query": {"node_load1"}, "start": {start}, "end": {end}, "step": {"15s"}}, 422, "execution", "too many samples"},
		{"bad match", "/api/v1/series", url.Values{"match[]": {"{"}}, 400, "bad_data", `invalid parameter "match[]"`},
		{"empty match", "/api/v1/series", url.Values{"match[]": {`{job=""}`}}, 400, "bad_data", "non-empty matcher"},
		{"series without match", "/api/v1/series", url.Values{}, 400, "bad_data", "no match[]"},
		{"bad label name", "/api/v1/label/a-b/values", url.Values{}, 400, "bad_data", "invalid label name"},
		{"bad limit", "/api/v1/labels", url.Values{"limit": {"-1"}}, 400, "bad_data", `invalid parameter "limit"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := call(t, srv, "GET", c.path, c.q, "")
			if r.code != c.code || r.body["status"] != "error" || r.body["errorType"] != c.typ {
				t.Fatalf("%d %s", r.code, r.raw)
			}
			if msg, _ := r.body["error"].(string); !strings.Contains(msg, c.msg) {
				t.Errorf("error %q lacks %q", msg, c.msg)
			}
			if _, ok := r.body["data"]; ok {
				t.Errorf("error with data: %s", r.raw)
			}
		})
	}
}

func TestTimeout(t *testing.T) {
	srv := server(t)
	// A query that cannot finish in a microsecond.
	r := call(t, srv, "GET", "/api/v1/query_range", url.Values{"query": {`sum_over_time(node_load1[1h:1s])`}, "start": {unix(base)}, "end": {unix(base.Add(time.Hour))}, "step": {"60"}, "timeout": {"0.000001"}}, "")
	if r.code != 503 && r.code != 499 {
		t.Fatalf("%d %s", r.code, r.raw)
	}
	if r.body["errorType"] != "timeout" && r.body["errorType"] != "canceled" {
		t.Fatalf("%s", r.raw)
	}
}

func TestForbidden(t *testing.T) {
	srv := server(t)
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/query?query=1", nil)
	req.Header.Set("X-Deny", "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

func TestLabelsAndSeries(t *testing.T) {
	srv := server(t)
	data := func(r reply) any {
		t.Helper()
		if r.code != 200 || r.body["status"] != "success" {
			t.Fatalf("%d %s", r.code, r.raw)
		}
		return r.body["data"]
	}
	strs := func(v any) string {
		var out []string
		for _, x := range v.([]any) {
			out = append(out, x.(string))
		}
		return strings.Join(out, ",")
	}
	if got := strs(data(call(t, srv, "GET", "/api/v1/labels", nil, ""))); got != "__name__,host,instance,job,tenant" {
		t.Errorf("labels = %s", got)
	}
	if got := strs(data(call(t, srv, "POST", "/api/v1/labels", url.Values{"match[]": {"node_load1"}}, "acme"))); got != "__name__,host,instance,job,tenant" {
		t.Errorf("labels = %s", got)
	}
	if got := strs(data(call(t, srv, "GET", "/api/v1/label/host/values", nil, ""))); got != "db1,web1" {
		t.Errorf("operator hosts = %s", got)
	}
	if got := strs(data(call(t, srv, "GET", "/api/v1/label/host/values", nil, "acme"))); got != "web1" {
		t.Errorf("acme hosts = %s", got)
	}
	if got := strs(data(call(t, srv, "GET", "/api/v1/label/tenant/values", url.Values{"match[]": {`{tenant="globex"}`}}, "acme"))); got != "" {
		t.Errorf("acme sees tenants %s", got)
	}
	r := call(t, srv, "GET", "/api/v1/label/host/values", url.Values{"limit": {"1"}}, "")
	if got := strs(data(r)); got != "db1" || r.body["warnings"] == nil {
		t.Errorf("limit: %s", r.raw)
	}
	// /series: a list of label maps.
	r = call(t, srv, "GET", "/api/v1/series", url.Values{"match[]": {`{__name__=~".+"}`}, "start": {unix(base)}, "end": {unix(base.Add(time.Hour))}}, "globex")
	want := []any{map[string]any{"__name__": "node_load1", "host": "db1", "instance": "db1", "job": "node", "tenant": "globex"}}
	if got := data(r); !reflect.DeepEqual(got, want) {
		t.Errorf("series = %v", got)
	}
	r = call(t, srv, "POST", "/api/v1/series", url.Values{"match[]": {`node_load1`, `{job="node"}`}}, "")
	if got := data(r).([]any); len(got) != 2 {
		t.Errorf("operator series = %v", got)
	}
	// Time range outside the data: nothing.
	r = call(t, srv, "GET", "/api/v1/series", url.Values{"match[]": {`node_load1`}, "start": {"100"}, "end": {"200"}}, "")
	if got := data(r).([]any); len(got) != 0 {
		t.Errorf("old series = %v", got)
	}
	wantMeta := map[string]any{"node_load1": []any{map[string]any{"type": "gauge", "help": "1m load average.", "unit": ""}}}
	if got := data(call(t, srv, "GET", "/api/v1/metadata", nil, "")); !reflect.DeepEqual(got, wantMeta) {
		t.Errorf("metadata = %v", got)
	}
	if got := data(call(t, srv, "GET", "/api/v1/metadata", url.Values{"metric": {"node_load5"}}, "")); !reflect.DeepEqual(got, map[string]any{}) {
		t.Errorf("metadata of an absent metric = %v", got)
	}
}

func TestParseTimeAndDuration(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"1700000000", time.Unix(1700000000, 0), true},
		{"1700000000.25", time.Unix(1700000000, 250e6), true},
		{"2023-11-14T22:13:20Z", time.Unix(1700000000, 0), true},
		{"2023-11-14T23:13:20.5+01:00", time.Unix(1700000000, 500e6), true},
		{"", time.Time{}, false}, {"NaN", time.Time{}, false}, {"tomorrow", time.Time{}, false},
	} {
		got, err := ParseTime(c.in)
		if (err == nil) != c.ok || c.ok && !got.Equal(c.want) {
			t.Errorf("ParseTime(%q) = %v, %v", c.in, got, err)
		}
	}
	for _, c := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"15", 15 * time.Second, true}, {"0.5", 500 * time.Millisecond, true}, {"1m30s", 90 * time.Second, true},
		{"1d", 24 * time.Hour, true}, {"5m", 5 * time.Minute, true}, {"", 0, false}, {"1x", 0, false},
	} {
		got, err := parsePromDuration(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("parsePromDuration(%q) = %v, %v", c.in, got, err)
		}
	}
}

// Grafana asks for gzip; the answer is compressed, and plain without it.
func TestGzip(t *testing.T) {
	srv := server(t)
	for _, enc := range []string{"gzip", ""} {
		req, _ := http.NewRequest("GET", srv.URL+"/api/v1/query_range?"+url.Values{"query": {"node_load1"}, "start": {unix(base)}, "end": {unix(base.Add(59 * time.Minute))}, "step": {"15s"}}.Encode(), nil)
		req.Header.Set("X-Tenant", "")
		if enc != "" {
			req.Header.Set("Accept-Encoding", enc)
		}
		tr := &http.Transport{DisableCompression: true}
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := resp.Header.Get("Content-Encoding"); got != enc {
			t.Fatalf("Accept-Encoding %q: Content-Encoding = %q", enc, got)
		}
		if enc == "" {
			if !strings.Contains(string(body), `"status":"success"`) {
				t.Fatalf("plain body: %.200s", body)
			}
			continue
		}
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		plain, _ := io.ReadAll(zr)
		if !strings.Contains(string(plain), `"resultType":"matrix"`) || len(body) >= len(plain) {
			t.Fatalf("gzip body %d bytes, plain %d: %.200s", len(body), len(plain), plain)
		}
	}
}
