package agentapi

import (
	"bytes"
	"compress/gzip"
	"net/url"
	"testing"
	"time"

	"github.com/mamori/mamori/internal/wire"
)

// FuzzDecodeBatch: whatever an agent sends, decoding (gzip included) and
// validating a batch never panics, and what passes validation is bounded.
func FuzzDecodeBatch(f *testing.F) {
	now := time.Now().UnixMilli()
	f.Add([]byte(`{"seq":1,"results":[{"check":"nginx","status":"OK","output":"up","time":1700000000000,"duration":0.1,"perfdata":[{"label":"time","value":0.1,"unit":"s"}]}],"samples":[{"name":"node_load1","labels":{"cpu":"0"},"t":1700000000000,"v":1}]}`), false)
	f.Add([]byte(`{"seq":0}`), false)
	f.Add([]byte(`{"seq":18446744073709551615,"dropped_results":1,"dropped_samples":2}`), false)
	f.Add([]byte(`{"results":[{"check":"x","status":7}]}`), false)
	f.Add([]byte(`{"samples":[{"name":"a","labels":{"host":"x","__name__":"y"},"t":-1,"v":1e308}]}`), false)
	f.Add([]byte(`[`), false)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(`{"seq":2,"results":[{"check":"nginx","status":2,"time":1}]}`))
	zw.Close()
	f.Add(buf.Bytes(), true)
	f.Add([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff}, true)
	own := func(s string) bool { return s == "nginx" }
	wd := WindowAt(time.UnixMilli(now), 35*24*time.Hour)
	f.Fuzz(func(t *testing.T, body []byte, gzipped bool) {
		b, err := DecodeBody(body, gzipped, wire.MaxBatchBytes)
		if err != nil {
			return
		}
		bt, code, err := DecodeBatch(b)
		if err != nil {
			if code != 400 && code != 413 {
				t.Fatalf("status %d for %v", code, err)
			}
			return
		}
		if len(bt.Results) > wire.MaxBatchResults || len(bt.Samples) > wire.MaxBatchSamples {
			t.Fatal("limits not enforced")
		}
		for i := range bt.Results {
			r, why := ValidateResult(&bt.Results[i], own, wd)
			if why != "" {
				continue
			}
			if len(r.Output) > wire.MaxOutputBytes || len(r.Long) > wire.MaxLongBytes || bytes.ContainsAny([]byte(r.Output), "\r\n") {
				t.Fatalf("unbounded output %q", r.Output)
			}
			if r.Status < 0 || r.Status > 3 || r.Duration < 0 {
				t.Fatalf("bad result passed: %+v", r)
			}
			if r.Time.After(time.UnixMilli(now).Add(wire.MaxFutureSkew)) {
				t.Fatalf("future result passed")
			}
		}
		for i := range bt.Samples {
			if ValidateSample(&bt.Samples[i], wd) == "" {
				if _, ok := bt.Samples[i].Labels["host"]; ok {
					t.Fatal("host label passed")
				}
			}
		}
	})
}

// FuzzParsePushReport: no push body panics the parser; what passes is bounded.
func FuzzParsePushReport(f *testing.F) {
	f.Add("application/json", []byte(`{"status":"CRITICAL","output":"exit code 3","duration":1.5,"exit_code":3}`), "")
	f.Add("application/x-www-form-urlencoded", []byte(`status=1&output=slow`), "duration=2")
	f.Add("", []byte(``), "exit_code=3")
	f.Add("", []byte(`{"status":3.0}`), "")
	f.Add("text/plain; charset=\"", []byte(`x`), "%zz")
	f.Fuzz(func(t *testing.T, ct string, body []byte, query string) {
		q, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		p, err := ParsePushReport(ct, body, q)
		if err != nil {
			return
		}
		if p.Status < 0 || p.Status > 3 || len(p.Output) > wire.MaxOutputBytes || len(p.Long) > wire.MaxLongBytes {
			t.Fatalf("bad report passed: %+v", p)
		}
		if p.Duration != nil && (*p.Duration < 0 || *p.Duration > MaxJobDuration.Seconds()) {
			t.Fatalf("bad duration passed")
		}
		_ = p.Result(time.Now())
	})
}
