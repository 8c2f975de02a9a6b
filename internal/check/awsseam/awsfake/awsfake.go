// Package awsfake is a local stand-in for AWS APIs in tests: it verifies
// each request's SigV4 signature with the test credentials and answers in
// the service's wire protocol (query/XML, EC2 query, JSON 1.1).
package awsfake

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/mamori/mamori/internal/check"
	"github.com/mamori/mamori/internal/check/awsseam"
)

// The credentials the fake accepts.
const (
	AccessKey = "AKIDMAMORITEST"
	SecretKey = "mamori-test-secret"
	Region    = "ap-northeast-1"
)

// Env points the SDK's default chain at the fake's credentials and region.
func Env(t testing.TB) {
	t.Setenv("AWS_ACCESS_KEY_ID", AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", SecretKey)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", Region)
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_MAX_ATTEMPTS", "")
	t.Setenv("AWS_RETRY_MODE", "")
}

// Request is one call as the fake received it.
type Request struct {
	Service string     // signing name from the credential scope
	Action  string     // query Action or the JSON X-Amz-Target operation
	Form    url.Values // query protocols
	JSON    map[string]any
	HTTP    *http.Request
	Body    []byte
}

// Reply is the fake's answer.
type Reply struct {
	Status int
	Body   string
	Type   string
}

// Handler answers one action.
type Handler func(r *Request) Reply

// Server is the fake.
type Server struct {
	*httptest.Server
	t        testing.TB
	mu       sync.Mutex
	handlers map[string]Handler
	calls    map[string]int
	// Raw, when set, serves requests that have no action (REST protocols)
	// after the signature was verified.
	Raw http.Handler
}

// New starts a fake; it stops when the test ends.
func New(t testing.TB) *Server {
	s := &Server{t: t, handlers: map[string]Handler{}, calls: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Handle sets the answer for an action (query Action, or the operation name
// of a JSON target such as "DescribeServices").
func (s *Server) Handle(action string, h Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[action] = h
}

// Calls is how many times an action was called.
func (s *Server) Calls(action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[action]
}

func (s *Server) serve(w http.ResponseWriter, hr *http.Request) {
	body, _ := io.ReadAll(hr.Body)
	hr.Body = io.NopCloser(bytes.NewReader(body))
	service, err := Verify(hr, body)
	if err != nil {
		s.t.Errorf("awsfake: %s %s: %v", hr.Method, hr.URL, err)
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `<ErrorResponse><Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code><Message>%s</Message></Error></ErrorResponse>`, err)
		return
	}
	req := &Request{Service: service, HTTP: hr, Body: body}
	jsonProto := false
	if tgt := hr.Header.Get("X-Amz-Target"); tgt != "" {
		_, req.Action, _ = strings.Cut(tgt, ".")
		jsonProto = true
		if len(body) > 0 {
			if err := json.Unmarshal(body, &req.JSON); err != nil {
				s.t.Errorf("awsfake: %s: bad JSON body: %v", req.Action, err)
			}
		}
	} else if strings.HasPrefix(hr.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		req.Form, _ = url.ParseQuery(string(body))
		req.Action = req.Form.Get("Action")
	}
	s.mu.Lock()
	h := s.handlers[req.Action]
	s.calls[req.Action]++
	s.mu.Unlock()
	if req.Action == "" && s.Raw != nil {
		hr.Body = io.NopCloser(bytes.NewReader(body))
		s.Raw.ServeHTTP(w, hr)
		return
	}
	if h == nil {
		s.t.Errorf("awsfake: no handler for action %q (%s %s)", req.Action, hr.Method, hr.URL)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	rep := h(req)
	if rep.Status == 0 {
		rep.Status = http.StatusOK
	}
	if rep.Type == "" {
		rep.Type = "text/xml"
		if jsonProto {
			rep.Type = "application/x-amz-json-1.1"
		}
	}
	w.Header().Set("Content-Type", rep.Type)
	w.Header().Set("X-Amzn-Requestid", "fake-request-id")
	w.WriteHeader(rep.Status)
	io.WriteString(w, rep.Body)
}

// Verify checks the request's SigV4 signature against the test credentials
// by signing the same request again, and returns the signing service name.
func Verify(r *http.Request, body []byte) (service string, err error) {
	auth := r.Header.Get("Authorization")
	const algo = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(auth, algo) {
		return "", fmt.Errorf("no SigV4 Authorization header")
	}
	parts := map[string]string{}
	for _, p := range strings.Split(strings.TrimPrefix(auth, algo), ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		parts[k] = v
	}
	scope := strings.Split(parts["Credential"], "/")
	if len(scope) != 5 || scope[0] != AccessKey || scope[4] != "aws4_request" {
		return "", fmt.Errorf("bad credential scope %q", parts["Credential"])
	}
	region, service := scope[2], scope[3]
	when, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return "", fmt.Errorf("bad X-Amz-Date: %v", err)
	}
	clone, _ := http.NewRequestWithContext(context.Background(), r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	for _, h := range strings.Split(parts["SignedHeaders"], ";") {
		if h == "host" {
			continue
		}
		clone.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
	}
	clone.Header.Del("Authorization")
	hash := r.Header.Get("X-Amz-Content-Sha256")
	if hash == "" || hash == "UNSIGNED-PAYLOAD" && r.URL.Scheme == "https" {
		sum := sha256.Sum256(body)
		hash = hex.EncodeToString(sum[:])
	}
	creds := aws.Credentials{AccessKeyID: AccessKey, SecretAccessKey: SecretKey}
	if err := v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = service == "s3" }).SignHTTP(context.Background(), creds, clone, hash, service, region, when); err != nil {
		return "", err
	}
	want := clone.Header.Get("Authorization")
	if want != auth {
		return "", fmt.Errorf("signature does not verify:\n got  %s\n want %s", auth, want)
	}
	return service, nil
}

// XML answers an awsquery action: body is the inner XML of the <ActionResult>.
func XML(action, inner string) Reply {
	return Reply{Body: fmt.Sprintf(`<%[1]sResponse xmlns="http://fake.local/doc/"><%[1]sResult>%[2]s</%[1]sResult><ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata></%[1]sResponse>`, action, inner)}
}

// EC2XML answers an EC2 query action: body is the inner XML of the response.
func EC2XML(action, inner string) Reply {
	return Reply{Body: fmt.Sprintf(`<%[1]sResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>fake</requestId>%[2]s</%[1]sResponse>`, action, inner)}
}

// QueryError is an awsquery error answer.
func QueryError(status int, code, msg string) Reply {
	return Reply{Status: status, Body: fmt.Sprintf(`<ErrorResponse><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>fake</RequestId></ErrorResponse>`, code, msg)}
}

// EC2Error is an EC2 query error answer.
func EC2Error(status int, code, msg string) Reply {
	return Reply{Status: status, Body: fmt.Sprintf(`<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors><RequestID>fake</RequestID></Response>`, code, msg)}
}

// JSON answers a JSON 1.1 action with v marshalled.
func JSON(v any) Reply {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return Reply{Body: string(b)}
}

// JSONError is a JSON 1.1 error answer.
func JSONError(status int, code, msg string) Reply {
	return Reply{Status: status, Body: fmt.Sprintf(`{"__type":%q,"message":%q}`, code, msg)}
}

// Throttle wraps h: the first n calls are throttled, then h answers.
func Throttle(n int, throttled Reply, h Handler) Handler {
	var mu sync.Mutex
	return func(r *Request) Reply {
		mu.Lock()
		defer mu.Unlock()
		if n > 0 {
			n--
			return throttled
		}
		return h(r)
	}
}

// Check validates spec, builds its checker and runs it as check type kind
// runs, pointed at the fake.
func (s *Server) Check(t testing.TB, kind string, spec check.Spec) check.Result {
	t.Helper()
	if errs := spec.Validate(); len(errs) > 0 {
		t.Fatalf("validate: %v", errs)
	}
	k, ok := check.Lookup(kind)
	if !ok {
		t.Fatalf("no check type %s", kind)
	}
	c, err := spec.New(check.Env{})
	if err != nil {
		t.Fatal(err)
	}
	r := check.Run(context.Background(), k, c, 0)
	t.Logf("%s: %s | %s", r.Status, r.Output, check.PerfString(r.Perf))
	return r
}

// Target points a check at the fake.
func Target(s *Server) awsseam.Target { return awsseam.Target{EndpointURL: s.URL} }
