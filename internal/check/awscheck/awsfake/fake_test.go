package awsfake

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

func signed(t *testing.T, url, body, secret, region string, headers map[string]string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	sum := sha256.Sum256([]byte(body))
	err = v4.NewSigner().SignHTTP(context.Background(), sdkaws.Credentials{AccessKeyID: AccessKey, SecretAccessKey: secret},
		req, hex.EncodeToString(sum[:]), "ec2", region, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestSignatureVerified(t *testing.T) {
	s := New(t)
	s.Handle("ec2", "DescribeRegions", func(r *Request) (any, error) {
		return XML("<regionInfo/>"), nil
	})
	form := map[string]string{"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
	body := "Action=DescribeRegions&Version=2016-11-15"

	if code, out := do(t, signed(t, s.URL, body, SecretKey, Region, form)); code != 200 || !strings.Contains(out, "<DescribeRegionsResponse") {
		t.Fatalf("good request: %d %s", code, out)
	}
	if code, out := do(t, signed(t, s.URL, body, "wrong", Region, form)); code != 403 || !strings.Contains(out, "SignatureDoesNotMatch") {
		t.Fatalf("wrong secret: %d %s", code, out)
	}
	if code, out := do(t, signed(t, s.URL, body, SecretKey, "us-west-2", form)); code != 403 || !strings.Contains(out, "scoped to a valid region") {
		t.Fatalf("wrong region: %d %s", code, out)
	}
	tampered := signed(t, s.URL, body, SecretKey, Region, form)
	tampered.Body = io.NopCloser(strings.NewReader("Action=RebootInstances&Version=2016-11-15"))
	if code, out := do(t, tampered); code != 403 || !strings.Contains(out, "SignatureDoesNotMatch") {
		t.Fatalf("tampered body: %d %s", code, out)
	}
	unsigned, _ := http.NewRequest(http.MethodPost, s.URL, strings.NewReader(body))
	if code, _ := do(t, unsigned); code != 403 {
		t.Fatalf("unsigned request: %d", code)
	}
	if n := s.Calls("ec2", "DescribeRegions"); n != 1 {
		t.Fatalf("calls %d, want only the good one", n)
	}
}

func TestRoutesJSONAndCBOR(t *testing.T) {
	s := New(t)
	s.Handle("ec2", "ListThings", func(r *Request) (any, error) {
		if r.Protocol != JSON || Field(r.Input, "Name") != "x" {
			t.Errorf("JSON request %+v", r)
		}
		return map[string]any{"Things": []string{"a"}}, nil
	})
	s.Fail("ec2", "ListThings", Throttle())
	h := map[string]string{"X-Amz-Target": "Svc_20240101.ListThings", "Content-Type": "application/x-amz-json-1.1"}
	if code, out := do(t, signed(t, s.URL, `{"Name":"x"}`, SecretKey, Region, h)); code != 400 || !strings.Contains(out, "ThrottlingException") {
		t.Fatalf("scripted throttle: %d %s", code, out)
	}
	if code, out := do(t, signed(t, s.URL, `{"Name":"x"}`, SecretKey, Region, h)); code != 200 || !strings.Contains(out, `"Things":["a"]`) {
		t.Fatalf("JSON: %d %s", code, out)
	}
	s.Handle("ec2", "GetThing", func(r *Request) (any, error) {
		if r.Protocol != CBOR {
			t.Errorf("protocol %s", r.Protocol)
		}
		return map[string]any{"When": time.Unix(1700000000, 0)}, nil
	})
	req := signed(t, s.URL+"/service/Svc/operation/GetThing", "\xa0", SecretKey, Region, map[string]string{"Smithy-Protocol": "rpc-v2-cbor", "Content-Type": "application/cbor"})
	code, out := do(t, req)
	if code != 200 {
		t.Fatalf("CBOR: %d %q", code, out)
	}
	m, err := decodeCBOR([]byte(out))
	if err != nil {
		t.Fatal(err)
	}
	if tm, ok := Time(m["When"]); !ok || tm.Unix() != 1700000000 {
		t.Fatalf("CBOR time %v", m["When"])
	}
}
