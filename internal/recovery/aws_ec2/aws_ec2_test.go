package aws_ec2

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/recovery/action"
)

var authRE = regexp.MustCompile(`^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/(\d{8})/ap-northeast-1/ec2/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$`)

func TestRebootInstanceSignedQueryAPI(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	var seen url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		m := authRE.FindStringSubmatch(r.Header.Get("Authorization"))
		if m == nil || m[1] != "20260304" || !strings.Contains(m[2], "host") || !strings.Contains(m[2], "x-amz-date") {
			t.Errorf("Authorization header %q", r.Header.Get("Authorization"))
		}
		if r.Header.Get("X-Amz-Date") != "20260304T050607Z" || r.Header.Get("X-Amz-Security-Token") != "sess" {
			t.Errorf("headers %v", r.Header)
		}
		// The signature is the one AWS's own SDK computes for the request.
		req2, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.Path, bytes.NewReader(body))
		req2.Header.Set("Content-Type", r.Header.Get("Content-Type"))
		req2.ContentLength = 0 // we do not sign content-length (optional in SigV4)
		sum := sha256.Sum256(body)
		err := v4.NewSigner().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret", SessionToken: "sess"},
			req2, hex.EncodeToString(sum[:]), "ec2", "ap-northeast-1", now)
		if err != nil {
			t.Fatal(err)
		}
		if m2 := regexp.MustCompile(`Signature=([0-9a-f]{64})`).FindStringSubmatch(req2.Header.Get("Authorization")); m == nil || m2 == nil || m2[1] != m[3] {
			t.Errorf("signature differs from the SDK's:\n ours %s\n sdk  %s", r.Header.Get("Authorization"), req2.Header.Get("Authorization"))
		}
		seen, _ = url.ParseQuery(string(body))
		if seen.Get("InstanceId.1") == "i-0000000000000bad0" {
			w.WriteHeader(400)
			io.WriteString(w, `<Response><Errors><Error><Code>InvalidInstanceID.NotFound</Code></Error></Errors></Response>`)
			return
		}
		io.WriteString(w, `<RebootInstancesResponse><return>true</return></RebootInstancesResponse>`)
	}))
	defer srv.Close()
	spec := &Spec{InstanceID: "i-0123456789abcdef0", Region: "ap-northeast-1", Operation: "reboot", Endpoint: srv.URL + "/",
		AccessKeyID: check.NewSecret("AKIDEXAMPLE"), SecretAccessKey: check.NewSecret("secret"), SessionToken: check.NewSecret("sess")}
	if errs := spec.Validate(); len(errs) > 0 {
		t.Fatal(errs)
	}
	act, _ := spec.New(action.Env{Now: func() time.Time { return now }})
	res := act.Run(context.Background(), action.Target{})
	if !res.OK() || seen.Get("Action") != "RebootInstances" || seen.Get("InstanceId.1") != "i-0123456789abcdef0" || seen.Get("Version") != APIVersion {
		t.Errorf("%+v %v", res, seen)
	}
	spec.Operation, spec.InstanceID = "start", "i-0000000000000bad0"
	act, _ = spec.New(action.Env{Now: func() time.Time { return now }})
	res = act.Run(context.Background(), action.Target{})
	if res.OK() || seen.Get("Action") != "StartInstances" || !strings.Contains(res.Error, "InvalidInstanceID.NotFound") {
		t.Errorf("%+v %v", res, seen)
	}
	if res := act.Run(context.Background(), action.Target{DryRun: true}); !res.DryRun || !strings.Contains(res.Output, "StartInstances") {
		t.Errorf("dry run %+v", res)
	}
}
