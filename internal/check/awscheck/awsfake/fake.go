// Package awsfake is a local AWS for tests: an HTTP server that verifies
// every request's SigV4 signature (recomputed with the SDK's own signer from
// the headers the client signed) and speaks the wire protocols of the
// services mamori watches — EC2 query and awsquery (form POST, XML
// answers), JSON 1.0/1.1 (X-Amz-Target), REST-JSON (routes by method and
// path) and Smithy RPC v2 CBOR — plus any REST service through a plain
// http.Handler. Tests register one handler per
// operation, script failures (throttling, access denied), and count calls.
//
// Point the SDK at it with an account's endpoint_url (or a check's
// --endpoint-url) and the keys from Keys.
package awsfake

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// Protocol is an AWS wire protocol.
type Protocol string

// The protocols the fake speaks.
const (
	EC2Query Protocol = "ec2query"
	AWSQuery Protocol = "awsquery"
	JSON     Protocol = "awsjson"
	CBOR     Protocol = "rpcv2cbor"
	REST     Protocol = "rest"
	RESTJSON Protocol = "restjson"
)

// Request is one API call as a handler sees it.
type Request struct {
	Service   string // the SigV4 signing name: ec2, monitoring, health, sts, rds, …
	Operation string
	Protocol  Protocol
	Region    string
	AccessKey string
	Form      url.Values     // query protocols: the form
	Input     map[string]any // JSON and CBOR protocols: the decoded body
	Body      []byte
	HTTP      *http.Request
}

// Handler answers one operation. For the query protocols it returns the
// XML inside the result element (a string or XML); for JSON and CBOR a value
// to encode (maps, slices, strings, numbers, time.Time). An *Error return
// is sent as the protocol's error document.
type Handler func(r *Request) (any, error)

// Error is an AWS error answer.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// Throttle is the error AWS answers when a caller exceeds its request rate
// (the code EC2 and the query services use; JSON services are told
// ThrottlingException by the fake).
func Throttle() *Error {
	return &Error{Status: 400, Code: "Throttling", Message: "Rate exceeded"}
}

// AccessDenied is the error of a call the credentials are not allowed.
func AccessDenied(action string) *Error {
	return &Error{Status: 403, Code: "AccessDenied", Message: "User: arn:aws:iam::123456789012:user/mamori is not authorized to perform: " + action}
}

// Keys the fake accepts by default.
const (
	AccessKey = "AKIDMAMORITEST"
	SecretKey = "mamori-test-secret"
	Region    = "ap-northeast-1"
)

type keyPair struct{ secret, token string }

type opKey struct{ service, op string }

// Server is a running fake.
type Server struct {
	URL string

	mu       sync.Mutex
	regions  map[string]bool
	keys     map[string]keyPair
	handlers map[opKey]Handler
	rest     map[string]http.Handler
	routes   map[restRoute]string
	fails    map[opKey][]error
	calls    map[opKey]int
	roles    map[string]role
	byKey    map[string]int
	srv      *httptest.Server
}

// New starts a fake on 127.0.0.1, accepting AccessKey/SecretKey signed for
// Region, closed when the test ends.
func New(t testing.TB) *Server {
	s := &Server{
		regions:  map[string]bool{Region: true},
		keys:     map[string]keyPair{AccessKey: {secret: SecretKey}},
		handlers: map[opKey]Handler{},
		rest:     map[string]http.Handler{},
		routes:   map[restRoute]string{},
		fails:    map[opKey][]error{},
		calls:    map[opKey]int{},
		roles:    map[string]role{},
		byKey:    map[string]int{},
	}
	s.handlers[opKey{"sts", "AssumeRole"}] = s.assumeRole
	s.handlers[opKey{"sts", "GetCallerIdentity"}] = s.callerIdentity
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// Close stops the server.
func (s *Server) Close() { s.srv.Close() }

// AddRegion makes the fake answer requests signed for another region too.
func (s *Server) AddRegion(r string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.regions[r] = true
}

func (s *Server) regionOK(r string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.regions[r]
}

// AddKey accepts another key pair (token: a session token the requests must carry).
func (s *Server) AddKey(accessKey, secret, token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys[accessKey] = keyPair{secret: secret, token: token}
}

// Handle sets the handler of one operation of a service (by signing name).
func (s *Server) Handle(service, operation string, h Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers[opKey{service, operation}] = h
}

// HandleREST serves a REST service (e.g. s3) with h, after the signature
// has been verified.
func (s *Server) HandleREST(service string, h http.Handler) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rest[service] = h
}

// Fail makes the next calls of an operation fail with errs, one each, before
// its handler answers again.
func (s *Server) Fail(service, operation string, errs ...error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := opKey{service, operation}
	s.fails[k] = append(s.fails[k], errs...)
}

// Calls is how many signed requests reached an operation (failed ones included).
func (s *Server) Calls(service, operation string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[opKey{service, operation}]
}

// ResetCalls zeroes the call counters.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = map[opKey]int{}
}

// Env sets the process environment the SDK's default chain reads to this
// fake's keys and region (and keeps it off the instance metadata service
// and the user's ~/.aws), for the test's duration.
func (s *Server) Env(t testing.TB) {
	t.Setenv("AWS_ACCESS_KEY_ID", AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", SecretKey)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", Region)
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	dir := t.TempDir()
	t.Setenv("AWS_CONFIG_FILE", dir+"/config")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", dir+"/credentials")
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req := &Request{Body: body, HTTP: r}
	req.Protocol, req.Operation, err = route(r, body, req)
	a, aerr := s.verify(r, body)
	req.Service, req.Region, req.AccessKey = a.service, a.region, a.accessKey
	if req.Protocol == AWSQuery && a.service == "ec2" {
		req.Protocol = EC2Query
	}
	if aerr != nil {
		writeError(w, req, aerr)
		return
	}
	s.mu.Lock()
	s.byKey[a.accessKey]++
	s.mu.Unlock()
	if err != nil {
		writeError(w, req, &Error{Status: 400, Code: "MalformedInput", Message: err.Error()})
		return
	}
	if req.Protocol == REST && !s.restJSON(r, req, body) {
		s.serveREST(w, r, req, body)
		return
	}
	h, failure := s.next(opKey{req.Service, req.Operation})
	if failure != nil {
		writeError(w, req, failure)
		return
	}
	if h == nil {
		writeError(w, req, &Error{Status: 400, Code: "InvalidAction", Message: fmt.Sprintf("the fake has no handler for %s %s", req.Service, req.Operation)})
		return
	}
	out, err := h(req)
	if err != nil {
		writeError(w, req, err)
		return
	}
	writeResult(w, req, out)
}

func (s *Server) serveREST(w http.ResponseWriter, r *http.Request, req *Request, body []byte) {
	s.mu.Lock()
	h := s.rest[req.Service]
	s.calls[opKey{req.Service, r.Method}]++
	s.mu.Unlock()
	if h == nil {
		http.Error(w, "the fake serves no REST service "+req.Service, http.StatusNotFound)
		return
	}
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	h.ServeHTTP(w, r)
}

// next counts a call and returns its handler or a scripted failure.
func (s *Server) next(k opKey) (Handler, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[k]++
	if f := s.fails[k]; len(f) > 0 {
		s.fails[k] = f[1:]
		return nil, f[0]
	}
	return s.handlers[k], nil
}

// route finds a request's protocol and operation, decoding its body.
func route(r *http.Request, body []byte, req *Request) (Protocol, string, error) {
	switch {
	case strings.HasPrefix(r.URL.Path, "/service/") && r.Header.Get("Smithy-Protocol") == "rpc-v2-cbor":
		parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
		if len(parts) != 4 || parts[2] != "operation" {
			return CBOR, "", fmt.Errorf("rpc v2 path %q is not /service/S/operation/O", r.URL.Path)
		}
		in, err := decodeCBOR(body)
		req.Input = in
		return CBOR, parts[3], err
	case r.Header.Get("X-Amz-Target") != "":
		_, op, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
		in, err := decodeJSON(body)
		req.Input = in
		return JSON, op, err
	case r.Method == http.MethodPost && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded"):
		form, err := url.ParseQuery(string(body))
		req.Form = form
		if err == nil && form.Get("Action") == "" {
			err = fmt.Errorf("query request without Action")
		}
		return AWSQuery, form.Get("Action"), err
	}
	return REST, r.Method + " " + r.URL.Path, nil
}
